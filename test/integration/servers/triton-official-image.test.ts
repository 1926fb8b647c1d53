/**
 * Issue 6: the official-Triton-image path and GPU passthrough, for real, without nvcr.io or a GPU.
 *
 * A real registry (Debian's docker-registry, distribution 2.8.2) on 127.0.0.1:<free port> holds a
 * stand-in with the official image's layout and entry contract (test/integration/fixtures/
 * triton-official-standin, FROM the local CPU Triton build); the local copy is removed, and a stack
 * with `modelplane:tritonImage` = that registry reference is brought up through the real Pulumi
 * engine. The image must be pulled from the registry and the deployment must answer Open Inference
 * Protocol calls through the gateway. Then, with `modelplane:gpus` = passthrough, the deployment is
 * changed to a GPU size: on this engine (no NVIDIA runtime) the up must fail with the clear error,
 * and the running deployment must keep serving.
 *
 * Everything it creates (registry process and storage, images, containers, stack) is removed in
 * `after`, also on failure. A missing docker-registry binary is a failure, never a skip.
 */
import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { existsSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { after, before, test } from "node:test";
import execa, { type ExecaChildProcess } from "execa";
import { REPO_ROOT, TestStack } from "../harness/pulumi";
import { containersByLabel, freePort, removeByLabel } from "../harness/docker";
import { assertClose, BASE_IMAGE, docker, imageSizeMb } from "./harness";
import { ensureTritonServerImage } from "../../../src/images/triton-server";
import { OFFICIAL_TRITON_RELEASE, OFFICIAL_TRITONSERVER } from "../../../src/servers/triton-image";

const STACK = `ittritonoff${process.pid}`;
const REGISTRY_BIN = "/usr/bin/docker-registry";
const STANDIN = path.join(REPO_ROOT, "test/integration/fixtures/triton-official-standin");
const MODELS = path.join(REPO_ROOT, "examples/triton/models");
const INFER = { inputs: [{ name: "INPUT0", shape: [4], datatype: "FP32", data: [1, 2, 3, 4] }, { name: "INPUT1", shape: [4], datatype: "FP32", data: [10, 20, 30, 40] }] };

let registry: ExecaChildProcess | undefined;
const registryLog: string[] = [];
let workDir = "";
let specDir = "";
let ref = "";
let pushedDigest = "";
/** Registry log lines before the up (the push's own requests are not evidence of a pull). */
let logLinesBeforeUp = 0;
let stack: TestStack | undefined;

function deploymentYaml(instanceType: string): string {
  return [
    "$schema: https://azuremlschemas.azureedge.net/latest/managedOnlineDeployment.schema.json",
    "name: triton",
    "endpoint_name: tri-endpoint",
    "model:",
    "  name: add-sub",
    "  version: 1",
    `  path: ${MODELS}`,
    "  type: triton_model",
    `instance_type: ${instanceType}`,
    "instance_count: 1",
    "",
  ].join("\n");
}

before(async () => {
  assert.ok(existsSync(REGISTRY_BIN), `${REGISTRY_BIN} is missing: run \`MODELPLANE_TEST_TOOLS=1 bash scripts/setup.sh\` (the test line, scripts/test.sh, does) to install Debian's docker-registry for this test`);
  workDir = await mkdtemp(path.join(tmpdir(), "mp-triton-official-"));
  const port = await freePort();
  const config = path.join(workDir, "registry.yml");
  await writeFile(config, ["version: 0.1", "log:", "  level: info", "storage:", "  filesystem:", `    rootdirectory: ${path.join(workDir, "storage")}`, "http:", `  addr: 127.0.0.1:${port}`, ""].join("\n"));
  registry = execa(REGISTRY_BIN, ["serve", config], { all: true, reject: false });
  registry.all?.on("data", (c: Buffer) => registryLog.push(...c.toString().split("\n").filter(Boolean)));
  const deadline = Date.now() + 20_000;
  for (;;) {
    const ok = await fetch(`http://127.0.0.1:${port}/v2/`).then((r) => r.status === 200).catch(() => false);
    if (ok) break;
    assert.ok(Date.now() < deadline && registry.exitCode === null, `the registry did not start on 127.0.0.1:${port}:\n${registryLog.slice(-20).join("\n")}`);
    await new Promise((r) => setTimeout(r, 200));
  }
  ref = `127.0.0.1:${port}/nvidia/tritonserver:${OFFICIAL_TRITON_RELEASE}-py3`;

  // The stand-in: official layout FROM the local CPU build (cached on this machine).
  const cpu = await ensureTritonServerImage({ baseImage: BASE_IMAGE, log: (l) => console.error(l) });
  const built = await execa("docker", ["build", "-q", "--force-rm", "--build-arg", `TRITON_CPU_IMAGE=${cpu.tag}`, "-t", ref, STANDIN], { reject: false, all: true, env: { DOCKER_BUILDKIT: "0" } });
  assert.equal(built.exitCode, 0, `stand-in build failed:\n${built.all}`);
  const pushed = await docker(["push", ref]);
  assert.equal(pushed.exitCode, 0, `docker push ${ref} failed:\n${pushed.all}`);
  pushedDigest = /digest: (sha256:[0-9a-f]{64})/.exec(pushed.all)?.[1] ?? "";
  assert.ok(pushedDigest, `no digest in the push output:\n${pushed.all}`);
  const rmi = await docker(["image", "rm", ref]);
  assert.equal(rmi.exitCode, 0, rmi.all);
  assert.notEqual((await docker(["image", "inspect", ref])).exitCode, 0, "the local copy must be gone before the up");
  logLinesBeforeUp = registryLog.length;

  specDir = path.join(workDir, "specs");
  await execa("mkdir", ["-p", specDir]);
  await writeFile(path.join(specDir, "endpoint.yml"), ["$schema: https://azuremlschemas.azureedge.net/latest/managedOnlineEndpoint.schema.json", "name: tri-endpoint", "auth_mode: key", "traffic:", "  triton: 100", ""].join("\n"));
  await writeFile(path.join(specDir, "triton-deployment.yml"), deploymentYaml("Standard_DS3_v2"));
  const [g, m] = [await freePort(), await freePort()];
  stack = await TestStack.create(REPO_ROOT, STACK, {
    "modelplane:gatewayPort": String(g),
    "modelplane:managementPort": String(m),
    "modelplane:baseImage": BASE_IMAGE,
    "modelplane:specDir": specDir,
    "modelplane:tritonImage": ref,
    "modelplane:gpus": "passthrough",
  });
});

after(async () => {
  await stack?.cleanup();
  await removeByLabel("modelplane.stack", STACK);
  if (ref) await docker(["image", "rm", "-f", ref]);
  if (registry) {
    registry.kill("SIGTERM");
    await registry;
  }
  if (workDir) await rm(workDir, { recursive: true, force: true });
});

async function endpoint(): Promise<{ scoringUri: string; key: string }> {
  const outs = await stack!.outputs();
  return {
    scoringUri: (outs.endpoints as Record<string, { scoringUri: string }>)["tri-endpoint"]!.scoringUri,
    key: (outs.keys as Record<string, { primaryKey: string }>)["tri-endpoint"]!.primaryKey,
  };
}

async function inferThroughGateway(): Promise<void> {
  const { scoringUri, key } = await endpoint();
  const headers = { authorization: `Bearer ${key}`, "content-type": "application/json" };
  const score = await fetch(scoringUri, { method: "POST", headers, body: JSON.stringify(INFER) });
  const text = await score.text();
  assert.equal(score.status, 200, text);
  const out = JSON.parse(text) as { outputs: { name: string; data: number[] }[] };
  assertClose(out.outputs.find((o) => o.name === "OUTPUT0")?.data, [11, 22, 33, 44]);
  assertClose(out.outputs.find((o) => o.name === "OUTPUT1")?.data, [-9, -18, -27, -36]);
  const oip = await fetch(scoringUri.replace(/\/score$/, "/v2/models/add_sub/infer"), { method: "POST", headers, body: JSON.stringify({ inputs: [INFER.inputs[0], { ...INFER.inputs[1], data: [3, 4, 5, 6] }] }) });
  assert.equal(oip.status, 200);
  assertClose(((await oip.json()) as { outputs: { name: string; data: number[] }[] }).outputs.find((o) => o.name === "OUTPUT0")?.data, [4, 6, 8, 10]);
}

test("modelplane:tritonImage = a registry reference: the image is pulled from the registry and the deployment answers OIP infer through the gateway", { timeout: 1_200_000 }, async (t) => {
  assert.ok(stack);
  const started = Date.now();
  const up = await stack.pulumi(["up", "--yes", "--skip-preview"], { timeoutMs: 1_100_000 });
  t.diagnostic(`pulumi up: ${((Date.now() - started) / 1000).toFixed(1)} s`);
  assert.match(String(up.all), new RegExp(`official-layout image ${ref.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")} .*pulled it`), "the up logs which image it chose and why");

  // Really pulled: the engine has it again, under the digest the registry served, and the registry served the manifest.
  const digests = await docker(["image", "inspect", "-f", "{{json .RepoDigests}}", ref]);
  assert.equal(digests.exitCode, 0, `the engine has no ${ref} after the up`);
  assert.ok((JSON.parse(digests.stdout) as string[]).includes(`${ref.replace(/:[^:/]+$/, "")}@${pushedDigest}`), digests.stdout);
  const duringUp = registryLog.slice(logLinesBeforeUp);
  // The engine resolves the tag (HEAD), then fetches the manifest by digest and the blobs it lacks.
  assert.ok(duringUp.some((l) => l.includes(`"HEAD /v2/nvidia/tritonserver/manifests/${OFFICIAL_TRITON_RELEASE}-py3 `)), `the registry was not asked for the tag during the up:\n${duringUp.slice(-10).join("\n")}`);
  assert.ok(duringUp.some((l) => l.includes(`"GET /v2/nvidia/tritonserver/manifests/${pushedDigest} `)), `the registry served no manifest GET during the up:\n${duringUp.slice(-10).join("\n")}`);
  assert.ok(duringUp.some((l) => /"GET \/v2\/nvidia\/tritonserver\/blobs\/sha256:/.test(l)), "the engine fetched blobs (layers/config) from the registry");
  t.diagnostic(`stand-in image ${await imageSizeMb(ref)} MB`);

  // The container runs that image with the official contract.
  const names = await containersByLabel({ "modelplane.stack": STACK, "modelplane.deployment": "triton" });
  assert.equal(names.length, 1, names.join(", "));
  const info = JSON.parse((await docker(["inspect", names[0]!])).stdout)[0] as { Image: string; Config: { Cmd: string[]; User: string; Image: string }; HostConfig: { Init: boolean; DeviceRequests: unknown } };
  const pulledId = (await docker(["image", "inspect", "-f", "{{.Id}}", ref])).stdout.trim();
  assert.equal(info.Image, pulledId, "the container runs the pulled image (tagged into the stack's repository)");
  assert.match(info.Config.Image, new RegExp(`^modelplane-${STACK}-[0-9a-f]{8}/triton-server-`));
  assert.equal(info.Config.Cmd[0], OFFICIAL_TRITONSERVER);
  assert.ok(info.Config.Cmd.includes("--model-repository=/var/azureml-app/azureml-models/add-sub/1/models"), info.Config.Cmd.join(" "));
  assert.equal(info.Config.User, "1000:1000");
  assert.equal(info.HostConfig.Init, true);
  assert.equal(info.HostConfig.DeviceRequests, null, "no GPUs for a CPU size, even with passthrough");

  await inferThroughGateway();
  // Liveness: the probe (mounted read-only) runs as uid 1000 under the engine's init and reaches /v2/health/live.
  for (const deadline = Date.now() + 60_000; ; ) {
    const h = JSON.parse((await docker(["inspect", "-f", "{{json .State.Health}}", names[0]!])).stdout) as { Status: string; Log: { Output: string }[] };
    if (h.Status === "healthy") {
      assert.match(h.Log.at(-1)!.Output, /^liveness GET http:\/\/127\.0\.0\.1:8000\/v2\/health\/live: 200 OK/);
      break;
    }
    assert.ok(Date.now() < deadline && h.Status === "starting", JSON.stringify(h));
    await new Promise((r) => setTimeout(r, 1000));
  }
});

test("modelplane:gpus = passthrough on an engine without NVIDIA support: the GPU deployment's up fails clearly and the running deployment keeps serving", { timeout: 900_000 }, async (t) => {
  assert.ok(stack);
  const before = await containersByLabel({ "modelplane.stack": STACK, "modelplane.deployment": "triton" });
  assert.equal(before.length, 1);
  await writeFile(path.join(specDir, "triton-deployment.yml"), deploymentYaml("Standard_NC6s_v3"));
  const started = Date.now();
  const up = await stack.pulumi(["up", "--yes", "--skip-preview"], { reject: false, timeoutMs: 800_000 });
  t.diagnostic(`failed pulumi up: ${((Date.now() - started) / 1000).toFixed(1)} s`);
  const out = String(up.all);
  assert.notEqual(up.exitCode, 0, `the up must fail:\n${out}`);
  t.diagnostic(out.split("\n").find((l) => l.includes("requests GPUs"))?.trim() ?? "(no error line)");
  for (const part of [
    'deployment "triton" requests GPUs (1 (instance_type Standard_NC6s_v3))',
    "this Docker engine has no NVIDIA GPU support",
    "nvidia-container-toolkit",
    "pulumi config set modelplane:gpus off",
    // The engine's own refusal of the DeviceRequest: proof that the request reached Docker.
    'could not select device driver "nvidia"',
  ]) {
    assert.ok(out.includes(part), `the error names "${part}":\n${out.slice(-3000)}`);
  }
  // Nothing running was lost: the same container, still serving; the failed one was removed.
  const afterNames = await containersByLabel({ "modelplane.stack": STACK, "modelplane.deployment": "triton" });
  assert.deepEqual(afterNames, before);
  assert.equal((await docker(["inspect", "-f", "{{.State.Running}}", before[0]!])).stdout.trim(), "true");
  await inferThroughGateway();
});
