// One stack folder, two targets: stacks/dev's specs (unchanged) preview on Docker and on the real
// API server with the same endpoint and deployment resources. And bad kubernetes settings fail the
// preview with what and how to fix, before anything is created. Real Pulumi engine, real API server.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { REPO_ROOT, TestStack } from "../harness/pulumi";
import { startCluster, type Cluster } from "../harness/kubernetes";

let cluster: Cluster;
let work: string;
const stacks: TestStack[] = [];

async function stack(name: string, config: Record<string, string>): Promise<TestStack> {
  const s = await TestStack.create(REPO_ROOT, name, { "modelplane:specDir": path.join(REPO_ROOT, "stacks/dev"), ...config });
  stacks.push(s);
  return s;
}

/** The modelplane (engine-neutral) resources of a preview: type and name, as the plan lists them. */
async function neutralResources(s: TestStack): Promise<string[]> {
  const r = await s.pulumi(["preview", "--json"]);
  const steps = (JSON.parse(String(r.stdout)) as { steps: { urn: string }[] }).steps;
  const neutral = /modelplane:(Endpoint|Deployment|Traffic|BatchEndpoint|BatchDeployment|Cluster|Defaults|DataAsset|index:[A-Za-z]+)$/;
  // A dynamic resource's type is pulumi-nodejs:dynamic/modelplane:X; a parented one's, a$b$X.
  const typeOf = (t: string) => t.split("$").pop()!.replace(/^pulumi-nodejs:dynamic\//, "");
  return steps.map((x) => x.urn.split("::").slice(-2)).filter(([type]) => neutral.test(typeOf(type!))).map(([type, name]) => `${typeOf(type!)} ${name}`).sort();
}

before(async () => {
  cluster = await startCluster();
  work = await mkdtemp(path.join(tmpdir(), "mp-k8s-pre-"));
});

after(async () => {
  for (const s of stacks) await s.cleanup();
  await cluster?.kubectl(["delete", "serviceaccount", "mp-it-nobody", "-n", "default", "--ignore-not-found"]).catch(() => undefined);
  await cluster?.stop();
  await rm(work, { recursive: true, force: true });
});

test("stacks/dev previews on both targets with the same endpoint and deployment resources", async () => {
  const docker = await neutralResources(await stack("it-k8s-pre-docker", { "modelplane:target": "docker" }));
  const k8s = await neutralResources(await stack("it-k8s-pre-kube", { "modelplane:target": "kubernetes", "modelplane:kubeconfig": cluster.kubeconfig }));
  assert.ok(docker.includes("modelplane:Deployment my-endpoint-blue-registration") && docker.includes("modelplane:BatchDeployment heart-classifier-batch-classifier-xgboost-mlflow-registration"), docker.join("\n"));
  assert.deepEqual(k8s, docker);
  assert.equal((await cluster.kubectl(["get", "namespace", "modelplane-it-k8s-pre-kube", "--ignore-not-found", "-o", "name"])).trim(), "", "a preview creates nothing");
});

test("bad kubernetes settings fail the preview with the fix, before anything is created", async () => {
  const s = await stack("it-k8s-pre-bad", { "modelplane:target": "kubernetes", "modelplane:kubeconfig": path.join(work, "missing.yaml") });
  const fails = async (expect: RegExp) => {
    const r = await s.pulumi(["preview"], { reject: false });
    assert.notEqual(r.exitCode, 0);
    assert.match(String(r.all), expect);
  };
  await fails(/no kubeconfig at \S+missing\.yaml \(ENOENT\): set modelplane:kubeconfig to your cluster's kubeconfig file, or KUBECONFIG/);

  await s.pulumi(["config", "set", "modelplane:kubeconfig", cluster.kubeconfig]);
  await s.pulumi(["config", "set", "modelplane:kubeContext", "no-such-context"]);
  await fails(/context "no-such-context" is not in the kubeconfig \S+ \(it has "[^"]+"\): set modelplane:kubeContext to one of them/);
  await s.pulumi(["config", "rm", "modelplane:kubeContext"]);

  const unreachable = path.join(work, "unreachable.yaml");
  await writeFile(unreachable, "apiVersion: v1\nkind: Config\ncurrent-context: x\ncontexts: [{name: x, context: {cluster: x, user: x}}]\nclusters: [{name: x, cluster: {server: 'https://127.0.0.1:1'}}]\nusers: [{name: x, user: {token: t}}]\n");
  await s.pulumi(["config", "set", "modelplane:kubeconfig", unreachable]);
  await fails(/the API server https:\/\/127\.0\.0\.1:1 of context "x" \(kubeconfig \S+\) cannot be reached: .*ECONNREFUSED.*Start the cluster/);

  // A ServiceAccount with no rights at all: it may neither make its namespace nor use it.
  await cluster.kubectl(["create", "serviceaccount", "mp-it-nobody", "-n", "default"]);
  const token = (await cluster.kubectl(["create", "token", "mp-it-nobody", "-n", "default"])).trim();
  const server = (await cluster.kubectl(["config", "view", "--minify", "-o", "jsonpath={.clusters[0].cluster.server}"])).trim();
  const ca = (await cluster.kubectl(["config", "view", "--minify", "--raw", "-o", "jsonpath={.clusters[0].cluster.certificate-authority-data}"])).trim();
  const nobody = path.join(work, "nobody.yaml");
  await writeFile(nobody, `apiVersion: v1\nkind: Config\ncurrent-context: nobody\ncontexts: [{name: nobody, context: {cluster: c, user: nobody}}]\nclusters: [{name: c, cluster: {server: '${server}', certificate-authority-data: '${ca}'}}]\nusers: [{name: nobody, user: {token: '${token}'}}]\n`);
  await s.pulumi(["config", "set", "modelplane:kubeconfig", nobody]);
  await fails(/context "nobody" may not create serviceaccounts, patch serviceaccounts, .* in namespace "modelplane-it-k8s-pre-bad": grant them/);
  await cluster.kubectl(["create", "namespace", "modelplane-it-k8s-pre-bad"]);
  try {
    await fails(/context "nobody" may not create serviceaccounts, patch serviceaccounts, .* in namespace "modelplane-it-k8s-pre-bad": grant them/);
  } finally {
    await cluster.kubectl(["delete", "namespace", "modelplane-it-k8s-pre-bad", "--wait=false"]);
  }
});
