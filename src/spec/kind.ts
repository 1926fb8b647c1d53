// Which kind of spec a YAML document is: from its `$schema` URL, else from its shape. Besides
// endpoints and deployments, a stack holds compute clusters (amlCompute) and data assets (data).
import type { SpecKind } from "./types";

const SCHEMA_KINDS: Record<string, SpecKind> = {
  managedonlineendpoint: "online-endpoint",
  kubernetesonlineendpoint: "online-endpoint",
  managedonlinedeployment: "online-deployment",
  kubernetesonlinedeployment: "online-deployment",
  batchendpoint: "batch-endpoint",
  batchdeployment: "batch-deployment",
  modelbatchdeployment: "batch-deployment",
  pipelinecomponentbatchdeployment: "batch-deployment",
  amlcompute: "compute-cluster",
  data: "data-asset",
};

export type KindDetection = { kind: SpecKind; schemaName?: string } | { kind: undefined; schemaName?: string };

/** `.../latest/managedOnlineDeployment.schema.json` -> "managedonlinedeployment". */
function schemaName(url: string): string {
  const last = url.split(/[/\\]/).pop() ?? "";
  return last.replace(/\.schema\.json$/i, "").replace(/\.json$/i, "").toLowerCase();
}

export function detectKind(raw: unknown): KindDetection {
  if (raw === null || typeof raw !== "object" || Array.isArray(raw)) return { kind: undefined };
  const r = raw as Record<string, unknown>;
  if (typeof r.$schema === "string") {
    const name = schemaName(r.$schema);
    return { kind: SCHEMA_KINDS[name], schemaName: name };
  }
  const type = typeof r.type === "string" ? r.type.toLowerCase() : undefined;
  if (type === "amlcompute") return { kind: "compute-cluster" };
  if ((type === "uri_folder" || type === "uri_file") && "path" in r && !("endpoint_name" in r)) return { kind: "data-asset" };
  if ("endpoint_name" in r) {
    const batch = type === "model" || type === "pipeline" || "compute" in r || "settings" in r || "component" in r || "mini_batch_size" in r;
    return { kind: batch ? "batch-deployment" : "online-deployment" };
  }
  if (!("name" in r)) return { kind: undefined };
  return { kind: "defaults" in r ? "batch-endpoint" : "online-endpoint" };
}
