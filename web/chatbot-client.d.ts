// Types for chatbot-client.js (hand-written: the module is plain JavaScript, no build step).

export interface ChatMessage {
  role: "user" | "model";
  content: string;
}

export interface ChatContext {
  problemId?: string;
  title?: string;
  statement?: string;
  language?: string;
  code?: string;
}

export interface Done {
  finishReason: string;
  usage: Record<string, unknown>;
}

/** A refusal or failure; `hop` and `hint` only against the local emulator. */
export declare class ChatbotError extends Error {
  constructor(fields: { status: number; code: string; message: string; hop?: string; hint?: string; retryable?: boolean });
  readonly name: "ChatbotError";
  /** The HTTP status; 0 when no answer could be read (network failure, or blocked by CORS). */
  status: number;
  /** The function's `error.code`, AWS's `x-amzn-ErrorType`, `cloudfront`, `network`, `stream_cut`, … */
  code: string;
  /** The hop that refused (`edge`, `oac`, `cors`, `url_auth`, `policy`, `runtime`, `function`). */
  hop?: string;
  /** What to change. */
  hint?: string;
  /** Whether the same request may work when retried. */
  retryable: boolean;
}

export interface AskOptions {
  /** The distribution's `/chatbot` URL (locally: the edge, `http://127.0.0.1:9000/chatbot`). */
  url: string;
  /** The Cognito access token. */
  token: string;
  messages: ChatMessage[];
  context?: ChatContext;
  signal?: AbortSignal;
  onDelta?: (text: string) => void;
  onDone?: (done: Done) => void;
  onError?: (error: ChatbotError) => void;
  onKeepAlive?: () => void;
  /** Where the token goes; default `x-chatbot-authorization` (not `authorization`: OAC replaces it). */
  tokenHeader?: string;
  /** Send `x-amz-content-sha256` (default true; Lambda refuses a body without it). */
  sendBodyHash?: boolean;
  fetch?: typeof fetch;
}

export declare const TOKEN_HEADER: "x-chatbot-authorization";
export declare const TRACE_HEADER: "x-emulator-trace-id";

export declare function ask(options: AskOptions): Promise<Done>;
export declare function sha256Hex(bytes: Uint8Array): Promise<string>;

export type SseItem = { event: string; data: string } | { comment: string };
export declare function createSseParser(emit: (item: SseItem) => void): { push(text: string): void; end(): void };
export declare function createEventStreamDecoder(emit: (item: SseItem) => void): { push(bytes: Uint8Array): void; end(): void };
