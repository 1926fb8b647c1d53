// Stable identifiers for resources in a set, used in SpecIssue.resource so the loader can map a
// cross-resource issue back to the file that declares the resource.
export function endpointId(kind: "online-endpoint" | "batch-endpoint", name: string): string {
  return `${kind}/${name}`;
}

export function deploymentId(kind: "online-deployment" | "batch-deployment", endpointName: string, name: string): string {
  return `${kind}/${endpointName}/${name}`;
}

export function clusterId(name: string): string {
  return `compute-cluster/${name}`;
}

export function dataAssetId(name: string, version: string): string {
  return `data-asset/${name}/${version}`;
}
