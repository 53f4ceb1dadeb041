// The browser client of the chatbot: what the site's `chatbotApi.ts` imports (an ES module, no build
// step; types in chatbot-client.d.ts). It does what the chain needs from a browser:
//
// - the body's SHA-256, hex, in `x-amz-content-sha256` (Lambda refuses unsigned payloads behind
//   CloudFront's OAC);
// - the Cognito access token in `x-chatbot-authorization: Bearer …` (OAC replaces `Authorization`);
// - the answer read incrementally as Server-Sent Events (`event: delta|done|error`, `: keep-alive`),
//   whatever the network's splits (LF or CRLF, events and UTF-8 characters split across reads);
// - refusals turned into a typed error; against the local emulator, with the hop that refused and its
//   hint, read from the trace the response points at (`x-emulator-trace-id`, absent in production);
// - cancellation with an AbortSignal.

/** @typedef {{ role: "user" | "model", content: string }} ChatMessage */
/** @typedef {{ problemId?: string, title?: string, statement?: string, language?: string, code?: string }} ChatContext */
/** @typedef {{ finishReason: string, usage: Record<string, unknown> }} Done */

/** Where the token goes by default. */
export const TOKEN_HEADER = "x-chatbot-authorization";

/** The emulator's trace header (exposed to page scripts by the local chain only). */
export const TRACE_HEADER = "x-emulator-trace-id";

/**
 * A refusal or a failure of the chatbot: the HTTP status (0 when the request never got an answer),
 * the error's `code` and `message`, and — against the local emulator — the `hop` that refused and the
 * `hint` saying what to change.
 */
export class ChatbotError extends Error {
  /**
   * @param {{ status: number, code: string, message: string, hop?: string, hint?: string, retryable?: boolean }} fields
   */
  constructor({ status, code, message, hop, hint, retryable }) {
    super(message);
    this.name = "ChatbotError";
    /** @type {number} */ this.status = status;
    /** @type {string} */ this.code = code;
    /** @type {string | undefined} */ this.hop = hop;
    /** @type {string | undefined} */ this.hint = hint;
    /** @type {boolean} */ this.retryable = retryable ?? false;
  }
}

/**
 * Hex SHA-256 of bytes, with WebCrypto.
 * @param {Uint8Array} bytes
 * @returns {Promise<string>}
 */
export async function sha256Hex(bytes) {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
  return Array.from(digest, (b) => b.toString(16).padStart(2, "0")).join("");
}

/**
 * An incremental Server-Sent Events parser: give it text as it arrives, get each complete event.
 * Lines end with LF, CRLF or CR; a blank line ends an event; `:` lines are comments (the function's
 * `: keep-alive`); several `data:` lines are joined with LF.
 * @param {(event: { event: string, data: string } | { comment: string }) => void} emit
 */
export function createSseParser(emit) {
  let buffer = "";
  let name = "";
  /** @type {string[]} */
  let data = [];
  let skipLf = false;
  /** @param {string} line */
  const line = (line) => {
    if (line === "") {
      if (data.length > 0 || name !== "") emit({ event: name || "message", data: data.join("\n") });
      name = "";
      data = [];
    } else if (line.startsWith(":")) {
      emit({ comment: line.slice(1).trimStart() });
    } else {
      const colon = line.indexOf(":");
      const field = colon < 0 ? line : line.slice(0, colon);
      let value = colon < 0 ? "" : line.slice(colon + 1);
      if (value.startsWith(" ")) value = value.slice(1);
      if (field === "event") name = value;
      else if (field === "data") data.push(value);
    }
  };
  return {
    /** @param {string} text */
    push(text) {
      for (const ch of text) {
        if (skipLf) {
          skipLf = false;
          if (ch === "\n") continue;
        }
        if (ch === "\r") {
          line(buffer);
          buffer = "";
          skipLf = true;
        } else if (ch === "\n") {
          line(buffer);
          buffer = "";
        } else {
          buffer += ch;
        }
      }
    },
    /** The stream ended: an event without its final blank line is dropped, as EventSource does. */
    end() {
      buffer = "";
      name = "";
      data = [];
    },
  };
}

/**
 * Bytes in, events out: UTF-8 decoded across reads (a character split between two reads is kept
 * whole), then parsed as SSE.
 * @param {(event: { event: string, data: string } | { comment: string }) => void} emit
 */
export function createEventStreamDecoder(emit) {
  const decoder = new TextDecoder("utf-8", { fatal: true });
  const parser = createSseParser(emit);
  return {
    /** @param {Uint8Array} bytes */
    push(bytes) {
      parser.push(decoder.decode(bytes, { stream: true }));
    },
    end() {
      parser.push(decoder.decode());
      parser.end();
    },
  };
}

/**
 * The hop and hint of a refused request, from the emulator's trace (none in production).
 * @param {Response} response
 * @param {string} url
 * @param {typeof fetch} fetchImpl
 * @returns {Promise<{ hop?: string, hint?: string }>}
 */
