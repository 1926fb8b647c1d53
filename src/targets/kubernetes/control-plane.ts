// The control plane on Kubernetes (through @pulumi/kubernetes): the stack's namespace; the server
// as a one-replica Deployment with its state on a PersistentVolumeClaim, run by a ServiceAccount
// that may only read its pods and endpoints and run Jobs in its own namespace; Services for the
// gateway and the management API.
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { readFileSync } from "node:fs";
import * as path from "node:path";
import { objectPrefix } from "../../providers/docker/names";
import { PushedImage } from "../../providers/images/pushed-image";
import { BATCH_DRIVER_DIR } from "../docker/batch-server";
import { serverLimitFlags } from "../../server/limits";
import { serverImage } from "../server-image";
import type { ControlPlaneContext, ControlPlaneWorkload } from "../target";
import { SERVER_NAMES, stackLabels } from "./names";
import type { KubernetesSettings } from "./settings";

export const GATEWAY_PORT = 8080;
export const MANAGEMENT_PORT = 8081;
const SERVER_ARGS = ["--state-dir", "/data", "--gateway-port", String(GATEWAY_PORT), "--management-port", String(MANAGEMENT_PORT), "--management-host", "0.0.0.0"];

/** What the server's ServiceAccount may do, in its own namespace only. */
export const SERVER_RBAC_RULES = [
  { apiGroups: [""], resources: ["pods", "endpoints"], verbs: ["get", "list", "watch"] },
  // Batch: a worker pod is removed once its log is kept.
  { apiGroups: [""], resources: ["pods"], verbs: ["delete"] },
  { apiGroups: [""], resources: ["pods/log"], verbs: ["get"] },
  { apiGroups: ["discovery.k8s.io"], resources: ["endpointslices"], verbs: ["get", "list", "watch"] },
  // Batch: an Indexed Job per job's start; suspended (patch) to stop it, deleted with its last pod.
  { apiGroups: ["batch"], resources: ["jobs"], verbs: ["create", "get", "list", "watch", "patch", "delete"] },
];

/** The objects later parts of the stack need: the provider and the namespace. */
export interface KubernetesScope {
  provider: k8s.Provider;
  namespace: k8s.core.v1.Namespace;
  /** The local image references are pulled from here (undefined: pods use local tags). */
  imageRegistry?: string;
}

/** An image reference pods can pull: pushed to the registry when one is set. */
export function podImage(name: string, localRef: pulumi.Output<string>, registry: string | undefined, parent: pulumi.Resource): pulumi.Output<string> {
  if (!registry) return localRef;
  return new PushedImage(`${name}-push`, { localRef, registry }, { parent }).remoteRef;
}

