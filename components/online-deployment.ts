import * as pulumi from "@pulumi/pulumi";
import * as path from "node:path";
import type { OnlineDeploymentSpec } from "../src/spec";
import { planServer } from "../src/servers/plan";
import { planGpus, type GpuMode } from "../src/servers/gpu";
import type { TritonImageChoice } from "../src/servers/triton-image";
import { DeploymentResource } from "../src/providers/management/deployment";
import type { ControlPlane } from "./control-plane";

export interface OnlineDeploymentArgs {
  /** The stack's control plane (network, management API). */
  controlPlane: ControlPlane;
  /** Name of the endpoint this deployment belongs to (its EndpointResource's name). */
  endpointName: pulumi.Input<string>;
  /** The validated deployment spec (src/spec), with paths resolved to absolute ones. */
  spec: OnlineDeploymentSpec;
  /** Image the server images build FROM. @default "modelplane/base:bookworm" */
  baseImage?: string;
  /**
   * Which Triton image a triton_model deployment runs (`modelplane:tritonImage`, resolved once per
   * run by `resolveTritonImage`). @default resolved here as `auto`: the official image when the
   * engine has it or can pull it, else the local CPU build.
   */
  tritonImage?: pulumi.Input<TritonImageChoice>;
  /** `modelplane:gpus`: `passthrough` gives GPU-requesting deployments the host's NVIDIA GPUs. @default "off" */
  gpus?: GpuMode;
}

/**
 * One online deployment: the inference server image its plan names (custom scoring script, MLflow,
 * Triton or the user's own container; src/servers), `instance_count` instances on the stack's
 * target (src/targets) with code and model read-only and the liveness probe, and its registration
 * with the control plane, which waits for readiness.
 */
export class OnlineDeployment extends pulumi.ComponentResource {
  readonly deploymentName: string;
  readonly provisioningState: pulumi.Output<string>;
  /** Names of the engine objects that run the instances (containers on Docker). */
  readonly containerNames: pulumi.Output<string[]>;
  /** The registration resource: traffic depends on it. */
  readonly registration: DeploymentResource;

  constructor(name: string, args: OnlineDeploymentArgs, opts?: pulumi.ComponentResourceOptions) {
    super("modelplane:index:OnlineDeployment", name, {}, opts);
    const spec = args.spec;
    const planned = planServer(spec);
    if (!planned.ok) throw new pulumi.ResourceError(planned.problems.join("\n"), this);
    const plan = planned.plan;
    const cp = args.controlPlane;
    const gpu = planGpus(spec, args.gpus ?? "off");
    for (const w of gpu.warnings) pulumi.log.warn(w, this);
    const compute = cp.target.onlineInstances({
      name,
      parent: this,
      controlPlane: cp,
      endpointName: args.endpointName,
      spec,
      plan,
      gpu,
      baseImage: args.baseImage ?? "modelplane/base:bookworm",
      ...(args.tritonImage !== undefined ? { tritonImage: args.tritonImage } : {}),
    });

    const rs = spec.request_settings;
    this.registration = new DeploymentResource(
      `${name}-registration`,
      {
        managementUrl: cp.managementUrl,
        managementToken: cp.managementToken,
        endpointName: args.endpointName,
        name: spec.name,
        instances: compute.instances,
        routes: plan.routes,
        request_settings: { request_timeout_ms: rs.request_timeout_ms, max_concurrent_requests_per_instance: rs.max_concurrent_requests_per_instance, max_queue_wait_ms: rs.max_queue_wait_ms },
        readiness_probe: spec.readiness_probe,
        liveness_probe: spec.liveness_probe,
        model_server: plan.modelServer,
        spec: { model: spec.model?.name ?? path.basename(spec.model?.path ?? ""), instance_type: spec.instance_type, instance_count: spec.instance_count, tags: spec.tags, ...(spec.model?.version ? { model_version: spec.model.version } : {}), image: compute.image },
        // Docker: the containers whose logs explain a failed readiness. Kubernetes gates readiness itself.
        ...(compute.readinessOwner === "server" ? { containerNames: compute.objectNames } : { readiness_owner: "target" as const }),
        ...(cp.keepFailedInstances ? { keepFailedInstances: true } : {}),
      },
      { parent: this, dependsOn: [cp.server, ...compute.dependsOn] },
    );

    this.deploymentName = spec.name;
    this.provisioningState = this.registration.provisioningState;
    this.containerNames = compute.objectNames;
    this.registerOutputs({ provisioningState: this.provisioningState, containerNames: this.containerNames });
  }
}
