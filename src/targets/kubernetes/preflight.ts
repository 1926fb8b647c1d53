// Before anything is created: the API server answers with these credentials, and they may create
// what the stack needs in its namespace. Each failure says what and how to fix it.
import { kubeCall as call, type KubeAnswer as Answer } from "./api-call";
import type { KubeConnection } from "./kubeconfig";

/** What the stack creates in its namespace: [group, resource] pairs. */
export const NAMESPACED_NEEDS: readonly [string, string][] = [
  ["", "serviceaccounts"],
  ["", "services"],
  ["", "secrets"],
  ["", "configmaps"],
  ["", "persistentvolumeclaims"],
  ["apps", "deployments"],
  ["autoscaling", "horizontalpodautoscalers"],
  ["rbac.authorization.k8s.io", "roles"],
  ["rbac.authorization.k8s.io", "rolebindings"],
];

async function allowed(c: KubeConnection, namespace: string | undefined, group: string, resource: string, verb: string): Promise<boolean> {
  const review = {
    apiVersion: "authorization.k8s.io/v1",
    kind: "SelfSubjectAccessReview",
    spec: { resourceAttributes: { ...(namespace ? { namespace } : {}), group, resource, verb } },
  };
  const a = await call(c, "POST", "apis/authorization.k8s.io/v1/selfsubjectaccessreviews", review);
  if (a.status !== 201 && a.status !== 200) throw new Error(`the access review answered HTTP ${a.status}: ${a.body.slice(0, 200)}`);
  return (JSON.parse(a.body) as { status?: { allowed?: boolean } }).status?.allowed === true;
}

/** Problems that would make `up` fail half-way, found with read-only calls; [] when the cluster is usable. */
export async function kubernetesPreflight(c: KubeConnection, namespace: string, where: string): Promise<string[]> {
  let version: Answer;
  try {
    version = await call(c, "GET", "version");
  } catch (err) {
    return [`the API server ${c.server} of context "${c.context}" (${where}) cannot be reached: ${(err as Error).message}. Start the cluster (for the local one: bash scripts/kubernetes/cluster.sh start), or point modelplane:kubeconfig / modelplane:kubeContext at a reachable one`];
  }
  if (version.status === 401) return [`the API server ${c.server} refused the credentials of context "${c.context}" (${where}) with HTTP 401: renew them (a new kubeconfig from your cluster's tooling)`];
  if (version.status !== 200) return [`the API server ${c.server} of context "${c.context}" answered GET /version with HTTP ${version.status}: check that it is a Kubernetes API server`];
  const ns = await call(c, "GET", `api/v1/namespaces/${namespace}`);
  const problems: string[] = [];
  const denied: string[] = [];
  // 403: these credentials may not read namespaces; the reviews below still tell what they may do in it.
  if (ns.status === 404) {
    if (!(await allowed(c, undefined, "", "namespaces", "create"))) {
      return [`namespace "${namespace}" does not exist and context "${c.context}" may not create namespaces: ask a cluster admin to create it and grant you rights in it, or set modelplane:namespace to a namespace you own`];
    }
    return [];
  }
  for (const [group, resource] of NAMESPACED_NEEDS) {
    for (const verb of ["create", "patch", "delete"]) if (!(await allowed(c, namespace, group, resource, verb))) denied.push(`${verb} ${group ? `${group}/` : ""}${resource}`);
  }
  if (denied.length) problems.push(`context "${c.context}" may not ${denied.join(", ")} in namespace "${namespace}": grant them (a RoleBinding to the "admin" ClusterRole in that namespace does), or set modelplane:namespace to one where you have them`);
  return problems;
}
