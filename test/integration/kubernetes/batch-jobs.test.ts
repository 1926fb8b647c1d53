// Batch on the kubernetes target, on the real API server (scripts/kubernetes/cluster.sh): the dev
// stack's batch specs (unchanged: cpu-cluster, the heart-classifier batch endpoint and deployment,
// the data asset) deploy with modelplane:target kubernetes; the control plane gets driver.py as a
// ConfigMap and the batch settings in the server's env; the deployment's model travels in an
// immutable ConfigMap. A job invoked through the gateway starts an Indexed Job (completions =
// parallelism = the job's instances, capped by the cluster's max_instances) whose pods mount the
// driver, the model and the datastore read-only, and run no service-account token. kwok's pods run
// no process: they complete at once without scoring, so the scheduler sees each instance end with
// its mini-batches unscored, relaunches it (a Job of its own) up to the job's budget and fails the
// job saying so. Proven: the Jobs' specs as read back, that they complete on kwok, the failure
// reason, and that no pod and no Job of the stack remain. The management API is a real modelplane
// server on loopback running its workers on the cluster (KUBECONFIG), as in target-stack.test.ts.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { copyFile, mkdir, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { randomBytes } from "node:crypto";
import { REPO_ROOT, type TestStack } from "../harness/pulumi";
import { capture } from "../harness/batch-stack";
import { kubernetesStack, startCluster, startStandInServer, type Cluster, type StandInServer } from "../harness/kubernetes";
import { runBatchInvoke } from "../../../src/cli/commands/batch";

const STACK = "it-k8s-batch";
const NS = `modelplane-${STACK}`;
const PV = "mp-it-k8s-batch-state";
const SPEC_DIR_REL = `stacks/.it-${STACK}`;
const SPEC_DIR = path.join(REPO_ROOT, SPEC_DIR_REL);
const ENDPOINT = "heart-classifier-batch";
const TOKEN = randomBytes(24).toString("hex");
let cluster: Cluster;
let work: string;
let stack: TestStack | undefined;
let server: StandInServer | undefined;
let managementUrl: string;
let gatewayUrl: string;
let serverLog = "";

interface K8sObject {
  metadata: { name: string; labels?: Record<string, string>; annotations?: Record<string, string>; creationTimestamp?: string };
  spec: Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
  status?: Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
  data?: Record<string, string>;
  binaryData?: Record<string, string>;
}
const list = async (kind: string, selector?: string): Promise<K8sObject[]> => (await cluster.kubectlJson<{ items: K8sObject[] }>(["-n", NS, "get", kind, ...(selector ? ["-l", selector] : [])])).items;

/** Every batch worker Job and pod the cluster has seen, recorded while the job runs. */
const seenJobs = new Map<string, K8sObject>();
const seenPods = new Map<string, K8sObject>();
let watching = true;
async function watchJobs(): Promise<void> {
  while (watching) {
    for (const j of await list("jobs", "app.kubernetes.io/component=batch-worker").catch(() => [])) {
      const before = seenJobs.get(j.metadata.name);
      // Keep the last state read: a completed one is what the test asserts on.
      if (!before || j.status?.succeeded !== undefined) seenJobs.set(j.metadata.name, j);
    }
    for (const p of await list("pods", "app.kubernetes.io/component=batch-worker").catch(() => [])) if (seenPods.get(p.metadata.name)?.status?.phase !== "Succeeded") seenPods.set(p.metadata.name, p);
    await new Promise((r) => setTimeout(r, 150));
  }
}

