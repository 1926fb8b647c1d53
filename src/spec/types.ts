// The typed model of endpoint and deployment specs that components, server and CLI consume.
// Field names follow the Azure ML CLI v2 YAML (snake_case) so users' files map one to one.

export type AuthMode = "key" | "aml_token" | "aad_token";

export interface ProbeSettings {
  initial_delay: number;
  period: number;
  timeout: number;
  success_threshold: number;
  failure_threshold: number;
}

export interface RequestSettings {
  request_timeout_ms: number;
  max_concurrent_requests_per_instance: number;
  max_queue_wait_ms: number;
}

export interface InferenceRoute {
  port: number;
  path: string;
}

export interface OnlineEndpointSpec {
  kind: "online-endpoint";
  name: string;
  description?: string;
  tags: Record<string, string>;
  auth_mode: AuthMode;
  traffic: Record<string, number>;
  mirror_traffic: Record<string, number>;
  public_network_access: "enabled" | "disabled";
  /** managed (default) or kubernetes, from `$schema`; deployments must match it. */
  endpoint_kind?: "managed" | "kubernetes";
  /** Kubernetes endpoints name their compute target; kept, not resolved. */
  compute?: string;
  identity?: Record<string, unknown>;
  /** Unknown fields, kept for forward compatibility (each also reported as a warning). */
  extra: Record<string, unknown>;
}

export type ModelType = "custom_model" | "mlflow_model" | "triton_model";

export interface ModelSpec {
  name?: string;
  version?: string;
  /** Absolute after loading. */
  path?: string;
  type: ModelType;
  /** The original `azureml:name:version` reference, when the model came from the registry. */
  reference?: string;
}

export interface CodeConfiguration {
  /** Absolute after loading. */
  code: string;
  scoring_script: string;
}

export interface EnvironmentSpec {
  name?: string;
  version?: string;
  image?: string;
  /** Absolute after loading. */
  conda_file?: string;
  build?: { path: string; dockerfile_path?: string };
  inference_config?: {
    liveness_route?: InferenceRoute;
    readiness_route?: InferenceRoute;
    scoring_route?: InferenceRoute;
  };
  /** The original `azureml:name:version` reference, when resolved from the registry. */
  reference?: string;
}

export interface OnlineDeploymentSpec {
  kind: "online-deployment";
  name: string;
  endpoint_name: string;
  description?: string;
  model?: ModelSpec;
  model_mount_path?: string;
  code_configuration?: CodeConfiguration;
  environment?: EnvironmentSpec;
  instance_type?: string;
  instance_count: number;
  request_settings: RequestSettings;
  liveness_probe: ProbeSettings;
  readiness_probe: ProbeSettings;
  environment_variables: Record<string, string>;
  scale_settings?: Record<string, unknown>;
  resources?: Record<string, unknown>;
  deployment_kind: "managed" | "kubernetes";
  tags: Record<string, string>;
  extra: Record<string, unknown>;
}

export interface BatchEndpointSpec {
  kind: "batch-endpoint";
  name: string;
  description?: string;
  tags: Record<string, string>;
  /** Batch endpoints are token-only. */
  auth_mode: "aad_token";
  /** `defaults.deployment_name`: used when an invocation names no deployment. */
  default_deployment?: string;
  extra: Record<string, unknown>;
}

export interface BatchRetrySettings {
  max_retries: number;
  /** Seconds per mini-batch. */
  timeout: number;
}

export interface BatchSettings {
  max_concurrency_per_instance: number;
  mini_batch_size: number;
  output_action: "append_row" | "summary_only";
  output_file_name: string;
  retry_settings: BatchRetrySettings;
  /** -1 = no limit. */
  error_threshold: number;
  logging_level: "debug" | "info" | "warning";
  environment_variables: Record<string, string>;
}

