import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { createBatchPart } from "./batch/batch-part";
import type { BatchOptions } from "./batch/config";
import { BufferedLines } from "./gateway/access-log-sink";
import { Gateway } from "./gateway/gateway";
import { RuntimeRegistry } from "./gateway/table";
import { UpstreamPools } from "./gateway/upstream";
import { H1Server } from "./http/h1/server";
import { DEFAULT_BODY_BUDGET_BYTES, DEFAULT_BODY_LIMIT_BYTES, DEFAULT_CLIENT_REQUEST_TIMEOUT_MS, checkServerOptions, type ServerLimits } from "./limits";
import { Management } from "./management/api";
import { Provisioner } from "./management/provisioner";
import { GatewayMetrics } from "./metrics/metrics";
import { Store } from "./store/store";
import { dockerLogSource, type LogSource } from "./studio/logs";
import { Studio } from "./studio/studio";

/** How to run the server; its size and time limits are ServerLimits (limits.ts). */
export interface ServerOptions extends ServerLimits {
  stateDir: string;
  gatewayPort: number;
  gatewayHost?: string;
  managementPort: number;
  /** @default "127.0.0.1" (the management API is not meant to be reachable from other hosts) */
  managementHost?: string;
  managementToken: string;
  /** Where access-log lines go. @default one line per request on stdout, written in batches (at most 50 ms late); false disables. */
  accessLog?: boolean | ((line: string) => void);
  /** Base URL put into scoring_uri/swagger_uri. @default env MODELPLANE_PUBLIC_URL or the gateway's own URL */
  publicGatewayUrl?: string;
  /** Cap of mirrored copies in flight. @default 64 */
  mirrorConcurrency?: number;
  /** Node's process metrics on /metrics. @default false */
  processMetrics?: boolean;
  /** Batch endpoints' settings (src/server/batch/config.ts). @default from the environment (docs/batch-api.md) */
  batch?: Partial<BatchOptions>;
  /** Where the studio (/studio/ on the management listener) reads instance logs. @default the Docker engine, when its socket is reachable */
  studioLogs?: LogSource;
}

export interface RunningServer {
  gatewayUrl: string;
  managementUrl: string;
  /** Stops accepting, lets in-flight requests finish (up to 30 s), then closes everything. */
  close(): Promise<void>;
}

function listen(server: Server, port: number, host: string): Promise<AddressInfo> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      server.off("error", reject);
      resolve(server.address() as AddressInfo);
    });
  });
}

function urlOf(a: AddressInfo): string {
  const host = a.family === "IPv6" ? `[${a.address}]` : a.address;
  return `http://${host === "0.0.0.0" || host === "[::]" ? "127.0.0.1" : host}:${a.port}`;
}

function closeServer(server: Server, graceMs: number): Promise<void> {
  return new Promise((resolve) => {
    if (!server.listening) return resolve();
    const force = setTimeout(() => server.closeAllConnections(), graceMs);
    server.close(() => {
      clearTimeout(force);
      resolve();
    });
    server.closeIdleConnections();
  });
}

