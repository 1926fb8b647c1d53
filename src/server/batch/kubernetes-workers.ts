/**
 * Batch workers on Kubernetes: the instances the scheduler starts in one tick become one Indexed
 * Job (completions = parallelism = those instances; the pod of completion index i is instance
 * map[i]), in the stack's namespace, with the stack's labels. The Job controller retries nothing
 * (backoffLimitPerIndex 0): as on Docker, the scheduler sees a dead instance, gives its mini-batches
 * back and starts it again (as a Job of its own). No pod stays when no job runs: finished pods are
 * removed once their logs are kept, and a Job with no pod left is deleted (its TTL is the backstop
 * for a server that is gone).
 *
 * The power is kept narrow, as the server's ServiceAccount is (components' SERVER_RBAC_RULES): only
 * images under the stack's prefix, only this stack's labelled objects, no service-account token in
 * the pods, no privilege escalation.
 */
import { randomBytes } from "node:crypto";
import { kubeCall, type KubeAnswer } from "../../targets/kubernetes/api-call";
import type { KubeConnection } from "../../targets/kubernetes/kubeconfig";
import { dnsLabel, K8S_LABELS } from "../../targets/kubernetes/names";
import { WORKER_DATASTORE } from "./datastore";
import { DRIVER_MOUNT, imageProblem } from "./docker-workers";
import type { WorkerContainer, WorkerEngine, WorkerSpec } from "./workers";

export const WORKER_POD_LABELS = {
  role: K8S_LABELS.part,
  stack: K8S_LABELS.stack,
  stackId: "modelplane.io/stack-id",
  job: "modelplane.io/batch-job",
  endpoint: K8S_LABELS.endpoint,
  deployment: K8S_LABELS.deployment,
} as const;
export const WORKER_ROLE = "batch-worker";
/** The instances a Job runs, in completion-index order (on the Job and its pods). */
export const INSTANCES_ANNOTATION = "modelplane.io/instances";
const INDEX_ANNOTATION = "batch.kubernetes.io/job-completion-index";
/** Per-instance variables a Job's one pod template cannot carry (no warm instances here). */
const PER_INSTANCE_ENV = ["MODELPLANE_INSTANCE", "MODELPLANE_INSTANCE_ID", "MODELPLANE_INSTANCE_TOKEN"];

export interface WorkerKubernetesOptions {
  stack: string;
  stackId?: string;
  namespace: string;
  imagePrefix: string;
  /** The ConfigMap holding driver.py, mounted at DRIVER_MOUNT. */
  driverConfigMap: string;
  /** The server's state claim; the datastore is its `datastoreSubPath`, mounted read-only. */
  stateClaim: string;
  datastoreSubPath: string;
  /** Read for every call (an in-cluster token is rotated). */
  connection: () => KubeConnection;
  /** Seconds a finished Job lives if the server has not deleted it (its pods are removed as their logs are kept). @default 30 */
  ttlSeconds?: number;
}

interface Meta {
  name: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  deletionTimestamp?: string;
}
interface Pod {
  metadata: Meta;
  status?: { phase?: string };
}
interface Job {
  metadata: Meta;
  spec: { completions?: number; suspend?: boolean };
  status?: { completedIndexes?: string; failedIndexes?: string; conditions?: { type: string; status: string }[] };
}

/** "0-2,4" (a Job's completedIndexes) as a set. */
export function parseIndexes(s: string | undefined): Set<number> {
  const out = new Set<number>();
  for (const part of (s ?? "").split(",")) {
    const m = /^(\d+)(?:-(\d+))?$/.exec(part.trim());
    if (!m) continue;
    for (let i = Number(m[1]); i <= Number(m[2] ?? m[1]); i++) out.add(i);
  }
  return out;
}

