import { randomUUID } from "node:crypto";
import { STATUS_CODES, type IncomingMessage, type ServerResponse } from "node:http";
import { keyMatches } from "../auth/keys";
import { verifyToken } from "../auth/tokens";
import { BodyAborted, BodyTooLarge, NAME_RE, bearer, pathSegments, readBody } from "../http/request";
import type { GatewayMetrics } from "../metrics/metrics";
import type { DeploymentRuntime, Instance } from "./deployment";
import { GatewayError, failureStatus, sanitize, upstreamFailure } from "./errors";
import { Mirror } from "./mirror";
import { pickWeighted, shouldMirror } from "./select";
import { EMPTY_TABLE, type EndpointRoute, type RoutingTable } from "./table";
import { exchange, isTimeout, type UpstreamPools, type UpstreamResponse } from "./upstream";

/**
 * Default body limit: 100 MiB. Bodies are buffered (they may be mirrored and retried), so the limit
 * also bounds memory per request; lower it with bodyLimitBytes / --body-limit-bytes.
 */
export const DEFAULT_BODY_LIMIT_BYTES = 100 * 1024 * 1024;
/** Header that names the endpoint for `POST /score` when the Host header does not. */
export const ENDPOINT_HEADER = "x-modelplane-endpoint";
const PIN_HEADER = "azureml-model-deployment";
/** Request headers passed on to the model (never authorization). */
const FORWARDED = ["content-type", "accept", "accept-language", "user-agent"];
/** Transport errors where the request surely did not reach the model, so one retry elsewhere is safe. */
const NOT_SENT = new Set(["ECONNREFUSED", "ENOTFOUND", "EHOSTUNREACH", "EAI_AGAIN", "UND_ERR_CONNECT_TIMEOUT"]);

export interface GatewayOptions {
  pools: UpstreamPools;
  metrics: GatewayMetrics;
  tokenSecret: Uint8Array;
  bodyLimitBytes: number;
  accessLog: (line: string) => void;
  mirrorConcurrency?: number;
}

interface LogFields {
  endpoint?: string;
  deployment?: string;
  instance?: string;
  mirrored?: boolean;
  upstream_status?: number;
}

/** The data plane: auth, routing, admission, proxying, mirroring. */
export class Gateway {
  private table: RoutingTable = EMPTY_TABLE;
  private readonly mirror: Mirror;

  constructor(private readonly opts: GatewayOptions) {
    this.mirror = new Mirror(opts.pools, opts.metrics, opts.mirrorConcurrency);
  }

  /** Bound metric children, so the hot path does no label hashing. Keys are validated names and status codes. */
  private readonly children = new Map<string, unknown>();

  private child<T>(key: string, make: () => T): T {
    let c = this.children.get(key) as T | undefined;
    if (c === undefined) {
      c = make();
      this.children.set(key, c);
    }
    return c;
  }

  /** Atomically replaces the routing table; requests already running keep the one they started with. */
  setTable(t: RoutingTable): void {
    this.table = t;
  }

  get mirrorPending(): number {
    return this.mirror.pending;
  }

  readonly handle = (req: IncomingMessage, res: ServerResponse): void => {
    const started = process.hrtime.bigint();
    const incomingId = req.headers["x-request-id"];
    const requestId = typeof incomingId === "string" && /^[A-Za-z0-9._-]{1,128}$/.test(incomingId) ? incomingId : randomUUID();
    res.setHeader("x-request-id", requestId);
    const log: LogFields = {};
    res.on("finish", () => this.logRequest(req, res, requestId, started, log));
    this.route(req, res, requestId, log).catch((err: unknown) => this.fail(res, err, log));
  };

