// A stack image pushed to a registry, for targets whose nodes pull (Kubernetes with
// modelplane:imageRegistry). The remote reference carries the local tag, so new content is a new
// reference (replace) and an unchanged image is never pushed again.
import * as pulumi from "@pulumi/pulumi";
import execa from "execa";
import { lazyProvider } from "../lazy-provider";
import type { Inputs } from "../inputs";

export interface PushedImageInputs {
  /** The local `repository:tag` (a StackImage's imageRef). */
  localRef: string;
  /** Registry host and path, e.g. `registry.example.com:5000/team`. */
  registry: string;
}
export interface PushedImageOutputs extends PushedImageInputs {
  /** `<registry>/<repository>:<tag>`, what pods pull. */
  remoteRef: string;
}

export function remoteRefOf(i: PushedImageInputs): string {
  return `${i.registry.replace(/\/+$/, "")}/${i.localRef}`;
}

export const pushedImageProvider: pulumi.dynamic.ResourceProvider<PushedImageInputs, PushedImageOutputs> = {
  async diff(_id, olds, news) {
    const replaces = (["localRef", "registry"] as const).filter((f) => olds[f] !== news[f]);
    return { changes: replaces.length > 0, replaces };
  },
  async create(inputs) {
    const remoteRef = remoteRefOf(inputs);
    await execa("docker", ["tag", inputs.localRef, remoteRef]);
    const r = await execa("docker", ["push", remoteRef], { reject: false, all: true });
    if (r.exitCode !== 0) throw new Error(`docker push ${remoteRef} failed: ${String(r.all).split("\n").slice(-3).join(" ")}. Check that modelplane:imageRegistry is reachable and that \`docker login ${inputs.registry.split("/")[0]}\` was done`);
    return { id: remoteRef, outs: { ...inputs, remoteRef } };
  },
  async delete(id) {
    // The registry keeps the image (other stacks or rollbacks may use it); the local alias goes.
    await execa("docker", ["image", "rm", id], { reject: false });
  },
};

export class PushedImage extends pulumi.dynamic.Resource {
  declare readonly remoteRef: pulumi.Output<string>;
  constructor(name: string, args: Inputs<PushedImageInputs>, opts?: pulumi.CustomResourceOptions) {
    super(lazyProvider("src/providers/images/pushed-image.ts", "pushedImageProvider"), name, { ...args, remoteRef: undefined }, opts, "modelplane", "PushedImage");
  }
}
