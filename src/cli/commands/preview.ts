// `modelplane preview [--stack S]... [--markdown FILE] [--comment] [--pr N]`: `pulumi preview
// --json --diff` per stack, rendered for reviewers (src/preview): counts by operation, per
// endpoint its deployments' changes, warnings, the preview's errors. `--comment` keeps one sticky
// comment on the pull request up to date (src/github).
import { writeFileSync } from "node:fs";
import type { Command } from "commander";
import { COMMENT_MARKER, parsePreviewJson, renderComment, summarizePreview, type PreviewSummary, type StateResource } from "../../preview";
import { commentTarget, GitHubError, upsertStickyComment } from "../../github/sticky-comment";
import { CliError, processIo, runCommand, type CommandIo } from "./access";
import { pulumiRunner, type PulumiRunner } from "./pulumi-run";
import { REPO_ROOT } from "./toolchain-env";

export interface PreviewOptions {
  stack?: string[];
  markdown?: string;
  comment?: boolean;
  pr?: string;
  prodStack?: string[];
  shiftThreshold?: string;
}

export interface PreviewDeps {
  root: string;
  pulumi: PulumiRunner;
}

/** GitHub's limit on a comment body is 65536 characters. */
const MAX_COMMENT = 65_000;

function intOption(value: string | undefined, flag: string, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new CliError(`${flag} "${value}" is not a whole number >= 0: pass e.g. ${flag} ${fallback}`);
  return n;
}

export async function runPreview(opts: PreviewOptions, io: CommandIo, deps?: Partial<PreviewDeps>): Promise<number> {
  return runCommand(io, async () => {
    const root = deps?.root ?? REPO_ROOT;
    const pulumi = deps?.pulumi ?? pulumiRunner(io.env, root);
    const threshold = intOption(opts.shiftThreshold, "--shift-threshold", 20);
    const pr = opts.pr === undefined ? undefined : intOption(opts.pr, "--pr", 1);
    // Fail before minutes of previews when the comment could not be posted anyway.
    const target = opts.comment ? githubTarget(io.env, pr) : undefined;
    let stacks = opts.stack ?? [];
    if (stacks.length === 0) {
      const r = await pulumi(["stack", "--show-name"]);
      const name = r.stdout.trim();
      if (r.exitCode !== 0 || name === "") throw new CliError("no stack selected: pass --stack <stack> (repeatable, e.g. --stack dev --stack stage)");
      stacks = [name];
    }
    const summaries: PreviewSummary[] = [];
    for (const stack of stacks) {
      io.err(`previewing stack ${stack} ...`);
      const state = await liveResources(pulumi, stack);
      const r = await pulumi(["preview", "--json", "--diff", "--stack", stack], { timeoutMs: 30 * 60_000 });
      const json = parsePreviewJson(r.stdout, r.stderr);
      if (r.exitCode !== 0 && !(json.diagnostics ?? []).some((d) => d.severity === "error")) {
        json.diagnostics = [...(json.diagnostics ?? []), { severity: "error", message: `pulumi preview exited ${r.exitCode}: ${(r.stderr || r.stdout).trim().slice(0, 2000)}` }];
      }
      summaries.push(summarizePreview(stack, json, { prodStacks: opts.prodStack ?? ["prod"], shiftThreshold: threshold, stripPrefixes: [root], state }));
    }
    let text = renderComment(summaries);
    io.write(text);
    if (opts.markdown) {
      try {
        writeFileSync(opts.markdown, text);
      } catch (err) {
        throw new CliError(`cannot write --markdown ${opts.markdown}: ${(err as Error).message}; pass a writable path`);
      }
    }
    if (target) {
      if (text.length > MAX_COMMENT) text = `${text.slice(0, MAX_COMMENT)}\n\n… (cut at ${MAX_COMMENT} characters; run \`modelplane preview\` for the rest)\n`;
      try {
        const res = await upsertStickyComment(target, COMMENT_MARKER, text);
        io.err(`comment ${res.action} on ${target.repository}#${target.pr}${res.url ? `: ${res.url}` : ""}`);
      } catch (err) {
        if (err instanceof GitHubError) throw new CliError(`could not post the preview comment: ${err.message}`);
        throw err;
      }
    }
    const failed = summaries.filter((s) => s.errors.length > 0).map((s) => s.stack);
    if (failed.length > 0) throw new CliError(`the preview of ${failed.map((s) => `stack "${s}"`).join(", ")} failed (errors above): fix the specs it names`);
    return 0;
  });
}

/** The stack's resources as its state holds them (none for a stack never deployed). */
async function liveResources(pulumi: PulumiRunner, stack: string): Promise<StateResource[]> {
  const r = await pulumi(["stack", "export", "--stack", stack]);
  if (r.exitCode !== 0) return [];
  try {
    return (JSON.parse(r.stdout) as { deployment?: { resources?: StateResource[] } }).deployment?.resources ?? [];
  } catch {
    return [];
  }
}

function githubTarget(env: NodeJS.ProcessEnv, pr: number | undefined) {
  try {
    return commentTarget(env, pr);
  } catch (err) {
    if (err instanceof GitHubError) throw new CliError(`--comment: ${err.message}`);
    throw err;
  }
}

function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

export function registerPreview(program: Command): void {
  program
    .command("preview")
    .description("pulumi preview per stack, rendered per endpoint (traffic, model, image, instances, env names) with warnings; optionally as a sticky PR comment")
    .option("--stack <stack>", "stack to preview (repeatable; default: the selected stack)", collect)
    .option("--markdown <file>", "also write the rendered markdown to this file")
    .option("--comment", "post or update one sticky comment on the pull request (GITHUB_TOKEN, GITHUB_REPOSITORY, GITHUB_EVENT_PATH or --pr; GITHUB_API_URL)")
    .option("--pr <number>", "the pull request to comment on (default: from $GITHUB_EVENT_PATH)")
    .option("--prod-stack <stack>", "stacks whose traffic shifts are flagged past --shift-threshold (repeatable; default: prod)", collect)
    .option("--shift-threshold <points>", "largest traffic move of one deployment in a prod stack without a flag (default: 20)")
    .action(async (opts: PreviewOptions) => {
      process.exitCode = await runPreview(opts, processIo());
    });
}
