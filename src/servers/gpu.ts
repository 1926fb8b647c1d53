// GPU requests of a deployment (kubernetes-style resources or an Azure GPU SKU) and what the
// stack's `modelplane:gpus` makes of them: Docker DeviceRequests, or a warning that it runs on CPU.
import type { DeviceRequest } from "../providers/docker/container";
import type { OnlineDeploymentSpec } from "../spec";

export const GPUS_CONFIG_KEY = "modelplane:gpus";
export type GpuMode = "off" | "passthrough";
/** Label on GPU containers: what was requested and from which field. */
export const GPU_LABEL = "modelplane.gpus";

/** Docker Engine API HostConfig.DeviceRequests entry (defined with the container provider). */
export type { DeviceRequest };

/**
 * GPUs per Azure GPU VM size (the common NC/ND/NV sizes; case-insensitive). Sizes with a fraction
 * of a GPU (NVadsA10_v5 below 36 vCPUs) count as 1.
 */
export const AZURE_GPU_SKUS: Readonly<Record<string, number>> = {
  // NC (K80), NCv2 (P100), NCv3 (V100)
  standard_nc6: 1, standard_nc12: 2, standard_nc24: 4, standard_nc24r: 4,
  standard_nc6s_v2: 1, standard_nc12s_v2: 2, standard_nc24s_v2: 4, standard_nc24rs_v2: 4,
  standard_nc6s_v3: 1, standard_nc12s_v3: 2, standard_nc24s_v3: 4, standard_nc24rs_v3: 4,
  // NCasT4_v3 (T4), NC A100 v4, NC H100 v5
  standard_nc4as_t4_v3: 1, standard_nc8as_t4_v3: 1, standard_nc16as_t4_v3: 1, standard_nc64as_t4_v3: 4,
  standard_nc24ads_a100_v4: 1, standard_nc48ads_a100_v4: 2, standard_nc96ads_a100_v4: 4,
  standard_nc40ads_h100_v5: 1, standard_nc80adis_h100_v5: 2,
  // ND (P40), NDv2 (V100), ND A100 v4, ND H100 v5
  standard_nd6s: 1, standard_nd12s: 2, standard_nd24s: 4, standard_nd24rs: 4,
  standard_nd40rs_v2: 8, standard_nd96asr_v4: 8, standard_nd96amsr_a100_v4: 8, standard_nd96isr_h100_v5: 8,
  // NV (M60), NVv3 (M60), NVadsA10_v5 (A10)
  standard_nv6: 1, standard_nv12: 2, standard_nv24: 4,
  standard_nv12s_v3: 1, standard_nv24s_v3: 2, standard_nv48s_v3: 4,
  standard_nv6ads_a10_v5: 1, standard_nv12ads_a10_v5: 1, standard_nv18ads_a10_v5: 1, standard_nv36ads_a10_v5: 1, standard_nv36adms_a10_v5: 1, standard_nv72ads_a10_v5: 2,
};

const GPU_FAMILY = /^standard_n[cdv]\d/i;

/** GPUs a deployment asks for, from which field, plus warnings (unknown GPU SKU, odd values). */
export interface GpuRequest {
  /** GPU count, or -1 for all. */
  count: number;
  field: string;
  value: string;
  warnings: string[];
}

/** GPUs of an Azure instance type: a table entry, 1 (with a warning) for an unknown NC/ND/NV size, else undefined. */
export function gpusOfInstanceType(instanceType: string): { count: number; warning?: string } | undefined {
  const known = AZURE_GPU_SKUS[instanceType.toLowerCase()];
  if (known !== undefined) return { count: known };
  if (GPU_FAMILY.test(instanceType)) return { count: 1, warning: `instance_type ${instanceType} is an Azure GPU size (NC/ND/NV) modelplane has no GPU count for; assuming 1 GPU (set resources nvidia.com/gpu on a kubernetes deployment to say how many)` };
  return undefined;
}

