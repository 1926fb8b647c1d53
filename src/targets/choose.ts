// `modelplane:target`: which engine a stack runs on, checked before anything is created.
import { dockerTarget } from "./docker";
import { kubernetesPreflight, kubernetesSettings, kubernetesTarget, loadKubeconfig } from "./kubernetes";
import type { Target, TargetKind } from "./target";

export const TARGETS: readonly TargetKind[] = ["docker", "kubernetes"];

export type ConfigGetter = (key: string) => string | undefined;

/** The stack's target, or the problems (what, where, how to fix) that keep it from being used. */
export async function stackTarget(get: ConfigGetter, stack: string, env: NodeJS.ProcessEnv = process.env): Promise<{ ok: true; target: Target } | { ok: false; problems: string[] }> {
  const kind = get("target") ?? "docker";
  if (kind === "docker") return { ok: true, target: dockerTarget };
  if (kind !== "kubernetes") return { ok: false, problems: [`modelplane:target is "${kind}": give one of ${TARGETS.join(", ")} (\`pulumi config set modelplane:target docker\`)`] };
  const s = kubernetesSettings(get, stack, env);
  if (!s.ok) return s;
  const kc = loadKubeconfig(s.settings.kubeconfig, s.settings.context);
  if (!kc.ok) return { ok: false, problems: [kc.problem] };
  const problems = await kubernetesPreflight(kc.connection, s.settings.namespace, `kubeconfig ${s.settings.kubeconfig}`);
  if (problems.length) return { ok: false, problems };
  return { ok: true, target: kubernetesTarget(s.settings, kc.text!) };
}
