// Online deployment (managedOnlineDeployment / kubernetesOnlineDeployment schema).
import { z } from "zod";
import { DEFAULT_K8S_TARGET_UTILIZATION, DEFAULT_PROBE, DEFAULT_REQUEST_SETTINGS } from "./defaults";
import { quoteValue, specError } from "./issue";
import { checkDnsName } from "./names";
import { onlineKindFromSchema } from "./online-endpoint";
import { checkLimit, checkProbe, checkRequestSettings } from "./ranges";
import { deploymentId } from "./resource-id";
import { runSchema } from "./schema-run";
import { toEnvironmentSpec, toModelSpec } from "./asset-fields";
import { ciEnum, codeConfigurationField, environmentField, modelField, stringMap } from "./schema-fields";
import type { OnlineDeploymentSpec, ParseResult, SpecIssue } from "./types";

const int = z.number().int();

const probeSchema = z.strictObject({
  initial_delay: int.default(DEFAULT_PROBE.initial_delay),
  period: int.default(DEFAULT_PROBE.period),
  timeout: int.default(DEFAULT_PROBE.timeout),
  success_threshold: int.default(DEFAULT_PROBE.success_threshold),
  failure_threshold: int.default(DEFAULT_PROBE.failure_threshold),
});

const requestSettingsSchema = z.strictObject({
  request_timeout_ms: int.default(DEFAULT_REQUEST_SETTINGS.request_timeout_ms),
  max_concurrent_requests_per_instance: int.default(DEFAULT_REQUEST_SETTINGS.max_concurrent_requests_per_instance),
  max_queue_wait_ms: int.default(DEFAULT_REQUEST_SETTINGS.max_queue_wait_ms),
});

const scaleSettingsSchema = z.strictObject({
  type: ciEnum(["default", "target_utilization"]).default("default"),
  min_instances: int.optional(),
  max_instances: int.optional(),
  target_utilization_percentage: int.optional(),
  polling_interval: int.optional(),
});

const onlineDeploymentSchema = z.strictObject({
  $schema: z.string().optional(),
  name: z.string(),
  endpoint_name: z.string(),
  type: ciEnum(["managed", "kubernetes"]).optional(),
  description: z.string().optional(),
  tags: stringMap.default({}),
  model: modelField.optional(),
  model_mount_path: z.string().optional(),
  code_configuration: codeConfigurationField.optional(),
  environment: environmentField.optional(),
  instance_type: z.string().optional(),
  instance_count: int.optional(),
  request_settings: requestSettingsSchema.prefault({}),
  liveness_probe: probeSchema.prefault({}),
  readiness_probe: probeSchema.prefault({}),
  environment_variables: stringMap.default({}),
  scale_settings: scaleSettingsSchema.optional(),
  resources: z.record(z.string(), z.unknown()).optional(),
  // Accepted and kept (in `extra`) though nothing here acts on them yet.
  app_insights_enabled: z.boolean().optional(),
  egress_public_network_access: ciEnum(["enabled", "disabled"]).optional(),
  data_collector: z.record(z.string(), z.unknown()).optional(),
});

type RawScale = z.output<typeof scaleSettingsSchema>;

function scaleSettings(scale: RawScale | undefined, kind: "managed" | "kubernetes", resource: string): { value?: Record<string, unknown>; issues: SpecIssue[] } {
  if (scale === undefined) return { issues: [] };
  if (scale.type === "default") return { value: { type: "default" }, issues: [] };
  if (kind === "managed") {
    return {
      issues: [specError("scale_settings_managed", "scale_settings.type", `scale_settings.type is "target_utilization", but managed deployments support only "default"`, "set scale_settings.type: default, or make this a kubernetes deployment", resource)],
    };
  }
  const value = {
    type: "target_utilization",
    min_instances: scale.min_instances ?? DEFAULT_K8S_TARGET_UTILIZATION.min_instances,
    max_instances: scale.max_instances ?? DEFAULT_K8S_TARGET_UTILIZATION.max_instances,
    target_utilization_percentage: scale.target_utilization_percentage ?? DEFAULT_K8S_TARGET_UTILIZATION.target_utilization_percentage,
    polling_interval: scale.polling_interval ?? DEFAULT_K8S_TARGET_UTILIZATION.polling_interval,
  };
  const issues = [
    ...checkLimit(value.min_instances, "scale_settings.min_instances", { min: 1, max: 1000 }, resource),
    ...checkLimit(value.max_instances, "scale_settings.max_instances", { min: 1, max: 1000 }, resource),
    ...checkLimit(value.target_utilization_percentage, "scale_settings.target_utilization_percentage", { min: 1, max: 100 }, resource),
    ...checkLimit(value.polling_interval, "scale_settings.polling_interval", { min: 1, max: 3600 }, resource),
  ];
  if (value.max_instances < value.min_instances) {
    issues.push(specError("out_of_range", "scale_settings.max_instances", `scale_settings.max_instances (${value.max_instances}) is below min_instances (${value.min_instances})`, "set max_instances >= min_instances", resource));
  }
  return { value, issues };
}

