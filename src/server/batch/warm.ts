/**
 * Warm instances: worker containers a cluster keeps running after their job ended (up to its
 * min_instances), for the next job of the same deployment, which gets them first instead of new
 * containers (so it does not pay their start and init() again). This module is the bookkeeping
 * only (in memory: a restarted server removes the warm containers it has no record of); the
 * service does the Docker side.
 */
import type { JobConfig } from "./types";

export interface WarmInstance {
  /** The instance id the container was launched with (MODELPLANE_INSTANCE_ID, label modelplane.instance-id). */
  id: string;
  containerId: string;
  name: string;
  cluster: string;
  endpoint: string;
  deployment: string;
  /** The job-neutral part of the container's config: only a job with the same one may reuse it. */
  fingerprint: string;
  /** The job it serves now and its instance index there; null while idle. */
  job: string | null;
  instance: number;
  /** When it became idle or was assigned (ms since the epoch): logs of the current job start here. */
  since: number;
}

/** A job's key for reuse: where it runs and the job-neutral config of its workers. */
export interface WarmKey {
  cluster: string;
  endpoint: string;
  deployment: string;
  fingerprint: string;
}

/**
 * Whether a job's workers are job-neutral, so they may serve later jobs: no per-job host-folder
 * mount and no per-job environment overrides.
 */
export function jobNeutral(config: JobConfig): boolean {
  if (config.input.hostMount) return false;
  const neutral = { ...config.deployment.environment_variables, ...config.deployment.settings.environment_variables };
  const given = config.environment_variables;
  const keys = new Set([...Object.keys(neutral), ...Object.keys(given)]);
  return [...keys].every((k) => neutral[k] === given[k]);
}

/** The job-neutral config of a job's workers (what a warm container was started with). */
export function warmFingerprint(config: JobConfig): string {
  const d = config.deployment;
  const s = config.settings;
  return JSON.stringify([d.image, d.python ?? null, d.binds, d.model_dir ?? null, d.code_dir ?? null, d.scoring_script ?? null, d.model_server, config.environment_variables, s.max_concurrency_per_instance, s.logging_level]);
}

/** How many of an ending job's live containers stay warm: up to min_instances warm on the cluster in all. */
export function warmToKeep(minInstances: number, warmOnCluster: number, aliveContainers: number): number {
  return Math.max(0, Math.min(aliveContainers, minInstances - warmOnCluster));
}

/** Idle warm instances to remove so the cluster's containers stay within max_instances (oldest idle first). */
export function overCapacity(idle: readonly WarmInstance[], inUseByJobs: number, maxInstances: number): WarmInstance[] {
  const excess = inUseByJobs + idle.length - maxInstances;
  if (excess <= 0) return [];
  return [...idle].sort((a, b) => a.since - b.since).slice(0, excess);
}

export class WarmPool {
  private readonly byId = new Map<string, WarmInstance>();

  get(id: string): WarmInstance | undefined {
    return this.byId.get(id);
  }

  all(): WarmInstance[] {
    return [...this.byId.values()];
  }

  /** Idle instances of a cluster. */
  idle(cluster: string): WarmInstance[] {
    return this.all().filter((w) => w.cluster === cluster && w.job === null);
  }

  /** Instances serving a job. */
  ofJob(jobId: string): WarmInstance[] {
    return this.all().filter((w) => w.job === jobId);
  }

  /** Keeps (or keeps again) an instance as idle. */
  keep(w: Omit<WarmInstance, "job" | "instance" | "since">, now: number): WarmInstance {
    const entry: WarmInstance = { ...w, job: null, instance: -1, since: now };
    this.byId.set(w.id, entry);
    return entry;
  }

  /**
   * Gives a starting job up to `instances` idle instances of its key, oldest first, as its instances
   * 0, 1, ...; returns them, and the idle instances of the same deployment whose config is stale
   * (the deployment changed), which the caller removes (they are forgotten here).
   */
  assign(jobId: string, key: WarmKey, instances: number, now: number): { assigned: WarmInstance[]; stale: WarmInstance[] } {
    const same = this.idle(key.cluster).filter((w) => w.endpoint === key.endpoint && w.deployment === key.deployment);
    const stale = same.filter((w) => w.fingerprint !== key.fingerprint);
    for (const w of stale) this.byId.delete(w.id);
    const assigned = same
      .filter((w) => w.fingerprint === key.fingerprint)
      .sort((a, b) => a.since - b.since)
      .slice(0, Math.max(0, instances));
    assigned.forEach((w, i) => {
      w.job = jobId;
      w.instance = i;
      w.since = now;
    });
    return { assigned, stale };
  }

  /** Forgets instances (their containers are being removed); returns them. */
  drop(pred: (w: WarmInstance) => boolean): WarmInstance[] {
    const gone = this.all().filter(pred);
    for (const w of gone) this.byId.delete(w.id);
    return gone;
  }
}
