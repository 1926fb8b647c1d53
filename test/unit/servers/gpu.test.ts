import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { AZURE_GPU_SKUS, gpuRequest, gpusOfInstanceType, parseGpuMode, planGpus } from "../../../src/servers/gpu";
import { gpuStartError } from "../../../src/providers/docker/container";

const dep = (over: { instance_type?: string; resources?: Record<string, unknown> }) => ({ name: "blue", ...over });

describe("gpusOfInstanceType", () => {
  test("known Azure GPU sizes, case-insensitive", () => {
    assert.deepEqual(gpusOfInstanceType("Standard_NC6s_v3"), { count: 1 });
    assert.deepEqual(gpusOfInstanceType("standard_nc24ads_a100_v4"), { count: 1 });
    assert.deepEqual(gpusOfInstanceType("Standard_NC12s_v3"), { count: 2 });
    assert.deepEqual(gpusOfInstanceType("Standard_NC64as_T4_v3"), { count: 4 });
    assert.deepEqual(gpusOfInstanceType("Standard_ND96asr_v4"), { count: 8 });
    assert.deepEqual(gpusOfInstanceType("Standard_NV12s_v3"), { count: 1 });
    assert.deepEqual(gpusOfInstanceType("Standard_NV72ads_A10_v5"), { count: 2 });
  });
  test("an unknown NC/ND/NV size is 1 GPU with a warning", () => {
    assert.deepEqual(gpusOfInstanceType("Standard_NC320xyz_v9"), {
      count: 1,
      warning: "instance_type Standard_NC320xyz_v9 is an Azure GPU size (NC/ND/NV) modelplane has no GPU count for; assuming 1 GPU (set resources nvidia.com/gpu on a kubernetes deployment to say how many)",
    });
  });
  test("CPU sizes and custom instance types have no GPUs", () => {
    for (const t of ["Standard_DS3_v2", "Standard_F4s_v2", "Standard_E8s_v3", "gpuinstancetype", "Standard_N"]) assert.equal(gpusOfInstanceType(t), undefined, t);
  });
  test("the table keys are lower-case Standard_N* names", () => {
    for (const [k, v] of Object.entries(AZURE_GPU_SKUS)) {
      assert.match(k, /^standard_n[cdv][0-9a-z_]+$/);
      assert.ok(Number.isInteger(v) && v >= 1, k);
    }
  });
});

describe("gpuRequest", () => {
  test("resources.limits nvidia.com/gpu wins over requests and instance_type", () => {
    assert.deepEqual(gpuRequest(dep({ instance_type: "Standard_NC24s_v3", resources: { requests: { "nvidia.com/gpu": 1 }, limits: { "nvidia.com/gpu": 2 } } })), { count: 2, field: "resources.limits.nvidia.com/gpu", value: "2", warnings: [] });
  });
  test("resources.requests, as a number or a string", () => {
    assert.deepEqual(gpuRequest(dep({ resources: { requests: { cpu: "1", "nvidia.com/gpu": "3" } } })), { count: 3, field: "resources.requests.nvidia.com/gpu", value: "3", warnings: [] });
  });
  test('"all" is every GPU (-1)', () => {
    assert.deepEqual(gpuRequest(dep({ resources: { limits: { "nvidia.com/gpu": "all" } } })), { count: -1, field: "resources.limits.nvidia.com/gpu", value: "all", warnings: [] });
  });
  test("0 GPUs in resources means none, even on a GPU size", () => {
    assert.equal(gpuRequest(dep({ instance_type: "Standard_NC6s_v3", resources: { limits: { "nvidia.com/gpu": 0 } } })), undefined);
  });
  test("a GPU instance_type", () => {
    assert.deepEqual(gpuRequest(dep({ instance_type: "Standard_NC6s_v3" })), { count: 1, field: "instance_type", value: "Standard_NC6s_v3", warnings: [] });
  });
  test("nothing requested", () => {
    assert.equal(gpuRequest(dep({ instance_type: "Standard_DS3_v2", resources: { limits: { cpu: "2" } } })), undefined);
    assert.equal(gpuRequest(dep({})), undefined);
  });
  test("a bad quantity is ignored with a warning; the instance_type still counts", () => {
    assert.deepEqual(gpuRequest(dep({ instance_type: "Standard_NC6s_v3", resources: { limits: { "nvidia.com/gpu": 1.5 } } })), {
      count: 1,
      field: "instance_type",
      value: "Standard_NC6s_v3",
      warnings: ['deployment "blue": resources.limits.nvidia.com/gpu is 1.5, not a whole number of GPUs; ignored'],
    });
  });
});

