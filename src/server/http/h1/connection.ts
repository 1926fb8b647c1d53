import type { Socket } from "node:net";
import { HTTPParser } from "http-parser-js";
import type { BodyBudget } from "../body-budget";
import { CONNECTION_CLOSE, H1Request, H1Response, responseHead, type BodyWriter, type ExchangeSink, type ResponseHeaders, type StreamEvents } from "./message";
import { Refusal, betweenRequests, strictRequestParser } from "./parser";

/** What a connection needs from its server: limits, the handler and the shared clock. */
export interface ConnectionContext {
  readonly maxHeaderSize: number;
  readonly bodyLimitBytes: number;
  /** The bytes of request bodies all connections together may hold. */
  readonly bodyBudget: BodyBudget;
  /** The head's last lines on a connection that stays open (keepAliveLines). */
  readonly keepAliveLines: string;
  /** The `date` header line, refreshed once a second. */
  dateLine(): string;
  handle(req: H1Request, res: H1Response): void;
  /** An answer the HTTP layer gives itself (bad framing, timeouts): its body and extra headers. */
  ownAnswer(status: number, message: string, about: OwnAnswerContext): OwnAnswer;
  closed(conn: H1Connection): void;
}

/** An answer the HTTP layer gives itself: its body and any headers the server adds to every answer. */
export interface OwnAnswer {
  contentType: string;
  body: Buffer;
  headers?: ResponseHeaders;
}

/** What is known of the request an own answer goes to: method and target once its head was read. */
export interface OwnAnswerContext {
  method?: string;
  url?: string;
  /** When its first byte arrived (ms since the epoch). */
  startedAt: number;
  /** A handler already has this request (a body timeout): it logs the answer, under its own id. */
  handled: boolean;
  /** The id the handler gave the request (`H1Request.id`), when it has one. */
  requestId?: string;
  /** The stable error code, when the status alone does not say (a refused connection's 503: too_many_connections). */
  code?: string;
}

