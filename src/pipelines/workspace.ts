// How a pipeline reaches a stack: an Automation API stack over the project at the repository root
// (its Pulumi.yaml and stackConfigDir), with the environment scripts/env.sh sets (local file
// backend, passphrase, offline settings) and the pinned Pulumi CLI.
import { existsSync } from "node:fs";
import path from "node:path";
import { LocalWorkspace, PulumiCommand, type Stack } from "@pulumi/pulumi/automation";
import type { CommandIo } from "../cli/commands/access";
import { REPO_ROOT, toolchainEnv } from "../cli/commands/toolchain-env";

/** What every pipeline function takes besides its own arguments. */
export interface PipelineOptions {
  /** The modelplane checkout (Pulumi.yaml, stacks/). @default the checkout this module is in */
  root?: string;
  /** The environment the Pulumi CLI and the gateway calls see (backend, passphrase). @default process.env */
  env?: NodeJS.ProcessEnv;
  /** Progress: each line of output as it comes (Pulumi's, verification results, promotion summary). */
  onOutput?: (line: string) => void;
}

/** A step of a pipeline that did not succeed; the message says what failed and how to fix it. */
export class PipelineError extends Error {
  constructor(
    message: string,
    /** The output lines of the step, for the log. */
    readonly output: string[] = [],
  ) {
    super(message);
    this.name = "PipelineError";
  }
}

/** The environment for the CLI: `env` with the env.sh variables filled in (values in `env` win). */
export function pipelineEnv(opts: PipelineOptions = {}): Record<string, string> {
  const env = opts.env ?? process.env;
  const root = opts.root ?? REPO_ROOT;
  const vars: Record<string, string> = {};
  for (const [k, v] of Object.entries(env)) if (v !== undefined) vars[k] = v;
  return { ...vars, ...toolchainEnv(env, root).vars };
}

/** Splits streamed text into whole lines for `onOutput` (the last partial line waits for `flush`). */
export function lineSplitter(onLine: (line: string) => void): { push: (text: string) => void; flush: () => void } {
  let rest = "";
  return {
    push: (text) => {
      const parts = (rest + text).split(/\r?\n/);
      rest = parts.pop() ?? "";
      for (const p of parts) onLine(p);
    },
    flush: () => {
      if (rest !== "") onLine(rest);
      rest = "";
    },
  };
}

/** The existing stack `stack` of the project at `root`, through the Automation API. */
export async function selectStack(stack: string, opts: PipelineOptions = {}): Promise<Stack> {
  const root = opts.root ?? REPO_ROOT;
  const envVars = pipelineEnv(opts);
  const bin = envVars.MODELPLANE_PULUMI_BIN;
  const pulumiCommand = bin && existsSync(path.join(bin, "pulumi")) ? await PulumiCommand.get({ root: path.dirname(bin), skipVersionCheck: true }) : undefined;
  try {
    return await LocalWorkspace.selectStack({ stackName: stack, workDir: root }, { envVars, pulumiCommand });
  } catch (err) {
    throw new PipelineError(`stack "${stack}" cannot be selected in ${root} (${firstLine(err)}): create it with \`modelplane stack init ${stack}\` (or \`pulumi stack init ${stack}\`), and check PULUMI_BACKEND_URL`);
  }
}

/** The CommandIo the CLI's commands take, writing to `onOutput` and reading outputs through `stack`. */
export function pipelineIo(opts: PipelineOptions, lines: string[], outputs: (stack: string) => Promise<Record<string, unknown>>): CommandIo {
  const emit = (l: string) => {
    lines.push(l);
    opts.onOutput?.(l);
  };
  const split = lineSplitter(emit);
  return { out: emit, err: emit, write: (t) => split.push(t), env: pipelineEnv(opts), stackOutputs: outputs };
}

/** A stack's outputs as plain values (secrets shown), as `pulumi stack output --json --show-secrets`. */
export async function stackOutputs(stack: string, opts: PipelineOptions = {}): Promise<Record<string, unknown>> {
  const s = await selectStack(stack, opts);
  const out = await s.outputs();
  return Object.fromEntries(Object.entries(out).map(([k, v]) => [k, v.value as unknown]));
}

export function firstLine(err: unknown): string {
  const m = err instanceof Error ? err.message : String(err);
  return m.trim().split("\n").find((l) => l.trim() !== "")?.trim().slice(0, 300) ?? "unknown error";
}
