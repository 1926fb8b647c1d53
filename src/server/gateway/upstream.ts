import { Pool } from "undici";

/** Default cap on an instance's answer: 100 MiB, as the request body limit. */
export const DEFAULT_RESPONSE_LIMIT_BYTES = 100 * 1024 * 1024;

/**
 * Keep-alive connection pools, one per instance origin, shared by all routing tables, and the
 * largest answer any exchange reads from an instance (answers are buffered whole: a model that
 * streams without end must not take the gateway's memory, and with it every endpoint, down).
 */
export class UpstreamPools {
  private readonly pools = new Map<string, Pool>();
  private closed = false;

  /** @param responseLimitBytes largest answer read from an instance; past it the exchange fails with UpstreamTooLarge. */
  constructor(readonly responseLimitBytes = DEFAULT_RESPONSE_LIMIT_BYTES) {}

  get(origin: string): Pool {
    let p = this.pools.get(origin);
    if (!p) {
      if (this.closed) throw new Error("upstream pools are closed");
      p = new Pool(origin, { connections: 256, pipelining: 1, keepAliveTimeout: 30_000, connectTimeout: 5_000 });
      this.pools.set(origin, p);
    }
    return p;
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.allSettled([...this.pools.values()].map((p) => p.destroy()));
    this.pools.clear();
  }
}

export interface UpstreamResponse {
  status: number;
  /** The response's content-type, when it has exactly one. */
  contentType: string | undefined;
  body: Buffer;
}

const NO_CHUNKS: Buffer[] = [];
const EMPTY = Buffer.alloc(0);

/**
 * undici dispatch handler of one exchange: collects the body into a Buffer (or only counts it when
 * discarded), no stream, no AbortController. Settles exactly once: with the response, the transport
 * error, UpstreamTimeout, or UpstreamTooLarge (then the connection is dropped, not reused).
 */
class Exchange {
  status = 0;
  contentType: string | undefined = undefined;
  private chunks: Buffer[] = NO_CHUNKS;
  private size = 0;
  private abort: ((err: Error) => void) | undefined;
  private reason: Error | undefined;
  private settled = false;
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly resolve: (r: UpstreamResponse) => void,
    private readonly reject: (err: unknown) => void,
    timeoutMs: number,
    private readonly limitBytes: number,
    private readonly discardBody: boolean,
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
    if (this.settled) return;
    this.settled = true;
    clearTimeout(this.timer);
    this.reject(err);
  }

  onConnect(abort: (err: Error) => void): void {
    if (this.reason) abort(this.reason);
    else this.abort = abort;
  }

  onHeaders(status: number, raw: Buffer[]): boolean {
    this.status = status;
    let ct: string | undefined;
    let n = 0;
    for (let i = 0; i < raw.length; i += 2) {
      const name = raw[i]!;
      // "content-type" is 12 bytes; compare case-insensitively only when the length matches.
      if (name.length === 12 && name.toString("latin1").toLowerCase() === "content-type") {
        n++;
        ct = raw[i + 1]!.toString("latin1");
      }
    }
    this.contentType = n === 1 ? ct : undefined;
    return true;
  }

  onData(chunk: Buffer): boolean {
    this.size += chunk.length;
    if (this.size > this.limitBytes) {
      this.chunks = NO_CHUNKS;
      this.stop(new UpstreamTooLarge(this.limitBytes, this.status));
      return false;
    }
    if (this.discardBody) return true;
    if (this.chunks === NO_CHUNKS) this.chunks = [];
    this.chunks.push(chunk);
    return true;
  }

  onComplete(): void {
    if (this.settled) return;
    this.settled = true;
    clearTimeout(this.timer);
    const c = this.chunks;
    const body = c.length === 0 ? EMPTY : c.length === 1 ? c[0]! : Buffer.concat(c, this.size);
    this.resolve({ status: this.status, contentType: this.contentType, body });
  }

  onError(err: Error): void {
    this.fail(err);
  }
}

/**
 * One HTTP exchange with an instance, the whole response read within timeoutMs and within the pools'
 * response limit. Rejects with the transport error, UpstreamTimeout when the timer fires (see
 * isTimeout), or UpstreamTooLarge past the limit. `discardBody`: the answer's body is only counted
 * (mirror copies and probes need its status alone); the result's body is then empty.
 */
export function exchange(
  pools: UpstreamPools,
  origin: string,
  path: string,
  method: "GET" | "POST",
  headers: Record<string, string>,
  body: Buffer | undefined,
  timeoutMs: number,
  discardBody = false,
): Promise<UpstreamResponse> {
  return new Promise<UpstreamResponse>((resolve, reject) => {
    const pool = pools.get(origin);
    const handler = new Exchange(resolve, reject, timeoutMs, pools.responseLimitBytes, discardBody);
    try {
      pool.dispatch({ path, method, headers, body, headersTimeout: 0, bodyTimeout: 0 }, handler);
    } catch (err) {
      handler.onError(err as Error);
    }
  });
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
    const res = await exchange(pools, u.origin, u.pathname + u.search, "GET", {}, undefined, timeoutMs, true);
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