/** Headers that must appear at most once: a second copy would make routing, auth or framing ambiguous. */
const SINGLE = new Set(["authorization", "host", "content-length", "content-type", "transfer-encoding", "expect", "x-request-id", "azureml-model-deployment", "x-modelplane-endpoint"]);
const TOKEN = /^[!#$%&'*+.^_`|~0-9a-z-]+$/;
// Control characters other than HTAB never belong in a header value.
// eslint-disable-next-line no-control-regex
const BAD_VALUE = /[\x00-\x08\x0a-\x1f\x7f]/;
const NOT_TOKEN = /[^!#$%&'*+.^_`|~0-9a-z-]/g;
const DIGITS = /^\d{1,15}$/;
const MALFORMED = 'malformed HTTP/1.1 request: send a request line "METHOD /path HTTP/1.1", then "Name: value" header lines, each ending in CRLF';
const METHODS = HTTPParser.methods;
/** Origin-form request target: a path of visible ASCII (RFC 9112 3.2.1); anything else is percent-encoded. */
const ORIGIN_FORM = /^\/[\x21-\x7e]*$/;
/** Absolute-form request target: scheme, authority, then the path and query passed on. */
// eslint-disable-next-line no-control-regex
const ABSOLUTE_FORM = /^https?:\/\/([^/?#\x00-\x20\x7f-\uffff]+)((?:[/?][\x21-\x7e]*)?)$/i;

/** Largest body sent in one buffer with its head; larger ones go out as head + body (no copy). */
const ONE_WRITE_MAX = 64 * 1024;

/** The request head as http-parser-js reports it. */
interface HeadInfo {
  versionMajor: number;
  versionMinor: number;
  headers: string[];
  method: number;
  url: string;
  upgrade: boolean;
  shouldKeepAlive: boolean;
}

/**
 * One client connection: parses requests with http-parser-js, hands them to the handler one at a
 * time (pipelined requests wait their turn, reading pauses meanwhile) and writes each answer as one
 * head + body write. Framing the parser leaves open is refused here: duplicate framing or routing
 * headers, Transfer-Encoding other than chunked or next to Content-Length, non-numeric
 * Content-Length, upgrades, oversized heads.
 */
export class H1Connection implements ExchangeSink {
  private readonly parser: InstanceType<typeof HTTPParser>;
  /** Requests in arrival order; the first is the one being answered. */
  private readonly queue: H1Request[] = [];
  /** The request whose body is being read. */
  private reading: H1Request | undefined;
  /** When the first byte of a head not yet complete arrived (0: none). */
  private headSince = 0;
  /** When the connection last became idle. */
  private idleSince: number;
  /** Answer what is queued, then close. */
  private closing = false;
  private dead = false;
  /** The head being checked (as the parser reported it), for the answer if it is refused. */
  private head: HeadInfo | undefined;
  /** A request to hand out once the parser has taken the whole chunk (see onData). */
  private ready: H1Request | undefined;
  /** The writer of the streamed answer going out now, told of drains and of the connection closing. */
  private streamEvents: StreamEvents | undefined;

  constructor(
    readonly socket: Socket,
    private readonly ctx: ConnectionContext,
  ) {
    const p = strictRequestParser(ctx.maxHeaderSize);
    p[HTTPParser.kOnHeadersComplete] = this.onHead as never;
    p[HTTPParser.kOnBody] = this.onBody;
    p[HTTPParser.kOnMessageComplete] = this.onMessageComplete;
    this.parser = p;
    this.idleSince = Date.now();
    socket.on("data", this.onData);
    socket.on("error", () => this.destroy());
    socket.on("close", this.onClose);
    socket.on("drain", () => this.streamEvents?.drain());
    // A half-closed client still gets its answers; nothing more can arrive.
    socket.on("end", () => {
      this.closing = true;
      this.reading?.abort();
      if (this.queue.length === 0) this.destroy();
    });
  }

  /** No request is queued or being read. */
  get idle(): boolean {
    return this.queue.length === 0 && this.headSince === 0;
  }

  private readonly onData = (chunk: Buffer): void => {
    // Closing: a body being read is still read to its end; nothing new is parsed.
    if (this.dead || (this.closing && this.reading === undefined)) return;
    let r: number | Error;
    try {
      r = this.parser.execute(chunk);
    } catch (err) {
      r = err as Error;
    }
    if (r instanceof Error) this.refuse(r instanceof Refusal ? r : /header size/.test(r.message) ? this.headTooLarge() : new Refusal(400, MALFORMED));
    // Part of a head is in the parser (and no body is being read): the headers timeout runs from now.
    else if (this.reading !== undefined || betweenRequests(this.parser)) this.headSince = 0;
    else if (this.headSince === 0) this.headSince = Date.now();
    // Handed out only now, so a small body that came with its head is already complete (the handler
    // takes it without waiting), and no handler runs inside the parser. A body cut short by a refusal
    // above was aborted first: its handler sees why and answers.
    const ready = this.ready;
    if (ready !== undefined) {
      this.ready = undefined;
      this.dispatch(ready);
    }
  };

  /** http-parser-js passes the head as one object, or positionally once something flipped it to node's newer signature. */
  private readonly onHead = (first: HeadInfo | number, ...rest: unknown[]): number => {
    const h: HeadInfo =
      typeof first === "number"
        ? { versionMajor: first, versionMinor: rest[0] as number, headers: rest[1] as string[], method: rest[2] as number, url: rest[3] as string, upgrade: rest[6] as boolean, shouldKeepAlive: rest[7] as boolean }
        : first;
    // Closing (graceful shutdown): a request that arrives now is not taken; the connection ends after the answers owed.
    if (this.closing) return 0;
    this.head = h;
    if (h.upgrade) throw new Refusal(400, "protocol upgrades (WebSocket, h2c) are not supported: send plain HTTP/1.1 requests");
    if (h.versionMajor !== 1) throw new Refusal(505, `HTTP/${h.versionMajor}.${h.versionMinor} is not supported: send HTTP/1.1`);
    let url = h.url;
    let authority: string | undefined;
    if (!ORIGIN_FORM.test(url)) {
      // Absolute-form (RFC 9112 3.2.2): a server must accept it; its authority replaces Host.
      const m = ABSOLUTE_FORM.exec(url);
      if (m === null) throw new Refusal(400, "malformed request target: send a path starting with '/' (or an absolute http URL), percent-encoding anything but visible ASCII");
      authority = m[1]!;
      url = m[2]!.startsWith("/") ? m[2]! : `/${m[2]!}`;
    }
    const raw = h.headers;
    // No prototype: a header named `constructor` or `__proto__` is just a header (with `{}` the first
    // read Object's own members). It also gives every request's headers one shared (dictionary) map,
    // where each set of header names in each order would otherwise be its own hidden class: the
    // gateway's optimized code was thrown away ("wrong map") whenever new connections came in.
    const headers = Object.create(null) as Record<string, string>;
    let size = h.url.length;
    for (let i = 0; i < raw.length; i += 2) {
      const name = raw[i]!.toLowerCase();
      const value = raw[i + 1]!;
      size += name.length + value.length + 4;
      if (!TOKEN.test(name)) throw new Refusal(400, `header name '${name.replace(NOT_TOKEN, "?").slice(0, 64)}' is not an HTTP token: use letters, digits and !#$%&'*+.^_\`|~-`);
      if (BAD_VALUE.test(value)) throw new Refusal(400, `header '${name}' has a control character in its value: remove it (only tab is allowed)`);
      const prev = headers[name];
      if (prev === undefined) headers[name] = value;
      else if (SINGLE.has(name)) throw new Refusal(400, `duplicate ${name} header: send it once`);
      else headers[name] = `${prev}, ${value}`;
    }
    if (size > this.ctx.maxHeaderSize) throw this.headTooLarge();
    if (authority !== undefined) headers.host = authority;
    const te = headers["transfer-encoding"];
    const cl = headers["content-length"];
    if (te !== undefined && (te.toLowerCase() !== "chunked" || cl !== undefined)) throw new Refusal(400, "Transfer-Encoding must be exactly 'chunked' and never sent with Content-Length");
    if (cl !== undefined && !DIGITS.test(cl)) throw new Refusal(400, "Content-Length must be a decimal number");
    const expect = headers.expect;
    if (expect !== undefined && expect.toLowerCase() !== "100-continue") throw new Refusal(417, "only 'Expect: 100-continue' is supported");
    const req = new H1Request(METHODS[h.method] ?? "GET", url, headers, h.shouldKeepAlive, this, this.headSince || Date.now(), this.ctx.bodyLimitBytes, this.ctx.bodyBudget, this);
    req.http11 = h.versionMinor >= 1;
    this.head = undefined;
    const length = cl === undefined ? 0 : Number(cl);
    // Without a body the message is complete with its head (the parser says so right after this call).
    if (te === undefined && length === 0) req.complete = true;
    else if (length > this.ctx.bodyLimitBytes) req.tooLarge = true;
    // Refused at once rather than after the client sent it all; chunked bodies are checked as they arrive.
    else if (length > this.ctx.bodyBudget.free) req.refuseOverBudget();
    req.expectsContinue = expect !== undefined && !req.complete;
    this.headSince = 0;
    this.reading = req;
    this.queue.push(req);
    if (this.queue.length === 1) this.ready = req;
    // An earlier request is still being answered: stop reading until it is (bounded read-ahead).
    else this.socket.pause();
    return 0;
  };

  private readonly onBody = (chunk: Buffer, start: number, len: number): void => {
    this.reading?.push(start === 0 && len === chunk.length ? chunk : chunk.subarray(start, start + len));
  };

  private readonly onMessageComplete = (): void => {
    const req = this.reading;
    this.reading = undefined;
    req?.end();
  };

  private dispatch(req: H1Request): void {
    const res = new H1Response(req, this);
    try {
      this.ctx.handle(req, res);
    } catch (err) {
      console.error(`http handler failed: ${(err as Error)?.stack ?? String(err)}`);
      this.closing = true;
      res.respond(500, {});
    }
  }

  continueBody(req: H1Request): void {
    if (!req.expectsContinue || this.dead) return;
    req.expectsContinue = false;
    this.socket.write("HTTP/1.1 100 Continue\r\n\r\n", "latin1");
  }

  respond(req: H1Request, status: number, headers: ResponseHeaders, body: Buffer | string | undefined): void {
    // Only the request at the head of the queue is ever handed out, so only it can answer.
    if (req.responded || this.dead || this.queue[0] !== req) return;
    req.responded = true;
    req.status = status;
    const keepAlive = this.keepsAlive(req, headers);
    // 1xx, 204 and 304 answers carry neither a body nor a length (RFC 9110 8.6).
    const bodiless = status === 204 || status === 304 || status < 200;
    if (bodiless) {
      body = undefined;
      delete headers["content-length"];
    }
    const bytes = body === undefined ? 0 : typeof body === "string" ? Buffer.byteLength(body) : body.length;
    if (headers["content-length"] === undefined && !bodiless) headers["content-length"] = bytes;
    const head = responseHead(status, headers, this.ctx.dateLine(), keepAlive ? this.ctx.keepAliveLines : CONNECTION_CLOSE);
    const s = this.socket;
    if (body === undefined || bytes === 0 || req.method === "HEAD") s.write(head, "latin1");
    else if (typeof body === "string") s.write(head + body, "utf8");
    else if (bytes <= ONE_WRITE_MAX) {
      // Small answers: head and body copied into one buffer, one plain write (cheaper than writev).
      const out = Buffer.allocUnsafe(head.length + bytes);
      out.write(head, 0, "latin1");
      body.copy(out, head.length);
      s.write(out);
    } else {
      s.cork();
      s.write(head, "latin1");
      s.write(body);
      s.uncork();
    }
    this.answered(keepAlive);
  }

  /**
   * A streamed answer: its head now; its body through the writer, as the `length` bytes its
   * content-length announces, or without one as chunks (HTTP/1.1) or up to the close (HTTP/1.0).
   * A HEAD request gets no body at all.
   */
  stream(req: H1Request, status: number, headers: ResponseHeaders, events: StreamEvents, length?: number): BodyWriter | undefined {
    if (req.responded || this.dead || this.queue[0] !== req) return undefined;
    req.responded = true;
    req.status = status;
    const chunked = length === undefined && req.http11;
    // Without a length, an HTTP/1.0 client learns where the body ends only from the close.
    const keepAlive = (length !== undefined || chunked) && this.keepsAlive(req, headers);
    if (length !== undefined) headers["content-length"] = length;
    else delete headers["content-length"];
    if (chunked) headers["transfer-encoding"] = "chunked";
    this.socket.write(responseHead(status, headers, this.ctx.dateLine(), keepAlive ? this.ctx.keepAliveLines : CONNECTION_CLOSE), "latin1");
    this.streamEvents = events;
    return new StreamedBody(this, chunked, req.method === "HEAD", keepAlive);
  }

  /** Whether the connection stays open after this answer. */
  private keepsAlive(req: H1Request, headers: ResponseHeaders): boolean {
    // A body not read to its end leaves the stream mid-message: the connection cannot be reused.
    return req.keepAlive && req.complete && !this.closing && headers.connection !== "close";
  }

  /** @internal The streamed answer ended: the connection goes on as after any answer. */
  streamEnded(keepAlive: boolean): void {
    this.streamEvents = undefined;
    // The client may have half-closed or the server begun closing while the body went out.
    if (!this.dead) this.answered(keepAlive && !this.closing);
  }

  /** @internal The streamed answer was broken off: the connection is dropped (its writer already knows). */
  streamAborted(): void {
    this.streamEvents = undefined;
    this.destroy();
  }

  /** The answer at the head of the queue is out: close, or go on to the next request. */
  private answered(keepAlive: boolean): void {
    const s = this.socket;
    this.queue.shift();
    if (!keepAlive) {
      this.closing = true;
      this.reading?.abort();
      for (const q of this.queue) q.abort();
      this.queue.length = 0;
      this.dead = true;
      s.end();
      return;
    }
    // At most the request now answered next is read ahead (it may still be mid-body).
    if (this.queue.length <= 1 && s.isPaused()) s.resume();
    const next = this.queue[0];
    // Next pipelined request: a microtask, not a nested call, so a long pipeline of quick answers cannot grow the stack.
    if (next !== undefined) queueMicrotask(() => this.dispatch(next));
    else this.idleSince = Date.now();
  }

  /**
   * Refuses what the parser could not take: alone on the connection it gets its own answer; behind
   * earlier requests, those are answered and the connection then closes (the stream cannot be trusted).
   */
  private refuse(r: Refusal): void {
    this.closing = true;
    this.socket.pause();
    // A body cut short by bad framing: its handler sees BodyAborted, saying why, and answers.
    this.reading?.abort(r.message);
    this.reading = undefined;
    if (this.queue.length === 0) this.answerItself(r.status, r.message, undefined);
  }

  private headTooLarge(): Refusal {
    return new Refusal(431, `request head (request line and headers) exceeds ${this.ctx.maxHeaderSize} bytes: send fewer or shorter headers`);
  }

  /**
   * An answer of the layer's own (refusal or timeout), then close: to `req`, the request at the head
   * of the queue, or, with none, to the head that never became a request.
   */
  private answerItself(status: number, message: string, req: H1Request | undefined): void {
    this.closing = true;
    const head = this.head;
    const about: OwnAnswerContext =
      req !== undefined
        ? { method: req.method, url: req.url, startedAt: req.startedAt, handled: true, requestId: req.id }
        : { method: head && (METHODS[head.method] ?? "GET"), url: head?.url, startedAt: this.headSince || Date.now(), handled: false };
    const { contentType, body, headers } = this.ctx.ownAnswer(status, message, about);
    if (req === undefined) {
      req = new H1Request("GET", "", {}, false, this, Date.now(), 0, this.ctx.bodyBudget, this);
      req.complete = true;
      this.queue.push(req);
    }
    this.respond(req, status, { ...headers, "content-type": contentType }, body);
  }

  /** Enforces the header, body and idle timeouts; called about once a second. */
  sweep(now: number, t: { headersMs: number; requestMs: number; keepAliveMs: number }): void {
    if (this.dead) return;
    const reading = this.reading;
    if (reading !== undefined && now - reading.startedAt > t.requestMs) {
      // The handler waiting for this body gets BodyAborted; its later answer is a no-op.
      if (this.queue[0] === reading && !reading.responded) this.answerItself(408, `request body not received within ${t.requestMs / 1000} s: send the whole body promptly`, reading);
      else this.destroy();
      reading.abort();
    } else if (this.headSince !== 0 && now - this.headSince > t.headersMs) {
      if (this.queue.length === 0) this.answerItself(408, `request head not received within ${t.headersMs / 1000} s: send the request line and headers promptly`, undefined);
    } else if (this.queue.length === 0 && this.headSince === 0 && now - this.idleSince > t.keepAliveMs) {
      this.destroy();
    }
  }

  /** Stops taking requests: idle now means closed now; otherwise after the answers owed. */
  shutdown(): void {
    this.closing = true;
    if (this.idle) this.destroy();
  }

  destroy(): void {
    if (!this.socket.destroyed) this.socket.destroy();
    this.dead = true;
  }

  private readonly onClose = (): void => {
    this.dead = true;
    const events = this.streamEvents;
    this.streamEvents = undefined;
    events?.closed();
    this.reading?.abort();
    for (const q of this.queue) q.abort();
    this.ctx.closed(this);
  };
}

const LAST_CHUNK = "0\r\n\r\n";
const CRLF = "\r\n";

/** The body of one streamed answer (see H1Connection.stream). */
class StreamedBody implements BodyWriter {
  private done = false;

  constructor(
    private readonly conn: H1Connection,
    private readonly chunked: boolean,
    private readonly headOnly: boolean,
    private readonly keepAlive: boolean,
  ) {}

  write(piece: Buffer): boolean {
    const s = this.conn.socket;
    if (this.done || s.destroyed) return false;
    // An empty chunk would read as the last one.
    if (piece.length === 0 || this.headOnly) return true;
    if (!this.chunked) return s.write(piece);
    s.cork();
    s.write(`${piece.length.toString(16)}\r\n`, "latin1");
    s.write(piece);
    const more = s.write(CRLF, "latin1");
    s.uncork();
    return more;
  }

  end(): void {
    if (this.done) return;
    this.done = true;
    const s = this.conn.socket;
    if (this.chunked && !this.headOnly && !s.destroyed) s.write(LAST_CHUNK, "latin1");
    this.conn.streamEnded(this.keepAlive);
  }

  abort(): void {
    if (this.done) return;
    this.done = true;
    this.conn.streamAborted();
  }
}
