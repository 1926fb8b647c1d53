// An online deployment's instances on Docker: `instance_count` containers on the stack's network,
// code and model mounted read-only, the static liveness probe as their Docker health check.
import * as pulumi from "@pulumi/pulumi";
import { DockerContainer, reachableName } from "../../providers/docker/container";
import { LABELS, stackLabels } from "../../providers/docker/labels";
import { stackObjectNames } from "../../providers/docker/names";
import { livenessHealthcheck, probeBind, probeBinaryPath } from "../../providers/docker/probe";
import { fingerprint } from "../../providers/images/image";
import { GPU_LABEL } from "../../servers/gpu";
import { deploymentImage } from "../deployment-image";
import type { OnlineInstances, OnlineInstancesContext } from "../target";

export function dockerOnlineInstances(ctx: OnlineInstancesContext): OnlineInstances {
  const { name, parent, spec, plan, gpu } = ctx;
  const cp = ctx.controlPlane;
  const stack = cp.stack;
  let probe: string;
  try {
    probe = probeBinaryPath();
  } catch (err) {
    throw new pulumi.ResourceError(`deployment "${spec.name}": ${(err as Error).message}`, parent);
  }
  // Liveness (Kubernetes/Azure semantics): a Docker health check runs the static probe in each
  // instance; after failure_threshold consecutive failures it stops PID 1 and the restart policy
  // (unless-stopped) restarts the container. Readiness stays with the management server.
  const healthcheck = livenessHealthcheck(spec.liveness_probe, plan.routes.liveness, plan.port);
  const { image, run } = deploymentImage(ctx);

  // Code and model are part of each container's identity: a change replaces the instances
  // (create-before-delete), the registration then swaps to the new ones.
  const contentHash = fingerprint(plan.contentPaths).slice(0, 12);
  const containers: DockerContainer[] = [];
  for (let i = 0; i < spec.instance_count; i++) {
    containers.push(
      new DockerContainer(
        `${name}-${i}`,
        {
          name: pulumi.all([cp.stackId, ctx.endpointName]).apply(([id, e]) => stackObjectNames(stack, id).instance(e, spec.name, i)),
          image: image.imageRef,
          env: { ...spec.environment_variables, ...plan.env, MODELPLANE_CONTENT_HASH: contentHash },
          labels: pulumi.all([cp.stackId, ctx.endpointName]).apply(([id, e]) =>
            stackLabels(stack, { [LABELS.role]: "instance", [LABELS.endpoint]: e, [LABELS.deployment]: spec.name, [GPU_LABEL]: gpu.label }, id),
          ),
          binds: [...plan.binds, probeBind(probe)],
          network: cp.scope,
          command: run.apply((r) => r.command),
          user: run.apply((r) => r.user),
          init: run.apply((r) => r.init),
          deviceRequests: gpu.deviceRequests,
          healthcheck,
        },
        { parent },
      ),
    );
  }
  return {
    instances: pulumi.all(containers.map(reachableName)).apply((names) => names.map((n, i) => ({ id: `${spec.name}-${i}`, url: `http://${n}:${plan.port}` }))),
    objectNames: pulumi.all(containers.map((c) => c.containerName)),
    dependsOn: containers,
    readinessOwner: "server",
    image: image.imageRef,
  };
}
