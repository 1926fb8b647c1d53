import { Pool } from "undici";

/** Keep-alive connection pools, one per instance origin, shared by all routing tables. */
export class UpstreamPools {
  private readonly pools = new Map<string, Pool>();
  private closed = false;

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
 * undici dispatch handler of one exchange: collects the body into a Buffer, no stream, no
 * AbortController. Settles exactly once: with the response, the transport error, or UpstreamTimeout.
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
  ) {
    this.timer = setTimeout(() => this.timeout(), timeoutMs);
  }

  private timeout(): void {
    const err = new UpstreamTimeout();
    // Not yet on a connection (queued in the pool): aborted as soon as it gets one.
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
    if (this.chunks === NO_CHUNKS) this.chunks = [];
    this.chunks.push(chunk);
    this.size += chunk.length;
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
 * One HTTP exchange with an instance, the whole response read within timeoutMs.
 * Rejects with the transport error, or UpstreamTimeout when the timer fires (see isTimeout).
 */
export function exchange(
  pools: UpstreamPools,
  origin: string,
  path: string,
  method: "GET" | "POST",
  headers: Record<string, string>,
  body: Buffer | undefined,
  timeoutMs: number,
): Promise<UpstreamResponse> {
  return new Promise<UpstreamResponse>((resolve, reject) => {
    const pool = pools.get(origin);
    const handler = new Exchange(resolve, reject, timeoutMs);
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
    const res = await exchange(pools, u.origin, u.pathname + u.search, "GET", {}, undefined, timeoutMs);
    if (res.status >= 200 && res.status < 300) return { ok: true };
    return { ok: false, error: `GET ${u.pathname} answered HTTP ${res.status}` };
  } catch (err) {
    if (isTimeout(err)) return { ok: false, error: `GET ${u.pathname} timed out after ${timeoutMs} ms` };
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
