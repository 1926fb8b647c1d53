// Cross-resource (ARM) rules over one set of specs: a stack folder.
import { quoteValue, specError } from "./issue";
import { clusterId, dataAssetId, deploymentId, endpointId } from "./resource-id";
import { checkTrafficNames } from "./traffic";
import type { BatchDeploymentSpec, BatchEndpointSpec, ComputeClusterSpec, DataAssetSpec, OnlineDeploymentSpec, OnlineEndpointSpec, SpecIssue } from "./types";

type NamedResource = { kind: string; name: string; endpoint_name?: string };

/** Endpoint names are unique per stack (online and batch share the name space, as host names do);
 *  deployment names are unique per endpoint. Compared case-insensitively, like DNS. */
function checkUniqueNames(resources: NamedResource[]): SpecIssue[] {
  const issues: SpecIssue[] = [];
  const seen = new Map<string, NamedResource>();
  for (const r of resources) {
    const isEndpoint = r.endpoint_name === undefined;
    const key = isEndpoint ? `endpoint/${r.name.toLowerCase()}` : `deployment/${(r.endpoint_name ?? "").toLowerCase()}/${r.name.toLowerCase()}`;
    const first = seen.get(key);
    if (first === undefined) {
      seen.set(key, r);
      continue;
    }
    const resource = isEndpoint
      ? endpointId(r.kind as "online-endpoint" | "batch-endpoint", r.name)
      : deploymentId(r.kind as "online-deployment" | "batch-deployment", r.endpoint_name ?? "", r.name);
    const where = isEndpoint ? "in this stack" : `on endpoint "${r.endpoint_name ?? ""}"`;
    issues.push(specError("name_duplicate", "name", `name "${r.name}" is used by more than one ${isEndpoint ? "endpoint" : "deployment"} ${where}`, "give each one its own name", resource));
  }
  return issues;
}

export function checkOnlineSet(endpoints: OnlineEndpointSpec[], deployments: OnlineDeploymentSpec[]): SpecIssue[] {
  const issues: SpecIssue[] = [...checkUniqueNames([...endpoints, ...deployments])];
  const byName = new Map(endpoints.map((e) => [e.name, e]));
  for (const dep of deployments) {
    const resource = deploymentId("online-deployment", dep.endpoint_name, dep.name);
    const endpoint = byName.get(dep.endpoint_name);
    if (endpoint === undefined) {
      const known = endpoints.map((e) => e.name).join(", ") || "none";
      issues.push(specError("deployment_endpoint_missing", "endpoint_name", `deployment "${dep.name}" names endpoint "${dep.endpoint_name}", which is not in this stack`, `add an online endpoint named "${dep.endpoint_name}" or fix endpoint_name (online endpoints here: ${known})`, resource));
      continue;
    }
    const endpointKind = endpoint.endpoint_kind ?? "managed";
    if (endpointKind !== dep.deployment_kind) {
      issues.push(specError("deployment_endpoint_kind", "endpoint_name", `${dep.deployment_kind} deployment "${dep.name}" names ${endpointKind} endpoint "${endpoint.name}"`, `use a ${dep.deployment_kind} endpoint, or make the deployment ${endpointKind}`, resource));
    }
  }
  for (const endpoint of endpoints) {
    const names = deployments.filter((d) => d.endpoint_name === endpoint.name).map((d) => d.name);
    if (names.length === 0) {
      issues.push(specError("endpoint_without_deployment", "name", `endpoint "${endpoint.name}" has no deployment`, `add a deployment with endpoint_name: ${endpoint.name}`, endpointId("online-endpoint", endpoint.name)));
    }
    issues.push(...checkTrafficNames(endpoint, names));
  }
  return issues;
}

