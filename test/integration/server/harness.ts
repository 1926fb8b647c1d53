// Shared helpers for the server's integration tests: temp state, a started server, fake model servers.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { startServer, type RunningServer, type ServerOptions } from "../../../src/server/main";

export const TOKEN = "test-management-token-0123456789";

export interface Upstream {
  url: string;
  hits: number;
  bodies: string[];
  /** Replace the behaviour at any time. */
  handler: (req: IncomingMessage, res: ServerResponse, body: string) => void;
  close(): Promise<void>;
}

/** A tiny model server on 127.0.0.1: GET / (readiness) answers 200, POST /score answers `name`. */
export async function startUpstream(name: string, handler?: Upstream["handler"]): Promise<Upstream> {
  const up: Upstream = {
    url: "",
    hits: 0,
    bodies: [],
    handler:
      handler ??
      ((req, res) => {
        res.writeHead(200, { "content-type": "application/json" });
        res.end(JSON.stringify({ deployment: name }));
      }),
    close: async () => {},
  };
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      if (req.method === "GET" && (req.url === "/" || req.url === "/health")) {
        res.writeHead(200);
        res.end("ok");
        return;
      }
      if (req.method === "GET" && req.url === "/swagger.json") {
        res.writeHead(200, { "content-type": "application/json" });
        res.end(JSON.stringify({ swagger: "2.0", info: { title: name } }));
        return;
      }
      up.hits++;
      const body = Buffer.concat(chunks).toString("utf8");
      if (up.bodies.length < 1000) up.bodies.push(body);
      up.handler(req, res, body);
    });
  });
  server.keepAliveTimeout = 30_000;
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  up.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  up.close = () =>
    new Promise((r) => {
      server.closeAllConnections();
      server.close(() => r());
    });
  return up;
}

export interface Harness {
  server: RunningServer;
  stateDir: string;
  logs: string[];
  mgmt(method: string, p: string, body?: unknown, token?: string): Promise<{ status: number; body: any }>; // eslint-disable-line @typescript-eslint/no-explicit-any
  close(): Promise<void>;
}

export async function startHarness(extra: Partial<ServerOptions> = {}, stateDir?: string): Promise<Harness> {
  const dir = stateDir ?? mkdtempSync(path.join(tmpdir(), "mp-server-"));
  const logs: string[] = [];
  const server = await startServer({
    stateDir: dir,
    gatewayPort: 0,
    gatewayHost: "127.0.0.1",
    managementPort: 0,
    managementToken: TOKEN,
    accessLog: (l) => {
      if (logs.length < 100_000) logs.push(l);
    },
    ...extra,
  });
  return {
    server,
    stateDir: dir,
    logs,
    mgmt: (method, p, body, token = TOKEN) => mgmtCall(server.managementUrl, method, p, body, token),
    close: async () => {
      await server.close();
      if (!stateDir) rmSync(dir, { recursive: true, force: true });
    },
  };
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function mgmtCall(base: string, method: string, p: string, body?: unknown, token = TOKEN): Promise<{ status: number; body: any }> {
  const res = await fetch(`${base}${p}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body !== undefined ? { "content-type": "application/json" } : {}) },
    body: body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body),
  });
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    /* not JSON */
  }
  return { status: res.status, body: parsed };
}

export const FAST_PROBE = { initial_delay: 0, period: 0.1, timeout: 1, success_threshold: 1, failure_threshold: 3 };

export function deploymentBody(urls: string[], settings: Partial<{ request_timeout_ms: number; max_concurrent_requests_per_instance: number; max_queue_wait_ms: number }> = {}) {
  return {
    instances: urls.map((url, i) => ({ id: `i${i}`, url })),
    routes: { scoring: "/score", readiness: "/", liveness: "/", swagger: "/swagger.json" },
    request_settings: { request_timeout_ms: 5000, max_concurrent_requests_per_instance: 50, max_queue_wait_ms: 500, ...settings },
    readiness_probe: FAST_PROBE,
    liveness_probe: FAST_PROBE,
  };
}

/** Polls a deployment until it leaves Creating/Updating. */
export async function waitProvisioned(h: { mgmt: Harness["mgmt"] }, e: string, d: string, timeoutMs = 10_000): Promise<{ provisioningState: string; failureReason?: string }> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const r = await h.mgmt("GET", `/endpoints/${e}/deployments/${d}`);
    if (r.body?.provisioningState !== "Creating" && r.body?.provisioningState !== "Updating") return r.body;
    if (Date.now() > until) throw new Error(`deployment ${e}/${d} still ${r.body?.provisioningState}`);
    await new Promise((res) => setTimeout(res, 50));
  }
}

/** Creates endpoint + deployments (name -> upstream urls) + traffic; returns the primary key. */
export async function setupEndpoint(
  h: Pick<Harness, "mgmt">,
  e: string,
  deployments: Record<string, string[]>,
  traffic: Record<string, number>,
  mirror: Record<string, number> = {},
  settings: Parameters<typeof deploymentBody>[1] = {},
  authMode = "key",
): Promise<string> {
  const put = await h.mgmt("PUT", `/endpoints/${e}`, { auth_mode: authMode });
  if (put.status !== 201 && put.status !== 200) throw new Error(`endpoint PUT ${put.status} ${JSON.stringify(put.body)}`);
  for (const [d, urls] of Object.entries(deployments)) {
    const r = await h.mgmt("PUT", `/endpoints/${e}/deployments/${d}`, deploymentBody(urls, settings));
    if (r.status >= 300) throw new Error(`deployment PUT ${r.status} ${JSON.stringify(r.body)}`);
    const s = await waitProvisioned(h, e, d);
    if (s.provisioningState !== "Succeeded") throw new Error(`deployment ${d} ${JSON.stringify(s)}`);
  }
  const t = await h.mgmt("PUT", `/endpoints/${e}/traffic`, { traffic, mirror_traffic: mirror });
  if (t.status !== 200) throw new Error(`traffic PUT ${t.status} ${JSON.stringify(t.body)}`);
  const keys = await h.mgmt("POST", `/endpoints/${e}/keys`);
  return keys.body.primaryKey as string;
}

export async function score(gatewayUrl: string, e: string, key: string | undefined, body: unknown = { data: [1] }, headers: Record<string, string> = {}): Promise<{ status: number; headers: Headers; text: string }> {
  const res = await fetch(`${gatewayUrl}/endpoints/${e}/score`, {
    method: "POST",
    headers: { "content-type": "application/json", ...(key ? { authorization: `Bearer ${key}` } : {}), ...headers },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
  return { status: res.status, headers: res.headers, text: await res.text() };
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
