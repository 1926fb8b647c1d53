// `modelplane endpoints [--json]`: the endpoints the control plane knows, with state and traffic.
import type { Command } from "commander";
import { accessOptions, api, processIo, resolveAccess, runCommand, type AccessOptions, type CommandIo } from "./access";

interface EndpointView {
  name: string;
  auth_mode: string;
  provisioningState: string;
  traffic: Record<string, number>;
  mirror_traffic: Record<string, number>;
  scoring_uri: string;
}

export interface EndpointsOptions extends AccessOptions {
  json?: boolean;
}

function split(m: Record<string, number>): string {
  const parts = Object.entries(m).map(([d, p]) => `${d}=${p}`);
  return parts.length ? parts.join(",") : "-";
}

/** Aligned columns; the last column is not padded. */
export function table(rows: string[][]): string[] {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? "").length)));
  return rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join("  "));
}

export async function runEndpoints(opts: EndpointsOptions, io: CommandIo): Promise<number> {
  return runCommand(io, async () => {
    const access = await resolveAccess(opts, io);
    const { value } = await api<{ value: EndpointView[] }>(access, "GET", "/endpoints");
    if (opts.json) {
      for (const e of value) io.out(JSON.stringify(e));
      return 0;
    }
    if (value.length === 0) {
      io.out("no endpoints (deploy some with `pulumi up`)");
      return 0;
    }
    const rows = [["NAME", "AUTH_MODE", "PROVISIONING_STATE", "TRAFFIC", "MIRROR_TRAFFIC", "SCORING_URI"]];
    for (const e of value) rows.push([e.name, e.auth_mode, e.provisioningState, split(e.traffic), split(e.mirror_traffic), e.scoring_uri]);
    for (const line of table(rows)) io.out(line);
    return 0;
  });
}

export function registerEndpoints(program: Command): void {
  accessOptions(program.command("endpoints").description("list the control plane's online endpoints: auth mode, provisioningState, traffic and mirror split"))
    .option("--json", "print one JSON object per endpoint", false)
    .action(async (opts: EndpointsOptions) => {
      process.exitCode = await runEndpoints(opts, processIo());
    });
}
