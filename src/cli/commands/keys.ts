// `modelplane keys <endpoint> [--regenerate primary|secondary]`: an endpoint's keys (JSON, as
// `az ml online-endpoint get-credentials` prints them).
import { InvalidArgumentError, type Command } from "commander";
import { accessOptions, api, processIo, resolveAccess, runCommand, type AccessOptions, type CommandIo } from "./access";

export interface KeysOptions extends AccessOptions {
  regenerate?: "primary" | "secondary";
}

export async function runKeys(endpoint: string, opts: KeysOptions, io: CommandIo): Promise<number> {
  return runCommand(io, async () => {
    const access = await resolveAccess(opts, io);
    const e = encodeURIComponent(endpoint);
    const keys = opts.regenerate
      ? await api<{ primaryKey: string; secondaryKey: string }>(access, "POST", `/endpoints/${e}/keys/regenerate`, { keyType: opts.regenerate })
      : await api<{ primaryKey: string; secondaryKey: string }>(access, "POST", `/endpoints/${e}/keys`);
    io.out(JSON.stringify({ primaryKey: keys.primaryKey, secondaryKey: keys.secondaryKey }, null, 2));
    if (opts.regenerate) io.err(`regenerated the ${opts.regenerate} key of endpoint "${endpoint}"; clients using the old one now get 401`);
    return 0;
  });
}

function keyType(v: string): "primary" | "secondary" {
  if (v !== "primary" && v !== "secondary") throw new InvalidArgumentError(`expected primary or secondary, got "${v}"`);
  return v;
}

export function registerKeys(program: Command): void {
  accessOptions(program.command("keys").description("print an endpoint's primary and secondary keys (JSON); --regenerate makes a new one"))
    .argument("<endpoint>", "endpoint name")
    .option("--regenerate <primary|secondary>", "regenerate this key first", keyType)
    .action(async (endpoint: string, opts: KeysOptions) => {
      process.exitCode = await runKeys(endpoint, opts, processIo());
    });
}
