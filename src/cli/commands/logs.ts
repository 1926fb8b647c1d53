// `modelplane logs <endpoint> [--deployment D] [--instance N] [--lines N] [--follow] [--stack S]`:
// a deployment's instance container log lines, as `az ml online-deployment get-logs` prints them.
// Instances are found on the engine by their labels (src/providers/docker/labels.ts); a deployment
// that failed has its failure reason printed first, and instances removed after failing readiness
// are shown from the logs saved when they were removed.
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { PassThrough } from "node:stream";
import { InvalidArgumentError, type Command } from "commander";
import { containerLogTail, dockerClient } from "../../providers/docker/client";
import { LABELS } from "../../providers/docker/labels";
import { objectPrefix } from "../../providers/docker/names";
import { accessOptions, api, ApiCallError, CliError, processIo, pulumiStackOutputs, resolveAccess, runCommand, type AccessOptions, type CommandIo } from "./access";
import { toolchainEnv } from "./toolchain-env";

export interface LogsOptions extends AccessOptions {
  deployment?: string;
  instance?: number;
  /** @default 200 */
  lines?: number;
  follow?: boolean;
}

export const DEFAULT_LINES = 200;

/** One instance container as the engine lists it. */
export interface InstanceContainer {
  id: string;
  name: string;
  labels: Record<string, string>;
  /** running, exited, restarting, ... */
  state: string;
  /** Seconds since the epoch. */
  created: number;
}

/** What the command needs of the engine; tests pass their own. */
export interface LogsEngine {
  /** Containers (any state) carrying every `key=value` label. */
  list(labels: string[]): Promise<InstanceContainer[]>;
  tail(id: string, lines: number): Promise<string>;
  /** Prints the last `lines` lines and then the new ones as they come, until the container stops. */
  follow(id: string, lines: number, onText: (text: string) => void): Promise<void>;
}

export interface DeploymentState {
  provisioningState: string;
  failureReason?: string;
}

export interface LogsDeps {
  engine: LogsEngine;
  /** Where removed failed instances' logs are kept (src/providers/management/deployment.ts). */
  failedLogDir: string;
  /** The deployment's state from the management API; undefined when it is not registered or the API is not reachable. */
  deploymentState: (endpoint: string, deployment: string) => Promise<DeploymentState | undefined>;
}

