// The kubernetes target under Pulumi mocks: exact object types, names, namespaces, labels, probes,
// resources, RBAC rules and the HPA's bounds; and its pure parts (settings, kubeconfig, content).
import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { before, describe, it } from "node:test";
import { deploymentSpec, descendants, DYN, endpointSpec, installMocks, mockClusterIp, MODEL_1, one, registrations, reveal, settle } from "../components/harness";

installMocks("dev");
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { ControlPlane, OnlineEndpoint } = require("../../../components") as typeof import("../../../components");
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { kubernetesTarget, kubernetesSettings } = require("../../../src/targets/kubernetes") as typeof import("../../../src/targets/kubernetes");
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { resolveKubeconfig } = require("../../../src/targets/kubernetes/kubeconfig") as typeof import("../../../src/targets/kubernetes/kubeconfig");
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { deploymentContent } = require("../../../src/targets/kubernetes/content") as typeof import("../../../src/targets/kubernetes/content");
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { podResources } = require("../../../src/targets/kubernetes/pod-resources") as typeof import("../../../src/targets/kubernetes/pod-resources");
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { SERVER_RBAC_RULES } = require("../../../src/targets/kubernetes/control-plane") as typeof import("../../../src/targets/kubernetes/control-plane");

const KUBECONFIG = `apiVersion: v1
kind: Config
current-context: local
contexts:
- name: local
  context: { cluster: c1, user: u1 }
- name: other
  context: { cluster: c1, user: u1, namespace: team }
clusters:
- name: c1
  cluster: { server: "https://127.0.0.1:16443", certificate-authority-data: ${Buffer.from("CA PEM").toString("base64")} }
users:
- name: u1
  user: { token: abc }
`;

describe("kubernetes settings and kubeconfig (pure)", () => {
  it("defaults: namespace modelplane-<stack>, ClusterIP services, KUBECONFIG's first file", () => {
    const r = kubernetesSettings(() => undefined, "Dev_1", { KUBECONFIG: "/k/a.yaml:/k/b.yaml" });
    assert.deepEqual(r, { ok: true, settings: { kubeconfig: "/k/a.yaml", namespace: "modelplane-dev-1", managementServiceType: "ClusterIP", gatewayServiceType: "ClusterIP" } });
  });
  it("every bad setting is named with its value and the fix", () => {
    const cfg: Record<string, string> = { namespace: "Bad_NS", gatewayServiceType: "Ingress", managementUrl: "ftp://x", imageRegistry: "UPPER CASE" };
    const r = kubernetesSettings((k) => cfg[k], "dev", {});
    assert.equal(r.ok, false);
    if (r.ok) return;
    assert.deepEqual(r.problems, [
      'modelplane:namespace is "Bad_NS": a namespace is a DNS label (lowercase letters, digits and -, at most 63): `pulumi config set modelplane:namespace modelplane-dev`',
      'modelplane:imageRegistry is "UPPER CASE": give a registry host and optional path, e.g. registry.example.com:5000/team',
      'modelplane:gatewayServiceType is "Ingress": give one of ClusterIP, NodePort, LoadBalancer',
      'modelplane:managementUrl is "ftp://x": give an http(s) URL, e.g. http://127.0.0.1:8081 from `kubectl port-forward svc/modelplane-management 8081`',
    ]);
  });
  it("resolves the current context, and a chosen one with its namespace", () => {
    const a = resolveKubeconfig(KUBECONFIG, "/k/config");
    assert.deepEqual(a, { ok: true, connection: { context: "local", server: "https://127.0.0.1:16443", insecureSkipTlsVerify: false, ca: "CA PEM", token: "abc" } });
    const b = resolveKubeconfig(KUBECONFIG, "/k/config", "other");
    assert.equal(b.ok && b.connection.namespace, "team");
  });
  it("an unknown context lists the ones the file has", () => {
    assert.deepEqual(resolveKubeconfig(KUBECONFIG, "/k/config", "prod"), {
      ok: false,
      problem: 'context "prod" is not in the kubeconfig /k/config (it has "local", "other"): set modelplane:kubeContext to one of them, or `pulumi config rm modelplane:kubeContext` to use the current one',
    });
    assert.deepEqual(resolveKubeconfig("key: [unclosed", "/k/bad").ok, false);
    assert.match((resolveKubeconfig("key: [unclosed", "/k/bad") as { problem: string }).problem, /^the kubeconfig \/k\/bad is not valid YAML/);
    assert.deepEqual(resolveKubeconfig("just text", "/k/text"), { ok: false, problem: "the kubeconfig /k/text is not a kubeconfig (no contexts, clusters and users): give a kubeconfig written by kubectl or your cluster's tooling" });
  });
});

