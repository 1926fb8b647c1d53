// What the batch scheduler (service.ts) asks of the engine that runs workers: Docker containers
// (docker-workers.ts) or Kubernetes pods of Indexed Jobs (kubernetes-workers.ts). A "container" here
// is one worker instance, whatever runs it.
import type { BindMount, PodVolume } from "./types";

export interface WorkerSpec {
  jobId: string;
  endpoint: string;
  deployment: string;
  instance: number;
  /** @default none (the container cannot be kept warm) */
  instanceId?: string;
  image: string;
  python: string;
  env: Record<string, string>;
  binds: BindMount[];
  /** Kubernetes: the deployment's code and model. @default none */
  podVolumes?: PodVolume[];
  hostInput?: BindMount;
}

export interface WorkerContainer {
  id: string;
  name: string;
  jobId: string;
  instance: number;
  /** Its modelplane.instance-id label, when it has one. */
  instanceId?: string;
  /** running or created (about to run). */
  alive: boolean;
  state: string;
}

export interface WorkerEngine {
  /** How messages name the engine ("the Docker engine"). */
  readonly engineName: string;
  /** What a stack whose server cannot reach the engine should check. */
  readonly reachHint: string;
  /** Whether an instance may outlive its job, kept warm for the next (Kubernetes: no pod when idle). */
  readonly keepsWarm: boolean;
  checkImage(image: string): string | undefined;
  /** Starts one worker instance; refuses images outside the stack's prefix. */
  launch(spec: WorkerSpec, nameSuffix: string): Promise<{ id: string; name: string }>;
  /** Every worker of this stack (any state). */
  list(): Promise<WorkerContainer[]>;
  /** A worker's output ("" when it is gone or the engine keeps none). */
  logs(id: string, sinceMs?: number): Promise<string>;
  stop(id: string, graceS?: number): Promise<void>;
  remove(id: string): Promise<void>;
}