describe("parseGpuMode", () => {
  test("off (default) and passthrough", () => {
    assert.deepEqual(parseGpuMode(undefined), { ok: true, mode: "off" });
    assert.deepEqual(parseGpuMode("OFF"), { ok: true, mode: "off" });
    assert.deepEqual(parseGpuMode("passthrough"), { ok: true, mode: "passthrough" });
  });
  test("anything else: key, value, fix", () => {
    assert.deepEqual(parseGpuMode("on"), {
      ok: false,
      problem: 'modelplane:gpus is "on", not off or passthrough; set it with `pulumi config set modelplane:gpus passthrough` (GPU deployments get the host\'s NVIDIA GPUs) or `off` (default: everything runs on CPU)',
    });
  });
});

describe("planGpus", () => {
  test("passthrough + GPU size: one nvidia DeviceRequest with the count, and a label", () => {
    assert.deepEqual(planGpus(dep({ instance_type: "Standard_NC12s_v3" }), "passthrough"), {
      deviceRequests: [{ Driver: "nvidia", Count: 2, Capabilities: [["gpu"]] }],
      label: "2 (instance_type Standard_NC12s_v3)",
      warnings: [],
    });
    assert.deepEqual(planGpus(dep({ resources: { limits: { "nvidia.com/gpu": "all" } } }), "passthrough").deviceRequests, [{ Driver: "nvidia", Count: -1, Capabilities: [["gpu"]] }]);
  });
  test("off + GPU request: no DeviceRequests, a warning naming the deployment, field and key", () => {
    assert.deepEqual(planGpus(dep({ instance_type: "Standard_NC6s_v3" }), "off"), {
      warnings: ['deployment "blue" requests 1 GPU (instance_type Standard_NC6s_v3) but modelplane:gpus is off: it runs on CPU. Set `pulumi config set modelplane:gpus passthrough` on a host with NVIDIA GPUs and nvidia-container-toolkit'],
    });
  });
  test("no GPU request: nothing, in either mode", () => {
    assert.deepEqual(planGpus(dep({ instance_type: "Standard_DS3_v2" }), "passthrough"), { warnings: [] });
    assert.deepEqual(planGpus(dep({ instance_type: "Standard_DS3_v2" }), "off"), { warnings: [] });
  });
});

describe("gpuStartError", () => {
  test("names the deployment, the request, the engine's message and both fixes", () => {
    assert.equal(
      gpuStartError("c-1", { labels: { "modelplane.deployment": "blue", "modelplane.gpus": "1 (instance_type Standard_NC6s_v3)" }, deviceRequests: [{ Driver: "nvidia", Count: 1, Capabilities: [["gpu"]] }] }, 'could not select device driver "nvidia" with capabilities: [[gpu]]'),
      'deployment "blue" requests GPUs (1 (instance_type Standard_NC6s_v3)) and modelplane:gpus is passthrough, but this Docker engine has no NVIDIA GPU support (engine: could not select device driver "nvidia" with capabilities: [[gpu]]). Fix: install the NVIDIA driver and nvidia-container-toolkit on the engine\'s host (then restart dockerd), or set `pulumi config set modelplane:gpus off` to run it on CPU. Containers already running were left as they are.',
    );
  });
});
