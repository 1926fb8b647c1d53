/**
 * Cluster capacity: a cluster's max_instances caps the worker instances of all its running jobs
 * together; queued jobs start in FIFO order (by submission) when enough instances are free. A job
 * at the head of its cluster's queue that does not fit holds back the jobs behind it, so a large
 * job is not starved by smaller ones.
 */

export interface ClusterCapacity {
  max_instances: number;
}

export interface RunningJobSlot {
  cluster: string;
  instances: number;
}

export interface QueuedJobSlot {
  id: string;
  seq: number;
  cluster: string;
  instances: number;
}

export interface Plan {
  start: { id: string; instances: number }[];
  /** Jobs that can never start (their cluster is gone), with the reason. */
  impossible: { id: string; reason: string }[];
}

/** Instances a job runs on: instance_count, at most the cluster's max_instances and one per mini-batch, at least 1. */
export function jobInstances(instanceCount: number, maxInstances: number, miniBatches: number): number {
  return Math.max(1, Math.min(instanceCount, maxInstances, miniBatches));
}

/** Instances of each cluster in use by running jobs. */
export function instancesInUse(running: readonly RunningJobSlot[]): Map<string, number> {
  const used = new Map<string, number>();
  for (const r of running) used.set(r.cluster, (used.get(r.cluster) ?? 0) + r.instances);
  return used;
}

/** Which queued jobs start now. */
export function planStarts(clusters: ReadonlyMap<string, ClusterCapacity>, running: readonly RunningJobSlot[], queued: readonly QueuedJobSlot[]): Plan {
  const used = instancesInUse(running);
  const blocked = new Set<string>();
  const plan: Plan = { start: [], impossible: [] };
  for (const job of [...queued].sort((a, b) => a.seq - b.seq)) {
    const cluster = clusters.get(job.cluster);
    if (!cluster) {
      plan.impossible.push({ id: job.id, reason: `compute cluster '${job.cluster}' no longer exists; create it again (PUT /clusters/${job.cluster}) or invoke a deployment on an existing cluster` });
      continue;
    }
    if (blocked.has(job.cluster)) continue;
    const need = Math.max(1, Math.min(job.instances, cluster.max_instances));
    const free = cluster.max_instances - (used.get(job.cluster) ?? 0);
    if (need <= free) {
      plan.start.push({ id: job.id, instances: need });
      used.set(job.cluster, (used.get(job.cluster) ?? 0) + need);
    } else {
      blocked.add(job.cluster);
    }
  }
  return plan;
}
