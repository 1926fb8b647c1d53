import { Pool } from "undici";
import type { IncomingHttpHeaders } from "node:http";

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
  headers: IncomingHttpHeaders;
  body: Buffer;
}

/**
 * One HTTP exchange with an instance, the whole response read within timeoutMs.
 * Rejects with the transport error; `timedOut` tells the caller the timer fired.
 */
export async function exchange(
  pools: UpstreamPools,
  origin: string,
  path: string,
  method: "GET" | "POST",
  headers: Record<string, string>,
  body: Buffer | undefined,
  timeoutMs: number,
): Promise<UpstreamResponse> {
  const ac = new AbortController();
  const timer = setTimeout(() => ac.abort(new UpstreamTimeout()), timeoutMs);
  try {
    const res = await pools.get(origin).request({ path, method, headers, body, signal: ac.signal, headersTimeout: 0, bodyTimeout: 0 });
    const buf = Buffer.from(await res.body.arrayBuffer());
    return { status: res.statusCode, headers: res.headers as IncomingHttpHeaders, body: buf };
  } finally {
    clearTimeout(timer);
  }
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
