import { performance } from "node:perf_hooks";
import { keyMatches } from "../auth/keys";
import type { GatewayJobs } from "../batch/gateway-jobs";
import { durationText } from "./duration-text";
import { tokenExpiry } from "../auth/tokens";
import type { OwnAnswer, OwnAnswerContext } from "../http/h1/connection";
import type { H1Request, H1Response, ResponseHeaders } from "../http/h1/message";
import { BodyAborted, BodyOverBudget, BodyTooLarge, NAME_RE, bearer, pathSegments } from "../http/request";
import type { BodyPieces } from "../http/body-pieces";
import type { GatewayMetrics, RequestSeries } from "../metrics/metrics";
import type { DeploymentRuntime, Instance } from "./deployment";
import { GatewayError, ejectsInstance, failureStatus, modelErrorHeaders, protocolErrorBody, sanitize, upstreamFailure } from "./errors";
import { Mirror } from "./mirror";
import { IsoTime } from "./iso-time";
import { protocolSwagger } from "./protocol-swagger";
import { newRequestId } from "./request-id";
import { pickWeighted, shouldMirror } from "./select";
import { EMPTY_TABLE, type EndpointRoute, type RoutingTable } from "./table";
import { UpstreamTooLarge, exchange, isTimeout, type AnswerStream, type UpstreamPools, type UpstreamResponse } from "./upstream";

/** model_server of deployments whose /v2 routes (Open Inference Protocol) the gateway forwards. */
const OIP_SERVER = "tritonserver";

/** Header that names the endpoint for `POST /score` when the Host header does not. */
export const ENDPOINT_HEADER = "x-modelplane-endpoint";
const PIN_HEADER = "azureml-model-deployment";
/** Request headers passed on to the model (never authorization). */
const FORWARDED = ["content-type", "accept", "accept-language", "user-agent"];
/** Transport errors where the request surely did not reach the model, so one retry elsewhere is safe. */
const NOT_SENT = new Set(["ECONNREFUSED", "ENOTFOUND", "EHOSTUNREACH", "EAI_AGAIN", "UPSTREAM_CONNECT_TIMEOUT"]);

export interface GatewayOptions {
  pools: UpstreamPools;
  metrics: GatewayMetrics;
  tokenSecret: Uint8Array;
  accessLog: (line: string) => void;
  mirrorConcurrency?: number;
  /** Bytes of bodies mirrored copies may hold at once; past it copies are dropped. @default no bound */
  mirrorBodyBudgetBytes?: number;
  /** Batch endpoints' job routes (/endpoints/{e}/jobs...). @default none (404) */
  jobs?: GatewayJobs;
}

/** Per-request state: what the access log reports and the headers every answer carries. */
class RequestState {
  endpoint: string | undefined = undefined;
  deployment: string | undefined = undefined;
  mirrored: boolean | undefined = undefined;
  instance: Instance | undefined = undefined;
  upstream_status: number | undefined = undefined;
  /** How a streamed answer ended (undefined: not streamed, or not ended yet). */
  streamOutcome: StreamOutcome | undefined = undefined;
  /** Answer with `connection: close` (after refusing a body). */
  close = false;

  constructor(
    readonly req: H1Request,
    readonly res: H1Response,
    readonly requestId: string,
    readonly started: number,
  ) {}

  /** Headers of every answer: x-request-id, the serving deployment once chosen, connection: close if set. */
  headers(extra: ResponseHeaders): ResponseHeaders {
    extra["x-request-id"] = this.requestId;
    if (this.deployment !== undefined) extra[PIN_HEADER] = this.deployment;
    if (this.close) extra.connection = "close";
    return extra;
  }
}

/** What the gateway keeps per endpoint/deployment pair: its metrics and its access-log fields. */
interface PairSeries {
  readonly metrics: RequestSeries;
  /** The access log's `,"endpoint":...,"deployment":...` fields, encoded once. */
  readonly logFields: string;
}

