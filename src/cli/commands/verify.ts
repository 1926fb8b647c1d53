// `modelplane verify --stack S`: scores the requests kept in the stack's spec folder under
// verify/ (src/verify, docs/cli.md) through the stack's gateway; exit 1 names the request that
// failed. `promote` runs the same checks on its source stack.
import { existsSync, readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import type { Command } from "commander";
import { httpCall, type HttpCallError } from "../../api-client/http-call";
import { checkLabel, loadVerifyDir, runChecks, type CheckResult, type VerifyCheck } from "../../verify";
import { accessOptions, api, CliError, processIo, resolveAccess, runCommand, type AccessOptions, type CommandIo } from "./access";
import { stackSpecDir } from "./stack-config";
import { REPO_ROOT } from "./toolchain-env";

export interface VerifyOptions extends AccessOptions {
  stack?: string;
}

/** The verify folder of a stack: `<spec folder>/verify`. */
export function verifyDir(stack: string, root: string): string {
  return path.join(stackSpecDir(stack, root).dir, "verify");
}

/** Runs every check of the stack; throws CliError when there are none or they cannot be read; returns the results. */
export async function verifyStack(stack: string, opts: AccessOptions, io: CommandIo, root = REPO_ROOT): Promise<CheckResult[]> {
  const dir = verifyDir(stack, root);
  const rel = path.relative(root, dir) || dir;
  if (!existsSync(dir)) throw new CliError(`stack "${stack}" has no verification requests: add ${rel}/<endpoint>.yml with a request and its expected answer (docs/cli.md, "modelplane verify")`);
  const loaded = loadVerifyDir(dir, (d) => readdirSync(d), (p) => readFileSync(p, "utf8"));
  if (loaded.problems.length > 0) {
    for (const p of loaded.problems) io.err(path.isAbsolute(p) ? path.relative(process.cwd(), p.split(":")[0]!) + p.slice(p.split(":")[0]!.length) : p);
    throw new CliError(`${rel} has ${loaded.problems.length} problem(s) (above): fix them, nothing was scored`);
  }
  if (loaded.checks.length === 0) throw new CliError(`${rel} holds no requests: add <endpoint>.yml files (docs/cli.md, "modelplane verify")`);
  const access = await resolveAccess({ ...opts, stack: opts.stack ?? stack }, io);
  const gateway = await access.gatewayUrl();
  const credentials = new Map<string, Promise<{ credential: string; url: string }>>();
  const target = (endpoint: string) => {
    let c = credentials.get(endpoint);
    if (!c) {
      const e = encodeURIComponent(endpoint);
      c = (async () => {
        const view = await api<{ auth_mode: string; scoring_uri: string }>(access, "GET", `/endpoints/${e}`);
        const credential =
          view.auth_mode === "key"
            ? (await api<{ primaryKey: string }>(access, "POST", `/endpoints/${e}/keys`)).primaryKey
            : (await api<{ accessToken: string }>(access, "POST", `/endpoints/${e}/token`)).accessToken;
        return { credential, url: gateway ? `${gateway}/endpoints/${e}/score` : view.scoring_uri };
      })();
      credentials.set(endpoint, c);
    }
    return c;
  };
  const score = async (check: VerifyCheck) => {
    const t = await target(check.endpoint);
    const headers: Record<string, string> = { authorization: `Bearer ${t.credential}`, "content-type": "application/json" };
    if (check.deployment) headers["azureml-model-deployment"] = check.deployment;
    try {
      const res = await httpCall(t.url, { method: "POST", headers, body: check.body, timeoutMs: 120_000 });
      const d = res.headers["azureml-model-deployment"];
      return { status: res.status, text: await res.text(), deployment: Array.isArray(d) ? d[0] : d };
    } catch (err) {
      throw new Error(`the gateway at ${t.url} did not answer (${(err as HttpCallError).code ?? (err as Error).message}): is stack "${stack}" up?`, { cause: err });
    }
  };
  return runChecks(loaded.checks, score, (r) => {
    const where = path.relative(process.cwd(), r.check.where);
    if (r.ok) io.out(`ok    ${checkLabel(r.check)} (${r.ms} ms${r.servedBy ? `, served by ${r.servedBy}` : ""})`);
    else io.out(`FAIL  ${checkLabel(r.check)} (${where}): ${r.reason}`);
  });
}

/** One line naming every failed request, for the error that ends a failed verification. */
export function failureSummary(stack: string, results: CheckResult[]): string | undefined {
  const failed = results.filter((r) => !r.ok);
  if (failed.length === 0) return undefined;
  return `verification of stack "${stack}" failed: ${failed.map((r) => `${checkLabel(r.check)} (${path.relative(process.cwd(), r.check.where)}): ${r.reason}`).join("; ")}`;
}

export async function runVerify(opts: VerifyOptions, io: CommandIo, root = REPO_ROOT): Promise<number> {
  return runCommand(io, async () => {
    if (!opts.stack) throw new CliError("no stack: pass --stack <stack> (its spec folder's verify/ holds the requests)");
    const results = await verifyStack(opts.stack, opts, io, root);
    const failed = failureSummary(opts.stack, results);
    if (failed) throw new CliError(failed);
    io.out(`verified stack ${opts.stack}: ${results.length} request(s) passed`);
    return 0;
  });
}

export function registerVerify(program: Command): void {
  accessOptions(program.command("verify").description("score the stack's verification requests (<spec folder>/verify/*.yml) through its gateway; exit 1 names the one that failed"), true).action(
    async (opts: VerifyOptions) => {
      process.exitCode = await runVerify(opts, processIo());
    },
  );
}
