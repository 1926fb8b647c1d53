import type { DeploymentConfig, ProbeSettings } from "../store/types";
import { joinUrl, probe, type UpstreamPools } from "../gateway/upstream";

export type ProbeOutcome = { ok: true } | { ok: false; reason: string };

const MIN_PERIOD_MS = 50;

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const t = setTimeout(done, ms);
    function done(): void {
      clearTimeout(t);
      signal.removeEventListener("abort", done);
      resolve();
    }
    signal.addEventListener("abort", done, { once: true });
  });
}

/**
 * Probes one URL until it passes success_threshold times in a row, or fails failure_threshold
 * times after initial_delay. The first probe runs at once: an instance that already answers is
 * ready without waiting initial_delay.
 */
export async function waitReady(pools: UpstreamPools, url: string, p: ProbeSettings, signal: AbortSignal): Promise<ProbeOutcome | undefined> {
  const started = Date.now();
  let failures = 0;
  let successes = 0;
  let lastError: string;
  const timeoutMs = Math.max(50, p.timeout * 1000);
  const periodMs = Math.max(MIN_PERIOD_MS, p.period * 1000);
  for (;;) {
    if (signal.aborted) return undefined;
    const r = await probe(pools, url, timeoutMs);
    if (signal.aborted) return undefined;
    if (r.ok) {
      successes++;
      if (successes >= p.success_threshold) return { ok: true };
    } else {
      successes = 0;
      lastError = r.error;
      if (Date.now() - started >= p.initial_delay * 1000) failures++;
      if (failures >= p.failure_threshold) return { ok: false, reason: lastError };
    }
    await sleep(periodMs, signal);
  }
}

/** Runs readiness probes for deployment configs; a newer run for the same deployment cancels the older. */
export class Provisioner {
  private readonly running = new Map<string, AbortController>();

  constructor(
    private readonly pools: UpstreamPools,
    private readonly onOutcome: (endpoint: string, name: string, generation: number, outcome: ProbeOutcome) => void,
  ) {}

  start(endpoint: string, name: string, generation: number, config: DeploymentConfig): void {
    const key = `${endpoint}/${name}`;
    this.running.get(key)?.abort();
    const ac = new AbortController();
    this.running.set(key, ac);
    void (async () => {
      if (config.readiness_owner === "target") {
        await Promise.resolve(); // the outcome is reported after start returns, as a probe's is
        if (ac.signal.aborted) return;
        this.running.delete(key);
        return this.onOutcome(endpoint, name, generation, { ok: true });
      }
      const results = await Promise.all(
        config.instances.map(async (i) => ({ id: i.id, r: await waitReady(this.pools, joinUrl(i.url, config.routes.readiness).href, config.readiness_probe, ac.signal) })),
      );
      if (ac.signal.aborted) return;
      this.running.delete(key);
      const failed = results.find((x) => x.r && !x.r.ok);
      const outcome: ProbeOutcome = failed && failed.r && !failed.r.ok ? { ok: false, reason: `instance ${failed.id}: readiness probe failed: ${failed.r.reason}` } : { ok: true };
      this.onOutcome(endpoint, name, generation, outcome);
    })();
  }

  cancel(endpoint: string, name?: string): void {
    for (const [key, ac] of this.running) {
      if (name === undefined ? key.startsWith(`${endpoint}/`) : key === `${endpoint}/${name}`) {
        ac.abort();
        this.running.delete(key);
      }
    }
  }

  stopAll(): void {
    for (const ac of this.running.values()) ac.abort();
    this.running.clear();
  }
}
