/**
 * Issue 25 part 3: the project's own loopback control plane (scripts/kubernetes/cluster.sh) is a
 * real Kubernetes API server that the kubernetes target can be tested against. Proven through the
 * built kubectl, as an API client would see it: the server's version, the kwok nodes Ready with
 * their allocatable GPUs, a Deployment rolling out on kwok, a Service getting Endpoints and
 * EndpointSlices, a claim bound by the default StorageClass, an Indexed Job completing, and RBAC
 * denying a ServiceAccount's real (token-authenticated) request it has no rule for.
 *
 * Everything lives in one namespace deleted in `after` (also on failure), and the test checks
 * that nothing of it remains; the cluster is stopped if this file started it. A missing toolchain
 * is a failure, never a skip.
 */
import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { after, before, test } from "node:test";
import execa from "execa";
import { type Cluster, startCluster } from "../harness/kubernetes";

const NS = `cluster-test-${process.pid}`;

interface Condition { type: string; status: string }
interface Named { metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> } }
interface Node extends Named { status: { conditions: Condition[]; allocatable: Record<string, string> } }
interface Pod extends Named { spec: { nodeName?: string }; status: { phase: string; podIP?: string } }
interface List<T> { items: T[] }

let cluster: Cluster | undefined;
let tmp = "";

function k(): Cluster {
  assert.ok(cluster, "the cluster did not start (see the before hook's error)");
  return cluster;
}

