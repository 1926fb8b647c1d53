import * as pulumi from "@pulumi/pulumi";
import * as path from "node:path";
import type { OnlineDeploymentSpec } from "../src/spec";
import { planServer } from "../src/servers/plan";
import { GPU_LABEL, planGpus, type GpuMode } from "../src/servers/gpu";
import { tritonImageProblems } from "../src/servers/triton-config";
import { tritonModels } from "../src/servers/triton";
import { describeTritonChoice, officialTritonRun, resolveTritonImage, type TritonImageChoice } from "../src/servers/triton-image";
import { DockerContainer, reachableName } from "../src/providers/docker/container";
import { LABELS, stackLabels } from "../src/providers/docker/labels";
import { stackObjectNames } from "../src/providers/docker/names";
import { livenessHealthcheck, probeBind, probeBinaryPath } from "../src/providers/docker/probe";
import { fingerprint, StackImage } from "../src/providers/images/image";
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

/** `auto` resolved inside a component (when the program passed no choice), logged once per run. */
let autoTriton: pulumi.Output<TritonImageChoice> | undefined;
function autoTritonChoice(): pulumi.Output<TritonImageChoice> {
  autoTriton ??= pulumi.output(resolveTritonImage(undefined, undefined, (l) => pulumi.log.info(l))).apply((r) => {
    if (!r.ok) throw new Error(r.problem); // not reached: auto always has a choice
    pulumi.log.info(describeTritonChoice(r.choice));
    return r.choice;
  });
  return autoTriton;
}

/**
 * One online deployment on Docker: the inference server image its plan names (custom scoring
 * script, MLflow, Triton or the user's own container; src/servers), `instance_count` containers
 * with code and model mounted read-only and the liveness probe as their Docker health check, and
 * its registration with the control plane, which waits for readiness.
 */
export class OnlineDeployment extends pulumi.ComponentResource {
  readonly deploymentName: string;
  readonly provisioningState: pulumi.Output<string>;
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
    const stack = cp.stack;
    const baseImage = args.baseImage ?? "modelplane/base:bookworm";
    const gpu = planGpus(spec, args.gpus ?? "off");
    let probe: string;
    try {
      probe = probeBinaryPath();
    } catch (err) {
      throw new pulumi.ResourceError(`deployment "${spec.name}": ${(err as Error).message}`, this);
    }
    // Liveness (Kubernetes/Azure semantics): a Docker health check runs the static probe in each
    // instance; after failure_threshold consecutive failures it stops PID 1 and the restart policy
    // (unless-stopped) restarts the container. Readiness stays with the management server.
    const healthcheck = livenessHealthcheck(spec.liveness_probe, plan.routes.liveness, plan.port);
    for (const w of gpu.warnings) pulumi.log.warn(w, this);

    let imageSource: pulumi.Input<string | undefined> = plan.image.source;
    const built = fingerprint(plan.image.fingerprintPaths, [baseImage, ...(plan.image.extra ?? [])]);
    let imageFingerprint: pulumi.Input<string> = built;
    let run: pulumi.Output<{ command?: string[]; user?: string; init?: boolean }> = pulumi.output({});
    if (plan.image.kind === "triton-server") {
      // An official-layout image is used as it is (tagged into the stack's repository like a
      // build); its identity is the reference plus the image ID the engine has for it.
      const repository = plan.env.MODEL_REPOSITORY ?? plan.binds[0]!.target;
      const hostRepository = plan.binds[0]!.source;
      const official = pulumi.output(args.tritonImage ?? autoTritonChoice()).apply((c) => {
        // A model whose backend the chosen image lacks fails here, explained, not at readiness.
        const problems = tritonImageProblems(c.layout, hostRepository, tritonModels(hostRepository), spec.name);
        if (problems.length > 0) throw new pulumi.ResourceError(problems.join("\n"), this, true);
        return c.layout === "official" ? c : undefined;
      });
      imageSource = official.apply((c) => (c ? `image:${c.image}` : undefined));
      imageFingerprint = official.apply((c) => (c ? fingerprint([], ["triton-official", c.image, c.imageId]) : built));
      run = official.apply((c) => (c ? officialTritonRun(repository, plan.port) : {}));
    } else if (plan.image.kind === "byoc") {
      // A user's image may not have an init as PID 1: the kernel drops the liveness probe's SIGTERM
      // to a PID 1 without a handler, so the engine's init (tini) runs it and forwards signals.
      run = pulumi.output({ init: true });
    }
    const image = new StackImage(
      `${name}-image`,
      {
        kind: plan.image.kind,
        baseImage,
        condaFile: plan.image.condaFile,
        source: imageSource,
        fingerprint: imageFingerprint,
        // One tag per deployment: deleting one deployment never untags another's image.
        stackRepository: cp.stackId.apply((id) => stackObjectNames(stack, id).imageRepository(`${plan.image.kind}-${name.toLowerCase()}`)),
      },
      { parent: this },
    );