/** The Indexed Job for some instances of one job (all share the job's spec but their instance). */
export function indexedJob(o: Pick<WorkerKubernetesOptions, "stack" | "stackId" | "namespace" | "driverConfigMap" | "stateClaim" | "datastoreSubPath" | "ttlSeconds">, name: string, specs: WorkerSpec[]): Record<string, unknown> {
  const first = specs[0]!;
  const instances = specs.map((s) => s.instance).join(",");
  const labels = {
    [K8S_LABELS.managed]: "modelplane",
    [WORKER_POD_LABELS.role]: WORKER_ROLE,
    [WORKER_POD_LABELS.stack]: dnsLabel(o.stack),
    ...(o.stackId ? { [WORKER_POD_LABELS.stackId]: dnsLabel(o.stackId) } : {}),
    [WORKER_POD_LABELS.job]: dnsLabel(first.jobId),
    [WORKER_POD_LABELS.endpoint]: dnsLabel(first.endpoint),
    [WORKER_POD_LABELS.deployment]: dnsLabel(first.deployment),
  };
  const env = Object.entries(first.env)
    .filter(([k]) => !PER_INSTANCE_ENV.includes(k))
    .map(([k, value]) => ({ name: k, value }));
  env.push({ name: "MODELPLANE_INSTANCE_MAP", value: instances });
  const volumes = first.podVolumes ?? [];
  return {
    apiVersion: "batch/v1",
    kind: "Job",
    metadata: { name, namespace: o.namespace, labels, annotations: { [INSTANCES_ANNOTATION]: instances } },
    spec: {
      completionMode: "Indexed",
      completions: specs.length,
      parallelism: specs.length,
      // The scheduler relaunches a dead instance (counting it against the job's budget), not the Job controller.
      backoffLimitPerIndex: 0,
      ttlSecondsAfterFinished: o.ttlSeconds ?? 30,
      template: {
        metadata: { labels, annotations: { [INSTANCES_ANNOTATION]: instances } },
        spec: {
          restartPolicy: "Never",
          automountServiceAccountToken: false,
          enableServiceLinks: false,
          containers: [
            {
              name: "worker",
              image: first.image,
              imagePullPolicy: "IfNotPresent",
              command: [first.python, `${DRIVER_MOUNT}/driver.py`],
              workingDir: "/tmp",
              env,
              securityContext: { allowPrivilegeEscalation: false, privileged: false, capabilities: { drop: ["ALL"] } },
              volumeMounts: [
                { name: "driver", mountPath: DRIVER_MOUNT, readOnly: true },
                { name: "datastore", mountPath: WORKER_DATASTORE, subPath: o.datastoreSubPath, readOnly: true },
                ...volumes.map((v, i) => ({ name: `content-${i}`, mountPath: v.mount_path, readOnly: true, ...(v.sub_path ? { subPath: v.sub_path } : {}) })),
              ],
            },
          ],
          volumes: [
            { name: "driver", configMap: { name: o.driverConfigMap } },
            { name: "datastore", persistentVolumeClaim: { claimName: o.stateClaim, readOnly: true } },
            ...volumes.map((v, i) => ({ name: `content-${i}`, configMap: { name: v.config_map, items: v.items } })),
          ],
        },
      },
    },
  };
}

function finished(j: Job): boolean {
  return (j.status?.conditions ?? []).some((c) => (c.type === "Complete" || c.type === "Failed") && c.status === "True");
}

export class WorkerKubernetes implements WorkerEngine {
  readonly engineName = "the Kubernetes API server";
  readonly reachHint = "the server reaches it with its ServiceAccount (in the cluster) or KUBECONFIG";
  readonly keepsWarm = false;
  /** Instances asked for in this tick, per job: started together as one Indexed Job. */
  private readonly pending = new Map<string, { specs: WorkerSpec[]; waiters: { resolve: (v: { id: string; name: string }) => void; reject: (e: Error) => void }[] }>();

  constructor(private readonly o: WorkerKubernetesOptions) {}

  private async call(method: string, path: string, body?: unknown, contentType?: string): Promise<KubeAnswer> {
    return kubeCall(this.o.connection(), method, path, body, { timeoutMs: 10_000, ...(contentType ? { contentType } : {}) });
  }

  private async json<T>(method: string, path: string, body?: unknown, contentType?: string): Promise<T> {
    const a = await this.call(method, path, body, contentType);
    if (a.status < 200 || a.status >= 300) throw new Error(`${method} ${path}: ${a.status} ${a.body.slice(0, 300)}`);
    return JSON.parse(a.body) as T;
  }

