import type { GatewayMetrics } from "../metrics/metrics";
import type { DeploymentRuntime } from "./deployment";
import { drain, exchange, type UpstreamPools } from "./upstream";
import { bodyLength, type BodyPieces } from "../http/body-pieces";
import { BodyBudget } from "../http/body-budget";

/** Default cap of mirrored copies in flight across the whole gateway. */
export const DEFAULT_MIRROR_CONCURRENCY = 64;

/**
 * Sends copies of requests to a mirror deployment in the background. A copy never waits: when the
 * gateway-wide cap, the mirror deployment's own capacity or the mirror's body budget is full it is
 * dropped (and counted). Responses are discarded; errors only count.
 *
 * A copy can hold its body after the client was answered (a slow mirror), so copies have a body
 * budget of their own: taking from the clients' budget would let a slow mirror turn clients away
 * with 429, and taking from none would let it hold bodies without bound.
 */
export class Mirror {
  private inflight = 0;
  /** Bytes of bodies the copies in flight hold. */
  private readonly budget: BodyBudget;
  /** Bound metric children per endpoint/deployment (no label hashing per copy). */
  private readonly children = new Map<string, { drops: { inc(): void }; ok: { inc(): void }; error: { inc(): void } }>();

  constructor(
    private readonly pools: UpstreamPools,
    private readonly metrics: GatewayMetrics,
    private readonly maxConcurrency = DEFAULT_MIRROR_CONCURRENCY,
    budgetBytes = Infinity,
  ) {
    this.budget = new BodyBudget(budgetBytes);
  }

  get pending(): number {
    return this.inflight;
  }

  send(runtime: DeploymentRuntime | undefined, endpoint: string, deployment: string, body: BodyPieces, headers: Record<string, string>): void {
    const m = this.childrenOf(endpoint, deployment);
    if (!runtime || this.inflight >= this.maxConcurrency || !runtime.limiter.tryAcquire()) {
      m.drops.inc();
      return;
    }
    const inst = runtime.pick();
    const bytes = bodyLength(body);
    if (!inst || !this.budget.take(bytes)) {
      runtime.limiter.release();
      m.drops.inc();
      return;
    }
    this.inflight++;
    inst.outstanding++;
    const h = { ...headers, "azureml-model-deployment": deployment };
    // The copy's answer is only counted, never kept: a mirror's big answers cost no memory.
    // A streamed answer is read to its end (timed by its silences, as for clients) before it counts.
    exchange(this.pools, inst.origin, inst.scoringPath, "POST", h, body, runtime.config.request_settings.request_timeout_ms, "discard")
      .then(async (r) => {
        if (r.stream) await drain(r.stream);
        return r.status >= 200 && r.status < 300;
      })
      .then(
        (ok) => (ok ? m.ok : m.error).inc(),
        () => m.error.inc(),
      )
      .finally(() => {
        this.inflight--;
        this.budget.give(bytes);
        inst.outstanding--;
        runtime.limiter.release();
      });
  }

  private childrenOf(endpoint: string, deployment: string): { drops: { inc(): void }; ok: { inc(): void }; error: { inc(): void } } {
    const key = `${endpoint}\0${deployment}`;
    let c = this.children.get(key);
    if (c === undefined) {
      const labels = { endpoint, deployment };
      c = {
        drops: this.metrics.mirrorDrops.labels(labels),
        ok: this.metrics.mirrorCopies.labels({ ...labels, outcome: "ok" }),
        error: this.metrics.mirrorCopies.labels({ ...labels, outcome: "error" }),
      };
      this.children.set(key, c);
    }
    return c;
  }
}
