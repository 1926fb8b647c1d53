/** Shapes of batch endpoints' state: clusters, deployments, data assets, jobs and mini-batches. */
import type { BatchSettings } from "../../spec/types";

export type { BatchSettings };

export interface ClusterRecord {
  name: string;
  min_instances: number;
  max_instances: number;
  /** Seconds. */
  idle_time_before_scale_down: number;
  size: string;
  createdAt: string;
  updatedAt: string;
}

export interface BindMount {
  /** Host path. */
  source: string;
  /** Container path. */
  target: string;
}

/** One ConfigMap mounted read-only in a worker pod where Docker would bind-mount a host path. */
export interface PodVolume {
  config_map: string;
  mount_path: string;
  /** A single file: mounted alone at mount_path. */
  sub_path?: string;
  items: { key: string; path: string }[];
}

/** What a batch deployment PUT carries (docs/batch-api.md). Nothing runs until a job does. */
export interface BatchDeploymentConfig {
  image: string;
  cluster: string;
  model_server: "mlflow" | "custom";
  /** Container path given to workers as AZUREML_MODEL_DIR. */
  model_dir?: string;
  code_dir?: string;
  scoring_script?: string;
  /** The image's python with the environment. @default "/opt/venv/bin/python" */
  python?: string;
  binds: BindMount[];
  /** Kubernetes: the deployment's code and model as ConfigMap volumes (in place of host binds). @default none */
  pod_volumes?: PodVolume[];
  instance_count: number;
  settings: BatchSettings;
  environment_variables: Record<string, string>;
  spec?: unknown;
}

export interface BatchDeploymentRecord {
  endpoint_name: string;
  name: string;
  config: BatchDeploymentConfig;
  createdAt: string;
  updatedAt: string;
}

export type DataAssetType = "uri_folder" | "uri_file";

export interface DataAssetRecord {
  name: string;
  version: string;
  type: DataAssetType;
  path: string;
  createdAt: string;
}

export type JobStatus = "Queued" | "Running" | "Completed" | "Failed" | "Canceled";

export const TERMINAL: ReadonlySet<JobStatus> = new Set(["Completed", "Failed", "Canceled"]);

/** Where a job's files are, resolved once at submission. */
export interface ResolvedInput {
  /** What the user asked for (a datastore uri, a host path, a URL, a data asset reference). */
  uri: string;
  type: DataAssetType;
  /** A host folder or file bind-mounted read-only at /mnt/input (host inputs only). */
  hostMount?: { source: string; target: string };
  /** Container paths of the files, sorted by their path relative to the input. */
  files: string[];
}

/** Everything a job runs with: a snapshot of its deployment plus the invocation's overrides. */
export interface JobConfig {
  deployment: BatchDeploymentConfig;
  settings: BatchSettings;
  environment_variables: Record<string, string>;
  input: Omit<ResolvedInput, "files">;
}

export interface JobRecord {
  id: string;
  /** FIFO order across the store's life. */
  seq: number;
  endpoint: string;
  deployment: string;
  cluster: string;
  status: JobStatus;
  /** Instances asked for (instance_count, capped at the cluster's max_instances and the mini-batch count). */
  instances: number;
  config: JobConfig;
  total: number;
  files: number;
  rows: number;
  relaunches: number;
  createdAt: string;
  startedAt: string | null;
  endedAt: string | null;
  failureReason: string | null;
}

export type MiniBatchState = "pending" | "leased" | "done" | "failed";

export interface MiniBatchRecord {
  job_id: string;
  idx: number;
  files: string[];
  state: MiniBatchState;
  /** Tries started so far (0 before the first lease). */
  attempt: number;
  worker: string | null;
  /** Epoch ms; set while leased. */
  leaseExpiresAt: number | null;
  error: string | null;
  traceback: string | null;
}

export interface MiniBatchCounts {
  total: number;
  pending: number;
  leased: number;
  done: number;
  failed: number;
  failedFiles: number;
}
