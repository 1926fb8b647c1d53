// `verify` and `promote` for pipelines: the CLI's own implementations (src/cli/commands/verify.ts
// over src/verify, promote.ts over src/promote), with outputs read through the Automation API and
// their lines sent to onOutput.
import type { CheckResult } from "../verify";
import { CliError } from "../cli/commands/access";
import { runPromote } from "../cli/commands/promote";
import { pulumiRunner } from "../cli/commands/pulumi-run";
import { REPO_ROOT } from "../cli/commands/toolchain-env";
import { failureSummary, verifyStack } from "../cli/commands/verify";
import { PipelineError, pipelineEnv, pipelineIo, stackOutputs, type PipelineOptions } from "./workspace";

export interface VerifyResult {
  stack: string;
  ok: boolean;
  results: CheckResult[];
  /** Names every failed request (undefined when all passed). */
  failure?: string;
}

/** Scores the stack's verification requests (`<spec folder>/verify/*.yml`); never throws for a failed request, only when nothing could be scored. */
export async function verify(stack: string, opts: PipelineOptions = {}): Promise<VerifyResult> {
  const lines: string[] = [];
  const io = pipelineIo(opts, lines, (s) => stackOutputs(s, opts));
  try {
    const results = await verifyStack(stack, {}, io, opts.root ?? REPO_ROOT);
    const failure = failureSummary(stack, results);
    return { stack, ok: failure === undefined, results, failure };
  } catch (err) {
    if (err instanceof CliError) throw new PipelineError(err.message, lines);
    throw err;
  }
}

export interface PromoteArgs {
  from: string;
  to: string;
  /** Only these deployments. @default every online deployment of `from` */
  deployments?: string[];
  /** The target endpoint's split, as `NAME=PCT` (deployments left out get 0). @default the target's own; new deployments 0 */
  traffic?: string[];
  /** Run the target's preview afterwards. @default true */
  preview?: boolean;
}

export interface PromoteResult {
  /** False when the target already ran what the source runs. */
  changed: boolean;
  /** Spec files created or changed in the target (as printed, relative to the working directory). */
  files: string[];
  /** Everything promote printed. */
  output: string[];
}

/** `modelplane promote`: gated on the source's live state and verification; writes the target's spec files. */
export async function promote(args: PromoteArgs, opts: PipelineOptions = {}): Promise<PromoteResult> {
  const root = opts.root ?? REPO_ROOT;
  const lines: string[] = [];
  const io = pipelineIo(opts, lines, (s) => stackOutputs(s, opts));
  const code = await runPromote({ from: args.from, to: args.to, deployment: args.deployments, traffic: args.traffic, preview: args.preview }, io, { root, pulumi: pulumiRunner(pipelineEnv(opts), root) });
  if (code !== 0) {
    const reason = lines.filter((l) => l.startsWith("modelplane:")).pop()?.replace(/^modelplane:\s*/, "") ?? lines.at(-1) ?? `exit ${code}`;
    throw new PipelineError(`promote ${args.from} -> ${args.to} refused: ${reason}`, lines);
  }
  const files = lines.flatMap((l) => /^ {2}(?:created|changed) (.+)$/.exec(l)?.[1] ?? []);
  return { changed: !lines.some((l) => l.startsWith("nothing to promote")), files, output: lines };
}
