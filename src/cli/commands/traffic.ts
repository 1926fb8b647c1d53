// `modelplane traffic <endpoint> blue=90 green=10 [--mirror green=10] [--stack S] [--no-preview]`:
// Azure's `az ml online-endpoint update --traffic/--mirror-traffic`, as code: rewrites the
// endpoint's YAML in the stack's spec folder in place (only the values change), after the whole
// stack validates with the new split, then shows `pulumi preview --diff` of it.
import { readFileSync, renameSync, statSync, writeFileSync } from "node:fs";
import path from "node:path";
import type { Command } from "commander";
import { formatDiagnostic, loadSpecs } from "../../spec";
import { CliError, processIo, runCommand, type CommandIo } from "./access";
import { pulumiRunner, type PulumiRunner } from "./pulumi-run";
import { stackConfigValue, stackSpecDir } from "./stack-config";
import { formatSplit, parseSplit, rewriteSplit } from "./traffic-edit";
import { REPO_ROOT } from "./toolchain-env";

export interface TrafficOptions {
  mirror?: string[];
  stack?: string;
  /** commander's --no-preview. @default true */
  preview?: boolean;
}

export interface TrafficDeps {
  root: string;
  pulumi: PulumiRunner;
}

/** The stack to act on: --stack, else Pulumi's selected stack. */
async function stackName(opts: TrafficOptions, pulumi: PulumiRunner): Promise<string> {
  if (opts.stack) return opts.stack;
  const r = await pulumi(["stack", "--show-name"]);
  const name = r.stdout.trim();
  if (r.exitCode !== 0 || name === "") throw new CliError("no stack selected: pass --stack <stack> (e.g. --stack dev)");
  return name;
}

export async function runTraffic(endpoint: string, assignments: string[], opts: TrafficOptions, io: CommandIo, deps?: Partial<TrafficDeps>): Promise<number> {
  return runCommand(io, async () => {
    const root = deps?.root ?? REPO_ROOT;
    const pulumi = deps?.pulumi ?? pulumiRunner(io.env, root);
    const traffic = parseSplit(assignments, "traffic");
    if (Object.keys(traffic).length === 0) throw new CliError("no traffic given: name each deployment's percent, e.g. `modelplane traffic my-endpoint blue=90 green=10`");
    const mirror = opts.mirror === undefined ? undefined : opts.mirror.some((m) => m.trim() === "none") ? {} : parseSplit(opts.mirror, "--mirror");
    const stack = await stackName(opts, pulumi);
    const { dir, source } = stackSpecDir(stack, root);
    const set = (stackConfigValue(stack, root, "modelplane:placeholders") ?? {}) as Record<string, string>;

    const loaded = await loadSpecs([dir], { set });
    const endpoints = loaded.documents.filter((d) => d.kind === "online-endpoint");
    const doc = endpoints.find((d) => d.name === endpoint);
    if (doc === undefined) {
      const missing = loaded.documents.length === 0 ? `${dir} (${source}) holds no spec files` : `no online endpoint "${endpoint}" in ${dir} (endpoints there: ${endpoints.map((d) => d.name ?? path.basename(d.file)).join(", ") || "none"})`;
      throw new CliError(`${missing}: check the endpoint name and --stack ${stack}`);
    }
    const file = path.resolve(doc.file);
    const text = readFileSync(file, "utf8");
    const edit = rewriteSplit(text, traffic, mirror);
    const fromCwd = path.relative(process.cwd(), file);
    const rel = fromCwd !== "" && !fromCwd.startsWith("..") ? fromCwd : file;
    const change = `traffic ${formatSplit(edit.after.traffic)}${mirror !== undefined ? `, mirror_traffic ${formatSplit(edit.after.mirror)}` : ""}`;
    if (edit.text === text) {
      io.out(`${rel}: ${change} already; nothing changed`);
      return 0;
    }

    // The whole stack with the new text, before anything is written.
    const check = await loadSpecs([dir], { set, texts: { [file]: edit.text } });
    const errors = check.diagnostics.filter((d) => d.severity === "error");
    if (errors.length > 0) {
      for (const d of errors) io.err(formatDiagnostic(d));
      throw new CliError(`${change} is not valid for stack "${stack}" (above); ${rel} was left as it was`);
    }
    const tmp = `${file}.modelplane-${process.pid}.tmp`;
    writeFileSync(tmp, edit.text, { mode: statSync(file).mode });
    renameSync(tmp, file);
    io.out(`${rel}: ${change} (was traffic ${formatSplit(edit.before.traffic)}${mirror !== undefined ? `, mirror_traffic ${formatSplit(edit.before.mirror)}` : ""})`);
    if (opts.preview === false) {
      io.out(`apply it with \`pulumi up --stack ${stack}\` (see it first with \`pulumi preview --diff --stack ${stack}\`)`);
      return 0;
    }
    io.out(`$ pulumi preview --diff --stack ${stack}`);
    const r = await pulumi(["preview", "--diff", "--stack", stack], { onOutput: (t) => io.write(t), timeoutMs: 30 * 60_000 });
    if (r.exitCode !== 0) throw new CliError(`the preview of stack "${stack}" failed (exit ${r.exitCode}, above); ${rel} holds the new split: fix what the preview says, or set the old split back (\`modelplane traffic ${endpoint} ${formatSplit(edit.before.traffic)} --stack ${stack}\`)`);
    io.out(`apply it with \`pulumi up --stack ${stack}\``);
    return 0;
  });
}

function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

export function registerTraffic(program: Command): void {
  program
    .command("traffic")
    .description("set an endpoint's traffic split (and mirror) in its YAML in place, validate the stack, show the preview")
    .argument("<endpoint>", "endpoint name")
    .argument("<split...>", "deployment=percent, e.g. blue=90 green=10 (deployments left out get 0)")
    .option("--mirror <deployment=percent>", "mirror this share of the traffic to a deployment (repeatable; `none` or =0 ends mirroring)", collect)
    .option("--stack <stack>", "the stack whose spec folder holds the endpoint (default: the selected Pulumi stack)")
    .option("--no-preview", "do not run `pulumi preview --diff` afterwards")
    .action(async (endpoint: string, split: string[], opts: TrafficOptions) => {
      process.exitCode = await runTraffic(endpoint, split, opts, processIo());
    });
}
