// How the management-API commands find the control plane: flags, then environment variables,
// then the Pulumi stack's outputs (`--stack`). Shared by keys, token, invoke and endpoints.
import type { Command } from "commander";
import execa from "execa";
import { REPO_ROOT, toolchainEnv } from "./toolchain-env";
import { httpCall, type HttpAnswer, type HttpCallError } from "../../api-client/http-call";

export interface AccessOptions {
  managementUrl?: string;
  token?: string;
  gatewayUrl?: string;
  stack?: string;
}

/** What a command needs from its surroundings; tests pass their own. */
export interface CommandIo {
  out: (line: string) => void;
  /** Text as it comes, no newline added (a streamed answer's pieces). */
  write: (text: string) => void;
  err: (line: string) => void;
  env: NodeJS.ProcessEnv;
  /** Reads a stack's outputs (`pulumi stack output --json --show-secrets`). */
  stackOutputs?: (stack: string) => Promise<Record<string, unknown>>;
}

export function processIo(): CommandIo {
  return { out: (l) => process.stdout.write(`${l}\n`), write: (t) => process.stdout.write(t), err: (l) => process.stderr.write(`${l}\n`), env: process.env };
}

/** A problem the user fixes (printed as `modelplane: <message>`, exit 1). */
export class CliError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "CliError";
  }
}

export interface Access {
  managementUrl: string;
  managementToken: string;
  /** Where each value came from, e.g. "--management-url", "MODELPLANE_MANAGEMENT_URL", "stack dev". */
  sources: { managementUrl: string; managementToken: string };
  /** Resolves the gateway URL (flag, env MODELPLANE_GATEWAY_URL, stack output), lazily. */
  gatewayUrl: () => Promise<string | undefined>;
}

/** `pulumi stack output --json --show-secrets --stack <stack>` with the env.sh environment. */
export async function pulumiStackOutputs(stack: string, env: NodeJS.ProcessEnv = process.env): Promise<Record<string, unknown>> {
  const vars = toolchainEnv(env).vars;
  let r: execa.ExecaReturnValue;
  try {
    r = await execa("pulumi", ["stack", "output", "--json", "--show-secrets", "--stack", stack], { cwd: REPO_ROOT, env: { ...env, ...vars }, reject: false, timeout: 60_000 });
  } catch (err) {
    throw new CliError(`could not run pulumi to read the outputs of stack "${stack}": ${(err as Error).message}; run \`bash scripts/setup.sh\` (or \`modelplane doctor\`)`);
  }
  if ((r as { code?: string }).code === "ENOENT" || r.exitCode === 127) throw new CliError(`pulumi is not installed (looked in ${vars.MODELPLANE_PULUMI_BIN} and PATH): run \`bash scripts/setup.sh\``);
  if (r.exitCode !== 0) throw new CliError(`\`pulumi stack output --stack ${stack}\` failed (exit ${r.exitCode}): ${(r.stderr || r.stdout).trim()}`);
  try {
    return JSON.parse(r.stdout) as Record<string, unknown>;
  } catch {
    throw new CliError(`\`pulumi stack output --json --stack ${stack}\` did not print JSON: ${r.stdout.slice(0, 200)}`);
  }
}

function pick(flag: string | undefined, flagName: string, env: NodeJS.ProcessEnv, envName: string): { value: string; source: string } | undefined {
  if (flag) return { value: flag, source: flagName };
  const v = env[envName];
  if (v) return { value: v, source: envName };
  return undefined;
}