export function checkBatchSet(endpoints: BatchEndpointSpec[], deployments: BatchDeploymentSpec[]): SpecIssue[] {
  const issues: SpecIssue[] = [...checkUniqueNames([...endpoints, ...deployments])];
  const known = new Set(endpoints.map((e) => e.name));
  for (const dep of deployments) {
    if (known.has(dep.endpoint_name)) continue;
    const list = endpoints.map((e) => e.name).join(", ") || "none";
    issues.push(specError("deployment_endpoint_missing", "endpoint_name", `deployment "${dep.name}" names endpoint "${dep.endpoint_name}", which is not in this stack`, `add a batch endpoint named "${dep.endpoint_name}" or fix endpoint_name (batch endpoints here: ${list})`, deploymentId("batch-deployment", dep.endpoint_name, dep.name)));
  }
  for (const endpoint of endpoints) {
    const resource = endpointId("batch-endpoint", endpoint.name);
    const names = deployments.filter((d) => d.endpoint_name === endpoint.name).map((d) => d.name);
    if (names.length === 0) {
      issues.push(specError("endpoint_without_deployment", "name", `endpoint "${endpoint.name}" has no deployment`, `add a deployment with endpoint_name: ${endpoint.name}`, resource));
    }
    if (endpoint.default_deployment !== undefined && !names.includes(endpoint.default_deployment)) {
      issues.push(specError("default_deployment_missing", "defaults.deployment_name", `default deployment "${endpoint.default_deployment}" of endpoint "${endpoint.name}" does not exist`, `add a deployment "${endpoint.default_deployment}" with endpoint_name: ${endpoint.name}, or name an existing one (${names.join(", ") || "none"})`, resource));
    }
  }
  return issues;
}

/** The cluster name a deployment's `compute` names: `azureml:<name>` or `<name>`. */
export function clusterNameOf(compute: string): string {
  return compute.replace(/^azureml:/i, "");
}

/** Every model batch deployment names a compute cluster of the stack; cluster names and data asset versions are unique. */
export function checkComputeSet(clusters: ComputeClusterSpec[], dataAssets: DataAssetSpec[], deployments: BatchDeploymentSpec[]): SpecIssue[] {
  const issues: SpecIssue[] = [];
  const seen = new Set<string>();
  for (const c of clusters) {
    const key = c.name.toLowerCase();
    if (seen.has(key)) issues.push(specError("name_duplicate", "name", `name "${c.name}" is used by more than one compute cluster in this stack`, "give each one its own name", clusterId(c.name)));
    seen.add(key);
  }
  const versions = new Set<string>();
  for (const d of dataAssets) {
    const key = `${d.name}\0${d.version}`;
    if (versions.has(key)) issues.push(specError("name_duplicate", "version", `data asset "${d.name}" version "${d.version}" is defined more than once in this stack`, "give each file its own version (or name)", dataAssetId(d.name, d.version)));
    versions.add(key);
  }
  const names = clusters.map((c) => c.name);
  const known = names.join(", ") || "none";
  const fix = (name: string): string =>
    `add a compute cluster YAML to the stack folder ($schema: https://azuremlschemas.azureedge.net/latest/amlCompute.schema.json, type: amlcompute, name: ${name}, max_instances: <n>), or name one that exists (clusters here: ${known})`;
  for (const dep of deployments) {
    if (dep.type !== "model") continue;
    const resource = deploymentId("batch-deployment", dep.endpoint_name, dep.name);
    if (dep.compute === undefined) {
      issues.push(specError("compute_missing", "name", `batch deployment "${dep.name}" names no compute cluster`, `add compute: azureml:<cluster> (clusters here: ${known})${clusters.length === 0 ? `; ${fix("cpu-cluster")}` : ""}`, resource));
      continue;
    }
    const name = clusterNameOf(dep.compute);
    if (!names.some((n) => n.toLowerCase() === name.toLowerCase())) {
      issues.push(specError("compute_not_found", "compute", `compute ${quoteValue(dep.compute)} of batch deployment "${dep.name}" names a cluster "${name}" that is not in this stack (clusters here: ${known})`, fix(name), resource));
    }
  }
  return issues;
}

/** All cross-resource rules of a stack, plus the rules that span online and batch resources. */
export function checkStackSet(
  endpoints: OnlineEndpointSpec[],
  deployments: OnlineDeploymentSpec[],
  batchEndpoints: BatchEndpointSpec[],
  batchDeployments: BatchDeploymentSpec[],
  clusters: ComputeClusterSpec[] = [],
  dataAssets: DataAssetSpec[] = [],
): SpecIssue[] {
  const issues = [...checkOnlineSet(endpoints, deployments), ...checkBatchSet(batchEndpoints, batchDeployments), ...checkComputeSet(clusters, dataAssets, batchDeployments)];
  // Online and batch endpoints share one name space (one host name each).
  const online = new Set(endpoints.map((e) => e.name.toLowerCase()));
  for (const b of batchEndpoints) {
    if (online.has(b.name.toLowerCase())) {
      issues.push(specError("name_duplicate", "name", `name "${b.name}" is used by more than one endpoint in this stack`, "give each one its own name", endpointId("batch-endpoint", b.name)));
    }
  }
  return issues;
}
