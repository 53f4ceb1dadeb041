// Unit tests of chatbot-client.js with Node's test runner: the same bytes re-split at every offset give
// the same events; the request the client sends; refusals turned into typed errors; cancellation.
import { test } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";

import { ask, ChatbotError, createEventStreamDecoder, createSseParser } from "../chatbot-client.js";

const encoder = new TextEncoder();

/** A body that mixes LF and CRLF, a keep-alive, multi-byte UTF-8 and a mid-stream error. */
const STREAM = encoder.encode(
  'event: delta\ndata: {"text":"caf\u00e9 \u2615 "}\n\n' +
    ": keep-alive\r\n\r\n" +
    'event: delta\r\ndata: {"text":"\ud83d\ude80 go"}\r\n\r\n' +
    'event: error\ndata: {"code":"upstream_truncated","message":"cut","retryable":true}\n\n',
);

function decodeAll(chunks) {
  const items = [];
  const decoder = createEventStreamDecoder((item) => items.push(item));
  for (const chunk of chunks) decoder.push(chunk);
  decoder.end();
  return items;
}

test("the same bytes split at every offset, and into every pair of offsets, give the same events", () => {
  const whole = decodeAll([STREAM]);
  assert.deepEqual(whole.map((i) => i.event ?? `:${i.comment}`), ["delta", ":keep-alive", "delta", "error"]);
  assert.equal(JSON.parse(whole[2].data).text, "\ud83d\ude80 go");
  for (let a = 0; a <= STREAM.length; a++) {
    assert.deepEqual(decodeAll([STREAM.slice(0, a), STREAM.slice(a)]), whole, `split at ${a}`);
  }
  for (let a = 0; a <= STREAM.length; a += 7) {
    for (let b = a; b <= STREAM.length; b += 3) {
      assert.deepEqual(decodeAll([STREAM.slice(0, a), STREAM.slice(a, b), STREAM.slice(b)]), whole, `split at ${a}, ${b}`);
    }
  }
  assert.deepEqual(decodeAll(Array.from(STREAM, (b) => Uint8Array.of(b))), whole, "byte by byte");
});

test("multi-line data, CR-only line ends, fields without a space, and an unfinished event", () => {
  const items = [];
  const parser = createSseParser((i) => items.push(i));
  parser.push("data:a\ndata: b\r\revent:x\ndata:1\n\ndata: dropped");
  parser.end();
  assert.deepEqual(items, [{ event: "message", data: "a\nb" }, { event: "x", data: "1" }]);
});

/** A fetch stand-in answering with `body` split into `chunks`. */
function fakeFetch(status, headers, chunks, seen) {
  return async (url, init) => {
    seen?.push({ url, init });
    const stream = new ReadableStream({
      start(controller) {
        for (const chunk of chunks) controller.enqueue(chunk);
        controller.close();
      },
    });
    return new Response(stream, { status, headers });
  };
}

test("the request: body hash, token header, content type; deltas, keep-alives and done", async () => {
  const done = encoder.encode('event: delta\ndata: {"text":"one"}\n\n: keep-alive\n\nevent: done\ndata: {"finishReason":"STOP","usage":{}}\n\n');
  const seen = [];
  const deltas = [];
  let keepAlives = 0;
  const result = await ask({
    url: "http://127.0.0.1:9000/chatbot",
    token: "tok",
    messages: [{ role: "user", content: "hi" }],
    context: { problemId: "two-sum" },
    onDelta: (t) => deltas.push(t),
    onKeepAlive: () => keepAlives++,
    fetch: fakeFetch(200, { "content-type": "text/event-stream" }, [done.slice(0, 9), done.slice(9)], seen),
  });
  assert.deepEqual(result, { finishReason: "STOP", usage: {} });
  assert.deepEqual(deltas, ["one"]);
  assert.equal(keepAlives, 1);
  const { init } = seen[0];
  const body = Buffer.from(init.body);
  assert.equal(init.method, "POST");
  assert.equal(init.headers["x-chatbot-authorization"], "Bearer tok");
  assert.equal(init.headers["content-type"], "application/json");
  assert.equal(init.headers["x-amz-content-sha256"], createHash("sha256").update(body).digest("hex"));
  assert.deepEqual(JSON.parse(body), { messages: [{ role: "user", content: "hi" }], context: { problemId: "two-sum" } });
});

