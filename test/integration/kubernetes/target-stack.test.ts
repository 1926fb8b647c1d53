// The kubernetes target end to end on a real API server (scripts/kubernetes/cluster.sh: etcd,
// kube-apiserver, controller manager, scheduler, kwok nodes): `pulumi up` of a stack with
// modelplane:target kubernetes creates exactly the objects docs/kubernetes.md lists (read back
// through the API), a traffic-only change touches no Kubernetes object, a code change rolls the
// Deployment, instance_count 1 -> 3 -> 1 changes replicas in place, refresh sees a Deployment
// deleted behind Pulumi's back and up restores it, destroy leaves nothing.
// kwok's pods run no process, so the stack's management API is a real modelplane server started
// by this test on loopback (modelplane:managementUrl and modelplane:managementToken, as a team
// reaching its server through a port-forward would set them); registrations, keys and traffic go
// to it for real.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { cp, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { randomBytes } from "node:crypto";
import execa from "execa";
import { REPO_ROOT, type TestStack } from "../harness/pulumi";
import { kubernetesStack, startCluster, startStandInServer, type Cluster, type StandInServer } from "../harness/kubernetes";

const STACK = "it-k8s";
const NS = "modelplane-it-k8s";
const PV = "mp-it-k8s-state";
const NODE = "mp-it-k8s-big";
const TOKEN = randomBytes(24).toString("hex");
let cluster: Cluster;
let work: string;
let specs: string;
let stack: TestStack | undefined;
let server: StandInServer | undefined;
let managementUrl: string;

interface K8sObject {
  metadata: { name: string; labels?: Record<string, string>; generation?: number; uid?: string };
  spec: Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
  status?: Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
}

async function get(kind: string, name?: string): Promise<K8sObject & { items?: K8sObject[] }> {
  return cluster.kubectlJson(["-n", NS, "get", kind, ...(name ? [name] : [])]);
}

async function uids(): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const kind of ["deployment", "service", "configmap", "secret", "serviceaccount", "role", "rolebinding", "pvc", "hpa"]) {
    for (const o of (await get(kind)).items ?? []) if (!o.metadata.name.startsWith("kube-root-ca")) out[`${kind}/${o.metadata.name}`] = `${o.metadata.uid}@${o.metadata.generation ?? 0}`;
  }
  return out;
}

function changed(out: string): string[] {
  return out.split("\n").filter((l) => /^\s+[~+-]+\s|^\s+\+-\s/.test(l) && /kubernetes:|modelplane:/.test(l)).map((l) => l.trim());
}

async function writeSpecs(o: { traffic: string; instances: number; greeting: string }): Promise<void> {
  await writeFile(path.join(specs, "endpoint.yml"), `$schema: https://azuremlschemas.azureedge.net/latest/kubernetesOnlineEndpoint.schema.json\nname: k8s-endpoint\nauth_mode: key\ntraffic: ${o.traffic}\n`);
  const deployment = (name: string, extra: string) =>
    `$schema: https://azuremlschemas.azureedge.net/latest/kubernetesOnlineDeployment.schema.json\nname: ${name}\nendpoint_name: k8s-endpoint\nmodel:\n  path: ${path.join(work, "model-1/model")}\ncode_configuration:\n  code: ${path.join(work, "model-1/onlinescoring")}\n  scoring_script: score.py\nenvironment:\n  conda_file: ${path.join(work, "model-1/environment/conda.yaml")}\n  image: mcr.microsoft.com/azureml/openmpi4.1.0-ubuntu22.04:latest\n${extra}`;
  await writeFile(path.join(specs, "blue-deployment.yml"), deployment("blue", `instance_count: ${o.instances}\nresources:\n  requests: { cpu: "0.5", memory: 1Gi }\n  limits: { memory: 2Gi }\nreadiness_probe: { initial_delay: 1, period: 2, failure_threshold: 5 }\nenvironment_variables: { GREETING: "${o.greeting}" }\n`));
  await writeFile(path.join(specs, "green-deployment.yml"), deployment("green", `instance_type: Standard_DS2_v2\nscale_settings: { type: target_utilization, min_instances: 1, max_instances: 3, target_utilization_percentage: 65 }\n`));
}

before(async () => {
  cluster = await startCluster();
  work = await mkdtemp(path.join(tmpdir(), "mp-k8s-"));
  specs = path.join(work, "specs");
  await cp(path.join(REPO_ROOT, "examples/model-1"), path.join(work, "model-1"), { recursive: true });
  await execa("mkdir", ["-p", specs]);
  await writeSpecs({ traffic: "{ blue: 100, green: 0 }", instances: 1, greeting: "a" });
  // Room for the deployments' requests, and a volume for the server's claim (no provisioner here).
  await cluster.kubectl(["apply", "-f", "-"], {
    input: JSON.stringify({
      apiVersion: "v1",
      kind: "List",
      items: [
        { apiVersion: "v1", kind: "Node", metadata: { name: NODE, annotations: { "kwok.x-k8s.io/node": "fake" }, labels: { type: "kwok" } }, spec: {}, status: { allocatable: { cpu: "64", memory: "512Gi", pods: "110" }, capacity: { cpu: "64", memory: "512Gi", pods: "110" } } },
        { apiVersion: "v1", kind: "PersistentVolume", metadata: { name: PV }, spec: { storageClassName: "modelplane-kwok", capacity: { storage: "1Gi" }, accessModes: ["ReadWriteOnce"], hostPath: { path: path.join(work, "pv") }, persistentVolumeReclaimPolicy: "Delete" } },
      ],
    }),
  });
  server = await startStandInServer(path.join(work, "server"), TOKEN);
  managementUrl = server.managementUrl;
  stack = await kubernetesStack(STACK, cluster, server, TOKEN, { "modelplane:storageClass": "modelplane-kwok", "modelplane:specDir": specs });
});

