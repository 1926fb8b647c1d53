import * as pulumi from "@pulumi/pulumi";
import { lazyProvider } from "../lazy-provider";
import { dockerClient, isNotFound } from "./client";
import { foreignObjectProblem } from "./labels";

export interface VolumeInputs {
  name: string;
  labels?: Record<string, string>;
}

/** A named volume (the control plane's state). Deleting it deletes the data: `pulumi destroy` only. */
export const volumeProvider: pulumi.dynamic.ResourceProvider<VolumeInputs, VolumeInputs> = {
  async diff(_id, olds, news) {
    const replaces = (["name", "labels"] as const).filter((f) => JSON.stringify(olds[f] ?? null) !== JSON.stringify(news[f] ?? null));
    return { changes: replaces.length > 0, replaces, deleteBeforeReplace: true };
  },
  async create(inputs) {
    const docker = dockerClient();
    // The engine's create returns an existing volume of that name as if new: look first, so another
    // stack's volume is never taken (its data would then be this stack's to delete).
    try {
      const existing = await docker.getVolume(inputs.name).inspect();
      const problem = foreignObjectProblem("volume", inputs.name, inputs.labels ?? {}, existing.Labels);
      if (problem) throw new Error(problem);
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
    const v = await docker.createVolume({ Name: inputs.name, Labels: inputs.labels ?? {} });
    return { id: v.name, outs: inputs };
  },
  async read(id, props) {
    try {
      await dockerClient().getVolume(id).inspect();
      return { id, props: props as VolumeInputs };
    } catch (err) {
      if (isNotFound(err)) return {};
      throw err;
    }
  },
  async delete(id, props) {
    try {
      const volume = dockerClient().getVolume(id);
      // Removed only when it carries this stack's identity: a name can be another stack's.
      if (foreignObjectProblem("volume", id, (props as VolumeInputs).labels ?? {}, (await volume.inspect()).Labels)) return;
      await volume.remove({ force: true });
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
  },
};

export class DockerVolume extends pulumi.dynamic.Resource {
  declare readonly name: pulumi.Output<string>;
  constructor(name: string, args: { name: pulumi.Input<string>; labels?: pulumi.Input<Record<string, string>> }, opts?: pulumi.CustomResourceOptions) {
    super(lazyProvider("src/providers/docker/volume.ts", "volumeProvider"), name, args, opts, "modelplane", "DockerVolume");
  }
}
