// The modelplane server's image: built by the local Docker engine for every target (Kubernetes
// nodes get it from a registry or an import; docs/kubernetes.md).
import * as path from "node:path";
import { stackObjectNames } from "../providers/docker/names";
import { fingerprint, StackImage } from "../providers/images/image";
import type { ControlPlaneContext } from "./target";

/**
 * What the server image runs (its bundle's inputs outside src/server and src/spec listed one by
 * one): a change here means a new server image.
 */
export const SERVER_SOURCES = [
  "src/server",
  "src/spec",
  "src/images/build.ts",
  "templates/server",
  "package-lock.json",
  // What src/spec/target-support.ts reads of the server plans.
  "src/servers/custom.ts",
  "src/servers/gpu.ts",
  // Batch workers: the Docker client and labels, and the Kubernetes API client.
  "src/providers/docker/client.ts",
  "src/providers/docker/labels.ts",
  "src/targets/kubernetes/api-call.ts",
  "src/targets/kubernetes/in-cluster.ts",
  "src/targets/kubernetes/kubeconfig.ts",
  "src/targets/kubernetes/names.ts",
];
const ROOT = path.resolve(__dirname, "../..");

export function serverImage(name: string, ctx: ControlPlaneContext): StackImage {
  return new StackImage(
    `${name}-image`,
    {
      kind: "modelplane-server",
      baseImage: ctx.baseImage,
      fingerprint: fingerprint(SERVER_SOURCES.map((p) => path.join(ROOT, p)), [ctx.baseImage, process.version]),
      stackRepository: ctx.stackId.apply((id) => stackObjectNames(ctx.stack, id).imageRepository("server")),
    },
    { parent: ctx.parent },
  );
}
