// Documented Azure ML defaults (see ../shared/reference/azureml-semantics.md). One place, so the
// schemas, the docs and the tests agree on the exact numbers.
import type { BatchSettings, ComputeClusterSpec, ProbeSettings, RequestSettings } from "./types";

export const DEFAULT_PROBE: Readonly<ProbeSettings> = Object.freeze({
  initial_delay: 10,
  period: 10,
  timeout: 2,
  success_threshold: 1,
  failure_threshold: 30,
});

export const DEFAULT_REQUEST_SETTINGS: Readonly<RequestSettings> = Object.freeze({
  request_timeout_ms: 5000,
  max_concurrent_requests_per_instance: 1,
  max_queue_wait_ms: 500,
});

/** Azure caps request_timeout_ms at 3 minutes. */
export const MAX_REQUEST_TIMEOUT_MS = 180000;

/** At most this share of live requests may be mirrored. */
export const MAX_MIRROR_PERCENT = 50;

export const DEFAULT_K8S_TARGET_UTILIZATION = Object.freeze({
  min_instances: 1,
  max_instances: 1,
  target_utilization_percentage: 70,
  polling_interval: 1,
});

export const DEFAULT_BATCH_SETTINGS: Readonly<BatchSettings> = Object.freeze({
  max_concurrency_per_instance: 1,
  mini_batch_size: 10,
  output_action: "append_row",
  output_file_name: "predictions.csv",
  retry_settings: Object.freeze({ max_retries: 3, timeout: 30 }),
  error_threshold: -1,
  logging_level: "info",
  environment_variables: Object.freeze({}) as Record<string, string>,
});

/** Azure's amlCompute defaults: scale to zero, one instance, two minutes idle before scale-down. */
export const DEFAULT_CLUSTER: Readonly<Pick<ComputeClusterSpec, "min_instances" | "max_instances" | "idle_time_before_scale_down">> = Object.freeze({
  min_instances: 0,
  max_instances: 1,
  idle_time_before_scale_down: 120,
});
