import { isHeader, type ExchangeHandler } from "../http/client/connection";
import { OriginPool } from "../http/client/origin-pool";
import type { BodyPieces } from "../http/body-pieces";
import { DEFAULT_RESPONSE_LIMIT_BYTES } from "../limits";

/**
 * Keep-alive connection pools, one per instance origin, shared by all routing tables, and the
 * largest answer any exchange buffers from an instance (a model that answers without end must not
 * take the gateway's memory, and with it every endpoint, down; streamed answers are not buffered).
 */
export class UpstreamPools {
  private readonly pools = new Map<string, OriginPool>();
  private closed = false;

  /** @param responseLimitBytes largest answer read from an instance; past it the exchange fails with UpstreamTooLarge. */
  constructor(readonly responseLimitBytes = DEFAULT_RESPONSE_LIMIT_BYTES) {}

  get(origin: string): OriginPool {
    let p = this.pools.get(origin);
    if (!p) {
      if (this.closed) throw new Error("upstream pools are closed");
      p = new OriginPool(origin, { connections: 256, idleTimeoutMs: 30_000, connectTimeoutMs: 5_000 });
      this.pools.set(origin, p);
    }
    return p;
  }

  close(): Promise<void> {
    this.closed = true;
    for (const p of this.pools.values()) p.close();
    this.pools.clear();
    return Promise.resolve();
  }
}

export interface UpstreamResponse {
  status: number;
  /** The response's content-type, when it has exactly one. */
  contentType: string | undefined;
  /** The whole body; empty when it was discarded or is being streamed. */
  body: Buffer;
  /** Set when the answer is relayed as it arrives ("stream" mode): its body flows through this. */
  stream?: AnswerStream;
  /** A relayed answer's content-length, when it announced one (a large answer: see STREAM_LENGTH_ABOVE). */
  length?: number;
}

/**
 * Answers announcing more than this many bytes are relayed as they arrive in "stream" mode, not
 * buffered: the gateway then holds a few pieces of each, not up to the response limit per answer.
 */
export const STREAM_LENGTH_ABOVE = 1024 * 1024;

/**
 * What `exchange` does with an answer's body:
 * - "buffer": read it whole (within the pools' response limit);
 * - "discard": only count it (mirror copies and probes need the status alone); one of unknown
 *   length that stays open comes back as a `stream`, as in "stream" mode, for the caller to drain
 *   (`drain`) or cancel, so a long stream is timed by its silences, not its length;
 * - "stream": an answer of unknown length (no content-length: chunked or ended by close, as
 *   server-sent events and token streams are) that is still open once the read bringing its head is
 *   parsed resolves then, and its body flows through `AnswerStream` (so does one that passes the
 *   response limit); so does an answer whose content-length is over STREAM_LENGTH_ABOVE and within
 *   the response limit (its length is passed on); other answers with a length and those complete in
 *   that first read are buffered as with "buffer". Non-2xx answers included: the gateway relays
 *   those to its client as 424.
 */
export type AnswerMode = "buffer" | "discard" | "stream";

/** Where a streamed answer's body goes: every piece in order, then exactly one of end or error. */
export interface AnswerSink {
  /** One piece; false asks the instance to pause until `AnswerStream.resume()`. */
  chunk(piece: Buffer): boolean;
  end(): void;
  /** The stream broke off: the instance went away, went quiet past the timeout, or `cancel` was called. */
  error(err: Error): void;
}

/**
 * The body of an answer relayed as it arrives. Nothing is buffered beyond what came with the head
 * (the instance is paused until `start`) or one piece the sink refused: a slow client slows the
 * instance instead of growing the gateway's memory. The exchange's timeout becomes an idle timeout:
 * it fails the stream when neither the instance sends nor the client takes anything for that long.
 */
export interface AnswerStream {
  start(sink: AnswerSink): void;
  /** The sink can take more (its client drained); also counts as progress for the idle timeout. */
  resume(): void;
  /** Ends the exchange early (the client went away): the instance's connection is dropped. */
  cancel(reason: Error): void;
  /** Runs once when the stream has ended or failed (the deployment's admission slot is held until then). */
  onSettled(fn: () => void): void;
}

