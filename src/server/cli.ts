import type { Command } from "commander";
import { DEFAULT_BODY_BUDGET_BYTES, DEFAULT_BODY_LIMIT_BYTES, DEFAULT_CLIENT_REQUEST_TIMEOUT_MS, DEFAULT_MAX_CONNECTIONS, DEFAULT_RESPONSE_LIMIT_BYTES, SERVER_LIMIT_FLAGS as LIMIT } from "./limits";
import { startServer } from "./main";

interface ServerFlags {
  stateDir: string;
  gatewayPort: string;
  managementPort: string;
  gatewayHost: string;
  managementHost: string;
  bodyLimitBytes?: string;
  bodyBudgetBytes?: string;
  responseLimitBytes?: string;
  clientRequestTimeoutMs?: string;
  maxConnections?: string;
}

function port(value: string, flag: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new Error(`${flag} must be a port number, got ${JSON.stringify(value)}; give 1-65535, or 0 for any free port, e.g. ${flag} 8080`);
  return n;
}

/** A flag's whole-number value; anything else (a typo, a unit suffix) is an error, never a silent default. */
export function wholeNumber(value: string | undefined, flag: string, example: string): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d+$/.test(value)) throw new Error(`${flag} must be a whole number, got ${JSON.stringify(value)}; write it without units, e.g. ${flag} ${example}`);
  return Number(value);
}

/** Runs the server until SIGTERM/SIGINT, then drains in-flight requests and exits. */
export async function runServer(flags: ServerFlags): Promise<void> {
  const token = process.env.MODELPLANE_MANAGEMENT_TOKEN;
  if (!token) throw new Error("set MODELPLANE_MANAGEMENT_TOKEN to the management API's bearer token");
  const server = await startServer({
    stateDir: flags.stateDir,
    gatewayPort: port(flags.gatewayPort, "--gateway-port"),
    gatewayHost: flags.gatewayHost,
    managementPort: port(flags.managementPort, "--management-port"),
    managementHost: flags.managementHost,
    managementToken: token,
    bodyLimitBytes: wholeNumber(flags.bodyLimitBytes, LIMIT.bodyLimitBytes, "1048576"),
    bodyBudgetBytes: wholeNumber(flags.bodyBudgetBytes, LIMIT.bodyBudgetBytes, "536870912"),
    responseLimitBytes: wholeNumber(flags.responseLimitBytes, LIMIT.responseLimitBytes, "1048576"),
    clientRequestTimeoutMs: wholeNumber(flags.clientRequestTimeoutMs, LIMIT.clientRequestTimeoutMs, "60000"),
    maxConnections: wholeNumber(flags.maxConnections, LIMIT.maxConnections, "20000"),
    processMetrics: true,
  });
  console.error(`modelplane server: gateway ${server.gatewayUrl}, management ${server.managementUrl}, state ${flags.stateDir}`);
  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    console.error(`modelplane server: ${signal}, finishing in-flight requests`);
    server.close().then(
      () => process.exit(0),
      (err: unknown) => {
        console.error(err);
        process.exit(1);
      },
    );
  };
  process.on("SIGTERM", () => stop("SIGTERM"));
  process.on("SIGINT", () => stop("SIGINT"));
}

function addFlags(cmd: Command): Command {
  return cmd
    .option("--state-dir <dir>", "folder of the SQLite store", process.env.MODELPLANE_STATE_DIR ?? ".state/server")
    .option("--gateway-port <port>", "gateway (scoring) port", "8080")
    .option("--gateway-host <host>", "gateway bind address", "0.0.0.0")
    .option("--management-port <port>", "management API port", "8081")
    .option("--management-host <host>", "management API bind address", "127.0.0.1")
    .option(`${LIMIT.bodyLimitBytes} <n>`, `largest scoring request body (413 beyond); default ${DEFAULT_BODY_LIMIT_BYTES} (100 MiB)`)
    .option(`${LIMIT.bodyBudgetBytes} <n>`, `scoring request bodies buffered at once across all requests (429 beyond); default ${DEFAULT_BODY_BUDGET_BYTES} (1 GiB), at least ${LIMIT.bodyLimitBytes}`)
    .option(`${LIMIT.responseLimitBytes} <n>`, `largest answer read from a model instance (502 beyond); default ${DEFAULT_RESPONSE_LIMIT_BYTES} (100 MiB)`)
    .option(`${LIMIT.clientRequestTimeoutMs} <ms>`, `time a client has to send a whole scoring request (408 beyond); default ${DEFAULT_CLIENT_REQUEST_TIMEOUT_MS}`)
    .option(`${LIMIT.maxConnections} <n>`, `client connections open at once (one more is answered 503 and closed); default ${DEFAULT_MAX_CONNECTIONS}`);
}

/** Adds `modelplane server` (management token from env MODELPLANE_MANAGEMENT_TOKEN). */
export function registerServerCommand(program: Command): void {
  addFlags(program.command("server").description("run the modelplane server: management API and scoring gateway")).action(async (flags: ServerFlags) => {
    // What stops the start (a bad flag, no token, a port in use, an unwritable state dir) is the
    // user's to fix: said plainly, exit 1, as the server image's own entry does.
    try {
      await runServer(flags);
    } catch (err) {
      process.stderr.write(`modelplane server: ${err instanceof Error ? err.message : String(err)}\n`);
      process.exitCode = 1;
    }
  });
}

export { addFlags as addServerFlags };
