import * as pulumi from "@pulumi/pulumi";
import { randomBytes } from "node:crypto";
import { lazyProvider } from "../lazy-provider";
import { dockerClient } from "../docker/client";
import { LABELS, labelledStackId } from "../docker/labels";
import { objectPrefix } from "../docker/names";

export interface StackIdentityInputs {
  stack: string;
  /** The stack's management token (a secret): it proves which engine objects are this stack's. */
  token: string;
  /** `modelplane:stackId`: take this identity instead of a new one (a stack moved to a new backend). */
  requested?: string;
}
export interface StackIdentityOutputs extends StackIdentityInputs {
  /** 8 hex digits, or "" for a stack created before identities (its objects keep their old names). */
  stackId: string;
}

export const STACK_ID_RE = /^[0-9a-f]{8}$/;

/** A stack's objects on the engine, as the identity check sees them. */
export interface EngineObject {
  kind: "container" | "volume" | "network";
  name: string;
  labels: Record<string, string>;
  /** Containers: their environment (to read the server's management token). */
  env?: string[];
}

/** Pure: the error when `objects` (named with an identity's prefix) are not provably the stack's own. */
export function foreignObjectsProblem(stack: string, stackId: string, token: string, objects: EngineObject[]): string | undefined {
  if (objects.length === 0) return undefined;
  const server = objects.find((o) => o.kind === "container" && o.labels[LABELS.role] === "control-plane");
  if (server?.env?.includes(`MODELPLANE_MANAGEMENT_TOKEN=${token}`)) return undefined;
  const owner = objects[0]!.labels[LABELS.stack] ?? "?";
  return (
    `stack "${stack}" would take the engine objects of identity ${stackId || "(none)"}, which belong to another stack ("${owner}", another checkout or backend): ` +
    `${objects.map((o) => `${o.kind} ${o.name}`).join(", ")}. modelplane never adopts, changes or removes another stack's objects, so nothing was created. ` +
    `Fix: remove modelplane:stackId from this stack's config (\`pulumi config rm modelplane:stackId --stack ${stack}\`) so it gets its own identity, ` +
    `or run this stack from the backend that owns those objects.`
  );
}

/** Objects whose names carry `prefix` and whose labels say they are of `stack` with identity `stackId`. */
async function objectsOf(stack: string, stackId: string): Promise<EngineObject[]> {
  const docker = dockerClient();
  const prefix = objectPrefix(stack, stackId);
  const mine = (name: string, labels: Record<string, string> | null | undefined): boolean =>
    (name === prefix || name.startsWith(`${prefix}-`)) && labels?.[LABELS.stack] === stack && labelledStackId(labels) === stackId;
  const out: EngineObject[] = [];
  for (const c of await docker.listContainers({ all: true, filters: { label: [`${LABELS.stack}=${stack}`] } })) {
    const name = (c.Names[0] ?? "").replace(/^\//, "");
    if (!mine(name, c.Labels)) continue;
    const info = await docker.getContainer(c.Id).inspect();
    out.push({ kind: "container", name, labels: c.Labels, env: info.Config.Env ?? [] });
  }
  for (const v of (await docker.listVolumes({ filters: { label: [`${LABELS.stack}=${stack}`] } })).Volumes ?? []) {
    if (mine(v.Name, v.Labels)) out.push({ kind: "volume", name: v.Name, labels: v.Labels ?? {} });
  }
  for (const n of await docker.listNetworks({ filters: { label: [`${LABELS.stack}=${stack}`] } })) {
    if (mine(n.Name, n.Labels)) out.push({ kind: "network", name: n.Name, labels: n.Labels ?? {} });
  }
  return out;
}

/**
 * Chosen once, at the stack's first `up`, and kept in its state forever (diff never reports a
 * change): a requested identity (checked to be this stack's own), "" when the engine runs a
 * pre-identity server of this stack holding this stack's token (its objects keep their names), or
 * a new random one.
 */
export const stackIdentityProvider: pulumi.dynamic.ResourceProvider<StackIdentityInputs, StackIdentityOutputs> = {
  async check(_olds, news) {
    const failures: pulumi.dynamic.CheckFailure[] = [];
    if (news.requested !== undefined && news.requested !== "" && !STACK_ID_RE.test(news.requested)) {
      failures.push({ property: "requested", reason: `modelplane:stackId is "${news.requested}": an identity is 8 lowercase hex digits (as \`pulumi stack output stackId\` prints); remove the key to get a new one` });
    }
    return { inputs: news, failures };
  },
  async diff() {
    return { changes: false };
  },
  async create(inputs) {
    let stackId: string;
    if (inputs.requested) {
      const problem = foreignObjectsProblem(inputs.stack, inputs.requested, inputs.token, await objectsOf(inputs.stack, inputs.requested));
      if (problem) throw new Error(problem);
      stackId = inputs.requested;
    } else {
      const legacy = await objectsOf(inputs.stack, "");
      const legacyServer = legacy.find((o) => o.kind === "container" && o.labels[LABELS.role] === "control-plane");
      stackId = legacyServer && !foreignObjectsProblem(inputs.stack, "", inputs.token, legacy) ? "" : randomBytes(4).toString("hex");
    }
    return { id: `stack-${inputs.stack}-${stackId || "legacy"}`, outs: { ...inputs, stackId } };
  },
  async update(_id, olds) {
    return { outs: olds as StackIdentityOutputs };
  },
};

/** The stack's identity on the engine: every object name and label of the stack carries it. */
export class StackIdentity extends pulumi.dynamic.Resource {
  declare readonly stackId: pulumi.Output<string>;
  constructor(name: string, args: { stack: pulumi.Input<string>; token: pulumi.Input<string>; requested?: pulumi.Input<string> }, opts?: pulumi.CustomResourceOptions) {
    super(lazyProvider("src/providers/stack/identity.ts", "stackIdentityProvider"), name, { ...args, stackId: undefined }, { ...opts, additionalSecretOutputs: ["token"] }, "modelplane", "StackIdentity");
  }
}
