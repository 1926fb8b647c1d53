import { connect, type Socket } from "node:net";
import { HTTPParser } from "http-parser-js";
import { bodyLength, type BodyPieces } from "../body-pieces";
import { answerParser } from "../h1/parser";

/**
 * What one exchange on a connection reports, in order: onConnect once it has a connection (with the
 * function that ends it early), onHeaders, onData per body piece, then exactly one of onComplete or
 * onError (onError may also come before onConnect). onHeaders and onData return false to pause the
 * instance until `resume` is called.
 */
export interface ExchangeHandler {
  onConnect(abort: (err: Error) => void): void;
  /** `headers` is flat: name, value, name, value (names as sent). */
  onHeaders(status: number, headers: readonly string[], resume: () => void): boolean;
  onData(piece: Buffer): boolean;
  onComplete(): void;
  onError(err: Error): void;
}

export interface ExchangeRequest {
  method: "GET" | "POST";
  path: string;
  /** Names are the caller's own (valid tokens); values may come from a client and are checked. */
  headers: Record<string, string>;
  /** One buffer, or the pieces a body arrived in (written in order, never joined). */
  body: BodyPieces | undefined;
}

/** A transport failure of the client itself (Node's own socket errors keep their codes: ECONNREFUSED, ECONNRESET, ...). */
export class UpstreamSocketError extends Error {
  constructor(
    readonly code: "UPSTREAM_CLOSED" | "UPSTREAM_CONNECT_TIMEOUT" | "UPSTREAM_BAD_ANSWER" | "UPSTREAM_BAD_REQUEST" | "UPSTREAM_POOL_CLOSED",
    message: string,
  ) {
    super(message);
    this.name = "UpstreamSocketError";
  }
}

/** A header value that would split the request head (the gateway forwards client values). */
const UNSAFE_VALUE = /[\r\n\0]/;

/** The largest answer head read from an instance. */
const MAX_ANSWER_HEAD_BYTES = 64 * 1024;

/**
 * Every upstream connection reads into this one buffer (net's `onread`). Node otherwise allocates
 * a new 64 KiB ArrayBuffer per read, and each one costs the next young-generation GC a sweep and a
 * free(). Sharing is safe because a read is parsed whole, synchronously, before the next can arrive
 * (one thread), and answer pieces are copied out before they are handed on (onBody).
 */
const READ_BUFFER = Buffer.allocUnsafe(64 * 1024);

/** `timeout=N` of a keep-alive header: how long the instance keeps an idle connection, in ms. */
const KEEP_ALIVE_TIMEOUT = /timeout=(\d+)/i;

/** Whether header name `name` is `lower` (a lower-case name), compared case-insensitively. */
export function isHeader(name: string, lower: string): boolean {
  return name.length === lower.length && (name === lower || name.toLowerCase() === lower);
}

/** What a connection tells its pool. */
export interface ConnectionOwner {
  /** The connection finished an exchange and can take the next one. */
  released(c: UpstreamConnection): void;
  /** The connection is gone (closed, failed or dropped). */
  closed(c: UpstreamConnection): void;
  /** Runs an exchange again on a new connection (see UpstreamConnection.destroy). */
  retry(req: ExchangeRequest, handler: ExchangeHandler): void;
}

/** How a reused connection fails when the instance closed it as idle just as a request went out. */
const IDLE_CLOSE_CODES = new Set(["UPSTREAM_CLOSED", "ECONNRESET", "EPIPE"]);

/**
 * One keep-alive HTTP/1.1 connection to an instance, one exchange at a time: the request is written
 * whole in one write and the answer parsed with http-parser-js as it arrives. The gateway frames
 * every answer anew for its client, so this parser's leniency cannot smuggle anything to a client.
 * Why not undici (src/server/README.md, "Upstream client"): the gateway spends about 10 % less CPU
 * per request on this, measured side by side, and undici's buffers added to the old generation's growth.
 */
