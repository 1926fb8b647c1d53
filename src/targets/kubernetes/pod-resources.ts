// A pod's requests and limits from a deployment spec: `resources` as Azure's Kubernetes
// deployments write it (requests/limits of cpu, memory, nvidia.com/gpu), else from instance_type.
import type { OnlineDeploymentSpec } from "../../spec";
import { gpuRequest } from "../../servers/gpu";

export interface PodResources {
  requests: Record<string, string>;
  limits: Record<string, string>;
}

// Azure VM sizes (vCPU, GiB) for specs that size by instance_type; requests leave room for the node.
const AZURE_SIZES: Record<string, [number, number]> = {
  standard_ds1_v2: [1, 3.5],
  standard_ds2_v2: [2, 7],
  standard_ds3_v2: [4, 14],
  standard_ds4_v2: [8, 28],
  standard_ds5_v2: [16, 56],
  standard_f2s_v2: [2, 4],
  standard_f4s_v2: [4, 8],
  standard_f8s_v2: [8, 16],
  standard_e2s_v3: [2, 16],
  standard_e4s_v3: [4, 32],
  standard_nc6s_v3: [6, 112],
  standard_nc4as_t4_v3: [4, 28],
};
const DEFAULT: PodResources = { requests: { cpu: "100m", memory: "256Mi" }, limits: { memory: "2Gi" } };

function quantities(raw: unknown): Record<string, string> {
  if (raw === null || typeof raw !== "object") return {};
  return Object.fromEntries(Object.entries(raw as Record<string, unknown>).map(([k, v]) => [k, String(v)]));
}

/** The pod resources, or a problem (field, value, fix). */
export function podResources(spec: Pick<OnlineDeploymentSpec, "name" | "resources" | "instance_type">): PodResources | { problem: string } {
  let r: PodResources;
  if (spec.resources) {
    r = { requests: quantities(spec.resources.requests), limits: quantities(spec.resources.limits) };
  } else {
    const size = spec.instance_type ? AZURE_SIZES[spec.instance_type.toLowerCase()] : undefined;
    r = size ? { requests: { cpu: `${Math.round(size[0] * 750)}m`, memory: `${Math.round(size[1] * 768)}Mi` }, limits: { cpu: String(size[0]), memory: `${Math.round(size[1] * 1024)}Mi` } } : { requests: { ...DEFAULT.requests }, limits: { ...DEFAULT.limits } };
  }
  // GPUs are extended resources: Kubernetes takes them as limits (requests must equal them).
  const gpu = gpuRequest(spec);
  if (gpu && gpu.count === -1) return { problem: `deployment "${spec.name}": ${gpu.field} ${gpu.value} asks for all GPUs, which Kubernetes cannot schedule: give a count (resources.limits nvidia.com/gpu: 1)` };
  if (gpu && gpu.count > 0) {
    r.limits["nvidia.com/gpu"] = String(gpu.count);
    delete r.requests["nvidia.com/gpu"];
  }
  return r;
}