const NO_CHUNKS: Buffer[] = [];
const EMPTY = Buffer.alloc(0);
/** The sink of a stream cancelled before it started. */
const IGNORED: AnswerSink = { chunk: () => false, end: () => {}, error: () => {} };

/**
 * The handler of one exchange: collects the body into a Buffer (or only counts it when
 * discarded, or relays it as an AnswerStream), no Node stream, no AbortController. Settles exactly
 * once: with the response, the transport error, UpstreamTimeout, or UpstreamTooLarge (then the
 * connection is dropped, not reused). A streamed answer settles at its head; its end or failure then
 * goes to the sink.
 */
class Exchange implements AnswerStream, ExchangeHandler {
  status = 0;
  contentType: string | undefined = undefined;
  private chunks: Buffer[] = NO_CHUNKS;
  private size = 0;
  private abort: ((err: Error) => void) | undefined;
  private reason: Error | undefined;
  private settled = false;
  private readonly timer: NodeJS.Timeout;
  /** An answer of unknown or large length that is relayed unless it is complete with its head's read. */
  private mayStream = false;
  /** The content-length of a large answer that may be streamed (passed on to the client). */
  private length: number | undefined = undefined;
  private streaming = false;
  private resumeUpstream: (() => void) | undefined;
  private sink: AnswerSink | undefined;
  /** The instance is paused (onData said "not now"); resumed once the sink has taken what is held. */
  private upstreamPaused = false;
  /** The sink refused a piece: nothing more goes to it until resume(). */
  private sinkFull = false;
  /** How the stream ended before the sink could be told: undefined while it runs, null when it completed, else the error. */
  private outcome: Error | null | undefined = undefined;
  private streamDone = false;
  private settledHooks: (() => void)[] | undefined;

  constructor(
    private readonly resolve: (r: UpstreamResponse) => void,
    private readonly reject: (err: unknown) => void,
    timeoutMs: number,
    private readonly limitBytes: number,
    private readonly mode: AnswerMode,
  ) {
    this.timer = setTimeout(() => this.stop(new UpstreamTimeout()), timeoutMs);
  }

  /** Ends the exchange early with `err`: the request is aborted (at once, or as soon as it gets a connection). */
  private stop(err: Error): void {
    if (this.abort) this.abort(err);
    else this.reason = err;
    this.fail(err);
  }

  private fail(err: unknown): void {
    if (this.streaming) {
      this.finishStream(err as Error);
      return;
    }
    if (this.settled) return;
    this.settled = true;
    clearTimeout(this.timer);
    this.reject(err);
  }

  onConnect(abort: (err: Error) => void): void {
    if (this.reason) abort(this.reason);
    else this.abort = abort;
  }

  onHeaders(status: number, raw: readonly string[], resume: () => void): boolean {
    this.status = status;
    let ct: string | undefined;
    let n = 0;
    let hasLength = false;
    let lengthText: string | undefined;
    for (let i = 0; i < raw.length; i += 2) {
      const name = raw[i]!;
      if (isHeader(name, "content-type")) {
        n++;
        ct = raw[i + 1]!;
      } else if (isHeader(name, "content-length")) {
        hasLength = true;
        lengthText = raw[i + 1];
      }
    }
    this.contentType = n === 1 ? ct : undefined;
    // 204, 205 and 304 never have a body; an answer with a length is complete soon and is buffered,
    // unless it is large (and within the limit, which a relayed answer no longer checks). A client's
    // non-2xx answer is relayed the same way (its client gets it as 424); a mirror's or probe's is
    // only ever counted.
    const hasBody = status !== 204 && status !== 205 && status !== 304;
    const relayable = hasBody && ((status >= 200 && status < 300) || (this.mode === "stream" && status >= 300));
    // Parsed only where it can matter: "stream" mode (client answers), not probes or mirror copies.
    const length = this.mode === "stream" && lengthText !== undefined ? Number(lengthText) : Number.NaN;
    const large = length > STREAM_LENGTH_ABOVE && length <= this.limitBytes;
    if (relayable && large) this.length = length;
    if (relayable && ((this.mode !== "buffer" && !hasLength) || large)) {
      this.resumeUpstream = resume;
      this.mayStream = true;
      // Decided once the read that brought the head is parsed (microtasks run after it).
      queueMicrotask(() => this.decide());
    }
    return true;
  }