export class UpstreamConnection {
  private readonly socket: Socket;
  private readonly parser = answerParser(MAX_ANSWER_HEAD_BYTES);
  private handler: ExchangeHandler | undefined;
  private request: ExchangeRequest | undefined;
  /** Exchanges completed on it: a reused connection may have been closed by the instance as idle. */
  private served = 0;
  /** Some byte of the current exchange's answer has arrived. */
  private answering = false;
  /** The current answer is a 1xx (100 Continue, 103 Early Hints): skipped, the real one follows. */
  private informational = false;
  private keepAlive = true;
  private gone = false;
  /** When it last became idle (ms since epoch; set by the pool), for the pool's idle limit. */
  idleSince = 0;
  /** How long the instance keeps it idle, from its keep-alive header (ms), when it said. */
  instanceIdleMs: number | undefined = undefined;
  private readonly abortNow = (err: Error): void => this.abort(err);
  /** The current request has gone to the socket (before that, an abort leaves the connection usable). */
  private written = false;

  constructor(
    private readonly owner: ConnectionOwner,
    host: string,
    port: number,
    connectTimeoutMs: number,
    private readonly hostHeader: string,
  ) {
    this.parser[HTTPParser.kOnHeadersComplete] = (info) => this.onHead(info.statusCode ?? 0, info.headers, info.shouldKeepAlive);
    // A piece is copied out of the shared read buffer: its consumer may hold it past this read.
    this.parser[HTTPParser.kOnBody] = (chunk: Buffer, start: number, len: number) => this.onBody(Buffer.from(chunk.subarray(start, start + len)));
    this.parser[HTTPParser.kOnMessageComplete] = () => this.onAnswerEnd();
    this.socket = connect({ host, port, noDelay: true, onread: { buffer: READ_BUFFER, callback: this.onRead } });
    const timer = setTimeout(() => this.destroy(new UpstreamSocketError("UPSTREAM_CONNECT_TIMEOUT", `connecting to ${hostHeader} took over ${connectTimeoutMs} ms`)), connectTimeoutMs);
    this.socket.once("connect", () => clearTimeout(timer));
    this.socket.on("end", () => this.onEnd());
    this.socket.on("error", (err) => this.destroy(err));
    this.socket.on("close", () => {
      clearTimeout(timer);
      this.destroy(new UpstreamSocketError("UPSTREAM_CLOSED", "the instance closed the connection before it answered"));
    });
  }

  /** Whether it can take an exchange now (idle, open, reusable). */
  get usable(): boolean {
    return !this.gone && this.handler === undefined && this.keepAlive;
  }

  /** Starts one exchange; the request is written at once (queued by the socket until it connects). */
  send(req: ExchangeRequest, handler: ExchangeHandler): void {
    this.handler = handler;
    this.request = req;
    this.answering = false;
    let head = `${req.method} ${req.path} HTTP/1.1\r\nhost: ${this.hostHeader}\r\n`;
    for (const name in req.headers) {
      const value = req.headers[name]!;
      if (UNSAFE_VALUE.test(value)) {
        this.giveBack(new UpstreamSocketError("UPSTREAM_BAD_REQUEST", `header ${JSON.stringify(name)} has a CR, LF or NUL in its value`));
        return;
      }
      head += `${name}: ${value}\r\n`;
    }
    const body = req.body;
    const length = body === undefined ? 0 : bodyLength(body);
    if (body !== undefined || req.method === "POST") head += `content-length: ${length}\r\n`;
    head += "\r\n";
    this.written = false;
    handler.onConnect(this.abortNow);
    if (this.handler !== handler) return; // aborted in onConnect
    this.written = true;
    if (body === undefined || length === 0) this.socket.write(head, "latin1");
    else if (length < 16 * 1024) this.socket.write(Buffer.concat(Buffer.isBuffer(body) ? [Buffer.from(head, "latin1"), body] : [Buffer.from(head, "latin1"), ...body]));
    else {
      // A large body is not copied: head and pieces corked, one packet burst.
      this.socket.cork();
      this.socket.write(head, "latin1");
      if (Buffer.isBuffer(body)) this.socket.write(body);
      else for (const piece of body) this.socket.write(piece);
      this.socket.uncork();
    }
  }

  /** Closes it (idle ones the pool retires, or at shutdown). */
  close(): void {
    this.destroy(new UpstreamSocketError("UPSTREAM_POOL_CLOSED", "the gateway closed the connection"));
  }

  private abort(err: Error): void {
    if (this.handler === undefined) return;
    if (this.written) this.destroy(err);
    // Ended before its request went out (it timed out waiting for a connection): nothing is on the wire.
    else this.giveBack(err);
  }