before(async () => {
  cluster = await startCluster();
  work = await mkdtemp(path.join(tmpdir(), "mp-k8s-batch-"));
  // The dev stack's batch files as they are (their relative paths hold at this depth too).
  await rm(SPEC_DIR, { recursive: true, force: true });
  await mkdir(SPEC_DIR, { recursive: true });
  for (const f of ["batch-deployment.yml", "batch-endpoint.yml", "cpu-cluster.yml", "heart-dataset-unlabeled.yml", "registry.yml"]) await copyFile(path.join(REPO_ROOT, "stacks/dev", f), path.join(SPEC_DIR, f));
  await cluster.kubectl(["apply", "-f", "-"], {
    input: JSON.stringify({ apiVersion: "v1", kind: "PersistentVolume", metadata: { name: PV }, spec: { storageClassName: "modelplane-kwok-batch", capacity: { storage: "1Gi" }, accessModes: ["ReadWriteOnce"], hostPath: { path: path.join(work, "pv") }, persistentVolumeReclaimPolicy: "Delete" } }),
  });
  server = await startStandInServer(path.join(work, "server"), TOKEN, {
    MODELPLANE_STACK: STACK,
    // What the in-cluster server gets from its Deployment (read back and compared below), but the
    // stack's identity, unknown before the first up: the prefix without it still admits only this stack's images.
    MODELPLANE_TARGET: "kubernetes",
    MODELPLANE_NAMESPACE: NS,
    MODELPLANE_IMAGE_PREFIX: `modelplane-${STACK}-`,
    MODELPLANE_WORKER_SERVER_URL: `http://modelplane-management.${NS}.svc.cluster.local:8081`,
    MODELPLANE_BATCH_DRIVER_CONFIGMAP: "modelplane-batch-driver",
    MODELPLANE_STATE_CLAIM: "modelplane-state",
    KUBECONFIG: cluster.kubeconfig,
  });
  managementUrl = server.managementUrl;
  gatewayUrl = server.gatewayUrl;
  server.process.all?.on("data", (d: Buffer) => (serverLog += d.toString()));
  stack = await kubernetesStack(STACK, cluster, server, TOKEN, {
    "modelplane:storageClass": "modelplane-kwok-batch",
    "modelplane:gatewayUrl": gatewayUrl,
    "modelplane:specDir": SPEC_DIR_REL,
  });
});

after(async () => {
  watching = false;
  await stack?.cleanup();
  server?.process.kill("SIGTERM");
  await cluster?.kubectl(["delete", "namespace", NS, "--ignore-not-found", "--wait=false"]).catch(() => undefined);
  await cluster?.kubectl(["delete", "pv", PV, "--ignore-not-found"]).catch(() => undefined);
  await cluster?.stop();
  await rm(SPEC_DIR, { recursive: true, force: true });
  await rm(work, { recursive: true, force: true });
});