  onData(chunk: Buffer): boolean {
    if (this.streaming) return this.relay(chunk);
    this.size += chunk.length;
    if (this.size > this.limitBytes) {
      if (this.mayStream) {
        // Of unknown length and already past the limit: relayed, not buffered.
        if (this.mode !== "discard") {
          if (this.chunks === NO_CHUNKS) this.chunks = [];
          this.chunks.push(chunk);
        }
        this.beginStream();
        this.upstreamPaused = true;
        return false;
      }
      this.chunks = NO_CHUNKS;
      this.stop(new UpstreamTooLarge(this.limitBytes, this.status));
      return false;
    }
    if (this.mode === "discard") return true;
    if (this.chunks === NO_CHUNKS) this.chunks = [];
    this.chunks.push(chunk);
    return true;
  }

  onComplete(): void {
    if (this.streaming) {
      this.finishStream(null);
      return;
    }
    if (this.settled) return;
    this.settled = true;
    clearTimeout(this.timer);
    const c = this.chunks;
    const body = c.length === 0 ? EMPTY : c.length === 1 ? c[0]! : Buffer.concat(c, this.size);
    this.resolve({ status: this.status, contentType: this.contentType, body });
  }

  /**
   * An answer of unknown length still open after the read that brought its head is a stream: it
   * resolves now and the rest is relayed. One that came whole in that read (most chunked JSON answers)
   * is buffered as usual: one write with its length to the client, no streaming cost.
   */
  private decide(): void {
    if (!this.settled && !this.streaming) this.beginStream();
  }

  private beginStream(): void {
    this.streaming = true;
    this.settled = true;
    // From now on the timer measures silence, not the whole exchange.
    this.timer.refresh();
    this.resolve({ status: this.status, contentType: this.contentType, body: EMPTY, stream: this, length: this.length });
  }

  onError(err: Error): void {
    this.fail(err);
  }

  // AnswerStream: pieces the sink has not taken are held in `chunks` (at most what came with the
  // head, or one piece after the sink said "not now"), and the instance is paused meanwhile.

  private relay(chunk: Buffer): boolean {
    if (this.streamDone) return false;
    this.timer.refresh();
    const sink = this.sink;
    if (sink === undefined || this.sinkFull) {
      if (this.chunks === NO_CHUNKS) this.chunks = [];
      this.chunks.push(chunk);
      this.upstreamPaused = true;
      return false;
    }
    if (sink.chunk(chunk)) return true;
    this.sinkFull = true;
    this.upstreamPaused = true;
    return false;
  }

  start(sink: AnswerSink): void {
    if (this.sink !== undefined || this.streamDone) return;
    this.sink = sink;
    this.flush();
  }

  resume(): void {
    if (this.streamDone) return;
    this.timer.refresh();
    if (this.sink === undefined) return;
    this.sinkFull = false;
    this.flush();
  }

  cancel(reason: Error): void {
    if (this.streamDone) return;
    // Drops the instance's connection (unless its answer is complete already), then settles.
    if (this.outcome === undefined) this.stop(reason);
    if (!this.streamDone) {
      this.sink ??= IGNORED;
      this.deliver(reason);
    }
  }

  onSettled(fn: () => void): void {
    if (this.streamDone) fn();
    else (this.settledHooks ??= []).push(fn);
  }

  /** Gives the sink what it can take; then ends the stream if the instance is done, else lets the instance go on. */
  private flush(): void {
    const sink = this.sink!;
    if (this.outcome instanceof Error) return this.deliver(this.outcome);
    const held = this.chunks;
    while (held.length > 0 && !this.sinkFull) if (!sink.chunk(held.shift()!)) this.sinkFull = true;
    if (this.sinkFull || held.length > 0) return;
    if (this.outcome === null) return this.deliver(null);
    if (this.upstreamPaused) {
      this.upstreamPaused = false;
      this.resumeUpstream?.();
    }
  }

  /** The instance finished (null) or the stream failed: delivered now, or once the held pieces are taken. */
  private finishStream(err: Error | null): void {
    if (this.streamDone) return;
    if (err === null) {
      // The timer keeps running until the sink has taken everything: a client that stops reading is cut too.
      if (this.sink !== undefined && this.chunks.length === 0) this.deliver(null);
      else this.outcome = null;
      return;
    }
    if (this.sink !== undefined) this.deliver(err);
    else this.outcome = err;
  }