export function dockerLogsEngine(): LogsEngine {
  return {
    async list(labels) {
      const rows = await dockerClient().listContainers({ all: true, filters: { label: labels } });
      return rows.map((c) => ({ id: c.Id, name: (c.Names[0] ?? c.Id).replace(/^\//, ""), labels: c.Labels ?? {}, state: c.State, created: c.Created }));
    },
    tail: (id, lines) => containerLogTail(dockerClient(), id, lines),
    async follow(id, lines, onText) {
      const docker = dockerClient();
      const stream = (await docker.getContainer(id).logs({ follow: true, stdout: true, stderr: true, tail: lines })) as NodeJS.ReadableStream;
      const out = new PassThrough();
      out.on("data", (b: Buffer) => onText(b.toString("utf8")));
      docker.modem.demuxStream(stream, out, out);
      await new Promise<void>((resolve, reject) => {
        stream.on("end", resolve);
        stream.on("error", reject);
      });
    },
  };
}

/** The instance index in a container name `<prefix>-<endpoint>-<deployment>-<index>-<hash>`. */
export function instanceIndex(name: string): number | undefined {
  const m = /-(\d+)-[0-9a-f]{8}$/.exec(name);
  return m ? Number(m[1]) : undefined;
}

/** The label filters for an endpoint's instances, narrowed to a stack (and its identity) when known. */
export function instanceFilters(endpoint: string, stack?: string, stackId?: string): string[] {
  const f = [`${LABELS.role}=instance`, `${LABELS.endpoint}=${endpoint}`];
  if (stack) f.push(`${LABELS.stack}=${stack}`);
  if (stack && stackId) f.push(`${LABELS.stackId}=${stackId}`);
  return f;
}

/** Saved logs of removed failed instances of a deployment: `<prefix>-<endpoint>-<deployment>-<i>-<hash>.log`, by name; `prefixOk` picks the stack. */
export function failedLogFiles(files: string[], endpoint: string, deployment: string, prefixOk: (prefix: string) => boolean = () => true): string[] {
  const tail = `-${endpoint}-${deployment}-`;
  return files
    .filter((f) => {
      if (!f.endsWith(".log")) return false;
      const base = f.slice(0, -".log".length);
      const at = base.lastIndexOf(tail);
      if (at < 0 || !/^\d+-[0-9a-f]{8}$/.test(base.slice(at + tail.length))) return false;
      return prefixOk(base.slice(0, at));
    })
    .sort();
}

function lastLines(text: string, n: number): string {
  const lines = text.replace(/\n$/, "").split("\n");
  return lines.slice(Math.max(0, lines.length - n)).join("\n");
}

function byInstance(a: InstanceContainer, b: InstanceContainer): number {
  return (instanceIndex(a.name) ?? 0) - (instanceIndex(b.name) ?? 0) || a.created - b.created;
}

export async function runLogs(endpoint: string, opts: LogsOptions, io: CommandIo, deps?: Partial<LogsDeps>): Promise<number> {
  return runCommand(io, async () => {
    const lines = opts.lines ?? DEFAULT_LINES;
    // The stack's outputs give its identity (newer stacks) and the management API; read them once.
    let outputs: Record<string, unknown> | undefined;
    const readOutputs = async (s: string): Promise<Record<string, unknown>> => (outputs ??= await (io.stackOutputs ?? ((x) => pulumiStackOutputs(x, io.env)))(s));
    const stackId = opts.stack ? (await readOutputs(opts.stack)).stackId : undefined;
    const d: LogsDeps = {
      engine: deps?.engine ?? dockerLogsEngine(),
      failedLogDir: deps?.failedLogDir ?? path.join(toolchainEnv(io.env).vars.MODELPLANE_STATE ?? ".state", "failed-instances"),
      deploymentState: deps?.deploymentState ?? ((e, dep) => managementState(e, dep, opts, { ...io, stackOutputs: readOutputs })),
    };
    const where = opts.stack ? `stack "${opts.stack}"` : "any stack";
    const all = await d.engine.list(instanceFilters(endpoint, opts.stack, typeof stackId === "string" ? stackId : undefined));
    const stacks = [...new Set(all.map((c) => `${c.labels[LABELS.stack] ?? "?"}${c.labels[LABELS.stackId] ? ` (identity ${c.labels[LABELS.stackId]})` : ""}`))];
    if (!opts.stack && stacks.length > 1) throw new CliError(`endpoint "${endpoint}" has instances of several stacks on this engine (${stacks.join(", ")}): pass --stack <stack>`);
    const deployments = [...new Set(all.map((c) => c.labels[LABELS.deployment] ?? ""))].filter(Boolean).sort();
    const deployment = opts.deployment ?? (deployments.length === 1 ? deployments[0] : undefined);
    if (deployment === undefined) {
      if (deployments.length > 1) throw new CliError(`endpoint "${endpoint}" has deployments ${deployments.join(", ")}: pass --deployment <name>`);
      throw new CliError(`no instance container of endpoint "${endpoint}" (${where}) on the engine: check the endpoint name (\`modelplane endpoints${opts.stack ? ` --stack ${opts.stack}` : ""}\`), pass --deployment for the saved logs of a failed one, or run \`pulumi up\``);
    }

    const state = await d.deploymentState(endpoint, deployment);
    if (state?.provisioningState === "Failed") io.out(`deployment "${deployment}" of endpoint "${endpoint}" failed: ${state.failureReason ?? "(no reason recorded)"}`);

    let selected = all.filter((c) => c.labels[LABELS.deployment] === deployment).sort(byInstance);
    if (opts.instance !== undefined) {
      const found = selected.filter((c) => instanceIndex(c.name) === opts.instance);
      if (found.length === 0 && selected.length > 0) {
        const have = [...new Set(selected.map((c) => instanceIndex(c.name)))].join(", ");
        throw new CliError(`deployment "${deployment}" has no instance ${opts.instance} (instances: ${have}): pass --instance with one of them`);
      }
      selected = found;
    }

    if (selected.length === 0) {
      // Instances removed after failing readiness: their saved logs.
      let files: string[];
      try {
        files = readdirSync(d.failedLogDir);
      } catch {
        files = [];
      }
      // With --stack: that stack's names (its identity's prefix when its outputs give one).
      const stack = opts.stack;
      const prefixOk = (p: string): boolean =>
        stack === undefined || (typeof stackId === "string" ? p === objectPrefix(stack, stackId) : p === `modelplane-${stack}` || p.startsWith(`modelplane-${stack}-`));
      const saved = failedLogFiles(files, endpoint, deployment, prefixOk).filter((f) => opts.instance === undefined || instanceIndex(f.slice(0, -".log".length)) === opts.instance);
      if (saved.length === 0) {
        const others = deployments.length > 0 ? ` (deployments with instances: ${deployments.join(", ")})` : "";
        throw new CliError(`deployment "${deployment}" of endpoint "${endpoint}" has no instance container (${where}) and no saved logs in ${d.failedLogDir}${others}: check the names, or run \`pulumi up\``);
      }
      for (const f of saved) {
        if (saved.length > 1) io.out(`==> ${f} (removed after failing readiness) <==`);
        io.out(lastLines(readFileSync(path.join(d.failedLogDir, f), "utf8"), lines));
      }
      return 0;
    }

    const header = (c: InstanceContainer): string => `==> ${c.name} (instance ${instanceIndex(c.name) ?? "?"}, ${c.state}) <==`;
    if (!opts.follow) {
      for (const c of selected) {
        if (selected.length > 1) io.out(header(c));
        const text = await d.engine.tail(c.id, lines);
        if (text) io.out(text);
      }
      return 0;
    }
    // --follow: every selected instance at once; a header whenever the source changes (as tail -f does).
    let last: string | undefined;
    await Promise.all(
      selected.map((c) =>
        d.engine.follow(c.id, lines, (text) => {
          if (selected.length > 1 && last !== c.id) io.write(`${last === undefined ? "" : "\n"}${header(c)}\n`);
          last = c.id;
          io.write(text);
        }),
      ),
    );
    return 0;
  });
}

/** The deployment's provisioning state, when the management API can be found and answers; notes why not on stderr. */
async function managementState(endpoint: string, deployment: string, opts: AccessOptions, io: CommandIo): Promise<DeploymentState | undefined> {
  const canFind = opts.managementUrl || io.env.MODELPLANE_MANAGEMENT_URL || opts.stack;
  if (!canFind) return undefined;
  try {
    const access = await resolveAccess(opts, io);
    return await api<DeploymentState>(access, "GET", `/endpoints/${encodeURIComponent(endpoint)}/deployments/${encodeURIComponent(deployment)}`);
  } catch (err) {
    if (err instanceof ApiCallError && err.status === 404) return undefined;
    if (err instanceof CliError) {
      io.err(`modelplane: (the deployment's state is not known: ${err.message})`);
      return undefined;
    }
    throw err;
  }
}

function wholeNumber(min: number): (v: string) => number {
  return (v) => {
    const n = Number(v);
    if (!/^\d+$/.test(v) || n < min) throw new InvalidArgumentError(`expected a whole number >= ${min}, got "${v}"`);
    return n;
  };
}

export function registerLogs(program: Command): void {
  accessOptions(program.command("logs").description("print a deployment's instance container logs (az ml online-deployment get-logs); a failed deployment's reason first"))
    .argument("<endpoint>", "endpoint name")
    .option("--deployment <name>", "the deployment (needed when the endpoint has several)")
    .option("--instance <n>", "only instance n (0-based; default: every instance)", wholeNumber(0))
    .option("--lines <n>", `the last n lines of each instance (default ${DEFAULT_LINES})`, wholeNumber(1))
    .option("--follow", "keep printing new lines until the instances stop (Ctrl-C ends it)", false)
    .action(async (endpoint: string, opts: LogsOptions) => {
      process.exitCode = await runLogs(endpoint, opts, processIo());
    });
}