/** The `nvidia.com/gpu` quantity of a resources map section, as a count (-1 = "all"), or a problem. */
function gpuQuantity(raw: unknown): { count?: number; problem?: string } {
  if (raw === undefined || raw === null) return {};
  if (typeof raw === "string" && raw.trim().toLowerCase() === "all") return { count: -1 };
  const n = typeof raw === "number" ? raw : typeof raw === "string" && /^\s*\d+\s*$/.test(raw) ? Number(raw) : NaN;
  if (!Number.isInteger(n) || n < 0) return { problem: `is ${JSON.stringify(raw)}, not a whole number of GPUs` };
  return { count: n };
}

/**
 * What GPUs the deployment requests: `resources.limits` / `resources.requests` `nvidia.com/gpu`
 * (limits win, as in Kubernetes), else a GPU `instance_type`. Undefined when none (or 0).
 */
export function gpuRequest(spec: Pick<OnlineDeploymentSpec, "name" | "instance_type" | "resources">): GpuRequest | undefined {
  const warnings: string[] = [];
  const res = spec.resources ?? {};
  for (const section of ["limits", "requests"] as const) {
    const sec = res[section];
    if (typeof sec !== "object" || sec === null) continue;
    const raw = (sec as Record<string, unknown>)["nvidia.com/gpu"];
    const q = gpuQuantity(raw);
    const field = `resources.${section}.nvidia.com/gpu`;
    if (q.problem) {
      warnings.push(`deployment "${spec.name}": ${field} ${q.problem}; ignored`);
      continue;
    }
    if (q.count === undefined) continue;
    if (q.count === 0) return undefined;
    return { count: q.count, field, value: String(raw), warnings };
  }
  if (spec.instance_type) {
    const g = gpusOfInstanceType(spec.instance_type);
    if (g && g.count > 0) return { count: g.count, field: "instance_type", value: spec.instance_type, warnings: [...warnings, ...(g.warning ? [`deployment "${spec.name}": ${g.warning}`] : [])] };
  }
  return warnings.length ? { count: 0, field: "", value: "", warnings } : undefined;
}

/** Parses `modelplane:gpus` (unset = off). */
export function parseGpuMode(value: string | undefined): { ok: true; mode: GpuMode } | { ok: false; problem: string } {
  const v = (value ?? "off").trim().toLowerCase();
  if (v === "off" || v === "") return { ok: true, mode: "off" };
  if (v === "passthrough") return { ok: true, mode: "passthrough" };
  return { ok: false, problem: `${GPUS_CONFIG_KEY} is "${value}", not off or passthrough; set it with \`pulumi config set ${GPUS_CONFIG_KEY} passthrough\` (GPU deployments get the host's NVIDIA GPUs) or \`off\` (default: everything runs on CPU)` };
}

/** What a deployment's containers get: DeviceRequests and a label (passthrough), and warnings to log. */
export interface GpuPlan {
  deviceRequests?: DeviceRequest[];
  /** Value of the `modelplane.gpus` label, e.g. `1 (instance_type Standard_NC6s_v3)`. */
  label?: string;
  warnings: string[];
}

export function describeGpuRequest(r: GpuRequest): string {
  return `${r.count === -1 ? "all" : r.count} GPU${r.count === 1 ? "" : "s"} (${r.field} ${r.value})`;
}

/** Pure: the deployment's GPU request under the stack's mode. */
export function planGpus(spec: Pick<OnlineDeploymentSpec, "name" | "instance_type" | "resources">, mode: GpuMode): GpuPlan {
  const r = gpuRequest(spec);
  if (!r) return { warnings: [] };
  if (r.count === 0) return { warnings: r.warnings };
  if (mode === "off") {
    return {
      warnings: [
        ...r.warnings,
        `deployment "${spec.name}" requests ${describeGpuRequest(r)} but ${GPUS_CONFIG_KEY} is off: it runs on CPU. Set \`pulumi config set ${GPUS_CONFIG_KEY} passthrough\` on a host with NVIDIA GPUs and nvidia-container-toolkit`,
      ],
    };
  }
  return {
    deviceRequests: [{ Driver: "nvidia", Count: r.count, Capabilities: [["gpu"]] }],
    label: `${r.count === -1 ? "all" : r.count} (${r.field} ${r.value})`,
    warnings: r.warnings,
  };
}
