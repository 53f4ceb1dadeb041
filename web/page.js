// The local chat page: signs in to Cognito, asks through the edge with chatbot-client.js (the module
// the site imports), renders each delta as it arrives, and shows refusals with status, hop and hint.
// Sign-in is Amplify v6 (the site's own library, SRP) when `npm run build` has bundled it into
// web/dist/amplify.js; otherwise a few lines of USER_PASSWORD_AUTH, and the page says so.
import { ask, ChatbotError } from "./chatbot-client.js";

const $ = (id) => document.getElementById(id);
const config = await (await fetch("./config.json")).json();
$("username").value = config.username;
$("password").value = config.password;

/** @type {string | undefined} */
let token;
/** @type {AbortController | undefined} */
let running;

async function amplify() {
  try {
    return await import("./amplify.js");
  } catch {
    return undefined;
  }
}

async function signInWithAmplify(lib, username, password) {
  lib.Amplify.configure({
    Auth: { Cognito: { userPoolId: config.userPoolId, userPoolClientId: config.clientId, userPoolEndpoint: config.cognitoUrl } },
  });
  await lib.signOut().catch(() => {});
  const result = await lib.signIn({ username, password });
  if (!result.isSignedIn) throw new Error(`sign-in needs another step: ${result.nextStep.signInStep}`);
  const session = await lib.fetchAuthSession();
  return session.tokens.accessToken.toString();
}

async function signInWithPassword(username, password) {
  const response = await fetch(`${config.cognitoUrl}/`, {
    method: "POST",
    headers: { "content-type": "application/x-amz-json-1.1", "x-amz-target": "AWSCognitoIdentityProviderService.InitiateAuth" },
    body: JSON.stringify({ AuthFlow: "USER_PASSWORD_AUTH", ClientId: config.clientId, AuthParameters: { USERNAME: username, PASSWORD: password } }),
  });
  const body = await response.json();
  if (!response.ok) throw new Error(`${body.__type}: ${body.message}`);
  return body.AuthenticationResult.AccessToken;
}

$("sign-in").addEventListener("click", async () => {
  const status = $("sign-in-status");
  status.textContent = "signing in…";
  status.dataset.state = "pending";
  try {
    const lib = await amplify();
    const [username, password] = [$("username").value, $("password").value];
    token = lib ? await signInWithAmplify(lib, username, password) : await signInWithPassword(username, password);
    status.dataset.state = "signed-in";
    status.dataset.flow = lib ? "amplify-srp" : "user-password";
    status.textContent = lib
      ? `signed in as ${username} with Amplify v6 (USER_SRP_AUTH)`
      : `signed in as ${username} with USER_PASSWORD_AUTH (no Amplify bundle: run npm ci && npm run build in web/)`;
  } catch (error) {
    status.dataset.state = "failed";
    status.textContent = `sign-in failed: ${error.message ?? error}`;
  }
});

function show(error) {
  if (error instanceof ChatbotError) {
    const lines = [`${error.status || "no answer"} ${error.code}: ${error.message}`];
    if (error.hop) lines.push(`refused at: ${error.hop}`);
    if (error.hint) lines.push(`hint: ${error.hint}`);
    if (error.status === 0) lines.push("(a CORS refusal looks like this to a page: read up's stderr for the cors line)");
    $("error").textContent = lines.join("\n");
    $("error").dataset.status = String(error.status);
    $("error").dataset.hop = error.hop ?? "";
    $("error").dataset.code = error.code;
  } else {
    $("error").textContent = String(error?.message ?? error);
  }
}

$("ask").addEventListener("click", async () => {
  const answer = $("answer");
  answer.textContent = "";
  $("error").textContent = "";
  $("keep-alives").textContent = "";
  let keepAlives = 0;
  running = new AbortController();
  $("stop").disabled = false;
  $("state").textContent = "asking…";
  try {
    const done = await ask({
      url: config.edgeUrl,
      token: token ?? "",
      messages: [{ role: "user", content: $("question").value }],
      context: { problemId: "two-sum", title: "Two Sum", language: "rust" },
      signal: running.signal,
      tokenHeader: $("token-header").value,
      sendBodyHash: $("body-hash").checked,
      onDelta: (text) => answer.append(text),
      onKeepAlive: () => ($("keep-alives").textContent = `keep-alives: ${++keepAlives}`),
    });
    $("state").textContent = `done (${done.finishReason})`;
  } catch (error) {
    if (error?.name === "AbortError") $("state").textContent = "stopped";
    else {
      $("state").textContent = "failed";
      show(error);
    }
  } finally {
    $("stop").disabled = true;
    running = undefined;
  }
});

$("stop").addEventListener("click", () => running?.abort());
document.body.dataset.ready = "true";