/** Starts the management API and the gateway on one durable store. */
export async function startServer(opts: ServerOptions): Promise<RunningServer> {
  if (!opts.managementToken) throw new Error("a management token is required (MODELPLANE_MANAGEMENT_TOKEN)");
  checkServerOptions(opts);
  const store = new Store(opts.stateDir);
  let gatewayUrl = "";
  const publicGatewayUrl = (): string => opts.publicGatewayUrl ?? process.env.MODELPLANE_PUBLIC_URL ?? gatewayUrl;
  let batch: Awaited<ReturnType<typeof createBatchPart>>;
  try {
    batch = await createBatchPart(store, opts.stateDir, opts.batch, publicGatewayUrl);
  } catch (err) {
    store.close();
    throw err;
  }
  const pools = new UpstreamPools(opts.responseLimitBytes);
  const metrics = new GatewayMetrics(opts.processMetrics ?? false);
  const registry = new RuntimeRegistry(pools, metrics);
  const tokenSecret = new Uint8Array(store.secret("token-signing"));
  const stdoutLog = typeof opts.accessLog === "function" || opts.accessLog === false ? undefined : new BufferedLines((chunk) => process.stdout.write(chunk));
  const accessLog = typeof opts.accessLog === "function" ? opts.accessLog : (stdoutLog?.push ?? (() => {}));
  const bodyLimitBytes = opts.bodyLimitBytes ?? DEFAULT_BODY_LIMIT_BYTES;
  const bodyBudgetBytes = opts.bodyBudgetBytes ?? Math.max(DEFAULT_BODY_BUDGET_BYTES, bodyLimitBytes);
  // Mirrored copies get a quarter of the clients' budget on top of it (see Mirror).
  const gateway = new Gateway({ pools, metrics, tokenSecret, accessLog, mirrorConcurrency: opts.mirrorConcurrency, mirrorBodyBudgetBytes: Math.floor(bodyBudgetBytes / 4), jobs: batch.gateway });
  let table = registry.build([], []);
  const refresh = (): void => {
    table = registry.build(store.listEndpoints(), store.listDeployments());
    gateway.setTable(table);
  };
  const provisioner = new Provisioner(pools, (e, d, generation, outcome) => {
    if (store.finishProvisioning(e, d, generation, outcome, new Date().toISOString())) refresh();
  });
  const management = new Management({
    store,
    provisioner,
    managementToken: opts.managementToken,
    tokenSecret,
    gatewayUrl: publicGatewayUrl,
    refresh,
    runtime: (e, d) => table.endpoints.get(e)?.deployments.get(d),
    batch: batch.management,
  });

  // Serve what was acknowledged before a restart at once; re-probe deployments that were mid-provisioning.
  refresh();
  for (const d of store.listDeployments()) {
    if (d.provisioningState === "Creating" || d.provisioningState === "Updating") provisioner.start(d.endpoint_name, d.name, d.generation, d.config);
  }

  const gw = new H1Server({ maxHeaderSize: 16 * 1024, bodyLimitBytes, bodyBudgetBytes, requestTimeoutMs: opts.clientRequestTimeoutMs ?? DEFAULT_CLIENT_REQUEST_TIMEOUT_MS, headersTimeoutMs: 15_000, keepAliveTimeoutMs: 65_000, maxConnections: opts.maxConnections, ownAnswer: gateway.ownAnswer }, gateway.handle);
  metrics.observeHttpServer(gw);
  let managementUrl = "";
  const studio = new Studio({
    managementToken: opts.managementToken,
    managementUrl: () => managementUrl,
    gatewayUrl: () => gatewayUrl,
    runtime: (e, d) => table.endpoints.get(e)?.deployments.get(d),
    exists: (e, d) => table.endpoints.get(e)?.deployments.has(d) ?? false,
    metrics,
    logs: opts.studioLogs ?? dockerLogSource(),
  });
  // The studio shares the management listener (localhost by default): /studio/... is the page and its API.
  const mg = createServer({ maxHeaderSize: 16 * 1024, requestTimeout: 60_000, headersTimeout: 15_000 }, (req, res) => {
    if (req.url === "/studio" || req.url?.startsWith("/studio/")) studio.handle(req, res);
    else management.handle(req, res);
  });
  try {
    const ga = await gw.listen(opts.gatewayPort, opts.gatewayHost ?? "0.0.0.0");
    gatewayUrl = urlOf(ga);
    const ma = await listen(mg, opts.managementPort, opts.managementHost ?? "127.0.0.1");
    managementUrl = urlOf(ma);
    studio.start();
    // Jobs that were running before a restart resume here (their workers kept going meanwhile).
    batch.start();
    let closing: Promise<void> | undefined;
    return {
      gatewayUrl,
      managementUrl,
      close: () =>
        (closing ??= (async () => {
          studio.stop();
          provisioner.stopAll();
          await batch.stop();
          await Promise.all([gw.close(30_000), closeServer(mg, 5_000)]);
          stdoutLog?.flush();
          registry.stopAll();
          await pools.close();
          store.close();
        })()),
    };
  } catch (err) {
    stdoutLog?.flush();
    provisioner.stopAll();
    await batch.stop();
    void gw.close(0);
    mg.close();
    registry.stopAll();
    await pools.close();
    store.close();
    throw err;
  }
}
