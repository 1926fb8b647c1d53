// The image an online deployment runs: what its server plan names (custom scoring script, MLflow,
// Triton or the user's own container), built by the local Docker engine for every target.
import * as pulumi from "@pulumi/pulumi";
import { stackObjectNames } from "../providers/docker/names";
import { fingerprint, StackImage } from "../providers/images/image";
import { tritonImageProblems } from "../servers/triton-config";
import { tritonModels } from "../servers/triton";
import { describeTritonChoice, officialTritonRun, resolveTritonImage, type TritonImageChoice } from "../servers/triton-image";
import type { OnlineInstancesContext } from "./target";

/** How an instance runs the image, beyond its CMD. */
export interface InstanceRun {
  command?: string[];
  user?: string;
  init?: boolean;
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

export function deploymentImage(ctx: OnlineInstancesContext): { image: StackImage; run: pulumi.Output<InstanceRun> } {
  const { name, plan, spec, baseImage } = ctx;
  const stack = ctx.controlPlane.stack;
  let imageSource: pulumi.Input<string | undefined> = plan.image.source;
  const built = fingerprint(plan.image.fingerprintPaths, [baseImage, ...(plan.image.extra ?? [])]);
  let imageFingerprint: pulumi.Input<string> = built;
  let run: pulumi.Output<InstanceRun> = pulumi.output({});
  if (plan.image.kind === "triton-server") {
    // An official-layout image is used as it is (tagged into the stack's repository like a
    // build); its identity is the reference plus the image ID the engine has for it.
    const repository = plan.env.MODEL_REPOSITORY ?? plan.binds[0]!.target;
    const hostRepository = plan.binds[0]!.source;
    const official = pulumi.output(ctx.tritonImage ?? autoTritonChoice()).apply((c) => {
      // A model whose backend the chosen image lacks fails here, explained, not at readiness.
      const problems = tritonImageProblems(c.layout, hostRepository, tritonModels(hostRepository), spec.name);
      if (problems.length > 0) throw new pulumi.ResourceError(problems.join("\n"), ctx.parent, true);
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
      stackRepository: ctx.controlPlane.stackId.apply((id) => stackObjectNames(stack, id).imageRepository(`${plan.image.kind}-${name.toLowerCase()}`)),
    },
    { parent: ctx.parent },
  );
  return { image, run };
}