describe("pod resources and content (pure)", () => {
  it("resources as written win; instance_type sizes otherwise; GPUs become limits", () => {
    assert.deepEqual(podResources({ name: "d", resources: { requests: { cpu: "0.5", memory: "1Gi" }, limits: { memory: "2Gi" } } }), { requests: { cpu: "0.5", memory: "1Gi" }, limits: { memory: "2Gi" } });
    assert.deepEqual(podResources({ name: "d", instance_type: "Standard_DS3_v2" }), { requests: { cpu: "3000m", memory: "10752Mi" }, limits: { cpu: "4", memory: "14336Mi" } });
    assert.deepEqual(podResources({ name: "d", resources: { limits: { "nvidia.com/gpu": 2 } } }), { requests: {}, limits: { "nvidia.com/gpu": "2" } });
    assert.deepEqual(podResources({ name: "d", resources: { limits: { "nvidia.com/gpu": "all" } } }), {
      problem: 'deployment "d": resources.limits.nvidia.com/gpu all asks for all GPUs, which Kubernetes cannot schedule: give a count (resources.limits nvidia.com/gpu: 1)',
    });
  });
  it("code and model become ConfigMap keys mounted where Docker binds them; too big is refused with the fix", () => {
    const c = deploymentContent("blue", [{ source: path.join(MODEL_1, "onlinescoring"), target: "/var/azureml-app/onlinescoring" }]);
    assert.ok(!("problem" in c));
    if ("problem" in c) return;
    assert.deepEqual(c.volumes, [{ name: "content-0", mountPath: "/var/azureml-app/onlinescoring", items: [{ key: "f0", path: "score.py" }] }]);
    assert.match(Buffer.from(c.binaryData.f0!, "base64").toString("utf8"), /def run\(/);
    const dir = mkdtempSync(path.join(tmpdir(), "mp-big-"));
    writeFileSync(path.join(dir, "model.bin"), Buffer.alloc(900 * 1024));
    const big = deploymentContent("big", [{ source: dir, target: "/models" }]);
    assert.deepEqual(big, { problem: 'deployment "big": its code and model are 0.9 MiB, more than a ConfigMap can carry to its pods (about 756 KiB): put the model into the image (environment.image with the model in it) and set modelplane:imageRegistry, or use a smaller model' });
  });
});

describe("ControlPlane + OnlineEndpoint on the kubernetes target (Pulumi mocks)", () => {
  before(async () => {
    const s = kubernetesSettings(() => undefined, "dev", { KUBECONFIG: "/k/config" });
    assert.ok(s.ok);
    if (!s.ok) return;
    const target = kubernetesTarget(s.settings, KUBECONFIG);
    const cp = new ControlPlane("control-plane", { stack: "dev", target });
    const blue = deploymentSpec("blue", "my-endpoint", 2);
    const green = deploymentSpec("green", "my-endpoint", 1, {
      $schema: "https://azuremlschemas.azureedge.net/latest/kubernetesOnlineDeployment.schema.json",
      instance_count: undefined,
      instance_type: undefined,
      scale_settings: { type: "target_utilization", min_instances: 1, max_instances: 4, target_utilization_percentage: 60 },
      resources: { requests: { cpu: "0.5", memory: "1Gi" } },
    });
    new OnlineEndpoint("my-endpoint", { controlPlane: cp, spec: endpointSpec("my-endpoint", { traffic: { blue: 90, green: 10 } }), deployments: [blue, green] });
    await settle();
  });
  const kube = () => registrations.filter((r) => r.type.startsWith("kubernetes:") || r.type === "pulumi:providers:kubernetes");

  it("creates exactly these Kubernetes objects, in the stack's namespace, with no Docker object", () => {
    assert.deepEqual(kube().map((r) => `${r.type} ${r.name}`).sort(), [
      "kubernetes:apps/v1:Deployment control-plane-server",
      "kubernetes:apps/v1:Deployment my-endpoint-blue-instances",
      "kubernetes:apps/v1:Deployment my-endpoint-green-instances",
      "kubernetes:autoscaling/v2:HorizontalPodAutoscaler my-endpoint-green-autoscaler",
      "kubernetes:core/v1:ConfigMap my-endpoint-blue-content",
      "kubernetes:core/v1:ConfigMap my-endpoint-green-content",
      "kubernetes:core/v1:Namespace control-plane-namespace",
      "kubernetes:core/v1:PersistentVolumeClaim control-plane-state",
      "kubernetes:core/v1:Secret control-plane-token-secret",
      "kubernetes:core/v1:Service control-plane-gateway",
      "kubernetes:core/v1:Service control-plane-management",
      "kubernetes:core/v1:Service my-endpoint-blue-service",
      "kubernetes:core/v1:Service my-endpoint-green-service",
      "kubernetes:core/v1:ServiceAccount control-plane-account",
      "kubernetes:rbac.authorization.k8s.io/v1:Role control-plane-role",
      "kubernetes:rbac.authorization.k8s.io/v1:RoleBinding control-plane-role-binding",
      "pulumi:providers:kubernetes control-plane-kubernetes",
    ]);
    assert.equal(registrations.filter((r) => /Docker(Container|Network|Volume)/.test(r.type)).length, 0);
    for (const r of kube().filter((x) => !x.type.startsWith("pulumi:providers") && !x.type.endsWith("Namespace"))) {
      assert.equal((reveal(r.inputs) as { metadata: { namespace: string } }).metadata.namespace, "modelplane-dev", r.name);
    }
  });
  it("the server: one replica, Recreate, state on the claim, token from the Secret, run by its ServiceAccount", () => {
    const d = reveal(one("kubernetes:apps/v1:Deployment", "control-plane-server").inputs) as { spec: Record<string, any> }; // eslint-disable-line @typescript-eslint/no-explicit-any
    assert.equal(d.spec.replicas, 1);
    assert.deepEqual(d.spec.strategy, { type: "Recreate" });
    const pod = d.spec.template.spec;
    assert.equal(pod.serviceAccountName, "modelplane-server");
    assert.deepEqual(pod.volumes, [{ name: "state", persistentVolumeClaim: { claimName: "modelplane-state" } }]);
    const env = Object.fromEntries((pod.containers[0].env as { name: string; value?: string; valueFrom?: unknown }[]).map((e) => [e.name, e.value ?? e.valueFrom]));
    assert.deepEqual(env.MODELPLANE_MANAGEMENT_TOKEN, { secretKeyRef: { name: "modelplane-management-token", key: "token" } });
    assert.equal(env.MODELPLANE_PUBLIC_URL, "http://modelplane-gateway.modelplane-dev.svc.cluster.local");
    assert.deepEqual((reveal(one("kubernetes:rbac.authorization.k8s.io/v1:Role", "control-plane-role").inputs) as { rules: unknown }).rules, SERVER_RBAC_RULES);
    const mgmt = reveal(one("kubernetes:core/v1:Service", "control-plane-management").inputs) as { spec: { type: string; ports: unknown[] } };
    assert.equal(mgmt.spec.type, "ClusterIP");
    assert.deepEqual(mgmt.spec.ports, [{ name: "management", port: 8081, targetPort: 8081 }]);
  });
  it("blue: instance_count replicas, the spec's probes, instance_type resources, content mounted read-only", () => {
    const d = reveal(one("kubernetes:apps/v1:Deployment", "my-endpoint-blue-instances").inputs) as { metadata: { name: string }; spec: Record<string, any> }; // eslint-disable-line @typescript-eslint/no-explicit-any
    assert.equal(d.metadata.name, "my-endpoint-blue");
    assert.equal(d.spec.replicas, 2);
    const c = d.spec.template.spec.containers[0];
    assert.deepEqual(c.readinessProbe, { httpGet: { path: "/", port: 5001 }, initialDelaySeconds: 10, periodSeconds: 10, timeoutSeconds: 2, successThreshold: 1, failureThreshold: 30 });
    assert.deepEqual(c.resources, { requests: { cpu: "3000m", memory: "10752Mi" }, limits: { cpu: "4", memory: "14336Mi" } });
    assert.ok((c.volumeMounts as { readOnly: boolean }[]).every((m) => m.readOnly));
    assert.deepEqual(d.spec.template.metadata.labels["modelplane.io/deployment"], "blue");
  });
  it("green: an HPA from scale_settings, replicas from min_instances", () => {
    const h = reveal(one("kubernetes:autoscaling/v2:HorizontalPodAutoscaler", "my-endpoint-green-autoscaler").inputs) as { spec: Record<string, unknown> };
    assert.equal(h.spec.minReplicas, 1);
    assert.equal(h.spec.maxReplicas, 4);
    assert.deepEqual(h.spec.metrics, [{ type: "Resource", resource: { name: "cpu", target: { type: "Utilization", averageUtilization: 60 } } }]);
    const d = reveal(one("kubernetes:apps/v1:Deployment", "my-endpoint-green-instances").inputs) as { spec: { replicas: number } };
    assert.equal(d.spec.replicas, 1);
  });
  it("registrations reach each deployment through its Service's ClusterIP and leave readiness to Kubernetes", () => {
    const reg = reveal(one(`${DYN}modelplane:Deployment`, "my-endpoint-blue-registration").inputs) as Record<string, unknown>;
    const ip = mockClusterIp("my-endpoint-blue-service");
    assert.notEqual(ip, mockClusterIp("my-endpoint-green-service"));
    assert.deepEqual(reg.instances, [
      { id: "blue-0", url: `http://${ip}:5001` },
      { id: "blue-1", url: `http://${ip}:5001` },
    ]);
    assert.equal(reg.readiness_owner, "target");
    assert.equal(reg.containerNames, undefined);
    assert.equal(reg.managementUrl, `http://${mockClusterIp("control-plane-management")}:8081`);
    assert.ok(descendants(one("modelplane:index:OnlineDeployment", "my-endpoint-blue").urn).some((r) => r.name === "my-endpoint-blue-image"));
  });
});
