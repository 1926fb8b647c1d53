// `modelplane stack init <name> --specs <folder> [--target docker]`: one command from a folder of
// Azure ML specs to a stack `pulumi up` can deploy: the specs are validated first, then
// `pulumi stack init` and the stack's config (target, spec folder, ports auto).
import { existsSync, rmSync, statSync } from "node:fs";
import path from "node:path";
import type { Command } from "commander";
import { formatDiagnostic, loadSpecs } from "../../spec";
import { CliError, processIo, runCommand, type CommandIo } from "./access";
import { listStacks, pulumiRunner, type PulumiRunner } from "./pulumi-run";
import { stackConfigFile, stackNameProblem } from "./stack-config";
import { REPO_ROOT, toolchainEnv } from "./toolchain-env";

export const TARGETS = ["docker"] as const;

export interface StackInitOptions {
  specs: string;
  /** @default "docker" */
  target?: string;
}

export interface StackInitDeps {
  /** The project (Pulumi.yaml) the stack belongs to. @default the checkout */
  root: string;
  /** Where a relative --specs is resolved. @default process.cwd() */
  cwd: string;
  pulumi: PulumiRunner;
}

/** The stack config the command writes: every key a new stack needs, ports left to modelplane. */
export function initialConfig(target: string, specDir: string): Array<[string, string]> {
  return [
    ["modelplane:target", target],
    ["modelplane:specDir", specDir],
    ["modelplane:gatewayPort", "auto"],
    ["modelplane:managementPort", "auto"],
  ];
}

/** `modelplane:specDir` as written: relative to the project when the folder is inside it (portable), else absolute. */
export function specDirSetting(dir: string, root: string): string {
  const rel = path.relative(root, dir);
  return rel !== "" && !rel.startsWith("..") && !path.isAbsolute(rel) ? rel.split(path.sep).join("/") : dir;
}

/** Checks that need no Pulumi: name, target, folder. Throws CliError naming the problem and the fix. */
export function checkStackInitArgs(name: string, opts: StackInitOptions, deps: Pick<StackInitDeps, "cwd">): { target: string; specDir: string } {
  const nameProblem = stackNameProblem(name);
  if (nameProblem) throw new CliError(nameProblem);
  const target = opts.target ?? "docker";
  if (!(TARGETS as readonly string[]).includes(target)) throw new CliError(`--target ${target} is not available: this version deploys to ${TARGETS.join(", ")} only; pass --target docker (or leave it out)`);
  const specDir = path.resolve(deps.cwd, opts.specs);
  let isDir: boolean;
  try {
    isDir = statSync(specDir).isDirectory();
  } catch {
    throw new CliError(`--specs ${opts.specs}: no such folder (looked for ${specDir}); pass the folder holding the endpoint and deployment YAML files`);
  }
  if (!isDir) throw new CliError(`--specs ${opts.specs} is a file: pass the folder holding it (${path.dirname(specDir)}); a stack is every spec of one folder`);
  return { target, specDir };
}

export async function runStackInit(name: string, opts: StackInitOptions, io: CommandIo, deps?: Partial<StackInitDeps>): Promise<number> {
  return runCommand(io, async () => {
    const d: StackInitDeps = { root: deps?.root ?? REPO_ROOT, cwd: deps?.cwd ?? process.cwd(), pulumi: deps?.pulumi ?? pulumiRunner(io.env, deps?.root ?? REPO_ROOT) };
    const { target, specDir } = checkStackInitArgs(name, opts, d);
    const configFile = stackConfigFile(name, d.root);
    if (existsSync(configFile)) throw new CliError(`stack "${name}" already has a config file (${configFile}): pick another name, or remove the stack first (\`pulumi stack rm ${name}\` and the file)`);

    // The specs first: nothing is created for a folder that would not deploy.
    const result = await loadSpecs([specDir]);
    for (const diag of result.diagnostics) io.out(formatDiagnostic(diag));
    const errors = result.diagnostics.filter((x) => x.severity === "error").length;
    if (errors > 0) throw new CliError(`the specs in ${specDir} have ${errors} error(s) (above); fix them and run \`modelplane stack init ${name} --specs ${opts.specs}\` again (nothing was created)`);
    if (!result.documents.some((x) => x.kind === "online-endpoint")) throw new CliError(`no online endpoint spec in ${specDir}: add an endpoint.yml ($schema managedOnlineEndpoint) beside the deployments (nothing was created)`);

    const vars = toolchainEnv(io.env, d.root).vars;
    if (!io.env.PULUMI_CONFIG_PASSPHRASE && !existsSync(vars.PULUMI_CONFIG_PASSPHRASE_FILE ?? "")) {
      throw new CliError(`no stack passphrase: ${vars.PULUMI_CONFIG_PASSPHRASE_FILE} does not exist and PULUMI_CONFIG_PASSPHRASE is not set; run \`bash scripts/setup.sh\` (it makes the passphrase file), or set PULUMI_CONFIG_PASSPHRASE`);
    }
    if ((await listStacks(d.pulumi)).includes(name)) throw new CliError(`stack "${name}" already exists in the backend ${vars.PULUMI_BACKEND_URL}: pick another name, or remove it first (\`pulumi stack rm ${name}\`)`);

    const init = await d.pulumi(["stack", "init", name]);
    if (init.exitCode !== 0) throw new CliError(`\`pulumi stack init ${name}\` failed (exit ${init.exitCode}): ${(init.stderr || init.stdout).trim()}`);
    const config = initialConfig(target, specDirSetting(specDir, d.root));
    const set = await d.pulumi(["config", "set-all", ...config.flatMap(([k, v]) => ["--plaintext", `${k}=${v}`]), "--stack", name]);
    if (set.exitCode !== 0) {
      // Leave nothing half-made behind: the stack and its config file go again.
      await d.pulumi(["stack", "rm", name, "--yes", "--force"]);
      rmSync(configFile, { force: true });
      throw new CliError(`setting the config of stack "${name}" failed (exit ${set.exitCode}): ${(set.stderr || set.stdout).trim()}; the stack was removed again`);
    }
    const warnings = result.diagnostics.length;
    io.out(`created stack "${name}" in ${vars.PULUMI_BACKEND_URL}: ${path.relative(d.root, configFile)} has ${config.map(([k, v]) => `${k}=${v}`).join(", ")}`);
    io.out(`${result.documents.length} spec file(s) in ${specDir}: 0 error(s), ${warnings} warning(s); the ports are picked by the first up and kept`);
    io.out(`next: pulumi up --stack ${name}   (after \`. scripts/env.sh\`)`);
    return 0;
  });
}

export function registerStack(program: Command): void {
  const stack = program.command("stack").description("make stacks from folders of Azure ML specs");
  stack
    .command("init")
    .description("create a Pulumi stack for a folder of endpoint/deployment specs (validated first): target, spec folder, ports auto")
    .argument("<name>", "stack name (lowercase letters, digits, hyphens)")
    .requiredOption("--specs <folder>", "the folder of endpoint and deployment YAML files")
    .option("--target <target>", "where endpoints run (docker)", "docker")
    .exitOverride()
    .action(async (name: string, opts: StackInitOptions) => {
      process.exitCode = await runStackInit(name, opts, processIo());
    });
}