const REQUEST_ID_RE = /^[A-Za-z0-9._-]{1,128}$/;

/** How a streamed answer ended: whole, or why it broke off (the access log's `stream_error`). */
type StreamOutcome = "complete" | "client_closed" | "idle_timeout" | "upstream_failed";

/** Why a streamed answer was cancelled: its client went away. */
class ClientClosed extends Error {
  constructor() {
    super("client closed the connection");
    this.name = "ClientClosed";
  }
}

/** The data plane: auth, routing, admission, proxying, mirroring. */
export class Gateway {
  private table: RoutingTable = EMPTY_TABLE;
  private readonly mirror: Mirror;
  /** endpoint -> deployment -> its metrics and log fields. Names are validated, so the maps stay small. */
  private readonly series = new Map<string, Map<string, PairSeries>>();
  /** Access-log `time`. */
  private readonly clock = new IsoTime();
  /** Sanitized access-log paths of recent request targets (bounded). */
  private readonly paths = new Map<string, string>();

  constructor(private readonly opts: GatewayOptions) {
    this.mirror = new Mirror(opts.pools, opts.metrics, opts.mirrorConcurrency, opts.mirrorBodyBudgetBytes);
  }

  private seriesOf(endpoint: string, deployment: string): PairSeries {
    let byDep = this.series.get(endpoint);
    if (byDep === undefined) this.series.set(endpoint, (byDep = new Map()));
    let c = byDep.get(deployment);
    if (c === undefined) {
      const logFields = `,"endpoint":${JSON.stringify(endpoint)}${deployment === "" ? "" : `,"deployment":${JSON.stringify(deployment)}`}`;
      byDep.set(deployment, (c = { metrics: this.opts.metrics.series(endpoint, deployment), logFields }));
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

  readonly handle = (req: H1Request, res: H1Response): void => {
    const started = performance.now();
    const incomingId = req.headers["x-request-id"];
    const requestId = typeof incomingId === "string" && REQUEST_ID_RE.test(incomingId) ? incomingId : newRequestId();
    req.id = requestId;
    const st = new RequestState(req, res, requestId, started);
    this.route(st).catch((err: unknown) => this.fail(st, err));
  };

  private async route(st: RequestState): Promise<void> {
    const { req } = st;
    const seg = pathSegments(req.url);
    if (!seg) throw new GatewayError("bad_request", "malformed request path");
    const method = req.method;
    if (seg.length === 1 && seg[0] === "healthz") return this.plain(st, method, 200, "ok\n");
    if (seg.length === 1 && seg[0] === "metrics") {
      if (method !== "GET") throw new GatewayError("method_not_allowed", "use GET");
      const body = await this.opts.metrics.registry.metrics();
      this.send(st, 200, { "content-type": this.opts.metrics.registry.contentType }, body);
      return;
    }
    if (seg[0] === "endpoints" && seg.length >= 3 && seg[2] === "jobs") return this.jobs(st, seg);
    let endpointName: string | undefined;
    let action: string | undefined;
    /** Open Inference Protocol path (`/v2/...`) for Triton deployments, forwarded as-is. */
    let oipPath: string | undefined;
    if (seg[0] === "endpoints" && seg.length >= 4 && seg[2] === "v2") {
      endpointName = seg[1]!;
      action = "v2";
      oipPath = `/${seg.slice(2).map(encodeURIComponent).join("/")}`;
      if (!NAME_RE.test(endpointName)) throw new GatewayError("bad_request", `invalid endpoint name '${sanitize(endpointName)}'`);
      if (method !== "GET" && method !== "POST") throw new GatewayError("method_not_allowed", "use GET or POST for /v2 routes");
    } else if (seg[0] === "endpoints" && seg.length === 3) {
      endpointName = seg[1]!;
      action = seg[2];
      if (!NAME_RE.test(endpointName)) throw new GatewayError("bad_request", `invalid endpoint name '${sanitize(endpointName)}'`);
    } else if (seg.length === 1) {
      action = seg[0];
      endpointName = endpointFromRequest(req);
    }
    if (action !== "score" && action !== "swagger.json" && action !== "v2") throw new GatewayError("not_found", "no such route; use POST /endpoints/{endpoint}/score");
    if (action === "score" && method !== "POST") throw new GatewayError("method_not_allowed", "use POST for scoring");
    if (action === "swagger.json" && method !== "GET") throw new GatewayError("method_not_allowed", "use GET for swagger.json");
    if (!endpointName) throw new GatewayError("endpoint_not_found", `name the endpoint in the path, the Host header or ${ENDPOINT_HEADER}`);
    const table = this.table;
    const route = table.endpoints.get(endpointName);
    if (!route) throw new GatewayError("endpoint_not_found", `endpoint '${sanitize(endpointName)}' not found`);
    st.endpoint = route.name;
    // Key auth is synchronous (a hash and constant-time compares); only tokens need a promise.
    if (route.authMode === "key") this.checkKey(req, route, table);
    else await this.checkToken(req, route, table);
    if (route.kind === "batch") throw new GatewayError("not_found", `endpoint '${route.name}' is a batch endpoint: it scores files in jobs; use POST /endpoints/${route.name}/jobs`);

    const pinned = req.headers[PIN_HEADER];
    const pinnedName = typeof pinned === "string" && pinned !== "" ? pinned : undefined;
    const deployment = this.chooseDeployment(route, pinnedName);
    st.deployment = deployment;
    const runtime = route.deployments.get(deployment);
    if (!runtime) throw new GatewayError("no_healthy_instance", `deployment '${deployment}' has no ready instance yet`);

    if (action === "swagger.json") return this.swagger(st, runtime);
    if (oipPath !== undefined && runtime.config.model_server !== OIP_SERVER) {
      throw new GatewayError("not_found", `deployment '${runtime.name}' does not speak the Open Inference Protocol (/v2); use POST /endpoints/${route.name}/score`);
    }

    // A small body usually arrives with its head: taken as it is, without a promise turn.
    const body = req.piecesNow() ?? (await this.wholeBody(st, req));
    const headers = forwardHeaders(req, st.requestId, deployment);
    if (oipPath === undefined && !pinnedName && route.mirror && shouldMirror(route.mirror.percent, Math.random())) {
      const m = route.mirror;
      st.mirrored = true;
      setImmediate(() => this.mirror.send(route.deployments.get(m.name), route.name, m.name, body, headers));
    }
    const up = await this.forward(runtime, body, headers, st, oipPath === undefined ? undefined : { path: oipPath, method: method === "GET" ? "GET" : "POST" });
    if (up.status < 200 || up.status >= 300) {
      // A large or still-open error answer is relayed as it arrives, as the same 424 the buffered ones get below.
      if (up.stream !== undefined) return this.relay(st, up, up.stream, 424, { ...modelErrorHeaders(up.status), "content-type": up.contentType ?? "application/octet-stream" });
      throw new GatewayError("model_error", `the model answered HTTP ${up.status}`, {
        upstreamStatus: up.status,
        upstreamBody: up.body,
        upstreamContentType: up.contentType,
      });
    }
    if (up.stream !== undefined) return this.relay(st, up, up.stream);
    const out: ResponseHeaders = { "content-length": up.body.length };
    if (up.contentType !== undefined) out["content-type"] = up.contentType;
    this.send(st, up.status, out, up.body);
  }

  /** A batch endpoint's job routes: the endpoint's own auth, then src/server/batch/gateway-jobs.ts. */
  private async jobs(st: RequestState, seg: readonly string[]): Promise<void> {
    const { req } = st;
    const endpointName = seg[1]!;
    if (!NAME_RE.test(endpointName)) throw new GatewayError("bad_request", `invalid endpoint name '${sanitize(endpointName)}'`);
    const table = this.table;
    const route = table.endpoints.get(endpointName);
    if (!route) throw new GatewayError("endpoint_not_found", `endpoint '${sanitize(endpointName)}' not found`);
    st.endpoint = route.name;
    if (route.authMode === "key") this.checkKey(req, route, table);
    else await this.checkToken(req, route, table);
    if (route.kind !== "batch" || !this.opts.jobs) throw new GatewayError("not_found", `endpoint '${route.name}' is an online endpoint: it has no jobs; score with POST /endpoints/${route.name}/score`);
    const pinned = req.headers[PIN_HEADER];
    const body = async (): Promise<Buffer> => {
      const pieces = req.piecesNow() ?? (await this.wholeBody(st, req));
      return Buffer.isBuffer(pieces) ? pieces : Buffer.concat(pieces);
    };
    const a = await this.opts.jobs.handle(route.name, req.method, seg.slice(3), body, typeof pinned === "string" && pinned !== "" ? pinned : undefined);
    this.send(st, a.status, { "content-type": a.contentType, "content-length": a.body.length }, a.body);
  }

  /**
   * The request body once all of it is in; too large (413), past the server's body budget (429) or
   * cut short (400) as gateway errors. The first two close the connection: the body was not read.
   */
  private async wholeBody(st: RequestState, req: H1Request): Promise<readonly Buffer[]> {
    try {
      return await req.pieces();
    } catch (err) {
      if (err instanceof BodyTooLarge) {
        st.close = true;
        throw new GatewayError("payload_too_large", `request body exceeds ${err.limit} bytes`);
      }
      if (err instanceof BodyOverBudget) {
        st.close = true;
        throw new GatewayError("too_many_requests", `the gateway is holding its limit of request bodies (${err.budgetBytes} bytes across all requests): retry shortly`);
      }
      if (err instanceof BodyAborted) throw new GatewayError("bad_request", err.message);
      throw err;
    }
  }

  private checkKey(req: H1Request, route: EndpointRoute, table: RoutingTable): void {
    const cred = bearer(req.headers.authorization);
    if (!cred) throw new GatewayError("unauthorized", "missing Authorization: Bearer credential");
    if (provenOnConnection(req, table, route.name, cred)) return;
    if (!keyMatches(cred, route.keyDigests)) throw new GatewayError("unauthorized", "invalid key");
    rememberOnConnection(req, table, route.name, cred, Infinity);
  }

  private async checkToken(req: H1Request, route: EndpointRoute, table: RoutingTable): Promise<void> {
    const cred = bearer(req.headers.authorization);
    if (!cred) throw new GatewayError("unauthorized", "missing Authorization: Bearer credential");
    if (provenOnConnection(req, table, route.name, cred)) return;
    const expiresAt = await tokenExpiry(this.opts.tokenSecret, route.name, cred);
    if (expiresAt === undefined) throw new GatewayError("unauthorized", "invalid or expired token");
    rememberOnConnection(req, table, route.name, cred, expiresAt);
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

  /**
   * Admission, instance choice, one exchange (one retry elsewhere when the request surely was not
   * sent). A streamed answer keeps its admission slot and its instance's count until it settles.
   */
  private async forward(runtime: DeploymentRuntime, body: BodyPieces, headers: Record<string, string>, st: RequestState, target?: { path: string; method: "GET" | "POST" }): Promise<UpstreamResponse> {
    if (runtime.healthyCount() === 0) throw new GatewayError("no_healthy_instance", `deployment '${runtime.name}' has no healthy instance`);
    if (!runtime.limiter.tryAcquire()) await runtime.limiter.acquire();
    const timeoutMs = runtime.config.request_settings.request_timeout_ms;
    let streaming = false;
    try {
      let tried: Instance | undefined;
      for (let attempt = 0; attempt < 2; attempt++) {
        const inst = runtime.pick(tried);
        if (!inst) throw new GatewayError("no_healthy_instance", `deployment '${runtime.name}' has no healthy instance`);
        st.instance = inst;
        inst.outstanding++;
        try {
          const method = target?.method ?? "POST";
          const up = await exchange(this.opts.pools, inst.origin, target?.path ?? inst.scoringPath, method, headers, method === "GET" ? undefined : body, timeoutMs, "stream");
          st.upstream_status = up.status;
          if (up.stream) {
            streaming = true;
            up.stream.onSettled(() => {
              inst.outstanding--;
              runtime.limiter.release();
            });
          }
          return up;
        } catch (err) {
          const timedOut = isTimeout(err);
          // Only a broken instance is ejected (a slow or oversized answer came from a live one).
          if (err instanceof UpstreamTooLarge) st.upstream_status = err.status;
          // Classified once: the same failure decides the ejection and the client's answer.
          const failure = upstreamFailure(err, timedOut, timeoutMs);
          if (ejectsInstance(failure)) runtime.markConnectionFailure(inst);
          const code = (err as { code?: string }).code;
          if (!timedOut && attempt === 0 && code && NOT_SENT.has(code) && runtime.healthyCount() > 0) {
            tried = inst;
            continue;
          }
          throw failure;
        } finally {
          if (!streaming) inst.outstanding--;
        }
      }
      throw new GatewayError("upstream_connection_failed", "connection to the model failed");
    } finally {
      if (!streaming) runtime.limiter.release();
    }
  }

  /**
   * Relays a streamed answer (see AnswerMode "stream"): its head now, each piece as it comes, paced
   * by the client. One log line when it ends or breaks off; the client then sees the body cut short
   * (no last chunk), as a status can no longer change.
   */
  private relay(st: RequestState, up: UpstreamResponse, stream: AnswerStream, status = up.status, headers: ResponseHeaders = {}): void {
    if (up.contentType !== undefined) headers["content-type"] = up.contentType;
    const out = st.res.stream(status, st.headers(headers), { drain: () => stream.resume(), closed: () => stream.cancel(new ClientClosed()) }, up.length);
    if (out === undefined) {
      // The client is gone already (or was answered by the HTTP layer).
      stream.cancel(new ClientClosed());
      this.streamEnded(st, "client_closed");
      return;
    }
    stream.start({
      chunk: (piece) => out.write(piece),
      end: () => {
        out.end();
        this.streamEnded(st, "complete");
      },
      error: (err) => {
        out.abort();
        // The instance answered, so "upstream_failed" does not eject it (a generator that raised
        // mid-stream breaks the connection too); its probes still watch it.
        this.streamEnded(st, err instanceof ClientClosed ? "client_closed" : isTimeout(err) ? "idle_timeout" : "upstream_failed");
      },
    });
  }

  private streamEnded(st: RequestState, outcome: StreamOutcome): void {
    st.streamOutcome = outcome;
    this.opts.metrics.streamedAnswers.labels({ endpoint: st.endpoint ?? "", deployment: st.deployment ?? "", outcome }).inc();
    this.logRequest(st);
  }

  private async swagger(st: RequestState, runtime: DeploymentRuntime): Promise<void> {
    const inst = runtime.pick();
    if (!inst) throw new GatewayError("no_healthy_instance", `deployment '${runtime.name}' has no healthy instance`);
    if (!inst.swaggerPath) {
      const doc = protocolSwagger(runtime.config.model_server, runtime.endpoint, runtime.name);
      if (!doc) throw new GatewayError("not_found", `deployment '${runtime.name}' serves no swagger document`);
      const body = Buffer.from(JSON.stringify(doc));
      this.send(st, 200, { "content-type": "application/json", "content-length": body.length }, body);
      return;
    }
    st.instance = inst;
    const timeoutMs = runtime.config.request_settings.request_timeout_ms;
    let up: UpstreamResponse;
    try {
      up = await exchange(this.opts.pools, inst.origin, inst.swaggerPath, "GET", { "x-request-id": st.requestId }, undefined, timeoutMs);
    } catch (err) {
      throw upstreamFailure(err, isTimeout(err), timeoutMs);
    }
    if (up.status === 404) throw new GatewayError("not_found", `deployment '${runtime.name}' serves no swagger document`);
    if (up.status < 200 || up.status >= 300) throw new GatewayError("model_error", `the model answered HTTP ${up.status}`, { upstreamStatus: up.status });
    this.send(st, 200, { "content-type": "application/json", "content-length": up.body.length }, up.body);
  }

  private plain(st: RequestState, method: string, status: number, text: string): void {
    if (method !== "GET" && method !== "HEAD") throw new GatewayError("method_not_allowed", "use GET");
    // A HEAD answer carries the GET answer's headers; the HTTP layer leaves its body out.
    this.send(st, status, { "content-type": "text/plain" }, text);
  }

  private fail(st: RequestState, err: unknown): void {
    const { res } = st;
    const { status, code, message } = failureStatus(err);
    if (status === 500) console.error(`gateway internal error: ${(err as Error)?.stack ?? String(err)}`);
    // Answered already: the HTTP layer answered a body timeout itself (and closes the connection
    // once that answer is out). The log line reports what the client got.
    if (res.headersSent) {
      this.logRequest(st);
      return;
    }
    const headers: ResponseHeaders = {};
    if (status === 401) headers["www-authenticate"] = 'Bearer realm="modelplane"';
    // Every 429 is about load that passes (a full queue, the body budget): say when to come back.
    if (status === 429) headers["retry-after"] = "1";
    if (err instanceof GatewayError && err.code === "model_error" && err.detail.upstreamStatus !== undefined) {
      Object.assign(headers, modelErrorHeaders(err.detail.upstreamStatus));
      if (err.detail.upstreamBody) {
        // The model's own answer is passed through so its error explains itself.
        headers["content-type"] = err.detail.upstreamContentType ?? "application/octet-stream";
        headers["content-length"] = String(err.detail.upstreamBody.length);
        this.send(st, status, headers, err.detail.upstreamBody);
        return;
      }
    }
    const data = Buffer.from(JSON.stringify({ error: { code, message } }));
    headers["content-type"] = "application/json; charset=utf-8";
    headers["content-length"] = String(data.length);
    this.send(st, status, headers, data);
  }

  /** Every answer goes out here: the common headers, then one access-log line and the request metrics. */
  private send(st: RequestState, status: number, headers: ResponseHeaders, body: Buffer | string | undefined): void {
    st.res.respond(status, st.headers(headers), body);
    this.logRequest(st);
  }

  private logRequest(st: RequestState): void {
    const ms = performance.now() - st.started;
    const status = st.res.statusCode;
    let routed = "";
    if (st.endpoint !== undefined) {
      const s = this.seriesOf(st.endpoint, st.deployment ?? "");
      s.metrics.record(status, ms / 1000);
      routed = s.logFields;
    }
    // Same JSON line as ever (fields and order): time, request_id, method, path, status, duration_ms,
    // then the routing facts that are known. Built by hand: request_id (validated or a UUID), method
    // (the HTTP layer accepts only known method tokens) and path (sanitized) never need escaping;
    // names are JSON-encoded once per series or instance.
    let line = this.logLineStart(st.requestId, st.req.method, st.req.url, status, durationText(ms)) + routed;
    if (st.mirrored !== undefined) line += `,"mirrored":${st.mirrored}`;
    if (st.instance !== undefined) line += st.instance.logField;
    if (st.upstream_status !== undefined) line += `,"upstream_status":${st.upstream_status}`;
    const so = st.streamOutcome;
    if (so !== undefined) line += so === "complete" ? `,"streamed":true` : `,"streamed":true,"stream_error":"${so}"`;
    this.opts.accessLog(`${line}}`);
  }

  /**
   * The HTTP layer's own answers (malformed requests, oversized heads, timeouts): a JSON error with
   * a request id, and an access-log line like every answer (method and path once a head was read).
   */
  readonly ownAnswer = (status: number, message: string, about: OwnAnswerContext): OwnAnswer => {
    // Every answer carries a request id, also those given before a request could be read; one the
    // handler already gave the request is kept, so the client's id matches the handler's log line.
    const requestId = about.requestId ?? newRequestId();
    // A request a handler already has is logged by that handler.
    if (!about.handled) this.opts.accessLog(`${this.logLineStart(requestId, about.method, about.url, status, durationText(Math.max(0, Date.now() - about.startedAt)))}}`);
    return { ...protocolErrorBody(status, message, about.code), headers: { "x-request-id": requestId } };
  };

  /**
   * The fields every access-log line starts with, without the closing brace: time, request_id, then
   * method and path when a head was read, status, duration_ms.
   */
  private logLineStart(requestId: string, method: string | undefined, url: string | undefined, status: number, duration: string): string {
    const target = method !== undefined && url !== undefined ? `,"method":"${method}","path":"${this.logPath(url)}"` : "";
    return `{"time":"${this.clock.format(Date.now())}","request_id":"${requestId}"${target},"status":${status},"duration_ms":${duration}`;
  }

  private logPath(url: string): string {
    let p = this.paths.get(url);
    if (p === undefined) {
      p = sanitize(url.split("?")[0] ?? "", 200);
      if (url.length > 512) return p;
      if (this.paths.size >= 256) this.paths.clear();
      this.paths.set(url, p);
    }
    return p;
  }
}

/**
 * What a keep-alive connection last proved: the exact credential it presented for an endpoint
 * under one routing table. A client sends the same Authorization header on every request of a
 * connection, so the key hash or token signature is checked once per connection, not per request.
 * Sound because the memo only ever matches the string this same connection already proved, and it
 * is dropped by any table swap (key regeneration, auth-mode change, endpoint removal) and, for
 * tokens, at expiry.
 */
interface ConnectionAuth {
  table: RoutingTable;
  endpoint: string;
  credential: string;
  expiresAt: number;
}
const CONNECTION_AUTH = Symbol("modelplane.connectionAuth");
type ConnectionWithAuth = { [CONNECTION_AUTH]?: ConnectionAuth };

function provenOnConnection(req: H1Request, table: RoutingTable, endpoint: string, credential: string): boolean {
  const m = (req.connection as ConnectionWithAuth)[CONNECTION_AUTH];
  // Keys never expire (Infinity): no clock read on their hot path.
  return m !== undefined && m.table === table && m.endpoint === endpoint && m.credential === credential && (m.expiresAt === Infinity || Date.now() < m.expiresAt);
}

function rememberOnConnection(req: H1Request, table: RoutingTable, endpoint: string, credential: string, expiresAt: number): void {
  (req.connection as ConnectionWithAuth)[CONNECTION_AUTH] = { table, endpoint, credential, expiresAt };
}

function endpointFromRequest(req: H1Request): string | undefined {
  const h = req.headers[ENDPOINT_HEADER];
  if (typeof h === "string" && NAME_RE.test(h)) return h;
  const host = (req.headers.host ?? "").replace(/:\d+$/, "");
  const dot = host.indexOf(".");
  if (dot <= 0) return undefined;
  const first = host.slice(0, dot);
  if (/^\d+$/.test(first) || !NAME_RE.test(first)) return undefined;
  return first;
}

function forwardHeaders(req: H1Request, requestId: string, deployment: string): Record<string, string> {
  const h: Record<string, string> = { "x-request-id": requestId, [PIN_HEADER]: deployment };
  for (const name of FORWARDED) {
    const v = req.headers[name];
    if (typeof v === "string") h[name] = v;
  }
  return h;
}