export function kubernetesControlPlane(ctx: ControlPlaneContext, settings: KubernetesSettings, kubeconfig: string, scope: (s: KubernetesScope) => void): ControlPlaneWorkload {
  const { name, parent, stack } = ctx;
  const ns = settings.namespace;
  const provider = new k8s.Provider(`${name}-kubernetes`, { kubeconfig: pulumi.secret(kubeconfig), ...(settings.context ? { context: settings.context } : {}), namespace: ns, deleteUnreachable: false }, { parent });
  const opts = (dependsOn: pulumi.Resource[] = []): pulumi.CustomResourceOptions => ({ parent, provider, dependsOn });
  const labels = stackLabels(stack, "control-plane");
  const meta = (n: string) => ({ name: n, namespace: ns, labels });

  const namespace = new k8s.core.v1.Namespace(`${name}-namespace`, { metadata: { name: ns, labels: stackLabels(stack, "namespace") } }, opts());
  scope({ provider, namespace, ...(settings.imageRegistry ? { imageRegistry: settings.imageRegistry } : {}) });
  const account = new k8s.core.v1.ServiceAccount(`${name}-account`, { metadata: meta(SERVER_NAMES.account) }, opts([namespace]));
  const role = new k8s.rbac.v1.Role(`${name}-role`, { metadata: meta(SERVER_NAMES.role), rules: SERVER_RBAC_RULES }, opts([namespace]));
  const binding = new k8s.rbac.v1.RoleBinding(
    `${name}-role-binding`,
    {
      metadata: meta(SERVER_NAMES.role),
      roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: role.metadata.name },
      subjects: [{ kind: "ServiceAccount", name: account.metadata.name, namespace: ns }],
    },
    opts([namespace]),
  );
  const state = new k8s.core.v1.PersistentVolumeClaim(
    `${name}-state`,
    {
      metadata: { ...meta(SERVER_NAMES.state), annotations: { "pulumi.com/skipAwait": "true" } },
      spec: { accessModes: ["ReadWriteOnce"], resources: { requests: { storage: "1Gi" } }, ...(settings.storageClass ? { storageClassName: settings.storageClass } : {}) },
    },
    opts([namespace]),
  );
  const token = new k8s.core.v1.Secret(`${name}-token-secret`, { metadata: meta(SERVER_NAMES.token), stringData: { token: ctx.managementToken } }, opts([namespace]));

  // Batch: driver.py for the worker pods, and what the server needs to start them (docs/kubernetes.md).
  let batchEnv: { name: string; value: pulumi.Input<string> }[] = [];
  const batchDeps: pulumi.Resource[] = [];
  if (ctx.batch) {
    if ((ctx.batch.inputRoots ?? []).length > 0) throw new pulumi.ResourceError(`modelplane:batchInputRoots ${JSON.stringify(ctx.batch.inputRoots)}: host folders cannot be given to pods on the kubernetes target; register the input as a data asset or give an http(s) URL, and \`pulumi config rm modelplane:batchInputRoots\``, parent);
    const driver = new k8s.core.v1.ConfigMap(`${name}-batch-driver`, { metadata: meta(SERVER_NAMES.batchDriver), data: { "driver.py": readFileSync(path.join(BATCH_DRIVER_DIR, "driver.py"), "utf8") } }, opts([namespace]));
    batchDeps.push(driver);
    const prefix = ctx.stackId.apply((id) => `${settings.imageRegistry ? `${settings.imageRegistry.replace(/\/+$/, "")}/` : ""}${objectPrefix(stack, id)}/`);
    batchEnv = [
      { name: "MODELPLANE_IMAGE_PREFIX", value: prefix },
      // Workers reach the server in the cluster, whatever URL the Pulumi program uses.
      { name: "MODELPLANE_WORKER_SERVER_URL", value: `http://${SERVER_NAMES.management}.${ns}.svc.cluster.local:${MANAGEMENT_PORT}` },
      { name: "MODELPLANE_BATCH_DRIVER_CONFIGMAP", value: SERVER_NAMES.batchDriver },
      { name: "MODELPLANE_STATE_CLAIM", value: SERVER_NAMES.state },
    ];
  }
  const image = serverImage(name, ctx);
  const ref = podImage(`${name}-image`, image.imageRef, settings.imageRegistry, parent);
  const svcHost = (svc: string) => `${svc}.${ns}.svc.cluster.local`;
  const gatewayUrl = settings.gatewayUrl ?? `http://${svcHost(SERVER_NAMES.gateway)}`;
  const selector = { [`${"app.kubernetes.io/name"}`]: "modelplane-server" };
  const server = new k8s.apps.v1.Deployment(
    `${name}-server`,
    {
      metadata: meta(SERVER_NAMES.server),
      spec: {
        replicas: 1,
        // One writer of the SQLite state: the old pod stops before the new one starts.
        strategy: { type: "Recreate" },
        selector: { matchLabels: selector },
        template: {
          metadata: { labels: { ...labels, ...selector } },
          spec: {
            serviceAccountName: account.metadata.name,
            securityContext: { runAsUser: 10001, runAsGroup: 10001, fsGroup: 10001 },
            containers: [
              {
                name: "server",
                image: ref,
                imagePullPolicy: "IfNotPresent",
                args: [...SERVER_ARGS, ...serverLimitFlags(ctx.serverLimits)],
                env: [
                  { name: "MODELPLANE_MANAGEMENT_TOKEN", valueFrom: { secretKeyRef: { name: token.metadata.name, key: "token" } } },
                  { name: "MODELPLANE_STACK", value: stack },
                  { name: "MODELPLANE_PUBLIC_URL", value: gatewayUrl },
                  { name: "MODELPLANE_STACK_ID", value: ctx.stackId },
                  { name: "MODELPLANE_TARGET", value: "kubernetes" },
                  { name: "MODELPLANE_NAMESPACE", value: ns },
                  ...batchEnv,
                ],
                ports: [
                  { name: "gateway", containerPort: GATEWAY_PORT },
                  { name: "management", containerPort: MANAGEMENT_PORT },
                ],
                readinessProbe: { httpGet: { path: "/healthz", port: MANAGEMENT_PORT }, periodSeconds: 2, failureThreshold: 3 },
                livenessProbe: { httpGet: { path: "/healthz", port: MANAGEMENT_PORT }, periodSeconds: 10, failureThreshold: 6 },
                resources: { requests: { cpu: "250m", memory: "256Mi" }, limits: { memory: "1Gi" } },
                volumeMounts: [{ name: "state", mountPath: "/data" }],
              },
            ],
            volumes: [{ name: "state", persistentVolumeClaim: { claimName: state.metadata.name } }],
          },
        },
      },
    },
    opts([binding, ...batchDeps]),
  );
  const service = (part: string, svcName: string, port: number, targetPort: number, type: string, after: pulumi.Resource[]) =>
    new k8s.core.v1.Service(`${name}-${part}`, { metadata: meta(svcName), spec: { type, selector, ports: [{ name: part, port, targetPort }] } }, opts(after));
  service("gateway", SERVER_NAMES.gateway, 80, GATEWAY_PORT, settings.gatewayServiceType, [namespace]);
  // What the management API's callers wait for: the server rolled out and its Service in place.
  const management = service("management", SERVER_NAMES.management, MANAGEMENT_PORT, MANAGEMENT_PORT, settings.managementServiceType, [server]);
  // By default the management Service's ClusterIP: it routes from pods and, through kube-proxy,
  // from a node's own processes, with no cluster DNS needed (a laptop sets modelplane:managementUrl).
  const managementUrl = settings.managementUrl !== undefined ? pulumi.output(settings.managementUrl) : pulumi.interpolate`http://${management.spec.clusterIP}:${MANAGEMENT_PORT}`;
  return { gatewayUrl: pulumi.output(gatewayUrl), managementUrl, server: management, scope: namespace.metadata.name };
}
