// Pods that really run: scripts/kubernetes/node.sh adds a real node (kubelet 1.37.2, containerd
// 2.4.2, runc 1.5.3, Debian's CNI bridge, kube-proxy) to the loopback control plane, and a stack
// with modelplane:target kubernetes is deployed by `pulumi up` onto it, with no stand-in: the
// modelplane server runs in its pod on its state claim, and this program reaches its management
// API at the management Service's ClusterIP (the default) through kube-proxy. The deployment's pod
// runs the real azureml-inference-server-http with model-1's score.py and model, delivered by the
// target's ConfigMap, Ready by the kubelet's own probes. A scoring request with the endpoint's key
// goes to the gateway Service, the server's pod, blue's Service and blue's pod, and gets the
// model's prediction. No registry: the images the Deployments name are copied from the local Docker
// engine into the node's containerd as they appear (node.sh import).
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { cp, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { randomBytes } from "node:crypto";
import execa from "execa";
import { REPO_ROOT, type TestStack } from "../harness/pulumi";
import { kubernetesStack, startCluster, type Cluster } from "../harness/kubernetes";

const NODE_SCRIPT = path.join(REPO_ROOT, "scripts/kubernetes/node.sh");
const REAL_NODE = "real-node-0";
const STACK = "it-k8s-real";
const NS = "modelplane-it-k8s-real";
const PV = "mp-it-k8s-real-state";
const TOKEN = randomBytes(24).toString("hex");
const EXPECTED = [11055.977245525679, 4503.079536107787];
let cluster: Cluster;
let work: string;
let stack: TestStack | undefined;
let cordoned: string[] = [];
let nodeStarted = false;

interface Pod {
  metadata: { name: string; labels?: Record<string, string> };
  spec: { nodeName?: string; containers: { image: string }[] };
  status: { podIP?: string; phase?: string; conditions?: { type: string; status: string }[]; containerStatuses?: { ready: boolean; restartCount: number; state: Record<string, unknown> }[] };
}

async function node(...args: string[]): Promise<string> {
  const r = await execa("bash", [NODE_SCRIPT, ...args], { reject: false, all: true, timeout: 300_000 });
  if (r.exitCode !== 0) throw new Error(`${NODE_SCRIPT} ${args.join(" ")} failed (exit ${r.exitCode}):\n${r.all}`);
  return r.all ?? "";
}

async function pods(selector: string): Promise<Pod[]> {
  return (await cluster.kubectlJson<{ items: Pod[] }>(["-n", NS, "get", "pods", "-l", selector])).items;
}

/** Copies each image the namespace's pods name into the node, once, while `up` runs. */
function importImagesAsTheyAppear(): { stop: () => Promise<string[]> } {
  const done = new Set<string>();
  let running = true;
  const loop = (async () => {
    while (running) {
      const out = await cluster.kubectl(["-n", NS, "get", "deployments", "-o", "jsonpath={..image}"]).catch(() => "");
      for (const image of out.split(/\s+/).filter(Boolean)) {
        if (done.has(image)) continue;
        done.add(image);
        await node("import", image);
      }
      await new Promise((r) => setTimeout(r, 1000));
    }
  })();
  return { stop: async () => { running = false; await loop; return [...done]; } };
}

before(async () => {
  cluster = await startCluster();
  nodeStarted = true; // even a failed start may leave a process for stop to end
  await node("start");
  // Only the real node takes this test's pods: the kwok nodes are cordoned while it runs.
  const nodes = (await cluster.kubectlJson<{ items: { metadata: { name: string } }[] }>(["get", "nodes"])).items.map((n) => n.metadata.name);
  cordoned = nodes.filter((n) => n !== REAL_NODE);
  for (const n of cordoned) await cluster.kubectl(["cordon", n]);
  work = await mkdtemp(path.join(tmpdir(), "mp-k8s-real-"));
  await cp(path.join(REPO_ROOT, "examples/model-1"), path.join(work, "model-1"), { recursive: true });
  const specs = path.join(work, "specs");
  await execa("mkdir", ["-p", specs, path.join(work, "pv")]);
  // A hostPath volume ignores fsGroup (a provisioner's would not): the server runs as uid 10001.
  await execa("chmod", ["0777", path.join(work, "pv")]);
  await writeFile(path.join(specs, "endpoint.yml"), "$schema: https://azuremlschemas.azureedge.net/latest/kubernetesOnlineEndpoint.schema.json\nname: real-endpoint\nauth_mode: key\ntraffic: { blue: 100 }\n");
  await writeFile(path.join(specs, "blue-deployment.yml"), `$schema: https://azuremlschemas.azureedge.net/latest/kubernetesOnlineDeployment.schema.json\nname: blue\nendpoint_name: real-endpoint\nmodel:\n  path: ${path.join(work, "model-1/model")}\ncode_configuration:\n  code: ${path.join(work, "model-1/onlinescoring")}\n  scoring_script: score.py\nenvironment:\n  conda_file: ${path.join(work, "model-1/environment/conda.yaml")}\n  image: mcr.microsoft.com/azureml/openmpi4.1.0-ubuntu22.04:latest\ninstance_count: 1\nresources:\n  requests: { cpu: "0.2", memory: 256Mi }\nreadiness_probe: { initial_delay: 1, period: 2, failure_threshold: 30 }\n`);
  await cluster.kubectl(["apply", "-f", "-"], {
    input: JSON.stringify({ apiVersion: "v1", kind: "PersistentVolume", metadata: { name: PV }, spec: { storageClassName: "modelplane-real", capacity: { storage: "1Gi" }, accessModes: ["ReadWriteOnce"], hostPath: { path: path.join(work, "pv"), type: "DirectoryOrCreate" }, persistentVolumeReclaimPolicy: "Retain" } }),
  });
  stack = await kubernetesStack(STACK, cluster, undefined, TOKEN, { "modelplane:storageClass": "modelplane-real", "modelplane:specDir": specs });
});

after(async () => {
  await stack?.cleanup();
  await cluster?.kubectl(["delete", "namespace", NS, "--ignore-not-found", "--wait=false"]).catch(() => undefined);
  await cluster?.kubectl(["delete", "pv", PV, "--ignore-not-found"]).catch(() => undefined);
  for (const n of cordoned) await cluster?.kubectl(["uncordon", n]).catch(() => undefined);
  if (nodeStarted) await node("stop").catch((e: Error) => console.error(e.message));
  await cluster?.stop();
  if (work) await rm(work, { recursive: true, force: true });
});

test("pulumi up runs the deployment's inference server in a real pod, Ready by the kubelet's probes; it answers the model's prediction at its pod IP and through the in-cluster gateway and Services", async (t) => {
  const images = importImagesAsTheyAppear();
  let imported: string[];
  try {
    await stack!.pulumi(["up", "--yes", "--skip-preview"], { timeoutMs: 1_200_000 });
  } finally {
    imported = await images.stop();
  }
  t.diagnostic(`images copied into the node: ${imported.join(", ")}`);
  const [pod] = await pods("modelplane.io/deployment=blue");
  assert.ok(pod, "blue has a pod");
  assert.equal(pod.spec.nodeName, REAL_NODE, "scheduled onto the real node");
  assert.equal(pod.status.phase, "Running");
  assert.ok(pod.status.conditions?.some((c) => c.type === "Ready" && c.status === "True"), JSON.stringify(pod.status.conditions));
  assert.match(pod.status.podIP ?? "", /^10\.88\./, "a pod IP from the node's CNI bridge");
  const body = await readFile(path.join(REPO_ROOT, "examples/model-1/sample-request.json"), "utf8");
  const res = await fetch(`http://${pod.status.podIP}:5001/score`, { method: "POST", headers: { "content-type": "application/json" }, body });
  const text = await res.text();
  assert.equal(res.status, 200, text);
  assert.deepEqual(JSON.parse(text), EXPECTED);
  // The in-cluster server: this program registered with it at its Service's ClusterIP.
  const clusterIp = async (svc: string) => (await cluster.kubectlJson<{ spec: { clusterIP: string } }>(["-n", NS, "get", "service", svc])).spec.clusterIP;
  const managementUrl = `http://${await clusterIp("modelplane-management")}:8081`;
  assert.equal((await stack!.outputs()).managementUrl, managementUrl);
  const auth = { authorization: `Bearer ${TOKEN}` };
  const dep = (await (await fetch(`${managementUrl}/endpoints/real-endpoint/deployments/blue`, { headers: auth })).json()) as { provisioningState: string; instances: { url: string }[] };
  assert.equal(dep.provisioningState, "Succeeded");
  assert.deepEqual(dep.instances.map((i) => i.url), [`http://${await clusterIp("real-endpoint-blue")}:5001`], "the registration names blue's Service ClusterIP");
  // Through the gateway Service: the server's pod checks the key, picks blue by traffic and
  // reaches it through blue's Service (kube-proxy both ways).
  const keys = (await (await fetch(`${managementUrl}/endpoints/real-endpoint/keys`, { method: "POST", headers: auth })).json()) as { primaryKey: string };
  const scoringUrl = `http://${await clusterIp("modelplane-gateway")}/endpoints/real-endpoint/score`;
  const scored = await fetch(scoringUrl, { method: "POST", headers: { "content-type": "application/json", authorization: `Bearer ${keys.primaryKey}` }, body });
  const answer = await scored.text();
  assert.equal(scored.status, 200, answer);
  assert.equal(scored.headers.get("azureml-model-deployment"), "blue");
  assert.deepEqual(JSON.parse(answer), EXPECTED);
  const unauthorized = await fetch(scoringUrl, { method: "POST", headers: { "content-type": "application/json" }, body });
  assert.equal(unauthorized.status, 401, "no key, no score");
  // The server's pod runs too (its own image, its state claim bound to the hostPath volume).
  const [serverPod] = await pods("app.kubernetes.io/name=modelplane-server");
  assert.equal(serverPod?.spec.nodeName, REAL_NODE);
  assert.equal(serverPod?.status.phase, "Running", JSON.stringify(serverPod?.status));
});

test("destroy removes the pods from the node", async () => {
  await stack!.pulumi(["destroy", "--yes", "--skip-preview"]);
  for (let i = 0; i < 90; i++) {
    const r = await cluster.kubectl(["get", "namespace", NS, "--ignore-not-found", "-o", "name"]);
    if (r.trim() === "") break;
    await new Promise((res) => setTimeout(res, 1000));
  }
  assert.equal((await cluster.kubectl(["get", "pods", "-A", "--field-selector", `spec.nodeName=${REAL_NODE}`, "-o", "name"])).trim(), "");
});

test("node.sh stop removes the node, its bridge and every KUBE-* iptables chain its kubelet and kube-proxy made", async () => {
  await node("stop");
  for (const save of ["iptables-save", "ip6tables-save"]) {
    const rules = (await execa(save, [], { reject: false })).stdout;
    assert.deepEqual(rules.split("\n").filter((l) => l.includes("KUBE-")), [], `${save} after stop`);
  }
  assert.notEqual((await execa("ip", ["link", "show", "mp-cni0"], { reject: false })).exitCode, 0, "the bridge is gone");
  assert.equal((await cluster.kubectl(["get", "node", REAL_NODE, "--ignore-not-found", "-o", "name"])).trim(), "");
});