  private deliver(err: Error | null): void {
    this.streamDone = true;
    this.outcome = undefined;
    this.chunks = NO_CHUNKS;
    clearTimeout(this.timer);
    const sink = this.sink!;
    if (err === null) sink.end();
    else sink.error(err);
    const hooks = this.settledHooks;
    this.settledHooks = undefined;
    if (hooks) for (const h of hooks) h();
  }
}

/**
 * One HTTP exchange with an instance, the whole response read within timeoutMs and within the pools'
 * response limit. Rejects with the transport error, UpstreamTimeout when the timer fires (see
 * isTimeout), or UpstreamTooLarge past the limit. `mode` (see AnswerMode): "discard" only counts the
 * body; "stream" relays an answer of unknown or large length through `stream`, with timeoutMs as the
 * time to its head and then as the longest silence.
 */
export function exchange(
  pools: UpstreamPools,
  origin: string,
  path: string,
  method: "GET" | "POST",
  headers: Record<string, string>,
  body: BodyPieces | undefined,
  timeoutMs: number,
  mode: AnswerMode = "buffer",
): Promise<UpstreamResponse> {
  return new Promise<UpstreamResponse>((resolve, reject) => {
    const pool = pools.get(origin);
    const handler = new Exchange(resolve, reject, timeoutMs, pools.responseLimitBytes, mode);
    try {
      pool.dispatch({ path, method, headers, body }, handler);
    } catch (err) {
      handler.onError(err as Error);
    }
  });
}

/** Reads a stream to its end, keeping nothing; rejects with its error when it breaks off. */
export function drain(stream: AnswerStream): Promise<void> {
  return new Promise((resolve, reject) => stream.start({ chunk: () => true, end: resolve, error: reject }));
}

/** The abort reason used by `exchange` when its timer fires. */
export class UpstreamTimeout extends Error {
  constructor() {
    super("upstream timeout");
    this.name = "UpstreamTimeout";
  }
}

/** The abort reason used by `exchange` when an answer exceeds the pools' response limit; `status` is the one the instance answered with. */
export class UpstreamTooLarge extends Error {
  constructor(
    readonly limitBytes: number,
    readonly status: number,
  ) {
    super(`upstream answer exceeds ${limitBytes} bytes`);
    this.name = "UpstreamTooLarge";
  }
}

export function isTimeout(err: unknown): boolean {
  return err instanceof UpstreamTimeout || (err as { name?: string })?.name === "UpstreamTimeout";
}

/** One readiness/liveness probe: 2xx within timeoutMs is a pass; anything else says why not. */
export async function probe(pools: UpstreamPools, url: string, timeoutMs: number): Promise<{ ok: true } | { ok: false; error: string }> {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return { ok: false, error: `invalid probe URL` };
  }
  try {
    // Only the status counts: the body is discarded.
    const res = await exchange(pools, u.origin, u.pathname + u.search, "GET", {}, undefined, timeoutMs, "discard");
    // A probe route that streams: its status is the answer.
    res.stream?.cancel(new Error("probe answered"));
    if (res.status >= 200 && res.status < 300) return { ok: true };
    return { ok: false, error: `GET ${u.pathname} answered HTTP ${res.status}` };
  } catch (err) {
    if (isTimeout(err)) return { ok: false, error: `GET ${u.pathname} timed out after ${timeoutMs} ms` };
    if (err instanceof UpstreamTooLarge) {
      return { ok: false, error: `GET ${u.pathname} answered more than ${err.limitBytes} bytes (the server's --response-limit-bytes): a probe route should answer a short body` };
    }
    const e = err as { code?: string; message?: string };
    return { ok: false, error: `GET ${u.pathname} failed: ${e.code ?? ""} ${e.message ?? String(err)}`.trim() };
  }
}

/** Joins an instance base URL and a route path. */
export function joinUrl(base: string, route: string): { origin: string; path: string; href: string } {
  const u = new URL(base);
  const prefix = u.pathname.replace(/\/+$/, "");
  const path = `${prefix}${route.startsWith("/") ? route : `/${route}`}`;
  return { origin: u.origin, path, href: `${u.origin}${path}` };
}