after(async () => {
  await stack?.cleanup();
  server?.process.kill("SIGTERM");
  await cluster?.kubectl(["delete", "namespace", NS, "--ignore-not-found", "--wait=false"]).catch(() => undefined);
  await cluster?.kubectl(["delete", "pv", PV, "--ignore-not-found"]).catch(() => undefined);
  await cluster?.kubectl(["delete", "node", NODE, "--ignore-not-found"]).catch(() => undefined);
  await cluster?.stop();
  await rm(work, { recursive: true, force: true });
});

test("up creates the namespace, the server, RBAC, Services and per deployment a Deployment, a Service and (autoscaled) an HPA", async (t) => {
  const up = await stack!.pulumi(["up", "--yes", "--skip-preview"], { timeoutMs: 1_200_000 });
  t.diagnostic(String(up.stdout).split("\n").filter((l) => /created|Resources|warning/.test(l)).slice(-12).join(" | "));
  const server = await get("deployment", "modelplane-server");
  assert.equal(server.spec.replicas, 1);
  assert.equal(server.spec.template.spec.serviceAccountName, "modelplane-server");
  assert.equal(server.status?.readyReplicas, 1, "the server rolled out (on kwok)");
  const role = await get("role", "modelplane-server");
  assert.deepEqual((role as unknown as { rules: unknown[] }).rules, [
    { apiGroups: [""], resources: ["pods", "endpoints"], verbs: ["get", "list", "watch"] },
    { apiGroups: [""], resources: ["pods"], verbs: ["delete"] },
    { apiGroups: [""], resources: ["pods/log"], verbs: ["get"] },
    { apiGroups: ["discovery.k8s.io"], resources: ["endpointslices"], verbs: ["get", "list", "watch"] },
    { apiGroups: ["batch"], resources: ["jobs"], verbs: ["create", "get", "list", "watch", "patch", "delete"] },
  ]);
  // The account may do what the rules say in its namespace, and nothing elsewhere.
  const can = async (verb: string, what: string, ns = NS) => (await cluster.kubectl(["auth", "can-i", verb, what, "-n", ns, `--as=system:serviceaccount:${NS}:modelplane-server`]).catch((e: Error) => e.message)).trim();
  assert.equal(await can("create", "jobs.batch"), "yes");
  assert.equal(await can("patch", "jobs.batch"), "yes");
  assert.equal(await can("delete", "pods"), "yes");
  assert.match(await can("create", "pods"), /no/);
  assert.equal(await can("list", "pods"), "yes");
  assert.match(await can("create", "deployments.apps"), /no/);
  assert.match(await can("list", "pods", "default"), /no/);
  assert.equal((await get("pvc", "modelplane-state")).status?.phase, "Bound");
  assert.equal((await get("service", "modelplane-management")).spec.type, "ClusterIP");

  const blue = await get("deployment", "k8s-endpoint-blue");
  const c = blue.spec.template.spec.containers[0];
  assert.equal(blue.spec.replicas, 1);
  assert.deepEqual(c.resources, { requests: { cpu: "500m", memory: "1Gi" }, limits: { memory: "2Gi" } });
  assert.deepEqual(c.readinessProbe.httpGet, { path: "/", port: 5001, scheme: "HTTP" });
  assert.equal(c.readinessProbe.periodSeconds, 2);
  assert.equal(c.readinessProbe.failureThreshold, 5);
  assert.equal(c.livenessProbe.successThreshold, 1);
  assert.equal(blue.metadata.labels?.["modelplane.io/deployment"], "blue");
  assert.ok((c.env as { name: string; value: string }[]).some((e) => e.name === "GREETING" && e.value === "a"));
  const green = await get("deployment", "k8s-endpoint-green");
  // The API server stores quantities canonically (7168Mi is 7Gi).
  assert.deepEqual(green.spec.template.spec.containers[0].resources.limits, { cpu: "2", memory: "7Gi" });
  const hpa = await get("hpa", "k8s-endpoint-green");
  assert.equal(hpa.spec.minReplicas, 1);
  assert.equal(hpa.spec.maxReplicas, 3);
  assert.equal(hpa.spec.metrics[0].resource.target.averageUtilization, 65);
  const blueService = await get("service", "k8s-endpoint-blue");
  assert.equal(blueService.spec.ports[0].port, 5001);
  assert.match(blueService.spec.clusterIP, /^10\.96\./, "a ClusterIP from the service range");
  // The management API has both deployments and the traffic, as on Docker.
  const dep = (await (await fetch(`${managementUrl}/endpoints/k8s-endpoint/deployments/blue`, { headers: { authorization: `Bearer ${TOKEN}` } })).json()) as { provisioningState: string; instances: { url: string }[] };
  assert.equal(dep.provisioningState, "Succeeded");
  assert.deepEqual(dep.instances.map((i) => i.url), [`http://${blueService.spec.clusterIP}:5001`]);
});