  private selector(extra: Record<string, string> = {}): string {
    const l: Record<string, string> = { [WORKER_POD_LABELS.role]: WORKER_ROLE, [WORKER_POD_LABELS.stack]: dnsLabel(this.o.stack), ...(this.o.stackId ? { [WORKER_POD_LABELS.stackId]: dnsLabel(this.o.stackId) } : {}), ...extra };
    return encodeURIComponent(Object.entries(l).map(([k, v]) => `${k}=${v}`).join(","));
  }

  private get ns(): string {
    return encodeURIComponent(this.o.namespace);
  }

  checkImage(image: string): string | undefined {
    return imageProblem(image, this.o.imagePrefix);
  }

  launch(spec: WorkerSpec, _nameSuffix: string): Promise<{ id: string; name: string }> {
    const problem = this.checkImage(spec.image);
    if (problem) return Promise.reject(new Error(problem));
    return new Promise((resolve, reject) => {
      let group = this.pending.get(spec.jobId);
      if (!group) {
        group = { specs: [], waiters: [] };
        this.pending.set(spec.jobId, group);
        // The scheduler asks for a job's missing instances in one synchronous loop: gather them.
        setImmediate(() => void this.flush(spec.jobId));
      }
      group.specs.push(spec);
      group.waiters.push({ resolve, reject });
    });
  }

  private async flush(jobId: string): Promise<void> {
    const group = this.pending.get(jobId);
    this.pending.delete(jobId);
    if (!group) return;
    const name = dnsLabel(`${jobId.replace(/^batchjob-/, "bj-").slice(0, 40)}-${randomBytes(3).toString("hex")}`);
    try {
      await this.json("POST", `apis/batch/v1/namespaces/${this.ns}/jobs`, indexedJob(this.o, name, group.specs));
      group.waiters.forEach((w, i) => w.resolve({ id: `${name}#${i}`, name: `${name}-${i}` }));
    } catch (err) {
      for (const w of group.waiters) w.reject(err as Error);
    }
  }

  async list(): Promise<WorkerContainer[]> {
    const [pods, jobs] = await Promise.all([
      this.json<{ items: Pod[] }>("GET", `api/v1/namespaces/${this.ns}/pods?labelSelector=${this.selector()}`),
      this.json<{ items: Job[] }>("GET", `apis/batch/v1/namespaces/${this.ns}/jobs?labelSelector=${this.selector()}`),
    ]);
    const out: WorkerContainer[] = [];
    const podsOf = new Map<string, Pod[]>();
    for (const p of pods.items) {
      const owner = p.metadata.labels?.["batch.kubernetes.io/job-name"] ?? p.metadata.labels?.["job-name"] ?? "";
      podsOf.set(owner, [...(podsOf.get(owner) ?? []), p]);
    }
    for (const j of jobs.items) {
      const map = (j.metadata.annotations?.[INSTANCES_ANNOTATION] ?? "").split(",").map(Number);
      const jobId = j.metadata.labels?.[WORKER_POD_LABELS.job] ?? "";
      const mine = podsOf.get(j.metadata.name) ?? [];
      const done = new Set([...parseIndexes(j.status?.completedIndexes), ...parseIndexes(j.status?.failedIndexes)]);
      const seen = new Set<number>();
      for (const p of mine) {
        const index = Number(p.metadata.annotations?.[INDEX_ANNOTATION] ?? -1);
        const phase = p.status?.phase ?? "Pending";
        // A finished pod being deleted was removed (its log kept): it lingers until the Job controller has counted it.
        if (p.metadata.deletionTimestamp && phase !== "Pending" && phase !== "Running") continue;
        seen.add(index);
        out.push({ id: p.metadata.name, name: p.metadata.name, jobId, instance: map[index] ?? -1, alive: !p.metadata.deletionTimestamp && (phase === "Pending" || phase === "Running"), state: phase.toLowerCase() });
      }
      // An index whose pod the Job controller has not created yet is an instance starting: not one to launch again.
      const live = !finished(j) && !j.spec.suspend;
      if (live) for (let i = 0; i < map.length; i++) if (!seen.has(i) && !done.has(i)) out.push({ id: `${j.metadata.name}#${i}`, name: `${j.metadata.name}-${i}`, jobId, instance: map[i]!, alive: true, state: "creating" });
      // Nothing left of it: no pod and no index still to run.
      if (mine.length === 0 && (!live || map.every((_, i) => done.has(i)))) await this.deleteJob(j.metadata.name);
    }
    return out;
  }