  private async route(req: IncomingMessage, res: ServerResponse, requestId: string, log: LogFields): Promise<void> {
    const seg = pathSegments(req.url);
    if (!seg) throw new GatewayError("bad_request", "malformed request path");
    const method = req.method ?? "GET";
    if (seg.length === 1 && seg[0] === "healthz") return this.plain(res, method, 200, "ok\n");
    if (seg.length === 1 && seg[0] === "metrics") {
      if (method !== "GET") throw new GatewayError("method_not_allowed", "use GET");
      const body = await this.opts.metrics.registry.metrics();
      res.writeHead(200, { "content-type": this.opts.metrics.registry.contentType });
      res.end(body);
      return;
    }
    let endpointName: string | undefined;
    let action: string | undefined;
    if (seg[0] === "endpoints" && seg.length === 3) {
      endpointName = seg[1]!;
      action = seg[2];
      if (!NAME_RE.test(endpointName)) throw new GatewayError("bad_request", `invalid endpoint name '${sanitize(endpointName)}'`);
    } else if (seg.length === 1) {
      action = seg[0];
      endpointName = endpointFromRequest(req);
    }
    if (action !== "score" && action !== "swagger.json") throw new GatewayError("not_found", "no such route; use POST /endpoints/{endpoint}/score");
    if (action === "score" && method !== "POST") throw new GatewayError("method_not_allowed", "use POST for scoring");
    if (action === "swagger.json" && method !== "GET") throw new GatewayError("method_not_allowed", "use GET for swagger.json");
    if (!endpointName) throw new GatewayError("endpoint_not_found", `name the endpoint in the path, the Host header or ${ENDPOINT_HEADER}`);
    const table = this.table;
    const route = table.endpoints.get(endpointName);
    if (!route) throw new GatewayError("endpoint_not_found", `endpoint '${sanitize(endpointName)}' not found`);
    log.endpoint = route.name;
    await this.authenticate(req, route);

    const pinned = req.headers[PIN_HEADER];
    const pinnedName = typeof pinned === "string" && pinned !== "" ? pinned : undefined;
    const deployment = this.chooseDeployment(route, pinnedName);
    log.deployment = deployment;
    res.setHeader(PIN_HEADER, deployment);
    const runtime = route.deployments.get(deployment);
    if (!runtime) throw new GatewayError("no_healthy_instance", `deployment '${deployment}' has no ready instance yet`);

    if (action === "swagger.json") return this.swagger(res, runtime, requestId, log);

    let body: Buffer;
    try {
      body = await readBody(req, this.opts.bodyLimitBytes);
    } catch (err) {
      if (err instanceof BodyTooLarge) {
        res.setHeader("connection", "close");
        throw new GatewayError("payload_too_large", `request body exceeds ${err.limit} bytes`);
      }
      if (err instanceof BodyAborted) throw new GatewayError("bad_request", err.message);
      throw err;
    }
    const headers = forwardHeaders(req, requestId, deployment);
    if (!pinnedName && route.mirror && shouldMirror(route.mirror.percent, Math.random())) {
      const m = route.mirror;
      log.mirrored = true;
      setImmediate(() => this.mirror.send(route.deployments.get(m.name), route.name, m.name, body, headers));
    }
    const up = await this.forward(runtime, body, headers, log);
    if (up.status < 200 || up.status >= 300) {
      throw new GatewayError("model_error", `the model answered HTTP ${up.status}`, {
        upstreamStatus: up.status,
        upstreamReason: STATUS_CODES[up.status] ?? "Unknown",
        upstreamBody: up.body,
        upstreamContentType: typeof up.headers["content-type"] === "string" ? up.headers["content-type"] : undefined,
      });
    }
    const out: Record<string, string> = { "content-length": String(up.body.length) };
    const ct = up.headers["content-type"];
    if (typeof ct === "string") out["content-type"] = ct;
    res.writeHead(up.status, out);
    res.end(up.body);
  }

  private async authenticate(req: IncomingMessage, route: EndpointRoute): Promise<void> {
    const cred = bearer(req);
    if (!cred) throw new GatewayError("unauthorized", "missing Authorization: Bearer credential");
    const ok = route.authMode === "key" ? keyMatches(cred, route.keyHashes) : await verifyToken(this.opts.tokenSecret, route.name, cred);
    if (!ok) throw new GatewayError("unauthorized", route.authMode === "key" ? "invalid key" : "invalid or expired token");
  }

  private chooseDeployment(route: EndpointRoute, pinned: string | undefined): string {
    if (pinned !== undefined) {
      if (!route.deployments.has(pinned)) throw new GatewayError("deployment_not_found", `deployment '${sanitize(pinned)}' not found on endpoint '${route.name}'`);
      return pinned;
    }
    const name = pickWeighted(route.split, Math.random());
    if (!name) throw new GatewayError("no_deployment_with_traffic", `endpoint '${route.name}' has no deployment with traffic`);
    return name;
  }

  /** Admission, instance choice, one exchange (one retry elsewhere when the request surely was not sent). */
  private async forward(runtime: DeploymentRuntime, body: Buffer, headers: Record<string, string>, log: LogFields): Promise<UpstreamResponse> {
    if (runtime.healthyCount() === 0) throw new GatewayError("no_healthy_instance", `deployment '${runtime.name}' has no healthy instance`);
    const { metrics } = this.opts;
    const labels = { endpoint: runtime.endpoint, deployment: runtime.name };
    if (!runtime.limiter.tryAcquire()) {
      metrics.queued.inc(labels);
      try {
        await runtime.limiter.acquire();
      } finally {
        metrics.queued.dec(labels);
      }
    }
    const inflight = this.child(`i\0${runtime.endpoint}\0${runtime.name}`, () => metrics.inflight.labels(labels));
    inflight.inc();
    const timeoutMs = runtime.config.request_settings.request_timeout_ms;
    try {
      let tried: Instance | undefined;
      for (let attempt = 0; attempt < 2; attempt++) {
        const inst = runtime.pick(tried);
        if (!inst) throw new GatewayError("no_healthy_instance", `deployment '${runtime.name}' has no healthy instance`);
        log.instance = inst.id;
        inst.outstanding++;
        try {
          const up = await exchange(this.opts.pools, inst.origin, inst.scoringPath, "POST", headers, body, timeoutMs);
          log.upstream_status = up.status;
          return up;
        } catch (err) {
          const timedOut = isTimeout(err);
          if (!timedOut) runtime.markConnectionFailure(inst);
          const code = (err as { code?: string }).code;
          if (!timedOut && attempt === 0 && code && NOT_SENT.has(code) && runtime.healthyCount() > 0) {
            tried = inst;
            continue;
          }
          throw upstreamFailure(err, timedOut, timeoutMs);
        } finally {
          inst.outstanding--;
        }
      }
      throw new GatewayError("upstream_connection_failed", "connection to the model failed");
    } finally {
      inflight.dec();
      runtime.limiter.release();
    }
  }

