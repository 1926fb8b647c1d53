import { STATUS_CODES } from "node:http";
import { BodyAborted, BodyOverBudget, BodyTooLarge } from "../request";
import type { BodyBudget } from "../body-budget";

/** Request headers by lower-case name; repeated list-valued headers are joined with ", ". */
export type RequestHeaders = Readonly<Record<string, string | undefined>>;
/** Response headers by name; undefined values are left out. */
export type ResponseHeaders = Record<string, string | number | undefined>;

/** What a request's connection does for it; implemented by the connection (see connection.ts). */
export interface ExchangeSink {
  respond(req: H1Request, status: number, headers: ResponseHeaders, body: Buffer | string | undefined): void;
  stream(req: H1Request, status: number, headers: ResponseHeaders, events: StreamEvents, length?: number): BodyWriter | undefined;
  /** The request asked for its body: send `100 Continue` if the client waits for one. */
  continueBody(req: H1Request): void;
  destroy(): void;
}

/**
 * One request of a connection. The head is parsed; the body arrives as the connection reads it and
 * is buffered up to the body limit, so `body()` resolves once the whole message is in. Buffered
 * bytes are taken from the server's BodyBudget as they arrive and given back once the request is
 * answered or abandoned.
 */
export class H1Request {
  private chunks: Buffer[] = [];
  private size = 0;
  /** The whole message has been read. */
  complete = false;
  /** The body is (declared or turned out) larger than the limit; it is not buffered. */
  tooLarge = false;
  /** The body (declared or as it arrived) would go past the server's BodyBudget; it is not buffered. */
  overBudget = false;
  /** Bytes of this body taken from the budget. */
  private held = 0;
  /** The client speaks HTTP/1.1 (so a streamed answer can be chunked); HTTP/1.0 ones get it ended by close. */
  http11 = true;
  /** The client sent `Expect: 100-continue` and has not been told to go on yet. */
  expectsContinue = false;
  responded = false;
  /** The status the client was sent (0 until answered), whether the handler or the layer itself answered. */
  status = 0;
  /** The handler's id for this request; an answer the layer gives it (a body timeout) carries the same id. */
  id: string | undefined = undefined;
  private waiter: { resolve: (pieces: readonly Buffer[]) => void; reject: (e: Error) => void } | undefined;
  private failure: Error | undefined;

  constructor(
    readonly method: string,
    readonly url: string,
    readonly headers: RequestHeaders,
    /** The connection may be reused after this request (HTTP/1.1 without `Connection: close`, or 1.0 keep-alive). */
    readonly keepAlive: boolean,
    /** Identity of the keep-alive connection; handlers may attach per-connection facts to it. */
    readonly connection: object,
    readonly startedAt: number,
    private readonly limit: number,
    private readonly budget: BodyBudget,
    private readonly sink: ExchangeSink,
  ) {}

  /**
   * The whole body; rejects with BodyTooLarge past the limit, BodyOverBudget past the server's
   * budget, or BodyAborted when the client goes away.
   */
  body(): Promise<Buffer> {
    const now = this.bodyNow();
    return now !== undefined ? Promise.resolve(now) : this.pieces().then(() => this.joined());
  }

  /** The whole body if it is already in (complete, within the limit), else undefined: then use `body()`. */
  bodyNow(): Buffer | undefined {
    return this.complete && !this.tooLarge && !this.overBudget && this.failure === undefined ? this.joined() : undefined;
  }

  /** The whole body as the pieces it arrived in (not joined: see BodyPieces); rejects as `body()` does. */
  pieces(): Promise<readonly Buffer[]> {
    if (this.tooLarge) return Promise.reject(new BodyTooLarge(this.limit));
    if (this.overBudget) return Promise.reject(new BodyOverBudget(this.budget.limitBytes));
    if (this.failure) return Promise.reject(this.failure);
    if (this.complete) return Promise.resolve(this.chunks);
    if (this.expectsContinue) this.sink.continueBody(this);
    return new Promise((resolve, reject) => (this.waiter = { resolve, reject }));
  }

  /** The body's pieces if all of it is in (complete, within the limits), else undefined: then use `pieces()`. */
  piecesNow(): readonly Buffer[] | undefined {
    return this.complete && !this.tooLarge && !this.overBudget && this.failure === undefined ? this.chunks : undefined;
  }

  /** @internal A piece of the body, as parsed. */
  push(chunk: Buffer): void {
    if (this.tooLarge || this.overBudget || this.failure) return;
    this.size += chunk.length;
    if (this.size > this.limit) {
      this.tooLarge = true;
      this.drop(new BodyTooLarge(this.limit));
      return;
    }
    if (!this.budget.take(chunk.length)) {
      this.refuseOverBudget();
      return;
    }
    this.held += chunk.length;
    this.chunks.push(chunk);
  }

  /** @internal The body cannot be held within the server's budget (declared, or as it arrived). */
  refuseOverBudget(): void {
    this.overBudget = true;
    this.budget.refusals++;
    this.drop(new BodyOverBudget(this.budget.limitBytes));
  }

  /** @internal The request was answered or abandoned: its body's bytes go back to the budget. */
  release(): void {
    if (this.held === 0) return;
    this.budget.give(this.held);
    this.held = 0;
  }

