/** Shapes of the batch management bodies (docs/batch-api.md), with Azure's defaults filled in. */
import { z } from "zod";
import { DEFAULT_BATCH_SETTINGS } from "../../spec/defaults";
import { DEFAULT_CLUSTER } from "../../spec/defaults";

const d = DEFAULT_BATCH_SETTINGS;
const int = z.number().int();
const absPath = z.string().min(1).max(4096).regex(/^\//, "must be an absolute path");
const lowerEnum = <T extends string>(values: readonly [T, ...T[]]) => z.preprocess((v) => (typeof v === "string" ? v.toLowerCase() : v), z.enum(values));

export const clusterBody = z.object({
  min_instances: int.min(0).max(1000).default(DEFAULT_CLUSTER.min_instances),
  max_instances: int.min(1).max(1000).default(DEFAULT_CLUSTER.max_instances),
  idle_time_before_scale_down: int.min(0).max(7 * 24 * 3600).default(DEFAULT_CLUSTER.idle_time_before_scale_down),
  size: z.string().max(128).default(""),
});

const settings = z.object({
  max_concurrency_per_instance: int.min(1).max(1000).default(d.max_concurrency_per_instance),
  mini_batch_size: int.min(1).max(1_000_000).default(d.mini_batch_size),
  output_action: lowerEnum(["append_row", "summary_only"]).default(d.output_action),
  output_file_name: z
    .string()
    .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/, "must be a plain file name such as predictions.csv")
    .refine((v) => v !== "summary.json", "summary.json is the job summary's name; choose another")
    .default(d.output_file_name),
  retry_settings: z
    .object({ max_retries: int.min(0).max(100).default(d.retry_settings.max_retries), timeout: int.min(1).max(7 * 24 * 3600).default(d.retry_settings.timeout) })
    .prefault({}),
  error_threshold: int.min(-1).default(d.error_threshold),
  logging_level: lowerEnum(["debug", "info", "warning"]).default(d.logging_level),
  environment_variables: z.record(z.string(), z.string()).default({}),
});

export const batchDeploymentBody = z.object({
  kind: z.literal("batch").optional(),
  image: z.string().min(1).max(512),
  cluster: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_-]{0,62}$/, "must be a cluster name"),
  model_server: lowerEnum(["mlflow", "custom"]),
  model_dir: absPath.optional(),
  code_dir: absPath.optional(),
  scoring_script: z
    .string()
    .regex(/^[A-Za-z0-9_./-]+\.py$/, "must be a .py file name inside code_dir")
    .refine((v) => !v.split("/").includes(".."), "must stay inside code_dir")
    .optional(),
  python: absPath.optional(),
  binds: z.array(z.object({ source: absPath, target: absPath })).max(64).default([]),
  pod_volumes: z
    .array(
      z.object({
        config_map: z.string().regex(/^[a-z0-9]([a-z0-9.-]{0,251}[a-z0-9])?$/, "must be a ConfigMap name"),
        mount_path: absPath,
        sub_path: z.string().regex(/^[A-Za-z0-9_.-]+$/, "must be a file name").optional(),
        items: z.array(z.object({ key: z.string().regex(/^[A-Za-z0-9_.-]{1,253}$/, "must be a ConfigMap key"), path: z.string().min(1).max(1024).refine((v) => !v.startsWith("/") && !v.split("/").includes(".."), "must be a relative path inside the mount") })).max(10_000),
      }),
    )
    .max(64)
    .optional(),
  instance_count: int.min(1).max(1000).default(1),
  settings: settings.prefault({}),
  environment_variables: z.record(z.string(), z.string()).default({}),
  spec: z.unknown().optional(),
});

export const defaultsBody = z.object({ deployment_name: z.string().min(1).max(63).nullable() });

export const dataAssetBody = z.object({
  type: lowerEnum(["uri_folder", "uri_file"]).default("uri_folder"),
  path: z.string().min(1).max(4096),
});
