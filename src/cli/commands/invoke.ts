// `modelplane invoke <endpoint> --file request.json [--deployment NAME] [--key K]`: one scoring
// request through the gateway, as `az ml online-endpoint invoke` does. A streamed answer
// (text/event-stream) is printed as it arrives.
import type { Command } from "commander";
import { readFileSync } from "node:fs";
import { httpCall, type HttpAnswer, type HttpCallError } from "../../api-client/http-call";
import { accessOptions, api, CliError, processIo, resolveAccess, runCommand, type AccessOptions, type CommandIo } from "./access";

export interface InvokeOptions extends AccessOptions {
  file: string;
  deployment?: string;
  key?: string;
}

const EVENT_STREAM = /^text\/event-stream\b/i;

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
    let res: HttpAnswer;
    try {
      res = await httpCall(url, { method: "POST", headers, body, timeoutMs: 300_000 });
    } catch (err) {
      throw new CliError(`gateway at ${url} did not answer: ${(err as HttpCallError).code ?? (err as Error).message}; is the stack up and the gateway URL right (--gateway-url)?`);
    }
    io.out(`status: ${res.status}`);
    io.out(`azureml-model-deployment: ${headerText(res.headers["azureml-model-deployment"]) ?? "-"}`);
    if (!res.ok || !EVENT_STREAM.test(headerText(res.headers["content-type"]) ?? "")) {
      io.out(await res.text());
      return res.ok ? 0 : 1;
    }
    // Server-sent events (a token stream): each piece is printed as it arrives.
    const decoder = new TextDecoder();
    let bytes = 0;
    try {
      for await (const piece of res.body) {
        bytes += piece.length;
        io.write(decoder.decode(piece, { stream: true }));
      }
    } catch (err) {
      throw new CliError(
        `the streamed answer broke off after ${bytes} bytes (${(err as HttpCallError).code ?? (err as Error).message}): the model stopped or went quiet for longer than its request_timeout_ms. ` +
          `Look for the error in the deployment's container logs (docker logs <container>), or raise request_settings.request_timeout_ms in its deployment YAML if the model pauses longer between pieces`,
      );
    }
    io.write(decoder.decode());
    return 0;
  });
}

/** A header's value as one string (repeated headers joined as node:http does for most). */
function headerText(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v.join(", ") : v;
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