  /** Stops buffering: what was kept goes back to the budget, and a waiting handler gets `err`. */
  private drop(err: Error): void {
    this.chunks = [];
    this.release();
    this.settle(err);
  }

  /** @internal The message is complete. */
  end(): void {
    this.complete = true;
    if (this.waiter && !this.tooLarge && !this.overBudget && !this.failure) {
      const w = this.waiter;
      this.waiter = undefined;
      w.resolve(this.chunks);
    }
  }

  /**
   * @internal The client went away, the body timed out, or its framing was refused (`reason`) before
   * the message was complete. The body's bytes go back to the budget even if a handler still has
   * them: what it holds past this is bounded by its own admission limits.
   */
  abort(reason?: string): void {
    this.release();
    if (this.complete || this.failure) return;
    this.failure = new BodyAborted(reason);
    this.chunks = [];
    this.settle(this.failure);
  }

  private settle(err: Error): void {
    const w = this.waiter;
    this.waiter = undefined;
    w?.reject(err);
  }

  private joined(): Buffer {
    const c = this.chunks;
    if (c.length === 1) return c[0]!;
    // The joined copy replaces the pieces: holding both would keep every body in memory twice.
    const whole = Buffer.concat(c, this.size);
    this.chunks = [whole];
    return whole;
  }
}

/** The answer to one request: written whole (head and body) by one `respond`. */
export class H1Response {
  constructor(
    private readonly req: H1Request,
    private readonly sink: ExchangeSink,
  ) {}

  get headersSent(): boolean {
    return this.req.responded;
  }

  /** The status the client was sent (0 until answered), also when the HTTP layer answered itself. */
  get statusCode(): number {
    return this.req.status;
  }

  respond(status: number, headers: ResponseHeaders, body?: Buffer | string): void {
    // Answered (or the connection is gone): the request body's bytes go back to the budget.
    this.req.release();
    if (this.req.responded) return;
    this.sink.respond(this.req, status, headers, body);
  }

  /**
   * Starts an answer whose body follows piece by piece: with `length`, exactly that many bytes under
   * that content-length; without, chunked to HTTP/1.1 clients and ended by close for HTTP/1.0 ones.
   * Undefined when the request was answered already or its connection is gone. Pipelined requests
   * wait until the body ends.
   */
  stream(status: number, headers: ResponseHeaders, events: StreamEvents, length?: number): BodyWriter | undefined {
    this.req.release();
    if (this.req.responded) return undefined;
    return this.sink.stream(this.req, status, headers, events, length);
  }

  /** Drops the connection without an answer. */
  destroy(): void {
    this.sink.destroy();
  }
}

/** What the connection tells the writer of a streamed answer. */
export interface StreamEvents {
  /** The client took what was written: write more. */
  drain(): void;
  /** The connection closed before the answer ended (the client went away). */
  closed(): void;
}

/** The body of a streamed answer. */
export interface BodyWriter {
  /** Writes one piece; false when the client is behind: wait for `drain` before writing more. */
  write(piece: Buffer): boolean;
  /** Ends the answer; the connection then serves its next request (or closes, for HTTP/1.0). */
  end(): void;
  /** Breaks the answer off: the connection is dropped, so the client sees it incomplete. */
  abort(): void;
}

/** Characters that would end a header line (response splitting) or are never valid in one. */
const UNSAFE_HEADER_VALUE = /[\r\n\0]/;

/**
 * The response head: status line, the given headers (unsafe values left out), then the `date` line
 * unless a date is given, then `connectionLines` (keepAliveLines(...) or CONNECTION_CLOSE). Latin-1
 * text; `content-length` is the caller's.
 */
export function responseHead(status: number, headers: ResponseHeaders, dateLine: string, connectionLines: string): string {
  let head = STATUS_LINES[status] ?? `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? "Unknown"}\r\n`;
  for (const name in headers) {
    const v = headers[name];
    if (v === undefined || name === "connection") continue;
    const s = typeof v === "number" ? String(v) : v;
    if (UNSAFE_HEADER_VALUE.test(s)) continue;
    head += `${name}: ${s}\r\n`;
  }
  if (headers.date === undefined) head += dateLine;
  return head + connectionLines;
}

// The lines every answer repeats are made once (a status line per code; the date line once a
// second and the keep-alive lines once, by the server), not per answer: fewer strings per request
// means fewer young-generation collections.
const STATUS_LINES: Record<number, string> = {};
for (const code of Object.keys(STATUS_CODES)) STATUS_LINES[Number(code)] = `HTTP/1.1 ${code} ${STATUS_CODES[code]}\r\n`;

/** The `date` header line for an HTTP date (`Date.toUTCString()`). */
export function dateLine(httpDate: string): string {
  return `date: ${httpDate}\r\n`;
}

/** The head's last lines on a connection that stays open: idle ones close after `seconds`. */
export function keepAliveLines(seconds: number): string {
  return `connection: keep-alive\r\nkeep-alive: timeout=${seconds}\r\n\r\n`;
}

/** The head's last lines on a connection that closes after this answer. */
export const CONNECTION_CLOSE = "connection: close\r\n\r\n";
