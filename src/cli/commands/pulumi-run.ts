// Running the pinned Pulumi CLI from a command, in the checkout, with the environment
// scripts/env.sh would set (local backend, passphrase file, offline settings).
import execa from "execa";
import { CliError } from "./access";
import { REPO_ROOT, toolchainEnv } from "./toolchain-env";

export interface PulumiResult {
  exitCode: number;
  stdout: string;
  stderr: string;
}

export interface PulumiRunOptions {
  /** Print the output as it comes (a preview), besides returning it. */
  onOutput?: (text: string) => void;
  /** @default 60_000 */
  timeoutMs?: number;
}

/** `pulumi <args>`; resolves with its exit code and output, throws CliError only when pulumi cannot be run. */
export type PulumiRunner = (args: string[], opts?: PulumiRunOptions) => Promise<PulumiResult>;

/** The runner commands use: `pulumi` from the pinned bin dir, cwd the project root. */
export function pulumiRunner(env: NodeJS.ProcessEnv = process.env, root = REPO_ROOT): PulumiRunner {
  const vars = toolchainEnv(env, root).vars;
  return async (args, opts = {}) => {
    const child = execa("pulumi", [...args, "--non-interactive"], { cwd: root, env: { ...env, ...vars }, reject: false, timeout: opts.timeoutMs ?? 60_000 });
    if (opts.onOutput) {
      const forward = opts.onOutput;
      child.stdout?.on("data", (b: Buffer) => forward(b.toString("utf8")));
      child.stderr?.on("data", (b: Buffer) => forward(b.toString("utf8")));
    }
    let r: execa.ExecaReturnValue;
    try {
      r = await child;
    } catch (err) {
      throw new CliError(`could not run \`pulumi ${args.join(" ")}\`: ${(err as Error).message}; run \`bash scripts/setup.sh\` (or \`modelplane doctor\`)`);
    }
    if ((r as { code?: string }).code === "ENOENT" || r.exitCode === 127) throw new CliError(`pulumi is not installed (looked in ${vars.MODELPLANE_PULUMI_BIN} and PATH): run \`bash scripts/setup.sh\``);
    return { exitCode: r.exitCode, stdout: r.stdout, stderr: r.stderr };
  };
}

/** The stacks of this project in the backend (`pulumi stack ls --json`), by short name. */
export async function listStacks(pulumi: PulumiRunner): Promise<string[]> {
  const r = await pulumi(["stack", "ls", "--json"]);
  if (r.exitCode !== 0) throw new CliError(`\`pulumi stack ls\` failed (exit ${r.exitCode}): ${(r.stderr || r.stdout).trim()}`);
  try {
    const rows = JSON.parse(r.stdout) as Array<{ name: string }>;
    // Project-scoped backends print organization/project/stack.
    return rows.map((s) => s.name.split("/").pop() ?? s.name);
  } catch {
    throw new CliError(`\`pulumi stack ls --json\` did not print JSON: ${r.stdout.slice(0, 200)}`);
  }
}
