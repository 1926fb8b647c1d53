// `preview` and `up` of one stack through the Automation API, with its output as progress lines.
import type { OpMap, OutputMap, UpdateSummary } from "@pulumi/pulumi/automation";
import { firstLine, lineSplitter, PipelineError, selectStack, type PipelineOptions } from "./workspace";

export interface PreviewResult {
  stack: string;
  /** Resource counts by operation (create, update, replace, delete, same). */
  changes: OpMap;
  /** The preview's text, as `pulumi preview --diff` prints it. */
  text: string;
}

export interface UpResult {
  stack: string;
  /** The stack's outputs after the update (secrets as plain values). */
  outputs: Record<string, unknown>;
  summary: UpdateSummary;
}

async function collecting<T>(what: string, stack: string, opts: PipelineOptions, run: (onOutput: (t: string) => void) => Promise<T>): Promise<{ value: T; lines: string[] }> {
  const lines: string[] = [];
  const split = lineSplitter((l) => {
    lines.push(l);
    opts.onOutput?.(l);
  });
  try {
    const value = await run((t) => split.push(t));
    split.flush();
    return { value, lines };
  } catch (err) {
    split.flush();
    const tail = lines.filter((l) => /error|failed/i.test(l)).slice(-5).join("; ");
    throw new PipelineError(`${what} of stack "${stack}" failed: ${tail || firstLine(err)}; fix what it names and run the pipeline again`, lines);
  }
}

/** `pulumi preview --diff` of `stack`: what an up would change. */
export async function preview(stack: string, opts: PipelineOptions = {}): Promise<PreviewResult> {
  const s = await selectStack(stack, opts);
  const { value, lines } = await collecting("the preview", stack, opts, (onOutput) => s.preview({ diff: true, color: "never", onOutput }));
  return { stack, changes: value.changeSummary, text: lines.join("\n") };
}

/** `pulumi up` of `stack`: deploys its specs; resolves with its outputs. */
export async function up(stack: string, opts: PipelineOptions = {}): Promise<UpResult> {
  const s = await selectStack(stack, opts);
  const { value } = await collecting("pulumi up", stack, opts, (onOutput) => s.up({ color: "never", onOutput }));
  return { stack, outputs: plainOutputs(value.outputs), summary: value.summary };
}

export function plainOutputs(out: OutputMap): Record<string, unknown> {
  return Object.fromEntries(Object.entries(out).map(([k, v]) => [k, v.value as unknown]));
}
