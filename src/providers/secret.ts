import * as pulumi from "@pulumi/pulumi";
import { randomBytes } from "node:crypto";
import { lazyProvider } from "./lazy-provider";

/** A random secret made once at create and kept in the (encrypted) state: the management token. */
export const randomSecretProvider: pulumi.dynamic.ResourceProvider<{ bytes: number }, { bytes: number; value: string }> = {
  async diff(_id, olds, news) {
    return { changes: olds.bytes !== news.bytes, replaces: olds.bytes !== news.bytes ? ["bytes"] : [] };
  },
  async create(inputs) {
    const value = randomBytes(inputs.bytes).toString("base64url");
    return { id: `secret-${inputs.bytes}`, outs: { bytes: inputs.bytes, value } };
  },
};

export class RandomSecret extends pulumi.dynamic.Resource {
  declare readonly value: pulumi.Output<string>;
  constructor(name: string, args: { bytes: number }, opts?: pulumi.CustomResourceOptions) {
    super(lazyProvider("src/providers/secret.ts", "randomSecretProvider"), name, { ...args, value: undefined }, { ...opts, additionalSecretOutputs: ["value"] }, "modelplane", "RandomSecret");
  }
}
