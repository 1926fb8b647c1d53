import type { Target } from "../target";
import { dockerControlPlane } from "./control-plane";
import { dockerOnlineInstances } from "./online-instances";

/** The local Docker engine (the default target). */
export const dockerTarget: Target = {
  kind: "docker",
  controlPlane: dockerControlPlane,
  onlineInstances: dockerOnlineInstances,
};
