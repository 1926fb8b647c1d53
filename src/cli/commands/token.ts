// `modelplane token <endpoint> [--expires-in SECONDS]`: a scoring token for an aml_token endpoint.
import { InvalidArgumentError, type Command } from "commander";
import { accessOptions, api, processIo, resolveAccess, runCommand, type AccessOptions, type CommandIo } from "./access";

export interface TokenOptions extends AccessOptions {
  expiresIn?: number;
}

export async function runToken(endpoint: string, opts: TokenOptions, io: CommandIo): Promise<number> {
  return runCommand(io, async () => {
    const access = await resolveAccess(opts, io);
    const t = await api<{ accessToken: string; expiryTimeUtc: string; refreshAfterTimeUtc: string }>(
      access,
      "POST",
      `/endpoints/${encodeURIComponent(endpoint)}/token`,
      opts.expiresIn !== undefined ? { expiresInSeconds: opts.expiresIn } : undefined,
    );
    io.out(JSON.stringify(t, null, 2));
    return 0;
  });
}

function seconds(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1 || n > 86_400) throw new InvalidArgumentError(`expected whole seconds from 1 to 86400, got "${v}"`);
  return n;
}

export function registerToken(program: Command): void {
  accessOptions(program.command("token").description("issue a scoring token (JSON: accessToken, expiryTimeUtc, refreshAfterTimeUtc) for an aml_token endpoint"))
    .argument("<endpoint>", "endpoint name")
    .option("--expires-in <seconds>", "token lifetime (default 3600)", seconds)
    .action(async (endpoint: string, opts: TokenOptions) => {
      process.exitCode = await runToken(endpoint, opts, processIo());
    });
}
