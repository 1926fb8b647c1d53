// `modelplane:*` stack settings of the kubernetes target, validated as a whole (field, value, fix).
import { homedir } from "node:os";
import * as path from "node:path";

export const SERVICE_TYPES = ["ClusterIP", "NodePort", "LoadBalancer"] as const;
export type ServiceType = (typeof SERVICE_TYPES)[number];

export interface KubernetesSettings {
  /** Path of the kubeconfig (`modelplane:kubeconfig`). @default $KUBECONFIG, else ~/.kube/config */
  kubeconfig: string;
  /** `modelplane:kubeContext`. @default the kubeconfig's current-context */
  context?: string;
  /** `modelplane:namespace`: every object of the stack lives in it. @default modelplane-<stack> */
  namespace: string;
  /**
   * `modelplane:imageRegistry`: images are pushed to `<registry>/<repository>:<tag>` and pods pull
   * them. @default none: pods use the locally built tags with imagePullPolicy IfNotPresent (the
   * images must be on the nodes already, e.g. imported into their containerd; docs/kubernetes.md)
   */
  imageRegistry?: string;
  /**
   * `modelplane:managementUrl`: how this program reaches the management API. @default the
   * management Service's ClusterIP (a program in the cluster, or on a node, through kube-proxy)
   */
  managementUrl?: string;
  /** `modelplane:gatewayUrl`: the scoring base URL reported to users. @default the gateway Service's cluster DNS name */
  gatewayUrl?: string;
  /** `modelplane:managementServiceType`. @default "ClusterIP" */
  managementServiceType: ServiceType;
  /** `modelplane:gatewayServiceType`. @default "ClusterIP" */
  gatewayServiceType: ServiceType;
  /** `modelplane:storageClass` of the server's state volume. @default the cluster's default class */
  storageClass?: string;
}

export type ConfigGetter = (key: string) => string | undefined;

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/** The settings, or every problem with them. */
export function kubernetesSettings(get: ConfigGetter, stack: string, env: NodeJS.ProcessEnv = process.env): { ok: true; settings: KubernetesSettings } | { ok: false; problems: string[] } {
  const problems: string[] = [];
  const kubeconfig = get("kubeconfig") ?? env.KUBECONFIG?.split(":")[0] ?? path.join(homedir(), ".kube", "config");
  const namespace = get("namespace") ?? `modelplane-${stack.toLowerCase().replace(/[^a-z0-9-]/g, "-")}`.slice(0, 63).replace(/-+$/, "");
  if (!DNS_LABEL.test(namespace) || namespace.length > 63) problems.push(`modelplane:namespace is ${JSON.stringify(namespace)}: a namespace is a DNS label (lowercase letters, digits and -, at most 63): \`pulumi config set modelplane:namespace modelplane-dev\``);
  const serviceType = (key: string): ServiceType => {
    const v = get(key) ?? "ClusterIP";
    if (!(SERVICE_TYPES as readonly string[]).includes(v)) {
      problems.push(`modelplane:${key} is ${JSON.stringify(v)}: give one of ${SERVICE_TYPES.join(", ")}`);
      return "ClusterIP";
    }
    return v as ServiceType;
  };
  const url = (key: string): string | undefined => {
    const v = get(key);
    if (v === undefined) return undefined;
    try {
      const u = new URL(v);
      if (u.protocol !== "http:" && u.protocol !== "https:") throw new Error("not http");
      return v.replace(/\/+$/, "");
    } catch {
      problems.push(`modelplane:${key} is ${JSON.stringify(v)}: give an http(s) URL, e.g. http://127.0.0.1:8081 from \`kubectl port-forward svc/modelplane-management 8081\``);
      return undefined;
    }
  };
  const registry = get("imageRegistry");
  if (registry !== undefined && !/^[a-z0-9.-]+(:\d+)?(\/[a-z0-9._-]+)*$/.test(registry)) problems.push(`modelplane:imageRegistry is ${JSON.stringify(registry)}: give a registry host and optional path, e.g. registry.example.com:5000/team`);
  const settings: KubernetesSettings = {
    kubeconfig: path.resolve(kubeconfig),
    namespace,
    managementServiceType: serviceType("managementServiceType"),
    gatewayServiceType: serviceType("gatewayServiceType"),
  };
  const context = get("kubeContext");
  if (context !== undefined) settings.context = context;
  if (registry !== undefined) settings.imageRegistry = registry;
  const m = url("managementUrl");
  if (m !== undefined) settings.managementUrl = m;
  const g = url("gatewayUrl");
  if (g !== undefined) settings.gatewayUrl = g;
  const sc = get("storageClass");
  if (sc !== undefined) settings.storageClass = sc;
  return problems.length ? { ok: false, problems } : { ok: true, settings };
}