async function diagnosis(response, url, fetchImpl) {
  const id = response.headers.get(TRACE_HEADER);
  if (!id) return {};
  try {
    const trace = await (await fetchImpl(`${new URL(url).origin}/__emulator/traces/${encodeURIComponent(id)}`)).json();
    const lines = Array.isArray(trace.hops) ? trace.hops : [];
    const refusal = [...lines].reverse().find((l) => l.decision === "refuse");
    // The earliest hint names the cause (e.g. OAC replacing Authorization before the 401).
    const hint = lines.find((l) => l.hint)?.hint;
    return { hop: refusal?.hop, hint: hint ?? refusal?.hint };
  } catch {
    return {};
  }
}

/**
 * A non-2xx answer as a ChatbotError: the function's `{"error":{code,message}}`, AWS's
 * `{"message"}`/`{"Message"}`, or CloudFront's HTML page.
 * @param {Response} response
 * @param {string} url
 * @param {typeof fetch} fetchImpl
 */
async function refusal(response, url, fetchImpl) {
  const text = await response.text();
  let code = `http_${response.status}`;
  let message = response.statusText || `HTTP ${response.status}`;
  try {
    const body = JSON.parse(text);
    if (body?.error?.message) {
      code = body.error.code ?? code;
      message = body.error.message;
    } else if (body?.message || body?.Message) {
      code = response.headers.get("x-amzn-errortype") ?? code;
      message = body.message ?? body.Message;
    }
  } catch {
    const title = /<H2>(.*?)<\/H2>/i.exec(text)?.[1];
    if (title) {
      code = "cloudfront";
      message = title;
    }
  }
  return new ChatbotError({ status: response.status, code, message, ...(await diagnosis(response, url, fetchImpl)) });
}

/**
 * Asks the chatbot and streams the answer.
 *
 * @param {{
 *   url: string,
 *   token: string,
 *   messages: ChatMessage[],
 *   context?: ChatContext,
 *   signal?: AbortSignal,
 *   onDelta?: (text: string) => void,
 *   onDone?: (done: Done) => void,
 *   onError?: (error: ChatbotError) => void,
 *   onKeepAlive?: () => void,
 *   tokenHeader?: string,
 *   sendBodyHash?: boolean,
 *   fetch?: typeof fetch,
 * }} options
 * @returns {Promise<Done>} the `done` event; rejects with a ChatbotError (or the AbortError of `signal`)
 */
export async function ask(options) {
  const {
    url,
    token,
    messages,
    context,
    signal,
    onDelta = () => {},
    onDone = () => {},
    onError = () => {},
    onKeepAlive = () => {},
    tokenHeader = TOKEN_HEADER,
    sendBodyHash = true,
  } = options;
  const fetchImpl = options.fetch ?? globalThis.fetch.bind(globalThis);
  const fail = (/** @type {ChatbotError} */ error) => {
    onError(error);
    throw error;
  };
  const body = new TextEncoder().encode(JSON.stringify(context ? { messages, context } : { messages }));
  /** @type {Record<string, string>} */
  const headers = { "content-type": "application/json", [tokenHeader]: `Bearer ${token}` };
  if (sendBodyHash) headers["x-amz-content-sha256"] = await sha256Hex(body);
  let response;
  try {
    response = await fetchImpl(url, { method: "POST", headers, body, signal });
  } catch (error) {
    if (signal?.aborted) throw error;
    // A CORS refusal looks like this to the page: no status, no headers (read `up`'s stderr).
    return fail(new ChatbotError({ status: 0, code: "network", message: String(error?.message ?? error) }));
  }
  if (!response.ok) return fail(await refusal(response, url, fetchImpl));
  if (!response.body) return fail(new ChatbotError({ status: response.status, code: "no_body", message: "the answer has no body" }));

  /** @type {Done | undefined} */
  let done;
  /** @type {ChatbotError | undefined} */
  let streamError;
  const decoder = createEventStreamDecoder((item) => {
    if ("comment" in item) {
      if (item.comment === "keep-alive") onKeepAlive();
      return;
    }
    const data = JSON.parse(item.data);
    if (item.event === "delta") onDelta(data.text);
    else if (item.event === "done") {
      done = data;
      onDone(data);
    } else if (item.event === "error") {
      streamError = new ChatbotError({ status: response.status, code: data.code, message: data.message, retryable: data.retryable });
    }
  });
  const reader = response.body.getReader();
  try {
    for (;;) {
      const { value, done: ended } = await reader.read();
      if (ended) break;
      decoder.push(value);
    }
    decoder.end();
  } catch (error) {
    if (signal?.aborted) throw error;
    return fail(new ChatbotError({ status: response.status, code: "stream_cut", message: `the answer broke off: ${error?.message ?? error}`, retryable: true }));
  }
  if (streamError) return fail(streamError);
  if (!done) return fail(new ChatbotError({ status: response.status, code: "stream_cut", message: "the answer ended before its done event", retryable: true }));
  return done;
}