/** Polls `check` until it returns a value (not undefined) or `ms` pass; then fails with `what`. */
async function until<T>(what: string, ms: number, check: () => Promise<T | undefined>): Promise<T> {
  const end = Date.now() + ms;
  let last: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v !== undefined) return v;
    } catch (e) { last = e; }
    if (Date.now() > end) throw new Error(`${what}: not reached in ${ms} ms${last ? ` (last error: ${String(last)})` : ""}`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

function inIpv4Range(ip: string, cidr: string): boolean {
  const toInt = (s: string) => s.split(".").reduce((a, o) => (a << 8) + Number(o), 0) >>> 0;
  const [base, bits] = cidr.split("/") as [string, string];
  const mask = bits === "0" ? 0 : (~0 << (32 - Number(bits))) >>> 0;
  return ((toInt(ip) & mask) >>> 0) === ((toInt(base) & mask) >>> 0);
}

const apply = (obj: object) => k().kubectl(["apply", "-f", "-"], { input: JSON.stringify(obj) });
const labels = { "modelplane.test/cluster": NS };

before(async () => {
  tmp = await mkdtemp(path.join(tmpdir(), "mp-cluster-test-"));
  const t = Date.now();
  cluster = await startCluster();
  console.log(`cluster ${cluster.startedHere ? `started in ${Date.now() - t} ms` : "was already running"}; KUBECONFIG=${cluster.kubeconfig}`);
  await apply({ apiVersion: "v1", kind: "Namespace", metadata: { name: NS, labels } });
});

after(async () => {
  try {
    if (cluster) {
      await cluster.kubectl(["delete", "namespace", NS, "--ignore-not-found", "--wait=true", "--timeout=120s"], { timeoutMs: 150_000 });
      const left = await cluster.kubectl(["get", "namespace", NS, "--ignore-not-found", "-o", "name"]);
      assert.equal(left, "", `namespace ${NS} still exists after its deletion`);
      // Cluster-scoped leftovers: the claim's PersistentVolume goes with it (reclaim policy Delete).
      const pvs = await until("the claim's PersistentVolume deleted", 60_000, async () => {
        const l = await cluster!.kubectlJson<List<{ spec: { claimRef?: { namespace?: string } } }>>(["get", "pv"]);
        const mine = l.items.filter((pv) => pv.spec.claimRef?.namespace === NS);
        return mine.length === 0 ? mine : undefined;
      });
      assert.deepEqual(pvs, []);
    }
  } finally {
    await cluster?.stop();
    if (tmp) await rm(tmp, { recursive: true, force: true });
  }
});

test("the API server is Kubernetes v1.37.2 and serves the built kubectl", async () => {
  const v = await k().kubectlJson<{ serverVersion: { gitVersion: string; major: string; minor: string } }>(["version"]);
  assert.equal(v.serverVersion.gitVersion, "v1.37.2");
  assert.equal(`${v.serverVersion.major}.${v.serverVersion.minor}`, "1.37");
  assert.equal(await k().kubectl(["get", "--raw", "/readyz"]), "ok");
});

test("the kwok nodes are Ready and offer CPUs, memory and nvidia.com/gpu", async () => {
  const nodes = (await k().kubectlJson<List<Node>>(["get", "nodes"])).items.filter((n) => n.metadata.annotations?.["kwok.x-k8s.io/node"] === "fake");
  assert.ok(nodes.length >= 1, "no node annotated kwok.x-k8s.io/node=fake");
  for (const n of nodes) {
    assert.equal(n.status.conditions.find((c) => c.type === "Ready")?.status, "True", `node ${n.metadata.name} is not Ready`);
    assert.equal(n.status.allocatable["nvidia.com/gpu"], "2", `node ${n.metadata.name}'s allocatable: ${JSON.stringify(n.status.allocatable)}`);
    assert.equal(n.status.allocatable.cpu, "16");
  }
});

test("a Deployment of 2 replicas rolls out on kwok, and its Service gets Endpoints and EndpointSlices", async () => {
  const app = { ...labels, app: "web" };
  await apply({
    apiVersion: "apps/v1", kind: "Deployment", metadata: { name: "web", namespace: NS, labels },
    spec: {
      replicas: 2, selector: { matchLabels: app },
      template: {
        metadata: { labels: app },
        // kwok pulls nothing: the image need not exist anywhere.
        spec: { containers: [{ name: "web", image: "registry.invalid/web:1", ports: [{ containerPort: 8080 }], resources: { requests: { cpu: "500m", memory: "256Mi", "nvidia.com/gpu": "1" }, limits: { "nvidia.com/gpu": "1" } } }] },
      },
    },
  });
  await k().kubectl(["rollout", "status", "deployment/web", "-n", NS, "--timeout=90s"], { timeoutMs: 100_000 });
  const pods = (await k().kubectlJson<List<Pod>>(["get", "pods", "-n", NS, "-l", "app=web"])).items;
  assert.equal(pods.length, 2);
  for (const p of pods) {
    assert.equal(p.status.phase, "Running", `pod ${p.metadata.name}`);
    assert.match(p.spec.nodeName ?? "", /^kwok-node-/);
    assert.ok(p.status.podIP && inIpv4Range(p.status.podIP, "10.244.0.0/16"), `pod IP ${p.status.podIP} outside the pod range 10.244.0.0/16`);
  }

  await apply({ apiVersion: "v1", kind: "Service", metadata: { name: "web", namespace: NS, labels }, spec: { selector: app, ports: [{ port: 80, targetPort: 8080 }] } });
  const svc = await k().kubectlJson<{ spec: { clusterIP: string } }>(["get", "service", "web", "-n", NS]);
  assert.ok(inIpv4Range(svc.spec.clusterIP, "10.96.0.0/16"), `cluster IP ${svc.spec.clusterIP} outside the service range`);
  const podIps = pods.map((p) => p.status.podIP).sort();
  const sliceIps = await until("2 ready endpoints in the Service's EndpointSlices", 60_000, async () => {
    const slices = await k().kubectlJson<List<{ endpoints?: { addresses: string[]; conditions: { ready?: boolean } }[] }>>(["get", "endpointslices", "-n", NS, "-l", "kubernetes.io/service-name=web"]);
    const ips = slices.items.flatMap((s) => (s.endpoints ?? []).filter((e) => e.conditions.ready).flatMap((e) => e.addresses)).sort();
    return ips.length === 2 ? ips : undefined;
  });
  assert.deepEqual(sliceIps, podIps);
  // The legacy Endpoints object too: Pulumi's kubernetes provider waits on it for a Service.
  const endpoints = await until("the Service's Endpoints", 60_000, async () => {
    const ep = await k().kubectlJson<{ subsets?: { addresses?: { ip: string }[] }[] }>(["get", "endpoints", "web", "-n", NS]);
    const ips = (ep.subsets ?? []).flatMap((s) => (s.addresses ?? []).map((a) => a.ip)).sort();
    return ips.length === 2 ? ips : undefined;
  });
  assert.deepEqual(endpoints, podIps);
});

test("a PersistentVolumeClaim binds through the default StorageClass", async () => {
  await apply({ apiVersion: "v1", kind: "PersistentVolumeClaim", metadata: { name: "state", namespace: NS, labels }, spec: { accessModes: ["ReadWriteOnce"], resources: { requests: { storage: "1Gi" } } } });
  const pvc = await until("the claim Bound", 60_000, async () => {
    const c = await k().kubectlJson<{ spec: { storageClassName?: string; volumeName?: string }; status: { phase: string } }>(["get", "pvc", "state", "-n", NS]);
    return c.status.phase === "Bound" ? c : undefined;
  });
  assert.equal(pvc.spec.storageClassName, "standard");
  assert.ok(pvc.spec.volumeName, "a bound claim names its volume");
});

test("an Indexed Job with completions 3 and parallelism 2 completes on kwok", async () => {
  await apply({
    apiVersion: "batch/v1", kind: "Job", metadata: { name: "score", namespace: NS, labels },
    spec: {
      completions: 3, parallelism: 2, completionMode: "Indexed", backoffLimit: 0,
      template: { metadata: { labels }, spec: { restartPolicy: "Never", containers: [{ name: "worker", image: "registry.invalid/worker:1" }] } },
    },
  });
  await k().kubectl(["wait", "--for=condition=Complete", "job/score", "-n", NS, "--timeout=120s"], { timeoutMs: 130_000 });
  const job = await k().kubectlJson<{ status: { succeeded?: number; failed?: number; completedIndexes?: string } }>(["get", "job", "score", "-n", NS]);
  assert.equal(job.status.succeeded, 3);
  assert.equal(job.status.failed ?? 0, 0);
  assert.equal(job.status.completedIndexes, "0-2");
  const pods = (await k().kubectlJson<List<Pod>>(["get", "pods", "-n", NS, "-l", "batch.kubernetes.io/job-name=score"])).items;
  const indexes = pods.map((p) => p.metadata.annotations?.["batch.kubernetes.io/job-completion-index"]).sort();
  assert.deepEqual(indexes, ["0", "1", "2"]);
  assert.ok(pods.every((p) => p.status.phase === "Succeeded"), `pod phases: ${pods.map((p) => p.status.phase).join(", ")}`);
});

test("RBAC gives a ServiceAccount exactly its Role: reading pods, not creating Jobs or reading Secrets", async () => {
  await apply({ apiVersion: "v1", kind: "ServiceAccount", metadata: { name: "reader", namespace: NS, labels } });
  await apply({ apiVersion: "rbac.authorization.k8s.io/v1", kind: "Role", metadata: { name: "pod-reader", namespace: NS, labels }, rules: [{ apiGroups: [""], resources: ["pods"], verbs: ["get", "list", "watch"] }] });
  await apply({
    apiVersion: "rbac.authorization.k8s.io/v1", kind: "RoleBinding", metadata: { name: "reader", namespace: NS, labels },
    roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: "pod-reader" }, subjects: [{ kind: "ServiceAccount", name: "reader", namespace: NS }],
  });
  const as = `system:serviceaccount:${NS}:reader`;
  const canI = async (...args: string[]) => {
    const r = await execa(k().kubectlBin, ["--kubeconfig", k().kubeconfig, "auth", "can-i", ...args, "-n", NS, "--as", as], { reject: false });
    return r.stdout.trim();
  };
  assert.equal(await canI("list", "pods"), "yes");
  assert.equal(await canI("create", "jobs.batch"), "no");
  assert.equal(await canI("get", "secrets"), "no");

  // A real request as the ServiceAccount: a token from the TokenRequest API, no client certificate.
  const token = await k().kubectl(["create", "token", "reader", "-n", NS, "--duration=10m"]);
  const admin = await k().kubectlJson<{ clusters: { cluster: { server: string; "certificate-authority-data": string } }[] }>(["config", "view", "--raw"]);
  const c = admin.clusters[0]?.cluster;
  assert.ok(c, "the admin kubeconfig has no cluster");
  const ca = path.join(tmp, "ca.crt");
  await writeFile(ca, Buffer.from(c["certificate-authority-data"], "base64"));
  const asReader = (...args: string[]) => execa(k().kubectlBin, ["--kubeconfig", "/dev/null", "--server", c.server, "--certificate-authority", ca, "--token", token, "-n", NS, ...args], { reject: false });
  const ok = await asReader("get", "pods", "-o", "name");
  assert.equal(ok.exitCode, 0, ok.stderr);
  const denied = await asReader("get", "secrets");
  assert.notEqual(denied.exitCode, 0);
  assert.match(denied.stderr, /Forbidden.*system:serviceaccount:[^:]+:reader.*cannot list resource "secrets"/);
  const whoami = await asReader("auth", "whoami", "-o", "jsonpath={.status.userInfo.username}");
  assert.equal(whoami.stdout, as);
});