test("up: the driver ConfigMap, the server's batch env and the deployment's model as an immutable ConfigMap", async (t) => {
  const up = await stack!.pulumi(["up", "--yes", "--skip-preview"], { timeoutMs: 1_200_000 });
  t.diagnostic(String(up.stdout).split("\n").filter((l) => /Resources|created/.test(l)).slice(-3).join(" | "));
  const driver = (await list("configmap")).find((c) => c.metadata.name === "modelplane-batch-driver");
  assert.ok(driver?.data?.["driver.py"]?.includes("MODELPLANE_INSTANCE_MAP"), "driver.py in its ConfigMap");
  const server = (await list("deployment")).find((d) => d.metadata.name === "modelplane-server")!;
  const env = Object.fromEntries((server.spec.template.spec.containers[0].env as { name: string; value?: string }[]).map((e) => [e.name, e.value]));
  const id = env.MODELPLANE_STACK_ID;
  assert.match(id ?? "", /^[0-9a-f]{8}$/);
  assert.equal(env.MODELPLANE_IMAGE_PREFIX, `modelplane-${STACK}-${id}/`);
  assert.equal(env.MODELPLANE_WORKER_SERVER_URL, `http://modelplane-management.${NS}.svc.cluster.local:8081`);
  assert.equal(env.MODELPLANE_BATCH_DRIVER_CONFIGMAP, "modelplane-batch-driver");
  assert.equal(env.MODELPLANE_STATE_CLAIM, "modelplane-state");
  const role = (await list("role")).find((r) => r.metadata.name === "modelplane-server") as unknown as { rules: { resources: string[]; verbs: string[] }[] };
  assert.ok(role.rules.some((r) => r.resources.includes("jobs") && ["create", "patch", "delete"].every((v) => r.verbs.includes(v))), JSON.stringify(role.rules));
  const content = (await list("configmap", "app.kubernetes.io/component=batch-deployment")).filter((c) => c.metadata.labels?.["modelplane.io/deployment"] === "classifier-xgboost-mlflow");
  assert.equal(content.length, 1);
  assert.equal((content[0] as unknown as { immutable: boolean }).immutable, true);
  // The registration names that ConfigMap and binds nothing from the host.
  const res = await fetch(`${managementUrl}/endpoints/${ENDPOINT}/deployments/classifier-xgboost-mlflow`, { headers: { authorization: `Bearer ${TOKEN}` } });
  const reg = (await res.json()) as { config?: Record<string, unknown> } & Record<string, unknown>;
  const cfg = (reg.config ?? reg) as { image: string; binds: unknown[]; pod_volumes: { config_map: string; mount_path: string; items: unknown[] }[] };
  assert.deepEqual(cfg.binds, []);
  assert.equal(cfg.pod_volumes.length, 1);
  assert.equal(cfg.pod_volumes[0]!.config_map, content[0]!.metadata.name);
  assert.equal(cfg.pod_volumes[0]!.items.length, Object.keys(content[0]!.binaryData ?? {}).length);
  assert.ok(cfg.image.startsWith(env.MODELPLANE_IMAGE_PREFIX!), cfg.image);
});

