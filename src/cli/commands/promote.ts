// `modelplane promote --from dev --to stage [--deployment NAME]... [--traffic NAME=PCT ...]`:
// carries what the source's deployments run into the target stack's spec files (src/promote),
// after two gates: each promoted deployment is Succeeded in the source stack's live state, and the
// source stack's verification (`modelplane verify`) passes. Then the target validates, the files
// are written, a summary and the target's preview are printed. Promoting twice changes nothing.
import { existsSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import path from "node:path";
import type { Command } from "commander";
import { formatDiagnostic, loadSpecs } from "../../spec";
import { planPromotion, PromotionError, type SpecFile } from "../../promote";
import { parsePreviewJson, renderStack, summarizePreview } from "../../preview";
import type { CheckResult } from "../../verify";
import { api, ApiCallError, CliError, processIo, resolveAccess, runCommand, type CommandIo } from "./access";
import { pulumiRunner, type PulumiRunner } from "./pulumi-run";
import { stackConfigValue, stackSpecDir } from "./stack-config";
import { parseSplit } from "./traffic-edit";
import { failureSummary, verifyStack } from "./verify";
import { failedLogFiles } from "./logs";
import { REPO_ROOT, toolchainEnv } from "./toolchain-env";

export interface PromoteOptions {
  from?: string;
  to?: string;
  deployment?: string[];
  traffic?: string[];
  /** commander's --no-preview. @default true */
  preview?: boolean;
}

export interface PromoteDeps {
  root: string;
  pulumi: PulumiRunner;
  /** The deployment's provisioningState in the stack's live state (undefined: not deployed). */
  liveState: (stack: string, endpoint: string, deployment: string) => Promise<string | undefined>;
  verify: (stack: string) => Promise<CheckResult[]>;
  /** Saved logs of the deployment's instances removed after failing readiness (`modelplane logs` reads them). */
  failedLogs: (stack: string, endpoint: string, deployment: string) => string[];
}

async function specFiles(stack: string, root: string): Promise<{ dir: string; files: SpecFile[]; errors: string[] }> {
  const { dir, source } = stackSpecDir(stack, root);
  if (!existsSync(dir)) throw new CliError(`stack "${stack}" has no spec folder ${dir} (${source}): create it, or set modelplane:specDir in its Pulumi.${stack}.yaml`);
  const set = (stackConfigValue(stack, root, "modelplane:placeholders") ?? {}) as Record<string, string>;
  const loaded = await loadSpecs([dir], { set });
  const files = loaded.documents.map((d) => ({ file: path.resolve(d.file), kind: d.kind, name: d.name, text: readFileSync(d.file, "utf8") }));
  return { dir, files, errors: loaded.diagnostics.filter((d) => d.severity === "error").map(formatDiagnostic) };
}

/** The live state through the stack's management API. */
async function managementLiveState(io: CommandIo, stack: string, endpoint: string, deployment: string): Promise<string | undefined> {
  const access = await resolveAccess({ stack }, io);
  try {
    const d = await api<{ provisioningState?: string }>(access, "GET", `/endpoints/${encodeURIComponent(endpoint)}/deployments/${encodeURIComponent(deployment)}`);
    return d.provisioningState;
  } catch (err) {
    if (err instanceof ApiCallError && err.status === 404) return undefined;
    throw err;
  }
}

/** The stack's saved failed-instance logs of the deployment: a registration that failed readiness is gone from the live state, these say why. */
function savedFailedLogs(io: CommandIo, stack: string, endpoint: string, deployment: string): string[] {
  let files: string[];
  try {
    files = readdirSync(path.join(toolchainEnv(io.env).vars.MODELPLANE_STATE ?? ".state", "failed-instances"));
  } catch {
    return [];
  }
  return failedLogFiles(files, endpoint, deployment, (p) => p === `modelplane-${stack}` || p.startsWith(`modelplane-${stack}-`));
}

function writeAtomically(file: string, text: string): void {
  const tmp = `${file}.modelplane-${process.pid}.tmp`;
  writeFileSync(tmp, text, existsSync(file) ? { mode: statSync(file).mode } : {});
  renameSync(tmp, file);
}

export async function runPromote(opts: PromoteOptions, io: CommandIo, deps?: Partial<PromoteDeps>): Promise<number> {
  return runCommand(io, async () => {
    const root = deps?.root ?? REPO_ROOT;
    const pulumi = deps?.pulumi ?? pulumiRunner(io.env, root);
    const from = opts.from;
    const to = opts.to;
    if (!from || !to) throw new CliError("name both stacks: `modelplane promote --from dev --to stage`");
    if (from === to) throw new CliError(`--from and --to are both "${from}": promote from one stack to another, e.g. --from dev --to stage`);
    const traffic = opts.traffic ? parseSplit(opts.traffic, "--traffic") : undefined;
    const source = await specFiles(from, root);
    if (source.errors.length > 0) {
      for (const e of source.errors) io.err(e);
      throw new CliError(`the specs of stack "${from}" have errors (above): fix them before promoting from it`);
    }
    const target = await specFiles(to, root);
    let plan;
    try {
      plan = planPromotion({ source: source.files, target: target.files, targetDir: target.dir, deployments: opts.deployment, traffic });
    } catch (err) {
      if (err instanceof PromotionError) throw new CliError(err.message);
      throw err;
    }
    const rel = (f: string) => path.relative(process.cwd(), f) || f;
    if (plan.files.length === 0) {
      io.out(`nothing to promote: stack ${to} already runs what ${from} runs (${plan.promoted.map((p) => `${p.endpoint}/${p.deployment}`).join(", ")})`);
      return 0;
    }

    // Gate 1: what is promoted is running, healthy, in the source.
    const liveState = deps?.liveState ?? ((s: string, e: string, d: string) => managementLiveState(io, s, e, d));
    const failedLogs = deps?.failedLogs ?? ((s: string, e: string, d: string) => savedFailedLogs(io, s, e, d));
    for (const p of plan.promoted) {
      const state = await liveState(from, p.endpoint, p.deployment);
      if (state !== "Succeeded") {
        throw new CliError(
          state === undefined
            ? failedLogs(from, p.endpoint, p.deployment).length > 0
              ? `deployment ${p.endpoint}/${p.deployment} is not deployed in stack "${from}": it failed readiness in an up and its instances were removed (their logs: \`modelplane logs ${p.endpoint} --deployment ${p.deployment} --stack ${from}\`); fix it and \`pulumi up --stack ${from}\` until it is Succeeded; nothing was written`
              : `deployment ${p.endpoint}/${p.deployment} is not deployed in stack "${from}": run \`pulumi up --stack ${from}\` and promote what runs there`
            : `deployment ${p.endpoint}/${p.deployment} is ${state} in stack "${from}", not Succeeded: fix it (\`modelplane logs ${p.endpoint} --deployment ${p.deployment} --stack ${from}\`) and \`pulumi up --stack ${from}\` until it is Succeeded; nothing was written`,
        );
      }
    }
    // Gate 2: the source stack's verification passes.
    const results = await (deps?.verify ?? ((s: string) => verifyStack(s, {}, io, root)))(from);
    const failed = failureSummary(from, results);
    if (failed) throw new CliError(`${failed}; fix the deployment (or its verify request) in stack "${from}" first; nothing was written`);

    // Write, then validate the target as a whole; a target that does not validate is put back.
    for (const f of plan.files) writeAtomically(f.file, f.text);
    const check = await loadSpecs([target.dir], { set: (stackConfigValue(to, root, "modelplane:placeholders") ?? {}) as Record<string, string> });
    const errors = check.diagnostics.filter((d) => d.severity === "error");
    if (errors.length > 0) {
      for (const f of plan.files) {
        if (f.before === undefined) rmSync(f.file, { force: true });
        else writeAtomically(f.file, f.before);
      }
      for (const d of errors) io.err(formatDiagnostic(d));
      throw new CliError(`the promoted specs do not validate in stack "${to}" (above); its files were put back as they were: fix what the errors name (e.g. add the model version to ${to}'s registry.yml) and promote again`);
    }
    io.out(`promoted ${from} -> ${to}:`);
    for (const s of plan.summary) io.out(`  ${s}`);
    for (const f of plan.files) io.out(`  ${f.before === undefined ? "created" : "changed"} ${rel(f.file)}`);
    if (opts.preview === false) {
      io.out(`review with \`modelplane preview --stack ${to}\`, apply with \`pulumi up --stack ${to}\``);
      return 0;
    }
    const r = await pulumi(["preview", "--json", "--diff", "--stack", to], { timeoutMs: 30 * 60_000 });
    const summary = summarizePreview(to, parsePreviewJson(r.stdout, r.stderr), { stripPrefixes: [root] });
    io.write(`\n${renderStack(summary)}`);
    if (summary.errors.length > 0) throw new CliError(`the preview of stack "${to}" failed (above): the promoted files are written; fix what it names`);
    io.out(`apply it with \`pulumi up --stack ${to}\` (or open a pull request with the changed files)`);
    return 0;
  });
}

function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

export function registerPromote(program: Command): void {
  program
    .command("promote")
    .description("carry what deployments run (model, code, environment, settings) from one stack's specs to the next, gated on live state and verification")
    .requiredOption("--from <stack>", "the stack promoted from (its deployments must be Succeeded and `modelplane verify` must pass)")
    .requiredOption("--to <stack>", "the stack whose spec files are rewritten")
    .option("--deployment <name>", "promote only this deployment (repeatable; default: all online deployments of --from)", collect)
    .option("--traffic <name=pct...>", "set the target endpoint's split (default: the target keeps its own; new deployments get 0)")
    .option("--no-preview", "do not run the target's preview afterwards")
    .action(async (opts: PromoteOptions) => {
      process.exitCode = await runPromote(opts, processIo());
    });
}