  private async swagger(res: ServerResponse, runtime: DeploymentRuntime, requestId: string, log: LogFields): Promise<void> {
    const inst = runtime.pick();
    if (!inst) throw new GatewayError("no_healthy_instance", `deployment '${runtime.name}' has no healthy instance`);
    if (!inst.swaggerPath) throw new GatewayError("not_found", `deployment '${runtime.name}' serves no swagger document`);
    log.instance = inst.id;
    const timeoutMs = runtime.config.request_settings.request_timeout_ms;
    let up: UpstreamResponse;
    try {
      up = await exchange(this.opts.pools, inst.origin, inst.swaggerPath, "GET", { "x-request-id": requestId }, undefined, timeoutMs);
    } catch (err) {
      throw upstreamFailure(err, isTimeout(err), timeoutMs);
    }
    if (up.status === 404) throw new GatewayError("not_found", `deployment '${runtime.name}' serves no swagger document`);
    if (up.status < 200 || up.status >= 300) throw new GatewayError("model_error", `the model answered HTTP ${up.status}`, { upstreamStatus: up.status, upstreamReason: STATUS_CODES[up.status] ?? "Unknown" });
    res.writeHead(200, { "content-type": "application/json", "content-length": String(up.body.length) });
    res.end(up.body);
  }

  private plain(res: ServerResponse, method: string, status: number, text: string): void {
    if (method !== "GET" && method !== "HEAD") throw new GatewayError("method_not_allowed", "use GET");
    res.writeHead(status, { "content-type": "text/plain" });
    res.end(method === "HEAD" ? undefined : text);
  }

  private fail(res: ServerResponse, err: unknown, log: LogFields): void {
    const { status, code, message } = failureStatus(err);
    if (status === 500) console.error(`gateway internal error: ${(err as Error)?.stack ?? String(err)}`);
    if (res.headersSent) {
      res.destroy();
      return;
    }
    const headers: Record<string, string> = {};
    if (status === 401) headers["www-authenticate"] = 'Bearer realm="modelplane"';
    if (err instanceof GatewayError && err.code === "model_error" && err.detail.upstreamStatus !== undefined) {
      headers["ms-azureml-model-error-statuscode"] = String(err.detail.upstreamStatus);
      headers["ms-azureml-model-error-reason"] = err.detail.upstreamReason ?? "";
      if (err.detail.upstreamBody) {
        // The model's own answer is passed through so its error explains itself.
        res.writeHead(status, { ...headers, "content-type": err.detail.upstreamContentType ?? "application/octet-stream", "content-length": String(err.detail.upstreamBody.length) });
        res.end(err.detail.upstreamBody);
        return;
      }
    }
    void log;
    const data = Buffer.from(JSON.stringify({ error: { code, message } }));
    res.writeHead(status, { ...headers, "content-type": "application/json; charset=utf-8", "content-length": String(data.length) });
    res.end(data);
  }

  private logRequest(req: IncomingMessage, res: ServerResponse, requestId: string, started: bigint, log: LogFields): void {
    const ms = Number(process.hrtime.bigint() - started) / 1e6;
    if (log.endpoint) {
      const labels = { endpoint: log.endpoint, deployment: log.deployment ?? "" };
      const { metrics } = this.opts;
      const status = String(res.statusCode);
      this.child(`r\0${labels.endpoint}\0${labels.deployment}\0${status}`, () => metrics.requests.labels({ ...labels, status })).inc();
      this.child(`l\0${labels.endpoint}\0${labels.deployment}`, () => metrics.latency.labels(labels)).observe(ms / 1000);
    }
    const rawPath = (req.url ?? "").split("?")[0] ?? "";
    this.opts.accessLog(
      JSON.stringify({
        time: new Date().toISOString(),
        request_id: requestId,
        method: req.method,
        path: sanitize(rawPath, 200),
        status: res.statusCode,
        duration_ms: Math.round(ms * 1000) / 1000,
        ...log,
      }),
    );
  }
}

function endpointFromRequest(req: IncomingMessage): string | undefined {
  const h = req.headers[ENDPOINT_HEADER];
  if (typeof h === "string" && NAME_RE.test(h)) return h;
  const host = (req.headers.host ?? "").replace(/:\d+$/, "");
  const dot = host.indexOf(".");
  if (dot <= 0) return undefined;
  const first = host.slice(0, dot);
  if (/^\d+$/.test(first) || !NAME_RE.test(first)) return undefined;
  return first;
}

function forwardHeaders(req: IncomingMessage, requestId: string, deployment: string): Record<string, string> {
  const h: Record<string, string> = { "x-request-id": requestId, [PIN_HEADER]: deployment };
  for (const name of FORWARDED) {
    const v = req.headers[name];
    if (typeof v === "string") h[name] = v;
  }
  return h;
}