test("a mid-stream error event rejects with its code, after the deltas", async () => {
  const deltas = [];
  const errors = [];
  await assert.rejects(
    ask({ url: "http://x/chatbot", token: "t", messages: [], onDelta: (t) => deltas.push(t), onError: (e) => errors.push(e), fetch: fakeFetch(200, {}, [STREAM]) }),
    (error) => error instanceof ChatbotError && error.code === "upstream_truncated" && error.retryable,
  );
  assert.deepEqual(deltas, ["caf\u00e9 \u2615 ", "\ud83d\ude80 go"]);
  assert.equal(errors.length, 1);
});

test("a refusal becomes a typed error with the emulator's hop and earliest hint", async () => {
  const calls = [];
  const fetchImpl = async (url, init) => {
    calls.push(url);
    if (url.includes("/__emulator/traces/")) {
      return Response.json({
        hops: [
          { hop: "oac", decision: "note", hint: "send it in x-chatbot-authorization" },
          { hop: "function", decision: "refuse", hint: "the function reads x-chatbot-authorization" },
        ],
      });
    }
    return Response.json(
      { error: { code: "invalid_token", message: "missing bearer token in x-chatbot-authorization" } },
      { status: 401, headers: { "x-emulator-trace-id": "t-1" } },
    );
  };
  await assert.rejects(
    ask({ url: "http://127.0.0.1:9000/chatbot", token: "t", messages: [], tokenHeader: "authorization", fetch: fetchImpl }),
    (error) =>
      error.status === 401 && error.code === "invalid_token" && error.hop === "function" && error.hint === "send it in x-chatbot-authorization",
  );
  assert.equal(calls[1], "http://127.0.0.1:9000/__emulator/traces/t-1");
});

test("AWS's and CloudFront's refusal bodies are read, without a trace in production", async () => {
  const aws = async () => new Response('{"message":"The request signature we calculated does not match"}', { status: 403, headers: { "x-amzn-errortype": "InvalidSignatureException" } });
  await assert.rejects(ask({ url: "https://d1.cloudfront.net/chatbot", token: "t", messages: [], fetch: aws }), (e) => e.code === "InvalidSignatureException" && e.hop === undefined);
  const page = async () => new Response("<H1>403 ERROR</H1>\n<H2>The request could not be satisfied.</H2>", { status: 403 });
  await assert.rejects(ask({ url: "https://d1.cloudfront.net/chatbot", token: "t", messages: [], fetch: page }), (e) => e.code === "cloudfront" && e.message === "The request could not be satisfied.");
});

test("no body hash when asked (to show Lambda's refusal); a network failure is status 0", async () => {
  const seen = [];
  await assert.rejects(ask({ url: "http://x/chatbot", token: "t", messages: [], sendBodyHash: false, fetch: fakeFetch(403, {}, [], seen) }));
  assert.equal(seen[0].init.headers["x-amz-content-sha256"], undefined);
  const offline = async () => {
    throw new TypeError("Failed to fetch");
  };
  await assert.rejects(ask({ url: "http://x/chatbot", token: "t", messages: [], fetch: offline }), (e) => e.status === 0 && e.code === "network");
});

test("aborting rejects with the AbortError and stops reading", async () => {
  const controller = new AbortController();
  let pulled = 0;
  const fetchImpl = async (url, init) =>
    new Response(
      new ReadableStream({
        pull(c) {
          pulled++;
          if (pulled === 1) c.enqueue(encoder.encode('event: delta\ndata: {"text":"a"}\n\n'));
          else return new Promise((_, reject) => init.signal.addEventListener("abort", () => reject(init.signal.reason)));
        },
      }),
      { status: 200 },
    );
  const pending = ask({ url: "http://x/chatbot", token: "t", messages: [], signal: controller.signal, onDelta: () => controller.abort(), fetch: fetchImpl });
  await assert.rejects(pending, (e) => e.name === "AbortError");
});

test("a stream that ends without done is an error", async () => {
  const partial = encoder.encode('event: delta\ndata: {"text":"a"}\n\n');
  await assert.rejects(ask({ url: "http://x/chatbot", token: "t", messages: [], fetch: fakeFetch(200, {}, [partial]) }), (e) => e.code === "stream_cut");
});
