// Online endpoint (managedOnlineEndpoint / kubernetesOnlineEndpoint schema).
import { z } from "zod";
import { specError } from "./issue";
import { checkDnsName } from "./names";
import { endpointId } from "./resource-id";
import { runSchema } from "./schema-run";
import { ciEnum, stringMap } from "./schema-fields";
import { checkTrafficShape } from "./traffic";
import type { OnlineEndpointSpec, ParseResult } from "./types";

const percentMap = z.record(z.string(), z.number());

const onlineEndpointSchema = z.strictObject({
  $schema: z.string().optional(),
  name: z.string(),
  description: z.string().optional(),
  tags: stringMap.default({}),
  auth_mode: ciEnum(["key", "aml_token", "aad_token"]).default("key"),
  traffic: percentMap.default({}),
  mirror_traffic: percentMap.default({}),
  public_network_access: ciEnum(["enabled", "disabled"]).default("enabled"),
  identity: z.record(z.string(), z.unknown()).optional(),
  compute: z.string().optional(),
});

/** `kubernetesOnlineEndpoint` in `$schema` makes a kubernetes endpoint; anything else is managed. */
export function onlineKindFromSchema(schemaUrl: unknown): "managed" | "kubernetes" | undefined {
  if (typeof schemaUrl !== "string") return undefined;
  return /kubernetesonline/i.test(schemaUrl) ? "kubernetes" : /managedonline/i.test(schemaUrl) ? "managed" : undefined;
}

export function parseOnlineEndpoint(raw: unknown): ParseResult<OnlineEndpointSpec> {
  const rawName = raw !== null && typeof raw === "object" ? (raw as Record<string, unknown>).name : undefined;
  const resource = endpointId("online-endpoint", typeof rawName === "string" ? rawName : "?");
  const run = runSchema(onlineEndpointSchema, raw, resource);
  if (!run.value) return { ok: false, issues: [...run.errors, ...run.warnings] };
  const v = run.value;
  const endpointKind = onlineKindFromSchema(v.$schema) ?? (v.compute !== undefined ? "kubernetes" : "managed");
  const spec: OnlineEndpointSpec = {
    kind: "online-endpoint",
    name: v.name,
    tags: v.tags,
    auth_mode: v.auth_mode,
    traffic: v.traffic,
    mirror_traffic: v.mirror_traffic,
    public_network_access: v.public_network_access,
    endpoint_kind: endpointKind,
    extra: run.unknown,
  };
  if (v.description !== undefined) spec.description = v.description;
  if (v.compute !== undefined) spec.compute = v.compute;
  if (v.identity !== undefined) spec.identity = v.identity;
  const errors = [...checkDnsName(v.name, "name", "endpoint", resource), ...checkTrafficShape(spec)];
  if (endpointKind === "managed" && v.compute !== undefined) {
    errors.push(specError("compute_on_managed", "compute", `managed endpoint "${v.name}" sets compute ${v.compute}`, "remove compute, or use the kubernetesOnlineEndpoint $schema", resource));
  }
  return errors.length > 0 ? { ok: false, issues: [...errors, ...run.warnings] } : { ok: true, value: spec, warnings: run.warnings };
}
