// A batch deployment's workers on Kubernetes: its code and model as one immutable ConfigMap (the
// server mounts it in each worker pod where Docker bind-mounts the host paths), its image pushed
// when the stack has a registry. The pods themselves are the server's: an Indexed Job per job.
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import type { BatchWorkerContent, BatchWorkerContext } from "../target";
import { deploymentContent } from "./content";
import { podImage, type KubernetesScope } from "./control-plane";
import { dnsLabel, K8S_LABELS, stackLabels } from "./names";

export function kubernetesBatchWorkers(ctx: BatchWorkerContext, scope: KubernetesScope): BatchWorkerContent {
  const { name, parent } = ctx;
  const content = deploymentContent(ctx.deployment, ctx.binds.map((b) => ({ ...b, readOnly: true })));
  if ("problem" in content) throw new pulumi.ResourceError(content.problem, parent);
  const labels = stackLabels(ctx.stack, "batch-deployment", { [K8S_LABELS.deployment]: dnsLabel(ctx.deployment) });
  // Auto-named and immutable: new code or model is a new ConfigMap, and jobs started after the update mount it.
  const configMap = new k8s.core.v1.ConfigMap(`${name}-content`, { metadata: { namespace: scope.namespace.metadata.name, labels }, immutable: true, binaryData: content.binaryData }, { parent, provider: scope.provider, dependsOn: [scope.namespace] });
  return {
    image: podImage(`${name}-image`, ctx.imageRef, scope.imageRegistry, parent),
    binds: [],
    podVolumes: configMap.metadata.name.apply((cm) => content.volumes.map((v) => ({ config_map: cm, mount_path: v.mountPath, ...(v.subPath ? { sub_path: v.subPath } : {}), items: v.items }))),
    dependsOn: [configMap],
  };
}
