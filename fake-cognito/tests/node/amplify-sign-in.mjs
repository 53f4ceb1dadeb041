// Signs in with Amplify JS v6 exactly as a browser app does by default (USER_SRP_AUTH), then optionally
// forces a token refresh (GetTokensFromRefreshToken). Used by fake-cognito's integration tests.
// stdin:  {"endpoint","userPoolId","clientId","username","password","refresh": bool}
// stdout: {"ok": true, "signInStep", "accessToken", "idToken", "refreshedAccessToken"?}
//      or {"ok": false, "error": "<exception name>", "message"}
import { Amplify } from "aws-amplify";
import { fetchAuthSession, signIn } from "aws-amplify/auth";

const input = JSON.parse(await new Promise((resolve) => {
  let data = "";
  process.stdin.on("data", (chunk) => (data += chunk));
  process.stdin.on("end", () => resolve(data));
}));

Amplify.configure({
  Auth: {
    Cognito: {
      userPoolId: input.userPoolId,
      userPoolClientId: input.clientId,
      userPoolEndpoint: input.endpoint,
    },
  },
});

let out;
try {
  const result = await signIn({ username: input.username, password: input.password });
  const session = await fetchAuthSession();
  out = {
    ok: true,
    signInStep: result.nextStep.signInStep,
    accessToken: session.tokens?.accessToken?.toString(),
    idToken: session.tokens?.idToken?.toString(),
  };
  if (input.refresh) {
    const refreshed = await fetchAuthSession({ forceRefresh: true });
    out.refreshedAccessToken = refreshed.tokens?.accessToken?.toString();
  }
} catch (error) {
  out = { ok: false, error: error.name, message: error.message };
}
process.stdout.write(JSON.stringify(out));