    // Code and model are part of each container's identity: a change replaces the instances
    // (create-before-delete), the registration then swaps to the new ones.
    const contentHash = fingerprint(plan.contentPaths).slice(0, 12);
    const containers: DockerContainer[] = [];
    for (let i = 0; i < spec.instance_count; i++) {
      containers.push(
        new DockerContainer(
          `${name}-${i}`,
          {
            name: pulumi.all([cp.stackId, args.endpointName]).apply(([id, e]) => stackObjectNames(stack, id).instance(e, spec.name, i)),
            image: image.imageRef,
            env: { ...spec.environment_variables, ...plan.env, MODELPLANE_CONTENT_HASH: contentHash },
            labels: pulumi.all([cp.stackId, args.endpointName]).apply(([id, e]) =>
              stackLabels(stack, { [LABELS.role]: "instance", [LABELS.endpoint]: e, [LABELS.deployment]: spec.name, [GPU_LABEL]: gpu.label }, id),
            ),
            binds: [...plan.binds, probeBind(probe)],
            network: cp.networkName,
            command: run.apply((r) => r.command),
            user: run.apply((r) => r.user),
            init: run.apply((r) => r.init),
            deviceRequests: gpu.deviceRequests,
            healthcheck,
          },
          { parent: this },
        ),
      );
    }

    const rs = spec.request_settings;
    this.registration = new DeploymentResource(
      `${name}-registration`,
      {
        managementUrl: cp.managementUrl,
        managementToken: cp.managementToken,
        endpointName: args.endpointName,
        name: spec.name,
        instances: pulumi.all(containers.map(reachableName)).apply((names) => names.map((n, i) => ({ id: `${spec.name}-${i}`, url: `http://${n}:${plan.port}` }))),
        routes: plan.routes,
        request_settings: { request_timeout_ms: rs.request_timeout_ms, max_concurrent_requests_per_instance: rs.max_concurrent_requests_per_instance, max_queue_wait_ms: rs.max_queue_wait_ms },
        readiness_probe: spec.readiness_probe,
        liveness_probe: spec.liveness_probe,
        model_server: plan.modelServer,
        spec: { model: spec.model?.name ?? path.basename(spec.model?.path ?? ""), instance_type: spec.instance_type, instance_count: spec.instance_count, tags: spec.tags },
        containerNames: pulumi.all(containers.map((c) => c.containerName)),
        ...(cp.keepFailedInstances ? { keepFailedInstances: true } : {}),
      },
      { parent: this, dependsOn: [cp.server, ...containers] },
    );

    this.deploymentName = spec.name;
    this.provisioningState = this.registration.provisioningState;
    this.containerNames = pulumi.all(containers.map((c) => c.containerName));
    this.registerOutputs({ provisioningState: this.provisioningState, containerNames: this.containerNames });
  }
}