test("a traffic-only change updates no Kubernetes object", async () => {
  const before = await uids();
  await writeSpecs({ traffic: "{ blue: 60, green: 40 }", instances: 1, greeting: "a" });
  const preview = await stack!.pulumi(["preview", "--diff"]);
  assert.deepEqual(changed(String(preview.stdout)).filter((l) => l.includes("kubernetes:")), [], String(preview.stdout));
  await stack!.pulumi(["up", "--yes", "--skip-preview"]);
  assert.deepEqual(await uids(), before, "every object keeps its uid and generation");
  const ep = (await (await fetch(`${managementUrl}/endpoints/k8s-endpoint`, { headers: { authorization: `Bearer ${TOKEN}` } })).json()) as { traffic: Record<string, number> };
  assert.deepEqual(ep.traffic, { blue: 60, green: 40 });
});

test("instance_count 1 -> 3 -> 1 changes replicas in place; a code change rolls the Deployment", async () => {
  const uid = (await get("deployment", "k8s-endpoint-blue")).metadata.uid;
  await writeSpecs({ traffic: "{ blue: 60, green: 40 }", instances: 3, greeting: "a" });
  await stack!.pulumi(["up", "--yes", "--skip-preview"]);
  let blue = await get("deployment", "k8s-endpoint-blue");
  assert.equal(blue.spec.replicas, 3);
  assert.equal(blue.status?.readyReplicas, 3);
  assert.equal(blue.metadata.uid, uid, "updated in place");
  await writeSpecs({ traffic: "{ blue: 60, green: 40 }", instances: 1, greeting: "a" });
  await stack!.pulumi(["up", "--yes", "--skip-preview"]);
  blue = await get("deployment", "k8s-endpoint-blue");
  assert.equal(blue.spec.replicas, 1);
  assert.equal(blue.metadata.uid, uid);

  const configMap = blue.spec.template.spec.volumes[0].configMap.name as string;
  const generation = blue.metadata.generation!;
  const score = path.join(work, "model-1/onlinescoring/score.py");
  await writeFile(score, `${await readFile(score, "utf8")}\n# a code change\n`);
  await stack!.pulumi(["up", "--yes", "--skip-preview"]);
  blue = await get("deployment", "k8s-endpoint-blue");
  assert.equal(blue.metadata.uid, uid, "the Deployment is kept");
  assert.ok(blue.metadata.generation! > generation, "its pod template changed: a rollout");
  assert.notEqual(blue.spec.template.spec.volumes[0].configMap.name, configMap, "the new code is a new ConfigMap");
  assert.equal(blue.status?.updatedReplicas, 1);
  await assert.rejects(get("configmap", configMap), /NotFound/, "the old content is deleted");
});

test("refresh sees a Deployment deleted behind Pulumi's back; up restores it", async () => {
  await cluster.kubectl(["-n", NS, "delete", "deployment", "k8s-endpoint-green", "--wait=true"]);
  const refresh = await stack!.pulumi(["refresh", "--yes", "--skip-preview"]);
  assert.match(String(refresh.stdout), /k8s-endpoint-green-instances[^\n]*deleted|deleted[^\n]*k8s-endpoint-green-instances|1 deleted/, String(refresh.stdout));
  const preview = await stack!.pulumi(["preview", "--json"]);
  const steps = (JSON.parse(String(preview.stdout)) as { steps: { op: string; urn: string }[] }).steps.filter((s) => s.op !== "same");
  assert.ok(steps.some((s) => s.op === "create" && s.urn.endsWith("k8s-endpoint-green-instances")), JSON.stringify(steps));
  await stack!.pulumi(["up", "--yes", "--skip-preview"]);
  assert.equal((await get("deployment", "k8s-endpoint-green")).status?.readyReplicas, 1);
});

test("destroy leaves no object of the stack", async () => {
  await stack!.pulumi(["destroy", "--yes", "--skip-preview"]);
  for (let i = 0; i < 60; i++) {
    const r = await cluster.kubectl(["get", "namespace", NS, "--ignore-not-found", "-o", "name"]);
    if (r.trim() === "") break;
    await new Promise((res) => setTimeout(res, 1000));
  }
  assert.equal((await cluster.kubectl(["get", "namespace", NS, "--ignore-not-found", "-o", "name"])).trim(), "", "the namespace is gone");
  assert.equal((await cluster.kubectl(["get", "all", "-A", "-l", "app.kubernetes.io/managed-by=modelplane", "-o", "name"])).trim(), "");
});