/** `type: model` batch deployment; the legacy root-level settings form is normalized into `settings`. */
export interface BatchModelDeploymentSpec {
  kind: "batch-deployment";
  type: "model";
  name: string;
  endpoint_name: string;
  description?: string;
  tags: Record<string, string>;
  model: ModelSpec;
  code_configuration?: CodeConfiguration;
  environment?: EnvironmentSpec;
  /** `azureml:<cluster>`: a compute cluster of the same stack (checked by the stack rules). */
  compute?: string;
  resources: { instance_count: number };
  settings: BatchSettings;
  extra: Record<string, unknown>;
}

/** `type: pipeline` batch deployment: a pipeline component plus job settings. */
export interface BatchPipelineDeploymentSpec {
  kind: "batch-deployment";
  type: "pipeline";
  name: string;
  endpoint_name: string;
  description?: string;
  tags: Record<string, string>;
  /** Absolute path of the component YAML after loading. */
  component: string;
  settings: { continue_on_step_failure: boolean; default_compute?: string } & Record<string, unknown>;
  extra: Record<string, unknown>;
}

export type BatchDeploymentSpec = BatchModelDeploymentSpec | BatchPipelineDeploymentSpec;

/** A compute cluster (Azure's amlCompute YAML): the capacity batch deployments run their jobs on. */
export interface ComputeClusterSpec {
  kind: "compute-cluster";
  name: string;
  type: "amlcompute";
  description?: string;
  tags: Record<string, string>;
  /** VM size; kept for the record (jobs run on the local engine). */
  size?: string;
  /** Warm instances kept while idle. @default 0 */
  min_instances: number;
  /** Instances all jobs on the cluster share at most. @default 1 */
  max_instances: number;
  /** Seconds an idle instance above min_instances is kept. @default 120 */
  idle_time_before_scale_down: number;
  extra: Record<string, unknown>;
}

/** A data asset (Azure's data YAML): a named, versioned folder or file jobs can take as input. */
export interface DataAssetSpec {
  kind: "data-asset";
  name: string;
  /** @default "1" */
  version: string;
  type: "uri_folder" | "uri_file";
  description?: string;
  tags: Record<string, string>;
  /** Absolute after loading (relative to the YAML file as written). */
  path: string;
  extra: Record<string, unknown>;
}

export type AnySpec = OnlineEndpointSpec | OnlineDeploymentSpec | BatchEndpointSpec | BatchDeploymentSpec | ComputeClusterSpec | DataAssetSpec;
export type SpecKind = AnySpec["kind"];

export interface SpecIssue {
  /** Stable machine-readable code, e.g. "traffic_sum". */
  code: string;
  severity: "error" | "warning";
  message: string;
  fix: string;
  /** Dotted path, e.g. request_settings.request_timeout_ms. */
  field: string;
  resource?: string;
}

export type ParseResult<T> = { ok: true; value: T; warnings: SpecIssue[] } | { ok: false; issues: SpecIssue[] };

export interface Diagnostic extends SpecIssue {
  file: string;
  line: number;
  col: number;
}

export interface LoadOptions {
  /** Values for `{{NAME}}` placeholders. */
  set?: Record<string, string>;
  /** Check that referenced paths exist (default true). */
  pathCheck?: boolean;
  /** Texts to use instead of these files' contents (absolute paths): validates an edit before it is written. */
  texts?: Record<string, string>;
  /** The stack's target: which accepted fields it does not act on (one warning each). @default "docker" */
  target?: "docker" | "kubernetes";
}

export interface LoadedDocument {
  file: string;
  kind: string;
  name?: string;
  spec?: AnySpec;
}

export interface LoadResult {
  documents: LoadedDocument[];
  diagnostics: Diagnostic[];
}

export interface StackSpec {
  dir: string;
  endpoints: OnlineEndpointSpec[];
  deployments: OnlineDeploymentSpec[];
  batchEndpoints: BatchEndpointSpec[];
  batchDeployments: BatchDeploymentSpec[];
  clusters: ComputeClusterSpec[];
  dataAssets: DataAssetSpec[];
  diagnostics: Diagnostic[];
}
