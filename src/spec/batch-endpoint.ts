// Batch endpoint (batchEndpoint schema): token auth only, optional default deployment.
import { z } from "zod";
import { checkDnsName } from "./names";
import { endpointId } from "./resource-id";
import { runSchema } from "./schema-run";
import { ciEnum, stringMap } from "./schema-fields";
import type { BatchEndpointSpec, ParseResult } from "./types";

const batchEndpointSchema = z.strictObject({
  $schema: z.string().optional(),
  name: z.string(),
  description: z.string().optional(),
  tags: stringMap.default({}),
  auth_mode: ciEnum(["aad_token"]).default("aad_token"),
  defaults: z.strictObject({ deployment_name: z.string().optional() }).optional(),
});

export function parseBatchEndpoint(raw: unknown): ParseResult<BatchEndpointSpec> {
  const rawName = raw !== null && typeof raw === "object" ? (raw as Record<string, unknown>).name : undefined;
  const resource = endpointId("batch-endpoint", typeof rawName === "string" ? rawName : "?");
  const run = runSchema(batchEndpointSchema, raw, resource);
  if (!run.value) return { ok: false, issues: [...run.errors, ...run.warnings] };
  const v = run.value;
  const spec: BatchEndpointSpec = { kind: "batch-endpoint", name: v.name, tags: v.tags, auth_mode: v.auth_mode, extra: run.unknown };
  if (v.description !== undefined) spec.description = v.description;
  if (v.defaults?.deployment_name !== undefined) spec.default_deployment = v.defaults.deployment_name;
  const errors = checkDnsName(v.name, "name", "endpoint", resource);
  return errors.length > 0 ? { ok: false, issues: [...errors, ...run.warnings] } : { ok: true, value: spec, warnings: run.warnings };
}
