// Drives the local chat page in Debian's Chromium (playwright-core, never a downloaded browser) for the
// e2e suite. stdin: one JSON plan; stdout: one JSON result. Every wait is bounded (WAIT_MS) and fails
// with what it was waiting for.
//
// plan: {
//   pageUrl, geminiUrl?,
//   tokenHeader?, bodyHash?,                 // do it wrong on purpose
//   question?,
//   gate?: { name, firstText, keepAlive? },  // chunk one in the DOM while fake-gemini holds the gate
//   stopAfter?: string,                      // click Stop once the answer contains this
//   measure?: number,                        // ask this many times, timing click → first delta
// }
import { chromium } from "playwright-core";

const WAIT_MS = 30_000;
const plan = JSON.parse(await new Promise((resolve) => {
  let data = "";
  process.stdin.on("data", (chunk) => (data += chunk));
  process.stdin.on("end", () => resolve(data));
}));

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
  headless: true,
  // A fresh profile comes with every launch (playwright's own temporary --user-data-dir).
  args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"],
});
const result = { console: [] };
try {
  const page = await browser.newPage();
  page.setDefaultTimeout(WAIT_MS);
  page.on("console", (message) => result.console.push(`${message.type()}: ${message.text()}`));
  page.on("pageerror", (error) => result.console.push(`pageerror: ${error.message}`));
  const byId = (id) => page.getByTestId(id);
  const text = (id) => byId(id).textContent();
  const waitFor = async (what, predicate, arg) => {
    try {
      await page.waitForFunction(predicate, arg, { timeout: WAIT_MS });
    } catch {
      throw new Error(`waited ${WAIT_MS} ms for ${what}; state ${await text("state")}, error ${await text("error")}, answer ${(await text("answer")).slice(0, 200)}`);
    }
  };
  await page.goto(plan.pageUrl);
  await waitFor("the page script", () => document.body.dataset.ready === "true");
  await byId("sign-in").click();
  await waitFor("sign-in", () => document.getElementById("sign-in-status").dataset.state !== "pending");
  result.signIn = { state: await byId("sign-in-status").getAttribute("data-state"), flow: await byId("sign-in-status").getAttribute("data-flow"), text: await text("sign-in-status") };
  if (plan.tokenHeader || plan.bodyHash === false) await page.locator("details summary").click();
  if (plan.tokenHeader) await byId("token-header").selectOption(plan.tokenHeader);
  if (plan.bodyHash === false) await byId("body-hash").uncheck();
  if (plan.question !== undefined) await byId("question").fill(plan.question);
  const finished = () => ["done", "failed", "stopped"].some((s) => document.getElementById("state").textContent.startsWith(s));

  if (plan.measure) {
    result.firstDeltaMs = [];
    for (let i = 0; i < plan.measure; i++) {
      const ms = await page.evaluate(
        () =>
          new Promise((resolve) => {
            const answer = document.getElementById("answer");
            let start;
            const observer = new MutationObserver(() => {
              if (answer.textContent.length > 0) {
                observer.disconnect();
                resolve(performance.now() - start);
              }
            });
            observer.observe(answer, { childList: true, characterData: true, subtree: true });
            start = performance.now();
            document.getElementById("ask").click();
          }),
      );
      result.firstDeltaMs.push(ms);
      await waitFor("the answer to end", finished);
    }
  } else {
    await byId("ask").click();
    if (plan.gate) {
      await waitFor(`chunk one (${plan.gate.firstText}) in the DOM`, (t) => document.getElementById("answer").textContent.includes(t), plan.gate.firstText);
      result.answerAtGate = await text("answer");
      result.gateAtFirst = await (await fetch(`${plan.geminiUrl}/__fake/gates/${plan.gate.name}`)).json();
      result.stateAtGate = await text("state");
      if (plan.gate.keepAlive) {
        await waitFor("a keep-alive while the gate holds", () => document.getElementById("keep-alives").textContent !== "");
        result.keepAlivesAtGate = await text("keep-alives");
      }
      const released = await fetch(`${plan.geminiUrl}/__fake/gates/${plan.gate.name}/release`, { method: "POST" });
      result.released = released.status;
    }
    if (plan.stopAfter) {
      await waitFor(`${plan.stopAfter} in the DOM`, (t) => document.getElementById("answer").textContent.includes(t), plan.stopAfter);
      await byId("stop").click();
    }
    await waitFor("the answer to end", finished);
  }
  result.state = await text("state");
  result.answer = await text("answer");
  result.keepAlives = await text("keep-alives");
  result.error = await text("error");
  result.errorData = {
    status: await byId("error").getAttribute("data-status"),
    hop: await byId("error").getAttribute("data-hop"),
    code: await byId("error").getAttribute("data-code"),
  };
  result.ok = true;
} catch (error) {
  result.ok = false;
  result.failure = String(error?.stack ?? error);
} finally {
  await browser.close();
}
process.stdout.write(JSON.stringify(result));