export function parseOnlineDeployment(raw: unknown): ParseResult<OnlineDeploymentSpec> {
  const r = raw !== null && typeof raw === "object" ? (raw as Record<string, unknown>) : {};
  const resource = deploymentId("online-deployment", typeof r.endpoint_name === "string" ? r.endpoint_name : "?", typeof r.name === "string" ? r.name : "?");
  const run = runSchema(onlineDeploymentSchema, raw, resource);
  if (!run.value) return { ok: false, issues: [...run.errors, ...run.warnings] };
  const v = run.value;
  const errors: SpecIssue[] = [];

  const fromSchema = onlineKindFromSchema(v.$schema);
  const kind = v.type ?? fromSchema ?? "managed";
  if (v.type !== undefined && fromSchema !== undefined && v.type !== fromSchema) {
    errors.push(specError("kind_conflict", "type", `type is "${v.type}" but $schema is a ${fromSchema} deployment schema`, `make type and $schema agree (type: ${fromSchema})`, resource));
  }

  const scale = scaleSettings(v.scale_settings, kind, resource);
  errors.push(...scale.issues);
  // Kubernetes autoscaling starts at min_instances, so Azure lets instance_count be omitted there.
  const scaledMin = scale.value?.type === "target_utilization" ? (scale.value.min_instances as number) : undefined;
  const instanceCount = v.instance_count ?? scaledMin;
  if (instanceCount === undefined) {
    errors.push(specError("required", "instance_count", "missing required field instance_count", "add instance_count: 1 (or more)", resource));
  } else {
    errors.push(...checkLimit(instanceCount, "instance_count", { min: 1, max: 1000 }, resource));
  }
  if (kind === "managed" && v.resources !== undefined) {
    errors.push(specError("resources_managed", "resources", `resources ${quoteValue(v.resources)} is set on a managed deployment`, "remove resources (managed deployments size by instance_type), or make this a kubernetes deployment", resource));
  }
  if (v.model === undefined && v.environment?.image === undefined && v.environment?.reference === undefined && v.environment?.build === undefined) {
    errors.push(specError("nothing_to_serve", "model", "deployment has neither a model nor a container image", "add model: {path: ...} or environment.image", resource));
  }
  errors.push(
    ...checkDnsName(v.name, "name", "deployment", resource),
    ...checkDnsName(v.endpoint_name, "endpoint_name", "deployment", resource),
    ...checkRequestSettings(v.request_settings, resource),
    ...checkProbe(v.liveness_probe, "liveness_probe", resource),
    ...checkProbe(v.readiness_probe, "readiness_probe", resource),
  );

  const extra: Record<string, unknown> = { ...run.unknown };
  for (const key of ["app_insights_enabled", "egress_public_network_access", "data_collector"] as const) {
    if (v[key] !== undefined) extra[key] = v[key];
  }
  const spec: OnlineDeploymentSpec = {
    kind: "online-deployment",
    name: v.name,
    endpoint_name: v.endpoint_name,
    instance_count: instanceCount ?? 0,
    request_settings: v.request_settings,
    liveness_probe: v.liveness_probe,
    readiness_probe: v.readiness_probe,
    environment_variables: v.environment_variables,
    deployment_kind: kind,
    tags: v.tags,
    extra,
  };
  if (v.description !== undefined) spec.description = v.description;
  if (v.model !== undefined) spec.model = toModelSpec(v.model);
  if (v.model_mount_path !== undefined) spec.model_mount_path = v.model_mount_path;
  if (v.code_configuration !== undefined) spec.code_configuration = v.code_configuration;
  if (v.environment !== undefined) spec.environment = toEnvironmentSpec(v.environment);
  if (v.instance_type !== undefined) spec.instance_type = v.instance_type;
  if (scale.value !== undefined) spec.scale_settings = scale.value;
  if (v.resources !== undefined) spec.resources = v.resources;
  return errors.length > 0 ? { ok: false, issues: [...errors, ...run.warnings] } : { ok: true, value: spec, warnings: run.warnings };
}
