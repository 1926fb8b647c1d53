import * as pulumi from "@pulumi/pulumi";
import { lazyProvider } from "../lazy-provider";
import { dockerClient, isNotFound } from "./client";
import { foreignObjectProblem } from "./labels";

export interface NetworkInputs {
  name: string;
  labels?: Record<string, string>;
}
export interface NetworkOutputs extends NetworkInputs {
  networkId: string;
}

/** A user-defined bridge network: containers on it find each other by name (Docker's DNS). */
export const networkProvider: pulumi.dynamic.ResourceProvider<NetworkInputs, NetworkOutputs> = {
  async diff(_id, olds, news) {
    const replaces = (["name", "labels"] as const).filter((f) => JSON.stringify(olds[f] ?? null) !== JSON.stringify(news[f] ?? null));
    return { changes: replaces.length > 0, replaces, deleteBeforeReplace: olds.name === news.name };
  },
  async create(inputs) {
    const docker = dockerClient();
    const existing = (await docker.listNetworks({ filters: { name: [inputs.name] } })).find((n) => n.Name === inputs.name);
    // Adopt a network of ours left by an interrupted run instead of failing on the name; never another stack's.
    const problem = existing && foreignObjectProblem("network", inputs.name, inputs.labels ?? {}, existing.Labels);
    if (problem) throw new Error(problem);
    const id = existing?.Id ?? (await docker.createNetwork({ Name: inputs.name, Driver: "bridge", Labels: inputs.labels ?? {}, CheckDuplicate: true })).id;
    return { id, outs: { ...inputs, networkId: id } };
  },
  async read(id, props) {
    try {
      await dockerClient().getNetwork(id).inspect();
      return { id, props: props as NetworkOutputs };
    } catch (err) {
      if (isNotFound(err)) return {};
      throw err;
    }
  },
  async delete(id, props) {
    try {
      const network = dockerClient().getNetwork(id);
      const info = (await network.inspect()) as { Name: string; Labels?: Record<string, string> };
      if (foreignObjectProblem("network", info.Name, (props as NetworkOutputs).labels ?? {}, info.Labels)) return;
      await network.remove();
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
  },
};

export class DockerNetwork extends pulumi.dynamic.Resource {
  declare readonly name: pulumi.Output<string>;
  declare readonly networkId: pulumi.Output<string>;
  constructor(name: string, args: { name: pulumi.Input<string>; labels?: pulumi.Input<Record<string, string>> }, opts?: pulumi.CustomResourceOptions) {
    super(lazyProvider("src/providers/docker/network.ts", "networkProvider"), name, { ...args, networkId: undefined }, opts, "modelplane", "DockerNetwork");
  }
}