/** Resolves the management URL and token; throws CliError naming what is missing and how to give it. */
export async function resolveAccess(opts: AccessOptions, io: CommandIo): Promise<Access> {
  let url = pick(opts.managementUrl, "--management-url", io.env, "MODELPLANE_MANAGEMENT_URL");
  let token = pick(opts.token, "--token", io.env, "MODELPLANE_MANAGEMENT_TOKEN");
  let gateway = pick(opts.gatewayUrl, "--gateway-url", io.env, "MODELPLANE_GATEWAY_URL");
  let outputs: Record<string, unknown> | undefined;
  const fromStack = async (): Promise<Record<string, unknown>> => (outputs ??= await (io.stackOutputs ?? ((s) => pulumiStackOutputs(s, io.env)))(opts.stack!));
  if ((!url || !token) && opts.stack) {
    const o = await fromStack();
    const source = `stack ${opts.stack}`;
    if (!url && typeof o.managementUrl === "string") url = { value: o.managementUrl, source };
    if (!token && typeof o.managementToken === "string") token = { value: o.managementToken, source };
    if (!gateway && typeof o.gatewayUrl === "string") gateway = { value: o.gatewayUrl, source };
    if (!url || !token) {
      const missing = [!url ? "managementUrl" : "", !token ? "managementToken" : ""].filter(Boolean).join(" and ");
      throw new CliError(`stack "${opts.stack}" has no ${missing} output: run \`pulumi up --stack ${opts.stack}\` first (outputs found: ${Object.keys(o).join(", ") || "none"})`);
    }
  }
  if (!url) throw new CliError("no management API URL: pass --management-url http://127.0.0.1:PORT, set MODELPLANE_MANAGEMENT_URL, or pass --stack <stack> to read it from the stack's outputs");
  if (!token) throw new CliError("no management token: pass --token, set MODELPLANE_MANAGEMENT_TOKEN, or pass --stack <stack> to read it from the stack's outputs (`pulumi stack output managementToken --show-secrets`)");
  const u = url;
  const t = token;
  return {
    managementUrl: u.value.replace(/\/+$/, ""),
    managementToken: t.value,
    sources: { managementUrl: u.source, managementToken: t.source },
    gatewayUrl: async () => {
      if (gateway) return gateway.value.replace(/\/+$/, "");
      if (opts.stack) {
        const o = await fromStack();
        if (typeof o.gatewayUrl === "string") return o.gatewayUrl.replace(/\/+$/, "");
      }
      return undefined;
    },
  };
}

/** A management API error with its stable code. */
export class ApiCallError extends CliError {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** One management API call with the bearer token; non-2xx become ApiCallError, no answer a CliError. */
export async function api<T>(access: Access, method: string, path: string, body?: unknown): Promise<T> {
  let res: HttpAnswer;
  try {
    res = await httpCall(`${access.managementUrl}${path}`, {
      method,
      headers: { authorization: `Bearer ${access.managementToken}`, ...(body !== undefined ? { "content-type": "application/json" } : {}) },
      body: body === undefined ? undefined : JSON.stringify(body),
      timeoutMs: 30_000,
    });
  } catch (err) {
    throw new CliError(
      `management API at ${access.managementUrl} (from ${access.sources.managementUrl}) did not answer: ${(err as HttpCallError).code ?? (err as Error).message}; is the stack up (\`pulumi up\`) and the URL right?`,
    );
  }
  const text = await res.text();
  let json: unknown;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    json = undefined;
  }
  if (!res.ok) {
    const e = (json as { error?: { code?: string; message?: string } } | undefined)?.error;
    const code = e?.code ?? `http_${res.status}`;
    const hint = res.status === 401 ? ` (the management token from ${access.sources.managementToken} was refused)` : "";
    throw new ApiCallError(res.status, code, `${method} ${path}: ${res.status} ${code}: ${e?.message ?? text.slice(0, 200)}${hint}`);
  }
  return json as T;
}

/** Adds --management-url, --token and --stack (and --gateway-url when asked) to a command. */
export function accessOptions(cmd: Command, gateway = false): Command {
  cmd
    .option("--management-url <url>", "management API URL (else MODELPLANE_MANAGEMENT_URL, else the stack output managementUrl)")
    .option("--token <token>", "management token (else MODELPLANE_MANAGEMENT_TOKEN, else the stack output managementToken)")
    .option("--stack <stack>", "read missing values from this Pulumi stack's outputs");
  if (gateway) cmd.option("--gateway-url <url>", "gateway URL (else MODELPLANE_GATEWAY_URL, else the stack output gatewayUrl, else the endpoint's scoring_uri)");
  return cmd;
}

/** Runs a command body: CliError -> message on stderr and exit 1. */
export async function runCommand(io: CommandIo, body: () => Promise<number>): Promise<number> {
  try {
    return await body();
  } catch (err) {
    if (err instanceof CliError) {
      io.err(`modelplane: ${err.message}`);
      return 1;
    }
    throw err;
  }
}
