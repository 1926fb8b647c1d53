import type { Target } from "../target";
import { dockerControlPlane } from "./control-plane";
import { dockerOnlineInstances } from "./online-instances";

/** The local Docker engine (the default target). */
export const dockerTarget: Target = {
  kind: "docker",
  controlPlane: dockerControlPlane,
  onlineInstances: dockerOnlineInstances,
  // The server bind-mounts the host paths into each worker container and runs the local image.
  batchWorkers: (ctx) => ({ image: ctx.imageRef, binds: ctx.binds, dependsOn: [] }),
};
