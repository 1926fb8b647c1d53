// Batch deployments: `type: model` (current `settings:` form and the legacy root-level form,
// normalized to one shape) and `type: pipeline` (pipeline component deployments).
import { z } from "zod";
import { DEFAULT_BATCH_SETTINGS } from "./defaults";
import { specError } from "./issue";
import { checkDnsName } from "./names";
import { checkLimit } from "./ranges";
import { deploymentId } from "./resource-id";
import { runSchema } from "./schema-run";
import { toEnvironmentSpec, toModelSpec } from "./asset-fields";
import { ciEnum, codeConfigurationField, environmentField, modelField, stringMap } from "./schema-fields";
import type { BatchDeploymentSpec, BatchModelDeploymentSpec, BatchPipelineDeploymentSpec, ParseResult, SpecIssue } from "./types";

const int = z.number().int();
const d = DEFAULT_BATCH_SETTINGS;

const batchSettingsSchema = z.strictObject({
  max_concurrency_per_instance: int.default(d.max_concurrency_per_instance),
  mini_batch_size: int.default(d.mini_batch_size),
  output_action: ciEnum(["append_row", "summary_only"]).default(d.output_action),
  output_file_name: z.string().default(d.output_file_name),
  retry_settings: z
    .strictObject({ max_retries: int.default(d.retry_settings.max_retries), timeout: int.default(d.retry_settings.timeout) })
    .prefault({}),
  error_threshold: int.default(d.error_threshold),
  logging_level: ciEnum(["debug", "info", "warning"]).default(d.logging_level),
  environment_variables: stringMap.default({}),
});

const common = {
  $schema: z.string().optional(),
  name: z.string(),
  endpoint_name: z.string(),
  description: z.string().optional(),
  tags: stringMap.default({}),
};

const modelDeploymentSchema = z.strictObject({
  ...common,
  type: ciEnum(["model"]).default("model"),
  model: modelField,
  code_configuration: codeConfigurationField.optional(),
  environment: environmentField.optional(),
  compute: z.string().optional(),
  resources: z.strictObject({ instance_count: int.default(1) }).prefault({}),
  settings: batchSettingsSchema.prefault({}),
});

const pipelineDeploymentSchema = z.strictObject({
  ...common,
  type: ciEnum(["pipeline"]),
  component: z.string(),
  job_definition: z.unknown().optional(),
  settings: z.looseObject({ continue_on_step_failure: z.boolean().default(false), default_compute: z.string().optional() }).prefault({}),
});

/** Keys the legacy `batchDeployment` schema put at the root; the current form nests them in `settings`. */
const LEGACY_SETTINGS_KEYS = [
  "max_concurrency_per_instance",
  "mini_batch_size",
  "output_action",
  "output_file_name",
  "retry_settings",
  "error_threshold",
  "logging_level",
  "environment_variables",
] as const;

/** Moves legacy root-level settings into `settings`; returns which keys moved (to map issue paths back). */
function normalizeLegacy(raw: Record<string, unknown>): { input: Record<string, unknown>; moved: Set<string> } {
  const moved = new Set<string>();
  const input: Record<string, unknown> = { ...raw };
  const settings: Record<string, unknown> = raw.settings !== null && typeof raw.settings === "object" && !Array.isArray(raw.settings) ? { ...(raw.settings as Record<string, unknown>) } : {};
  for (const key of LEGACY_SETTINGS_KEYS) {
    if (!(key in raw) || key in settings) continue;
    settings[key] = raw[key];
    delete input[key];
    moved.add(key);
  }
  if (moved.size > 0) input.settings = settings;
  return { input, moved };
}

export function batchDeploymentType(raw: Record<string, unknown>): "model" | "pipeline" {
  if (typeof raw.type === "string") return raw.type.toLowerCase() === "pipeline" ? "pipeline" : "model";
  if (typeof raw.$schema === "string" && /pipelinecomponentbatchdeployment/i.test(raw.$schema)) return "pipeline";
  return "component" in raw || "job_definition" in raw ? "pipeline" : "model";
}

