// Compute clusters (Azure's amlCompute YAML): `type: amlcompute`, instance bounds and scale-down.
// Batch deployments name one with `compute: azureml:<name>`; its max_instances caps their jobs' workers.
import { z } from "zod";
import { DEFAULT_CLUSTER } from "./defaults";
import { quoteValue, specError } from "./issue";
import { checkDnsName } from "./names";
import { checkLimit } from "./ranges";
import { clusterId } from "./resource-id";
import { runSchema } from "./schema-run";
import { ciEnum, stringMap } from "./schema-fields";
import type { ComputeClusterSpec, ParseResult, SpecIssue } from "./types";

const int = z.number().int();

const clusterSchema = z.strictObject({
  $schema: z.string().optional(),
  name: z.string(),
  type: ciEnum(["amlcompute"]).default("amlcompute"),
  description: z.string().optional(),
  tags: stringMap.default({}),
  size: z.string().optional(),
  tier: ciEnum(["dedicated", "low_priority"]).optional(),
  location: z.string().optional(),
  min_instances: int.default(DEFAULT_CLUSTER.min_instances),
  max_instances: int.default(DEFAULT_CLUSTER.max_instances),
  idle_time_before_scale_down: int.default(DEFAULT_CLUSTER.idle_time_before_scale_down),
});

export function parseComputeCluster(raw: unknown): ParseResult<ComputeClusterSpec> {
  const rawName = raw !== null && typeof raw === "object" ? (raw as Record<string, unknown>).name : undefined;
  const resource = clusterId(typeof rawName === "string" ? rawName : "?");
  const run = runSchema(clusterSchema, raw, resource);
  if (!run.value) return { ok: false, issues: [...run.errors, ...run.warnings] };
  const v = run.value;
  const errors: SpecIssue[] = [
    ...checkDnsName(v.name, "name", "compute cluster", resource),
    ...checkLimit(v.min_instances, "min_instances", { min: 0, max: 1000 }, resource),
    ...checkLimit(v.max_instances, "max_instances", { min: 1, max: 1000 }, resource),
    ...checkLimit(v.idle_time_before_scale_down, "idle_time_before_scale_down", { min: 0, max: 7 * 86400 }, resource, " (seconds)"),
  ];
  if (errors.length === 0 && v.min_instances > v.max_instances) {
    errors.push(
      specError("out_of_range", "min_instances", `min_instances is ${quoteValue(v.min_instances)}, more than max_instances ${v.max_instances}`, `set min_instances to at most ${v.max_instances}, or raise max_instances`, resource),
    );
  }
  const spec: ComputeClusterSpec = {
    kind: "compute-cluster",
    name: v.name,
    type: v.type,
    tags: v.tags,
    min_instances: v.min_instances,
    max_instances: v.max_instances,
    idle_time_before_scale_down: v.idle_time_before_scale_down,
    extra: run.unknown,
  };
  if (v.description !== undefined) spec.description = v.description;
  if (v.size !== undefined) spec.size = v.size;
  // tier and location mean nothing on one engine: kept as written, like unknown fields.
  if (v.tier !== undefined) spec.extra.tier = v.tier;
  if (v.location !== undefined) spec.extra.location = v.location;
  return errors.length > 0 ? { ok: false, issues: [...errors, ...run.warnings] } : { ok: true, value: spec, warnings: run.warnings };
}
