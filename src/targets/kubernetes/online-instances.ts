// An online deployment on Kubernetes: its image (pushed when a registry is set), its code and model
// as an immutable ConfigMap, a Deployment of `instance_count` replicas with the spec's probes and
// resources, a Service the gateway reaches it by, and an HPA for target_utilization scaling.
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { fingerprint } from "../../providers/images/image";
import type { ProbeSettings } from "../../spec/types";
import { deploymentImage } from "../deployment-image";
import type { OnlineInstances, OnlineInstancesContext } from "../target";
import { deploymentContent } from "./content";
import { podImage, type KubernetesScope } from "./control-plane";
import { instanceName, K8S_LABELS, stackLabels } from "./names";
import { podResources } from "./pod-resources";

function probe(p: ProbeSettings, route: string, port: number, liveness: boolean): k8s.types.input.core.v1.Probe {
  return {
    httpGet: { path: route, port },
    initialDelaySeconds: p.initial_delay,
    periodSeconds: p.period,
    timeoutSeconds: Math.max(1, Math.round(p.timeout)),
    // Kubernetes requires 1 for liveness.
    successThreshold: liveness ? 1 : p.success_threshold,
    failureThreshold: p.failure_threshold,
  };
}

/** scale_settings of type target_utilization (defaults already applied by src/spec), or undefined. */
export function autoscale(s: Record<string, unknown> | undefined): { min: number; max: number; targetPercent: number } | undefined {
  if (s?.type !== "target_utilization") return undefined;
  const n = (v: unknown, d: number) => (typeof v === "number" ? v : d);
  return { min: n(s.min_instances, 1), max: n(s.max_instances, 1), targetPercent: n(s.target_utilization_percentage, 70) };
}

export function kubernetesOnlineInstances(ctx: OnlineInstancesContext, scope: () => KubernetesScope): OnlineInstances {
  const { name, parent, spec, plan } = ctx;
  const { provider, namespace, imageRegistry } = scope();
  const stack = ctx.controlPlane.stack;
  const resources = podResources(spec);
  if ("problem" in resources) throw new pulumi.ResourceError(resources.problem, parent);
  const content = deploymentContent(spec.name, plan.binds);
  if ("problem" in content) throw new pulumi.ResourceError(content.problem, parent);
  const { image, run } = deploymentImage(ctx);
  const ref = podImage(`${name}-image`, image.imageRef, imageRegistry, parent);
  const contentHash = fingerprint(plan.contentPaths).slice(0, 12);
  const ns = namespace.metadata.name;
  const objectName = pulumi.output(ctx.endpointName).apply((e) => instanceName(e, spec.name));
  const selector = pulumi.output(ctx.endpointName).apply((e) => ({ [K8S_LABELS.endpoint]: e, [K8S_LABELS.deployment]: spec.name }));
  const labels = selector.apply((s) => stackLabels(stack, "online-deployment", s));
  const opts = (dependsOn: pulumi.Resource[] = []): pulumi.CustomResourceOptions => ({ parent, provider, dependsOn: [namespace, ...dependsOn] });

  // Auto-named and immutable: new code or model is a new ConfigMap, so the pod template changes and the Deployment rolls.
  const configMap = new k8s.core.v1.ConfigMap(`${name}-content`, { metadata: { namespace: ns, labels }, immutable: true, binaryData: content.binaryData }, opts());
  const scale = autoscale(spec.scale_settings);
  const env = { ...spec.environment_variables, ...plan.env, MODELPLANE_CONTENT_HASH: contentHash };
  const deployment = new k8s.apps.v1.Deployment(
    `${name}-instances`,
    {
      metadata: { name: objectName, namespace: ns, labels },
      spec: {
        // With an HPA the autoscaler owns the replica count; Pulumi sets it only at creation.
        replicas: scale ? scale.min : spec.instance_count,
        selector: { matchLabels: selector },
        strategy: { type: "RollingUpdate", rollingUpdate: { maxUnavailable: 0, maxSurge: 1 } },
        template: {
          metadata: { labels },
          spec: {
            containers: [
              {
                name: "inference-server",
                image: ref,
                imagePullPolicy: "IfNotPresent",
                // undefined: the image's own entrypoint (the API server drops the unset field).
                command: run.apply((r) => r.command) as pulumi.Output<string[]>,
                env: Object.entries(env).map(([k, v]) => ({ name: k, value: v })),
                ports: [{ name: "http", containerPort: plan.port }],
                readinessProbe: probe(spec.readiness_probe, plan.routes.readiness, plan.port, false),
                livenessProbe: probe(spec.liveness_probe, plan.routes.liveness, plan.port, true),
                resources,
                volumeMounts: content.volumes.map((v) => ({ name: v.name, mountPath: v.mountPath, readOnly: true, ...(v.subPath ? { subPath: v.subPath } : {}) })),
              },
            ],
            volumes: content.volumes.map((v) => ({ name: v.name, configMap: { name: configMap.metadata.name, items: v.items } })),
          },
        },
      },
    },
    { ...opts([configMap]), ...(scale ? { ignoreChanges: ["spec.replicas"] } : {}) },
  );
  const service = new k8s.core.v1.Service(
    `${name}-service`,
    { metadata: { name: objectName, namespace: ns, labels }, spec: { type: "ClusterIP", selector, ports: [{ name: "http", port: plan.port, targetPort: plan.port }] } },
    opts(),
  );
  const dependsOn: pulumi.Resource[] = [deployment, service];
  if (scale) {
    dependsOn.push(
      new k8s.autoscaling.v2.HorizontalPodAutoscaler(
        `${name}-autoscaler`,
        {
          metadata: { name: objectName, namespace: ns, labels },
          spec: {
            scaleTargetRef: { apiVersion: "apps/v1", kind: "Deployment", name: deployment.metadata.name },
            minReplicas: scale.min,
            maxReplicas: scale.max,
            metrics: [{ type: "Resource", resource: { name: "cpu", target: { type: "Utilization", averageUtilization: scale.targetPercent } } }],
          },
        },
        opts([deployment]),
      ),
    );
  }
  // The Service balances over the ready pods; the gateway sees it as instance_count instances
  // (its per-instance concurrency limit then scales with the replicas).
  const count = scale ? scale.max : spec.instance_count;
  // By the Service's ClusterIP, not its DNS name: no lookup per connection, and reachable through
  // kube-proxy from a node's own processes as well as from pods (a cluster without DNS too).
  const url = pulumi.interpolate`http://${service.spec.clusterIP}:${plan.port}`;
  return {
    instances: url.apply((u) => Array.from({ length: count }, (_, i) => ({ id: `${spec.name}-${i}`, url: u }))),
    objectNames: pulumi.all([deployment.metadata.name]),
    dependsOn,
    readinessOwner: "target",
    image: image.imageRef,
  };
}
