// `modelplane invoke <endpoint> --file request.json [--deployment NAME] [--key K]`: one scoring
// request through the gateway, as `az ml online-endpoint invoke` does.
import type { Command } from "commander";
import { readFileSync } from "node:fs";
import { accessOptions, api, CliError, processIo, resolveAccess, runCommand, type AccessOptions, type CommandIo } from "./access";

export interface InvokeOptions extends AccessOptions {
  file: string;
  deployment?: string;
  key?: string;
}

interface EndpointView {
  auth_mode: string;
  scoring_uri: string;
}

export async function runInvoke(endpoint: string, opts: InvokeOptions, io: CommandIo): Promise<number> {
  return runCommand(io, async () => {
    let body: Buffer;
    try {
      body = readFileSync(opts.file);
    } catch (err) {
      throw new CliError(`cannot read --file ${opts.file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
    const e = encodeURIComponent(endpoint);
    let credential = opts.key;
    let url: string | undefined;
    // A key given and a gateway URL known: the management API is not needed at all.
    const gatewayOnly = credential !== undefined && (opts.gatewayUrl || io.env.MODELPLANE_GATEWAY_URL);
    if (gatewayOnly) {
      url = `${(opts.gatewayUrl || io.env.MODELPLANE_GATEWAY_URL)!.replace(/\/+$/, "")}/endpoints/${e}/score`;
    } else {
      const access = await resolveAccess(opts, io);
      const view = await api<EndpointView>(access, "GET", `/endpoints/${e}`);
      const gw = await access.gatewayUrl();
      url = gw ? `${gw}/endpoints/${e}/score` : view.scoring_uri;
      if (credential === undefined) {
        credential =
          view.auth_mode === "key"
            ? (await api<{ primaryKey: string }>(access, "POST", `/endpoints/${e}/keys`)).primaryKey
            : (await api<{ accessToken: string }>(access, "POST", `/endpoints/${e}/token`)).accessToken;
      }
    }
    const headers: Record<string, string> = { authorization: `Bearer ${credential}`, "content-type": "application/json" };
    if (opts.deployment) headers["azureml-model-deployment"] = opts.deployment;
    let res: Response;
    try {
      res = await fetch(url, { method: "POST", headers, body, signal: AbortSignal.timeout(300_000) });
    } catch (err) {
      const cause = (err as { cause?: { code?: string } }).cause;
      throw new CliError(`gateway at ${url} did not answer: ${cause?.code ?? (err as Error).message}; is the stack up and the gateway URL right (--gateway-url)?`);
    }
    const text = await res.text();
    io.out(`status: ${res.status}`);
    io.out(`azureml-model-deployment: ${res.headers.get("azureml-model-deployment") ?? "-"}`);
    io.out(text);
    return res.ok ? 0 : 1;
  });
}

export function registerInvoke(program: Command): void {
  accessOptions(program.command("invoke").description("send one scoring request to an endpoint through the gateway; prints the status, the serving deployment and the body"), true)
    .argument("<endpoint>", "endpoint name")
    .requiredOption("--file <request.json>", "request body (JSON) to POST")
    .option("--deployment <name>", "send to this deployment (azureml-model-deployment header), bypassing the traffic split")
    .option("--key <key>", "key or token to score with (default: the endpoint's primary key, or a new token for aml_token)")
    .action(async (endpoint: string, opts: InvokeOptions) => {
      process.exitCode = await runInvoke(endpoint, opts, processIo());
    });
}