function parsePipeline(raw: Record<string, unknown>, resource: string): ParseResult<BatchPipelineDeploymentSpec> {
  const run = runSchema(pipelineDeploymentSchema, { ...raw, type: "pipeline" }, resource);
  const errors: SpecIssue[] = [...run.errors];
  if (raw.job_definition !== undefined) {
    // Deploying from a finished pipeline job needs the Azure job store; only components are supported.
    const i = errors.findIndex((e) => e.field === "component");
    if (i >= 0) errors.splice(i, 1);
    errors.unshift(specError("pipeline_job_definition", "job_definition", "deployments created from a pipeline job (job_definition) are not supported here", "export the pipeline as a component and set component: <path to its YAML>", resource));
  }
  if (!run.value || errors.length > 0) return { ok: false, issues: [...errors, ...run.warnings] };
  const v = run.value;
  const spec: BatchPipelineDeploymentSpec = { kind: "batch-deployment", type: "pipeline", name: v.name, endpoint_name: v.endpoint_name, tags: v.tags, component: v.component, settings: v.settings, extra: run.unknown };
  if (v.description !== undefined) spec.description = v.description;
  const dns = checkDnsName(v.name, "name", "deployment", resource);
  return dns.length > 0 ? { ok: false, issues: [...dns, ...run.warnings] } : { ok: true, value: spec, warnings: run.warnings };
}

function parseModel(raw: Record<string, unknown>, resource: string): ParseResult<BatchModelDeploymentSpec> {
  const { input, moved } = normalizeLegacy(raw);
  const run = runSchema(modelDeploymentSchema, input, resource);
  // Point issues about moved legacy keys at the root-level field the user actually wrote.
  const unmove = (issue: SpecIssue): SpecIssue => {
    const [head, key, ...rest] = issue.field.split(".");
    if (head !== "settings" || key === undefined || !moved.has(key)) return issue;
    const rootField = [key, ...rest].join(".");
    const fix = (text: string): string => text.split(issue.field).join(rootField);
    return { ...issue, field: rootField, message: fix(issue.message), fix: fix(issue.fix) };
  };
  if (!run.value) return { ok: false, issues: [...run.errors, ...run.warnings].map(unmove) };
  const v = run.value;
  const errors: SpecIssue[] = [
    ...checkDnsName(v.name, "name", "deployment", resource),
    ...checkDnsName(v.endpoint_name, "endpoint_name", "deployment", resource),
    ...checkLimit(v.resources.instance_count, "resources.instance_count", { min: 1, max: 1000 }, resource),
    ...checkLimit(v.settings.max_concurrency_per_instance, "settings.max_concurrency_per_instance", { min: 1, max: 1000 }, resource),
    ...checkLimit(v.settings.mini_batch_size, "settings.mini_batch_size", { min: 1, max: 1_000_000 }, resource),
    ...checkLimit(v.settings.retry_settings.max_retries, "settings.retry_settings.max_retries", { min: 0, max: 100 }, resource),
    ...checkLimit(v.settings.retry_settings.timeout, "settings.retry_settings.timeout", { min: 1, max: 86400 }, resource),
    ...checkLimit(v.settings.error_threshold, "settings.error_threshold", { min: -1 }, resource),
  ].map(unmove);
  const spec: BatchModelDeploymentSpec = {
    kind: "batch-deployment",
    type: "model",
    name: v.name,
    endpoint_name: v.endpoint_name,
    tags: v.tags,
    model: toModelSpec(v.model),
    resources: v.resources,
    settings: v.settings,
    extra: run.unknown,
  };
  if (v.description !== undefined) spec.description = v.description;
  if (v.code_configuration !== undefined) spec.code_configuration = v.code_configuration;
  if (v.environment !== undefined) spec.environment = toEnvironmentSpec(v.environment);
  if (v.compute !== undefined) spec.compute = v.compute;
  const warnings = run.warnings.map(unmove);
  return errors.length > 0 ? { ok: false, issues: [...errors, ...warnings] } : { ok: true, value: spec, warnings };
}

export function parseBatchDeployment(raw: unknown): ParseResult<BatchDeploymentSpec> {
  if (raw === null || typeof raw !== "object" || Array.isArray(raw)) {
    return { ok: false, issues: [specError("not_a_mapping", "", "a batch deployment must be a YAML mapping", "write the deployment as key: value pairs")] };
  }
  const r = raw as Record<string, unknown>;
  const resource = deploymentId("batch-deployment", typeof r.endpoint_name === "string" ? r.endpoint_name : "?", typeof r.name === "string" ? r.name : "?");
  return batchDeploymentType(r) === "pipeline" ? parsePipeline(r, resource) : parseModel(r, resource);
}
