import { request as httpRequest, type IncomingHttpHeaders, type IncomingMessage } from "node:http";
import { request as httpsRequest } from "node:https";

// The HTTP calls of the CLI and the dynamic providers (management API, gateway). Not fetch: Node 20's
// fetch (undici) never settles when a server closes a connection right after accepting it, which is
// what Docker's port proxy does while the container behind it is not listening yet (a server
// restarting during `pulumi up`); the CLI then exited 0 with no output, as its event loop ran empty.
// node:http fails such a call at once with ECONNRESET ("socket hang up").

export interface HttpCall {
  method: string;
  headers?: Record<string, string>;
  body?: string | Buffer;
  /** Longest wait for the answer's head, and then for each piece of its body. */
  timeoutMs: number;
}

export interface HttpAnswer {
  status: number;
  /** The status is 2xx. */
  ok: boolean;
  /** Header names in lower case. */
  headers: IncomingHttpHeaders;
  /** The body as it arrives; breaks off with an error (with a `code`) when the connection does. */
  body: AsyncIterable<Buffer>;
  /** The whole body as UTF-8 text. */
  text(): Promise<string>;
}

/** A call that got no answer: `code` is Node's (ECONNREFUSED, ECONNRESET, ENOTFOUND, ...) or ETIMEDOUT past `timeoutMs`. */
export class HttpCallError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = "HttpCallError";
  }
}

/** One HTTP(S) call; resolves at the answer's head, rejects with HttpCallError when there is none. */
export function httpCall(url: string, call: HttpCall): Promise<HttpAnswer> {
  return new Promise((resolve, reject) => {
    let u: URL;
    try {
      u = new URL(url);
    } catch {
      reject(new HttpCallError("EINVAL", `not a URL: ${url}`));
      return;
    }
    const send = u.protocol === "https:" ? httpsRequest : httpRequest;
    const req = send(u, { method: call.method, headers: { ...call.headers, ...(call.body !== undefined ? { "content-length": String(Buffer.byteLength(call.body)) } : {}) } });
    let answered = false;
    let timedOut: HttpCallError | undefined;
    // No answer (or no body piece) for timeoutMs: the call fails; the socket timer keeps the process alive meanwhile.
    req.setTimeout(call.timeoutMs, () => {
      timedOut = new HttpCallError("ETIMEDOUT", answered ? `the answer stopped for ${call.timeoutMs} ms` : `no answer within ${call.timeoutMs} ms`);
      req.destroy(timedOut);
    });
    req.on("error", (err: Error & { code?: string }) => {
      if (!answered) reject(err instanceof HttpCallError ? err : new HttpCallError(err.code ?? "ECONNRESET", err.message));
    });
    req.on("response", (res: IncomingMessage) => {
      answered = true;
      const body = bodyOf(res, () => timedOut);
      const status = res.statusCode ?? 0;
      resolve({
        status,
        ok: status >= 200 && status < 300,
        headers: res.headers,
        body,
        text: async () => {
          const pieces: Buffer[] = [];
          for await (const piece of body) pieces.push(piece);
          return Buffer.concat(pieces).toString("utf8");
        },
      });
    });
    req.end(call.body);
  });
}

/** The answer's body pieces; a body cut short (connection reset, timeout) throws an HttpCallError. */
async function* bodyOf(res: IncomingMessage, timedOut: () => HttpCallError | undefined): AsyncGenerator<Buffer> {
  const cut = (): HttpCallError => timedOut() ?? new HttpCallError("ECONNRESET", "the connection closed before the answer ended");
  try {
    for await (const piece of res) yield piece as Buffer;
  } catch {
    throw cut();
  }
  if (!res.complete) throw cut();
}
