// Verifies tokens with AWS's own verifier, aws-jwt-verify, as an application would.
// stdin:  {"userPoolId": "...", "jwks": {...}, "cases": [{"token": "...", "tokenUse": "id"|"access"|null, "clientId": "..."|null}]}
// stdout: one JSON array, per case {"ok": true, "payload": {...}} or {"ok": false, "error": "<error class>", "message": "..."}
// The JWKS is loaded with cacheJwks and checked with verifySync, so nothing is fetched over the network.
import { CognitoJwtVerifier } from "aws-jwt-verify";

const input = JSON.parse(await new Promise((resolve) => {
  let data = "";
  process.stdin.on("data", (chunk) => (data += chunk));
  process.stdin.on("end", () => resolve(data));
}));

const results = input.cases.map(({ token, tokenUse, clientId }) => {
  const verifier = CognitoJwtVerifier.create({ userPoolId: input.userPoolId, tokenUse, clientId });
  verifier.cacheJwks(input.jwks);
  try {
    return { ok: true, payload: verifier.verifySync(token) };
  } catch (error) {
    return { ok: false, error: error.constructor.name, message: error.message };
  }
});
process.stdout.write(JSON.stringify(results));