  async logs(id: string, sinceMs?: number): Promise<string> {
    if (id.includes("#")) return "";
    const since = sinceMs ? `&sinceTime=${encodeURIComponent(new Date(sinceMs).toISOString())}` : "";
    try {
      const a = await kubeCall(this.o.connection(), "GET", `api/v1/namespaces/${this.ns}/pods/${encodeURIComponent(id)}/log?container=worker${since}`, undefined, { timeoutMs: 5000 });
      // No kubelet to ask (kwok nodes), or the pod is gone: no log, as for a removed container.
      return a.status === 200 ? a.body : "";
    } catch {
      return "";
    }
  }

  private async podJob(id: string): Promise<string | undefined> {
    if (id.includes("#")) return id.split("#")[0];
    const a = await this.call("GET", `api/v1/namespaces/${this.ns}/pods/${encodeURIComponent(id)}`);
    if (a.status === 404) return undefined;
    const p = JSON.parse(a.body) as Pod;
    if (p.metadata.labels?.[WORKER_POD_LABELS.role] !== WORKER_ROLE || p.metadata.labels?.[WORKER_POD_LABELS.stack] !== dnsLabel(this.o.stack)) return undefined;
    return p.metadata.labels?.["batch.kubernetes.io/job-name"];
  }

  /** Stops a worker: its Job is suspended (the controller ends its pods and starts none). */
  async stop(id: string, _graceS = 5): Promise<void> {
    const job = await this.podJob(id);
    if (!job) return;
    const a = await this.call("PATCH", `apis/batch/v1/namespaces/${this.ns}/jobs/${encodeURIComponent(job)}`, { spec: { suspend: true } }, "application/merge-patch+json");
    if (a.status !== 200 && a.status !== 404) throw new Error(`suspending Job ${job}: ${a.status} ${a.body.slice(0, 300)}`);
  }

  /** Removes a finished worker's pod; its Job goes with its last pod. */
  async remove(id: string): Promise<void> {
    const job = await this.podJob(id);
    if (!id.includes("#")) {
      const a = await this.call("DELETE", `api/v1/namespaces/${this.ns}/pods/${encodeURIComponent(id)}`);
      if (a.status !== 200 && a.status !== 202 && a.status !== 404) throw new Error(`deleting pod ${id}: ${a.status} ${a.body.slice(0, 300)}`);
    }
    if (!job) return;
    const j = await this.call("GET", `apis/batch/v1/namespaces/${this.ns}/jobs/${encodeURIComponent(job)}`);
    if (j.status !== 200) return;
    const parsed = JSON.parse(j.body) as Job;
    const left = await this.json<{ items: Pod[] }>("GET", `api/v1/namespaces/${this.ns}/pods?labelSelector=${encodeURIComponent(`batch.kubernetes.io/job-name=${job}`)}`);
    const alive = left.items.filter((p) => !p.metadata.deletionTimestamp && p.metadata.name !== id);
    const map = (parsed.metadata.annotations?.[INSTANCES_ANNOTATION] ?? "").split(",");
    const done = new Set([...parseIndexes(parsed.status?.completedIndexes), ...parseIndexes(parsed.status?.failedIndexes)]);
    if (alive.length === 0 && (parsed.spec.suspend || finished(parsed) || map.every((_, i) => done.has(i)))) await this.deleteJob(job);
  }

  private async deleteJob(name: string): Promise<void> {
    const a = await this.call("DELETE", `apis/batch/v1/namespaces/${this.ns}/jobs/${encodeURIComponent(name)}`, { kind: "DeleteOptions", apiVersion: "v1", propagationPolicy: "Background" });
    if (a.status !== 200 && a.status !== 202 && a.status !== 404) throw new Error(`deleting Job ${name}: ${a.status} ${a.body.slice(0, 300)}`);
  }
}
