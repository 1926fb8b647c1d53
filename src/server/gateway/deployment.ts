import type { DeploymentConfig } from "../store/types";
import type { DeploymentGaugeSource } from "../metrics/metrics";
import { Limiter } from "./limiter";
import { leastOutstanding } from "./select";
import { joinUrl, probe, type UpstreamPools } from "./upstream";

/** Live state of one instance: health and outstanding requests. */
export interface Instance {
  readonly id: string;
  readonly url: string;
  readonly origin: string;
  readonly scoringPath: string;
  readonly swaggerPath: string | undefined;
  readonly readinessUrl: string;
  /** The access log's `,"instance":...` field, encoded once. */
  readonly logField: string;
  healthy: boolean;
  outstanding: number;
  consecutiveFailures: number;
  consecutiveSuccesses: number;
}

/** Consecutive failed active checks that eject an instance (capped so ejection is quick). */
const MAX_ACTIVE_FAILURES = 3;
/** Floor of the active health-check period. */
const MIN_PERIOD_MS = 100;

/**
 * The serving state of one deployment for one config: its instances (least-outstanding choice,
 * passive + active health) and its admission limiter. Reused across routing-table swaps while the
 * config is unchanged, so health and queues survive traffic or key changes.
 */
export class DeploymentRuntime implements DeploymentGaugeSource {
  readonly instances: Instance[];
  readonly limiter: Limiter;
  private rr = 0;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(
    readonly endpoint: string,
    readonly name: string,
    readonly config: DeploymentConfig,
    private readonly pools: UpstreamPools,
  ) {
    this.instances = config.instances.map((i) => {
      const scoring = joinUrl(i.url, config.routes.scoring);
      return {
        id: i.id,
        url: i.url,
        origin: scoring.origin,
        scoringPath: scoring.path,
        swaggerPath: config.routes.swagger ? joinUrl(i.url, config.routes.swagger).path : undefined,
        readinessUrl: joinUrl(i.url, config.routes.readiness).href,
        logField: `,"instance":${JSON.stringify(i.id)}`,
        healthy: true,
        outstanding: 0,
        consecutiveFailures: 0,
        consecutiveSuccesses: 0,
      };
    });
    const perInstance = config.request_settings.max_concurrent_requests_per_instance;
    this.limiter = new Limiter(() => perInstance * this.healthyCount(), config.request_settings.max_queue_wait_ms);
  }

  inflight(): number {
    return this.limiter.inflight;
  }

  queued(): number {
    return this.limiter.queued;
  }

  healthyCount(): number {
    let n = 0;
    for (const i of this.instances) if (i.healthy) n++;
    return n;
  }

  /** The healthy instance with the fewest outstanding requests, or undefined. */
  pick(exclude?: Instance): Instance | undefined {
    const candidates = exclude ? this.instances.map((i) => (i === exclude ? { healthy: false, outstanding: 0 } : i)) : this.instances;
    const idx = leastOutstanding(candidates, this.rr++ % Math.max(1, this.instances.length));
    return idx >= 0 ? this.instances[idx] : undefined;
  }

  /** Passive health: a connection failure ejects the instance until an active check passes. */
  markConnectionFailure(inst: Instance): void {
    if (inst.healthy) {
      inst.healthy = false;
      inst.consecutiveSuccesses = 0;
    }
  }

  startHealthChecks(): void {
    if (this.timer || this.stopped) return;
    const p = this.config.readiness_probe;
    const periodMs = Math.max(MIN_PERIOD_MS, p.period * 1000);
    const tick = async (): Promise<void> => {
      await Promise.all(this.instances.map((i) => this.check(i, Math.max(50, p.timeout * 1000))));
      if (!this.stopped) this.timer = setTimeout(() => void tick(), periodMs).unref();
    };
    this.timer = setTimeout(() => void tick(), periodMs).unref();
  }

  private async check(inst: Instance, timeoutMs: number): Promise<void> {
    const r = await probe(this.pools, inst.readinessUrl, timeoutMs);
    if (this.stopped) return;
    const p = this.config.readiness_probe;
    if (r.ok) {
      inst.consecutiveFailures = 0;
      inst.consecutiveSuccesses++;
      if (!inst.healthy && inst.consecutiveSuccesses >= Math.max(1, p.success_threshold)) {
        inst.healthy = true;
        this.limiter.pump();
      }
    } else {
      inst.consecutiveSuccesses = 0;
      inst.consecutiveFailures++;
      if (inst.healthy && inst.consecutiveFailures >= Math.min(MAX_ACTIVE_FAILURES, Math.max(1, p.failure_threshold))) {
        inst.healthy = false;
      }
    }
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
  }
}