  /** Fails the current exchange, whose request was not sent, and hands the still clean connection back to the pool. */
  private giveBack(err: Error): void {
    const h = this.takeExchange();
    h?.onError(err);
    this.owner.released(this);
  }

  /** The current exchange's handler, which the connection then no longer serves. */
  private takeExchange(): ExchangeHandler | undefined {
    const h = this.handler;
    this.handler = undefined;
    this.request = undefined;
    return h;
  }

  /**
   * `n` bytes of the answer arrived at the start of `buf` (READ_BUFFER, reused by the next read).
   * Always true (keep reading): a consumer that wants no more pauses the socket itself (onHead, onBody).
   */
  private readonly onRead = (n: number, buf: Uint8Array): boolean => {
    this.answering = true;
    if (this.handler === undefined) {
      // Bytes nobody asked for: the framing is lost, the connection cannot be reused.
      this.destroy(new UpstreamSocketError("UPSTREAM_BAD_ANSWER", "the instance sent bytes outside an answer"));
      return true;
    }
    let result: number | Error;
    try {
      result = this.parser.execute(buf as Buffer, 0, n);
    } catch (err) {
      result = err as Error;
    }
    if (result instanceof Error && !this.gone) {
      this.destroy(new UpstreamSocketError("UPSTREAM_BAD_ANSWER", `the instance's answer is not valid HTTP/1.1 (${result.message})`));
    }
    return true;
  };

  private onEnd(): void {
    // An answer ended by close (no length, not chunked) completes here.
    if (this.handler !== undefined) {
      try {
        this.parser.finish();
      } catch {
        /* reported below as a close before the answer */
      }
    }
    this.destroy(new UpstreamSocketError("UPSTREAM_CLOSED", "the instance closed the connection before it answered"));
  }

  private onHead(status: number, headers: string[], keepAlive: boolean): number | undefined {
    const h = this.handler;
    if (h === undefined) return undefined;
    if (status < 200) {
      this.informational = true;
      return undefined;
    }
    this.keepAlive = keepAlive;
    for (let i = 0; i < headers.length; i += 2) {
      const name = headers[i]!;
      if (isHeader(name, "keep-alive")) {
        const m = KEEP_ALIVE_TIMEOUT.exec(headers[i + 1]!);
        if (m) this.instanceIdleMs = Number(m[1]) * 1000;
      }
    }
    // The resume function of this exchange only: a late call must not resume the next exchange's pause.
    const resume = (): void => {
      if (this.handler === h && !this.gone) this.socket.resume();
    };
    if (!h.onHeaders(status, headers, resume) && this.handler === h) this.socket.pause();
    return undefined;
  }

  private onBody(piece: Buffer): void {
    const h = this.handler;
    if (h === undefined || this.informational) return;
    if (!h.onData(piece) && this.handler === h) this.socket.pause();
  }

  private onAnswerEnd(): void {
    if (this.informational) {
      this.informational = false;
      return;
    }
    const h = this.takeExchange();
    if (h === undefined) return;
    this.served++;
    // Paused for this answer's sink (which now holds its last pieces): the next exchange reads at once.
    this.socket.resume();
    if (this.keepAlive) this.owner.released(this); else this.destroy(new UpstreamSocketError("UPSTREAM_CLOSED", "closed after its answer"));
    h.onComplete();
  }

  /**
   * Ends the connection; an exchange still on it fails with `err`. Idempotent. One exception, as Go's
   * http.Transport makes it: a reused connection that closes (or resets) before any byte of the answer
   * was closed by the instance as idle while the request was on its way, so the instance never read
   * it: the exchange runs again on a new connection. (A new connection that does that fails.)
   */
  private destroy(err: Error): void {
    if (this.gone) return;
    this.gone = true;
    this.socket.destroy();
    const req = this.request;
    const h = this.takeExchange();
    this.owner.closed(this);
    if (h === undefined) return;
    const code = (err as { code?: unknown }).code;
    if (this.served > 0 && !this.answering && req !== undefined && typeof code === "string" && IDLE_CLOSE_CODES.has(code)) this.owner.retry(req, h);
    else h.onError(err);
  }
}
