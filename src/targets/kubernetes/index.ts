import type { Target } from "../target";
import { kubernetesControlPlane, type KubernetesScope } from "./control-plane";
import { kubernetesBatchWorkers } from "./batch-workers";
import { kubernetesOnlineInstances } from "./online-instances";
import type { KubernetesSettings } from "./settings";

export { kubernetesSettings, type KubernetesSettings } from "./settings";
export { loadKubeconfig } from "./kubeconfig";
export { kubernetesPreflight } from "./preflight";

/** A Kubernetes cluster (`modelplane:target kubernetes`), reached with the given kubeconfig text. */
export function kubernetesTarget(settings: KubernetesSettings, kubeconfig: string): Target {
  let scope: KubernetesScope | undefined;
  const scoped = (): KubernetesScope => {
    if (!scope) throw new Error("the kubernetes target's control plane must be created before its deployments");
    return scope;
  };
  return {
    kind: "kubernetes",
    controlPlane: (ctx) => kubernetesControlPlane(ctx, settings, kubeconfig, (s) => (scope = s)),
    onlineInstances: (ctx) => kubernetesOnlineInstances(ctx, scoped),
    batchWorkers: (ctx) => kubernetesBatchWorkers(ctx, scoped()),
  };
}
