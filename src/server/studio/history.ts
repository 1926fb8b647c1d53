import { LATENCY_BUCKETS } from "../metrics/metrics";

/** One history bucket is 2 s; 450 of them hold the last 15 minutes. */
export const STEP_MS = 2000;
export const SLOTS = 450;
/** Deployments kept at most; past it the one idle longest is dropped (bounded memory). */
export const MAX_DEPLOYMENTS = 2000;

/** What the sampler reads of one endpoint/deployment's cumulative request figures (RequestSeries). */
export interface CumulativeSeries {
  readonly endpoint: string;
  readonly deployment: string;
  readonly count: number;
  /** Requests per latency bucket (not cumulative), LATENCY_BUCKETS order then one past the last bound. */
  readonly buckets: Float64Array;
  readonly byStatus: ReadonlyMap<number, number>;
}

/** Cumulative mirrored-copy outcomes of a mirror deployment. */
export interface MirrorTotals {
  ok: number;
  error: number;
}

/** The series the studio charts, oldest first, one value per STEP_MS; null where nothing was answered. */
export interface SeriesView {
  /** Epoch ms of the first value. */
  start: number;
  step: number;
  rps: number[];
  p50: (number | null)[];
  p99: (number | null)[];
  e4xx: number[];
  e5xx: number[];
  /** Share (0..1) of mirrored copies that answered 2xx; null where no copy was sent. */
  mirror: (number | null)[];
}

/**
 * The latency quantile (ms) of one bucket's delta, interpolated linearly inside its histogram
 * bucket as Prometheus' histogram_quantile does; past the last bound it is the last bound.
 */
export function quantileMs(delta: Float64Array, total: number, q: number): number | null {
  if (total <= 0) return null;
  const rank = q * total;
  let acc = 0;
  for (let i = 0; i < delta.length; i++) {
    const n = delta[i]!;
    if (n > 0 && acc + n >= rank) {
      if (i >= LATENCY_BUCKETS.length) return LATENCY_BUCKETS[LATENCY_BUCKETS.length - 1]! * 1000;
      const lo = i === 0 ? 0 : LATENCY_BUCKETS[i - 1]!;
      const hi = LATENCY_BUCKETS[i]!;
      return (lo + ((hi - lo) * (rank - acc)) / n) * 1000;
    }
    acc += n;
  }
  return LATENCY_BUCKETS[LATENCY_BUCKETS.length - 1]! * 1000;
}

/** Fixed-size rings of one deployment: the same memory after 1 request or 1 billion. */
class Rings {
  readonly rps = new Float64Array(SLOTS);
  readonly p50 = new Float64Array(SLOTS);
  readonly p99 = new Float64Array(SLOTS);
  readonly e4xx = new Float64Array(SLOTS);
  readonly e5xx = new Float64Array(SLOTS);
  readonly mirror = new Float64Array(SLOTS);
  /** Last cumulative figures seen, to take deltas from. */
  readonly lastBuckets = new Float64Array(LATENCY_BUCKETS.length + 1);
  readonly delta = new Float64Array(LATENCY_BUCKETS.length + 1);
  lastCount = 0;
  last4xx = 0;
  last5xx = 0;
  lastMirrorOk = 0;
  lastMirrorTotal = 0;
  /** Slot number (epoch ms / STEP_MS) of the newest value written; -1 before the first. */
  newest = -1;
  /** Slot number of the first sample: values before it are unknown, not zero. */
  first = -1;
  lastActive = 0;

  constructor() {
    this.p50.fill(NaN);
    this.p99.fill(NaN);
    this.mirror.fill(NaN);
  }
}

function statusTotals(byStatus: ReadonlyMap<number, number>): [number, number] {
  let c4 = 0;
  let c5 = 0;
  for (const [status, n] of byStatus) {
    if (status >= 400 && status < 500) c4 += n;
    else if (status >= 500) c5 += n;
  }
  return [c4, c5];
}

/**
 * The studio's bounded metric history: every STEP_MS the sampler reads the gateway's cumulative
 * per-deployment figures (the same numbers /metrics reads) and writes their deltas into rings.
 * The gateway's per-request path is untouched: it keeps adding to its RequestSeries as before.
 */
export class MetricHistory {
  private readonly rings = new Map<string, Rings>();
  /** Slot of the last sample: views end there (the bucket after it is still filling). */
  private lastSlot = -1;

  /** Deployments with history now (for tests and the benchmark). */
  get size(): number {
    return this.rings.size;
  }

