import execa, { type ExecaReturnValue as Result } from "execa";
import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import * as path from "node:path";

export const REPO_ROOT = path.resolve(__dirname, "../../..");

/** A throwaway local backend + stack for one test file; `cleanup` destroys and removes everything. */
export class TestStack {
  private constructor(
    readonly programDir: string,
    readonly stack: string,
    readonly backendDir: string,
    /** The project root the providers load their modules from (another checkout's, for a copy). */
    readonly root: string,
  ) {}

  static async create(programDir: string, stack: string, config: Record<string, string> = {}, root = REPO_ROOT): Promise<TestStack> {
    const backendDir = await mkdtemp(path.join(tmpdir(), "mp-backend-"));
    const s = new TestStack(programDir, stack, backendDir, root);
    await s.pulumi(["stack", "init", stack]);
    for (const [k, v] of Object.entries(config)) await s.pulumi(["config", "set", k, v]);
    return s;
  }

  /** The same stack and backend, run from another checkout (its program and provider modules). */
  async at(programDir: string, root = programDir): Promise<TestStack> {
    const { copyFile } = await import("node:fs/promises");
    const file = (dir: string) => path.join(dir, "stacks", `Pulumi.${this.stack}.yaml`);
    await copyFile(file(this.programDir), file(programDir));
    return new TestStack(programDir, this.stack, this.backendDir, root);
  }

  env(): Record<string, string> {
    return {
      PULUMI_BACKEND_URL: `file://${this.backendDir}`,
      PULUMI_CONFIG_PASSPHRASE: "modelplane-tests",
      PULUMI_CONFIG_PASSPHRASE_FILE: "",
      PULUMI_NODEJS_TRANSPILE_ONLY: "true",
      MODELPLANE_ROOT: this.root,
    };
  }

  /** Runs `pulumi <args>` in the program dir on this stack; throws with the output on failure unless `reject: false`. */
  async pulumi(args: string[], opts: { reject?: boolean; timeoutMs?: number } = {}): Promise<Result> {
    const full = [...args, "--non-interactive", ...(args[0] === "stack" && args[1] === "init" ? [] : ["--stack", this.stack])];
    const r = await execa("pulumi", full, { cwd: this.programDir, env: this.env(), reject: false, all: true, timeout: opts.timeoutMs ?? 600_000 });
    if (opts.reject !== false && r.exitCode !== 0) throw new Error(`pulumi ${args.join(" ")} failed (exit ${r.exitCode}):\n${r.all}`);
    return r;
  }

  async outputs(): Promise<Record<string, unknown>> {
    const r = await this.pulumi(["stack", "output", "--json", "--show-secrets"]);
    return JSON.parse(String(r.stdout)) as Record<string, unknown>;
  }

  /** Destroys the stack's resources, removes the stack and its backend; never throws. */
  async cleanup(): Promise<void> {
    await this.pulumi(["cancel", "--yes"], { reject: false });
    await this.pulumi(["destroy", "--yes", "--skip-preview"], { reject: false });
    await this.pulumi(["stack", "rm", "--yes", "--force"], { reject: false });
    await rm(this.backendDir, { recursive: true, force: true });
    // Pulumi writes the stack's config file into the project's stackConfigDir.
    await rm(path.join(this.programDir, "stacks", `Pulumi.${this.stack}.yaml`), { force: true });
    // A failed deployment's kept logs (one folder for every stack of the checkout): this stack's only.
    const kept = path.join(process.env.MODELPLANE_STATE ?? path.join(REPO_ROOT, ".state"), "failed-instances");
    const mine = (await readdir(kept).catch(() => [] as string[])).filter((f) => f.startsWith(`modelplane-${this.stack}-`));
    await Promise.all(mine.map((f) => rm(path.join(kept, f), { force: true })));
  }
}