test("a job starts an Indexed Job of its instances; kwok completes its pods unscored, they are relaunched up to the budget, the job fails saying so, and no pod or Job remains", async (t) => {
  const watcher = watchJobs();
  const io = capture();
  const started = Date.now();
  const code = await runBatchInvoke(ENDPOINT, { managementUrl, token: TOKEN, gatewayUrl, wait: true, input: "azureml:heart-dataset-unlabeled@latest" }, io, { pollMs: 500, tty: false });
  watching = false;
  await watcher;
  t.diagnostic(`job ended in ${((Date.now() - started) / 1000).toFixed(1)} s; ${seenJobs.size} Indexed Job(s) seen`);
  const printed = [...io.lines, ...io.errors, ...io.written].join("\n");
  t.diagnostic(`the server's batch log:\n${serverLog.split("\n").filter((l) => l.includes("batch:")).slice(0, 30).join("\n")}`);
  assert.notEqual(code, 0, printed);
  assert.match(printed, /Failed/);
  assert.match(printed, /worker containers stopped \d+ times \(more than \d+\)/);

  const jobs = [...seenJobs.values()].sort((a, b) => String(a.metadata.creationTimestamp).localeCompare(String(b.metadata.creationTimestamp)) || a.metadata.name.localeCompare(b.metadata.name));
  assert.ok(jobs.length >= 2, `the first start and at least one relaunch: ${jobs.map((j) => j.metadata.name).join(", ")}`);
  const first = jobs.find((j) => j.spec.completions === 2);
  assert.ok(first, `a Job of both instances (instance_count 2, cpu-cluster max_instances 2): ${jobs.map((j) => `${j.metadata.name}:${j.spec.completions}`).join(", ")}`);
  assert.equal(first.spec.completionMode, "Indexed");
  assert.equal(first.spec.parallelism, 2);
  assert.equal(first.spec.backoffLimitPerIndex, 0);
  assert.equal(first.metadata.annotations?.["modelplane.io/instances"], "0,1");
  const pod = first.spec.template.spec;
  assert.equal(pod.restartPolicy, "Never");
  assert.equal(pod.automountServiceAccountToken, false);
  const c = pod.containers[0];
  assert.deepEqual(c.command, ["/opt/venv/bin/python", "/opt/modelplane/batch/driver.py"]);
  assert.equal(c.securityContext.allowPrivilegeEscalation, false);
  const env = Object.fromEntries((c.env as { name: string; value: string }[]).map((e) => [e.name, e.value]));
  assert.equal(env.MODELPLANE_SERVER_URL, `http://modelplane-management.${NS}.svc.cluster.local:8081`);
  assert.match(env.MODELPLANE_JOB_ID ?? "", /^batchjob-/);
  assert.equal(env.MODELPLANE_INSTANCE_MAP, "0,1");
  assert.equal(env.MODELPLANE_INSTANCE, undefined, "one template for all instances: the index picks the instance");
  assert.equal(env.MODELPLANE_MODEL_SERVER, "mlflow");
  const mounts = Object.fromEntries((c.volumeMounts as { name: string; mountPath: string; readOnly: boolean; subPath?: string }[]).map((m) => [m.name, m]));
  assert.deepEqual(Object.values(mounts).map((m) => m.readOnly), Object.values(mounts).map(() => true));
  assert.equal(mounts.driver?.mountPath, "/opt/modelplane/batch");
  assert.equal(mounts.datastore?.subPath, "datastore");
  const volumes = Object.fromEntries((pod.volumes as { name: string; configMap?: { name: string }; persistentVolumeClaim?: { claimName: string; readOnly: boolean } }[]).map((v) => [v.name, v]));
  assert.equal(volumes.driver?.configMap?.name, "modelplane-batch-driver");
  assert.deepEqual(volumes.datastore?.persistentVolumeClaim, { claimName: "modelplane-state", readOnly: true });
  assert.ok(volumes["content-0"]?.configMap?.name, "the model's ConfigMap");
  // Relaunches are Jobs of the instances that ended together, each index mapped to its instance.
  for (const j of jobs) {
    const instances = j.metadata.annotations?.["modelplane.io/instances"]?.split(",") ?? [];
    assert.equal(j.spec.completions, instances.length, j.metadata.name);
    assert.ok(instances.every((i) => i === "0" || i === "1"), `${j.metadata.name}: ${instances.join(",")}`);
  }
  // kwok ran the pods to completion: each of the first Job's indexes had a pod that Succeeded.
  const firstPods = [...seenPods.values()].filter((p) => p.metadata.labels?.["batch.kubernetes.io/job-name"] === first.metadata.name && p.status?.phase === "Succeeded");
  assert.deepEqual([...new Set(firstPods.map((p) => p.metadata.annotations?.["batch.kubernetes.io/job-completion-index"]))].sort(), ["0", "1"], `pods seen: ${[...seenPods.values()].map((p) => `${p.metadata.name}:${p.status?.phase}`).join(", ")}`);
  assert.match(serverLog, new RegExp(`worker container ${first.metadata.name}-0-\\w+ stopped \\(succeeded\\)`));

  // No pod when no job runs, and the Jobs go with their last pod (or their 30 s TTL).
  const deadline = Date.now() + 60_000;
  let left: string[];
  for (;;) {
    left = [...(await list("pods", "app.kubernetes.io/component=batch-worker")), ...(await list("jobs", "app.kubernetes.io/component=batch-worker"))].map((o) => o.metadata.name);
    if (left.length === 0 || Date.now() > deadline) break;
    await new Promise((r) => setTimeout(r, 1000));
  }
  assert.deepEqual(left, [], "batch worker pods or Jobs left");
});

test("destroy leaves no object in the namespace", async () => {
  await stack!.pulumi(["destroy", "--yes", "--skip-preview"], { timeoutMs: 600_000 });
  const ns = await cluster.kubectl(["get", "namespace", NS, "--ignore-not-found", "-o", "jsonpath={.status.phase}"]);
  assert.ok(ns === "" || ns === "Terminating", `namespace ${NS}: ${ns}`);
});