  /**
   * Takes one sample at `nowMs`: the deltas since the previous sample go into the bucket of
   * `nowMs`. Slots skipped by a late timer get the same rate as the sample that closes them.
   */
  sample(nowMs: number, series: Iterable<CumulativeSeries>, mirrors: ReadonlyMap<string, MirrorTotals> = new Map()): void {
    const slot = Math.floor(nowMs / STEP_MS);
    this.lastSlot = Math.max(this.lastSlot, slot);
    for (const s of series) {
      if (s.deployment === "") continue;
      const key = `${s.endpoint}\n${s.deployment}`;
      let r = this.rings.get(key);
      const [c4, c5] = statusTotals(s.byStatus);
      const m = mirrors.get(key);
      const mOk = m?.ok ?? 0;
      const mTotal = (m?.ok ?? 0) + (m?.error ?? 0);
      if (r === undefined) {
        // Series start at zero with the server (and so with the studio): a new one's first
        // figures all came within the last bucket.
        this.evictIfFull();
        r = new Rings();
        this.rings.set(key, r);
        r.newest = slot - 1;
        r.first = slot;
        r.lastActive = nowMs;
      }
      if (slot <= r.newest) continue;
      const span = Math.min(slot - r.newest, SLOTS);
      const seconds = ((slot - r.newest) * STEP_MS) / 1000;
      const count = s.count - r.lastCount;
      for (let i = 0; i < r.delta.length; i++) r.delta[i] = s.buckets[i]! - r.lastBuckets[i]!;
      const rps = count / seconds;
      const p50 = quantileMs(r.delta, count, 0.5) ?? NaN;
      const p99 = quantileMs(r.delta, count, 0.99) ?? NaN;
      const e4 = (c4 - r.last4xx) / seconds;
      const e5 = (c5 - r.last5xx) / seconds;
      const copies = mTotal - r.lastMirrorTotal;
      const agree = copies > 0 ? (mOk - r.lastMirrorOk) / copies : NaN;
      for (let k = span - 1; k >= 0; k--) {
        const i = (slot - k) % SLOTS;
        r.rps[i] = rps;
        r.p50[i] = p50;
        r.p99[i] = p99;
        r.e4xx[i] = e4;
        r.e5xx[i] = e5;
        r.mirror[i] = agree;
      }
      r.newest = slot;
      r.lastBuckets.set(s.buckets);
      r.lastCount = s.count;
      r.last4xx = c4;
      r.last5xx = c5;
      r.lastMirrorOk = mOk;
      r.lastMirrorTotal = mTotal;
      if (count > 0 || copies > 0) r.lastActive = nowMs;
    }
  }

  /** Drops the history of deployments that no longer exist. */
  retain(live: (endpoint: string, deployment: string) => boolean): void {
    for (const key of this.rings.keys()) {
      const [e, d] = key.split("\n") as [string, string];
      if (!live(e, d)) this.rings.delete(key);
    }
  }

  /** The last 15 minutes (to the last sample, or `nowMs` before any) of one deployment, oldest first; all null/0 when unknown. */
  view(endpoint: string, deployment: string, nowMs: number): SeriesView {
    const slot = this.lastSlot >= 0 ? Math.min(this.lastSlot, Math.floor(nowMs / STEP_MS)) : Math.floor(nowMs / STEP_MS);
    const from = slot - SLOTS + 1;
    const v: SeriesView = { start: from * STEP_MS, step: STEP_MS, rps: [], p50: [], p99: [], e4xx: [], e5xx: [], mirror: [] };
    const r = this.rings.get(`${endpoint}\n${deployment}`);
    const nul = (x: number): number | null => (Number.isNaN(x) ? null : x);
    for (let s = from; s <= slot; s++) {
      const known = r !== undefined && s >= r.first && s <= r.newest;
      const i = s % SLOTS;
      v.rps.push(known ? r.rps[i]! : 0);
      v.p50.push(known ? nul(r.p50[i]!) : null);
      v.p99.push(known ? nul(r.p99[i]!) : null);
      v.e4xx.push(known ? r.e4xx[i]! : 0);
      v.e5xx.push(known ? r.e5xx[i]! : 0);
      v.mirror.push(known ? nul(r.mirror[i]!) : null);
    }
    return v;
  }

  /** Requests per second in the newest bucket of a deployment (0 when unknown or stale). */
  rateNow(endpoint: string, deployment: string, nowMs: number): number {
    const r = this.rings.get(`${endpoint}\n${deployment}`);
    const slot = Math.floor(nowMs / STEP_MS);
    if (!r || r.newest < r.first || slot - r.newest > 2) return 0;
    return r.rps[r.newest % SLOTS]!;
  }

  private evictIfFull(): void {
    if (this.rings.size < MAX_DEPLOYMENTS) return;
    let oldestKey: string | undefined;
    let oldest = Infinity;
    for (const [k, r] of this.rings) {
      if (r.lastActive < oldest) {
        oldest = r.lastActive;
        oldestKey = k;
      }
    }
    if (oldestKey !== undefined) this.rings.delete(oldestKey);
  }
}
