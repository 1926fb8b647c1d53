import type { IncomingMessage, ServerResponse } from "node:http";
import { stringify } from "yaml";
import { secretEquals } from "../auth/keys";
import type { DeploymentRuntime } from "../gateway/deployment";
import { NAME_RE, readBody } from "../http/request";
import type { GatewayMetrics } from "../metrics/metrics";
import { loadStudioAssets, type StudioAssets } from "./assets";
import { MetricHistory, STEP_MS, type MirrorTotals } from "./history";
import type { LogSource } from "./logs";
import { SESSION_COOKIE, Sessions, clearedCookie, cookieValue, csrfRefusal, sessionCookie, type Session } from "./sessions";

export interface StudioDeps {
  managementToken: string;
  /** The management API's own URL (the studio calls it in-process with the token, which never leaves the server). */
  managementUrl: () => string;
  /** The gateway's own URL (the test console scores through it). */
  gatewayUrl: () => string;
  runtime: (endpoint: string, deployment: string) => DeploymentRuntime | undefined;
  /** Whether a deployment still exists (the history of removed ones is dropped). */
  exists: (endpoint: string, deployment: string) => boolean;
  metrics: GatewayMetrics;
  logs: LogSource;
  now?: () => number;
}

const PAGE = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<meta name="color-scheme" content="light dark"><link rel="icon" href="data:,"><title>modelplane studio</title><link rel="stylesheet" href="/studio/app.css"></head>
<body><div id="app"><noscript>The studio needs JavaScript.</noscript></div><script src="/studio/app.js"></script></body></html>
`;

/** Studio answers are never cached and never framed; scripts and connections only to this origin. */
const SECURITY_HEADERS: Record<string, string> = {
  "cache-control": "no-store",
  "x-content-type-options": "nosniff",
  "referrer-policy": "same-origin",
  "x-frame-options": "DENY",
  "content-security-policy": "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
};

const SIGN_IN_LIMIT = 8 * 1024;
const CONSOLE_BODY_LIMIT = 1024 * 1024;
const LOG_LINES = 200;

class StudioError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

interface MgmtAnswer {
  status: number;
  body: unknown;
}

type Json = Record<string, unknown>;

/** The studio web page and its JSON API, served under /studio/ on the management listener. */
export class Studio {
  readonly sessions: Sessions;
  readonly history = new MetricHistory();
  private assets: Promise<StudioAssets> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private readonly now: () => number;

  constructor(private readonly deps: StudioDeps) {
    this.now = deps.now ?? Date.now;
    this.sessions = new Sessions(this.now);
  }

  /** Starts sampling the gateway's figures every 2 s. */
  start(): void {
    void this.sample();
    this.timer = setInterval(() => void this.sample(), STEP_MS);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
  }

  /** One history sample (exported for tests). */
  async sample(): Promise<void> {
    const mirrors = new Map<string, MirrorTotals>();
    for (const v of (await this.deps.metrics.mirrorCopies.get()).values) {
      const key = `${String(v.labels.endpoint)}\n${String(v.labels.deployment)}`;
      const m = mirrors.get(key) ?? { ok: 0, error: 0 };
      if (v.labels.outcome === "ok") m.ok += v.value;
      else m.error += v.value;
      mirrors.set(key, m);
    }
    this.history.sample(this.now(), this.deps.metrics.allSeries(), mirrors);
    this.history.retain(this.deps.exists);
  }

  readonly handle = (req: IncomingMessage, res: ServerResponse): void => {
    this.dispatch(req, res).catch((err: unknown) => {
      if (res.headersSent) {
        res.destroy();
        return;
      }
      if (err instanceof StudioError) return this.json(res, err.status, { error: err.message });
      console.error(`studio internal error: ${(err as Error)?.stack ?? String(err)}`);
      this.json(res, 500, { error: "the studio failed to handle the request" });
    });
  };

  private session(req: IncomingMessage): Session | undefined {
    return this.sessions.get(cookieValue(req.headers.cookie, SESSION_COOKIE));
  }

  private async dispatch(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", "http://studio.invalid");
    const p = url.pathname;
    const method = req.method ?? "GET";
    if (p === "/studio") return this.redirect(res, "/studio/");
    if (p === "/studio/" && method === "GET") return this.send(res, 200, "text/html; charset=utf-8", PAGE);
    if ((p === "/studio/app.js" || p === "/studio/app.css") && method === "GET") {
      const a = (await (this.assets ??= loadStudioAssets())).get(p.slice("/studio/".length));
      if (!a) throw new StudioError(404, "no such file");
      return this.send(res, 200, a.type, a.body);
    }
    if (p === "/studio/sign-in") {
      if (method !== "POST") throw new StudioError(405, "use POST");
      return this.signIn(req, res);
    }
    // Whether this browser is signed in: 200 either way, so the first visit logs no failed request.
    if (p === "/studio/session" && method === "GET") {
      const s = this.session(req);
      return this.json(res, 200, s ? { signedIn: true, csrf: s.csrf } : { signedIn: false });
    }
    if (!p.startsWith("/studio/api/")) throw new StudioError(404, "no such studio page");
    const session = this.session(req);
    if (!session) throw new StudioError(401, "sign in to the studio first");
    if (method !== "GET" && method !== "HEAD") {
      const refusal = csrfRefusal(req.headers as Record<string, string | undefined>, session);
      if (refusal) throw new StudioError(403, refusal);
    }
    const seg = p.slice("/studio/api/".length).split("/").map((s) => decodeURIComponent(s));
    for (const i of [1, 3]) if (seg[i] !== undefined && seg[i] !== "" && !NAME_RE.test(seg[i]!) && !(seg[2] === "jobs" && i === 3)) throw new StudioError(400, "resource names are letters, digits, '-' and '_'");
    const route = `${method} ${seg.map((s, i) => (i === 1 || i === 3 ? "*" : s)).join("/")}`;
    const e = seg[1] ?? "";
    const d = seg[3] ?? "";
    switch (route) {
      case "POST sign-out":
        this.sessions.delete(session.id);
        res.setHeader("set-cookie", clearedCookie());
        return this.json(res, 200, { signedOut: true });
      case "GET endpoints":
        return this.json(res, 200, await this.endpoints());
      case "GET endpoints/*":
        return this.json(res, 200, await this.endpointDetail(e));
      case "GET endpoints/*/series":
        return this.json(res, 200, await this.series(e));
      case "GET endpoints/*/deployments/*/logs":
        return this.json(res, 200, await this.deploymentLogs(e, d));
      case "POST endpoints/*/test":
        return this.json(res, 200, await this.testRequest(e, req));
      case "POST endpoints/*/keys":
        return this.json(res, 200, await this.regenerate(e, req));
      case "GET endpoints/*/jobs":
        return this.json(res, 200, await this.jobs(e, ""));
      case "GET endpoints/*/jobs/*":
        return this.json(res, 200, await this.jobs(e, `/${encodeURIComponent(d)}`));
      default:
        if (method === "GET" && seg[0] === "endpoints" && seg[2] === "jobs" && seg[4] === "outputs" && seg.length >= 6) return this.jobOutput(res, e, d, seg.slice(5));
        throw new StudioError(404, `no studio API ${method} /studio/api/${seg.join("/")}`);
    }
  }

  private async signIn(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const refusal = csrfRefusal(req.headers as Record<string, string | undefined>, undefined);
    if (refusal) throw new StudioError(403, refusal);
    let raw: Buffer;
    try {
      raw = await readBody(req, SIGN_IN_LIMIT);
    } catch {
      throw new StudioError(413, "the sign-in form is too large");
    }
    const token = new URLSearchParams(raw.toString("utf8")).get("token") ?? "";
    if (!token || !secretEquals(token, this.deps.managementToken)) {
      // No detail: the form shows "wrong token" from this status alone.
      return this.redirect(res, "/studio/#/sign-in/failed");
    }
    const s = this.sessions.create();
    res.setHeader("set-cookie", sessionCookie(s.id, false));
    return this.redirect(res, "/studio/");
  }

  /** A management API call made with the token (the token stays inside this process). */
  private async mgmt(method: string, path: string, body?: unknown): Promise<MgmtAnswer> {
    const r = await fetch(`${this.deps.managementUrl()}${path}`, {
      method,
      headers: { authorization: `Bearer ${this.deps.managementToken}`, ...(body !== undefined ? { "content-type": "application/json" } : {}) },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    const text = await r.text();
    return { status: r.status, body: text ? (JSON.parse(text) as unknown) : null };
  }

  private async mgmtOk(method: string, path: string, body?: unknown): Promise<Json> {
    const r = await this.mgmt(method, path, body);
    if (r.status >= 400) {
      const msg = ((r.body as { error?: { message?: string } } | null)?.error?.message ?? `management API answered ${r.status}`).replaceAll(this.deps.managementToken, "***");
      throw new StudioError(r.status === 401 ? 500 : r.status, msg);
    }
    return (r.body ?? {}) as Json;
  }

  private async endpoints(): Promise<Json> {
    const now = this.now();
    const list = ((await this.mgmtOk("GET", "/endpoints")).value ?? []) as Json[];
    const value = list.map((ep) => {
      const name = String(ep.name);
      const traffic = (ep.traffic ?? {}) as Record<string, number>;
      const mirror = (ep.mirror_traffic ?? {}) as Record<string, number>;
      let rate = 0;
      for (const dep of new Set([...Object.keys(traffic), ...Object.keys(mirror)])) rate += this.history.rateNow(name, dep, now);
      return {
        name,
        kind: ep.kind,
        provisioningState: ep.provisioningState,
        auth_mode: ep.auth_mode,
        ...(ep.scoring_uri ? { scoring_uri: ep.scoring_uri } : {}),
        ...(ep.invocation_uri ? { invocation_uri: ep.invocation_uri } : {}),
        traffic,
        mirror_traffic: mirror,
        ...(ep.defaults ? { defaults: ep.defaults } : {}),
        requestsPerSecond: rate,
      };
    });
    return { value };
  }

  private async endpointDetail(e: string): Promise<Json> {
    const ep = await this.mgmtOk("GET", `/endpoints/${e}`);
    const deps = ((await this.mgmtOk("GET", `/endpoints/${e}/deployments`)).value ?? []) as Json[];
    const deployments = deps.map((d) => {
      const name = String(d.name);
      const rt = this.deps.runtime(e, name);
      const instances = (d.instances ?? []) as { id: string; url: string; healthy: boolean }[];
      const spec = (d.spec ?? {}) as Json;
      return {
        name,
        provisioningState: d.provisioningState,
        ...(d.failureReason ? { failureReason: d.failureReason } : {}),
        model_server: d.model_server ?? null,
        model: spec.model ?? null,
        model_version: spec.model_version ?? null,
        image: spec.image ?? null,
        instance_type: spec.instance_type ?? null,
        instances: { healthy: instances.filter((i) => i.healthy).length, total: instances.length },
        inflight: rt ? rt.inflight() : 0,
        queued: rt ? rt.queued() : 0,
        yaml: typeof spec.yaml === "string" ? spec.yaml : stringify({ name, endpoint_name: e, ...spec, request_settings: d.request_settings, readiness_probe: d.readiness_probe }),
        yamlIsSource: typeof spec.yaml === "string",
      };
    });
    const swagger = ep.kind === "online" ? await this.swagger(e, String(ep.auth_mode)) : null;
    const endpointYaml = stringify({ name: e, auth_mode: ep.auth_mode, ...(ep.kind === "online" ? { traffic: ep.traffic, ...(Object.keys((ep.mirror_traffic ?? {}) as Json).length ? { mirror_traffic: ep.mirror_traffic } : {}) } : { defaults: ep.defaults }) });
    return {
      endpoint: { name: e, kind: ep.kind, provisioningState: ep.provisioningState, auth_mode: ep.auth_mode, scoring_uri: ep.scoring_uri ?? null, invocation_uri: ep.invocation_uri ?? null, traffic: ep.traffic ?? {}, mirror_traffic: ep.mirror_traffic ?? {}, yaml: endpointYaml },
      deployments,
      swagger,
      howToChange: "The stack's spec files own traffic and deployments: edit the YAML under stacks/<stack>/, run `modelplane preview --stack <stack>` (or `pulumi preview`), then `pulumi up`. The studio shows, it does not change them.",
    };
  }

  /** A credential for the endpoint's gateway routes: its primary key or a fresh token. */
  private async credential(e: string, authMode: string): Promise<string> {
    if (authMode === "aml_token") return String((await this.mgmtOk("POST", `/endpoints/${e}/token`, {})).accessToken);
    return String((await this.mgmtOk("POST", `/endpoints/${e}/keys`)).primaryKey);
  }

  private async swagger(e: string, authMode: string): Promise<unknown> {
    try {
      const r = await fetch(`${this.deps.gatewayUrl()}/endpoints/${e}/swagger.json`, { headers: { authorization: `Bearer ${await this.credential(e, authMode)}` } });
      if (!r.ok) return null;
      return (await r.json()) as unknown;
    } catch {
      return null;
    }
  }

  private async series(e: string): Promise<Json> {
    const ep = await this.mgmtOk("GET", `/endpoints/${e}`);
    const now = this.now();
    const names = ep.kind === "online" ? ((await this.mgmtOk("GET", `/endpoints/${e}/deployments`)).value as Json[]).map((d) => String(d.name)) : [];
    return { deployments: Object.fromEntries(names.map((d) => [d, this.history.view(e, d, now)])), mirror: Object.keys((ep.mirror_traffic ?? {}) as Json).filter((k) => ((ep.mirror_traffic as Record<string, number>)[k] ?? 0) > 0) };
  }

  private async deploymentLogs(e: string, d: string): Promise<Json> {
    const dep = await this.mgmtOk("GET", `/endpoints/${e}/deployments/${d}`);
    const hosts = ((dep.instances ?? []) as { url: string }[]).map((i) => {
      try {
        return new URL(i.url).hostname;
      } catch {
        return "";
      }
    });
    const read = await this.deps.logs.read(e, d, hosts, LOG_LINES);
    return { provisioningState: dep.provisioningState, failureReason: dep.failureReason ?? null, ...read };
  }

  private async jsonBody(req: IncomingMessage, limit: number): Promise<Json> {
    let raw: Buffer;
    try {
      raw = await readBody(req, limit);
    } catch (err) {
      throw new StudioError(413, (err as Error).message);
    }
    try {
      const v = JSON.parse(raw.toString("utf8")) as unknown;
      if (typeof v !== "object" || v === null || Array.isArray(v)) throw new Error("not an object");
      return v as Json;
    } catch {
      throw new StudioError(400, "the body must be a JSON object");
    }
  }

  /** The test console: scores through the gateway, as a client would, and says who answered. */
  private async testRequest(e: string, req: IncomingMessage): Promise<Json> {
    const b = await this.jsonBody(req, CONSOLE_BODY_LIMIT);
    if (typeof b.body !== "string") throw new StudioError(400, "body: the request to send, as a string of JSON");
    const pinned = typeof b.deployment === "string" && b.deployment !== "" ? b.deployment : undefined;
    if (pinned !== undefined && !NAME_RE.test(pinned)) throw new StudioError(400, "deployment: letters, digits, '-' and '_'");
    const ep = await this.mgmtOk("GET", `/endpoints/${e}`);
    if (ep.kind !== "online") throw new StudioError(409, `endpoint '${e}' is a batch endpoint; the test console scores online endpoints`);
    const cred = await this.credential(e, String(ep.auth_mode));
    const started = process.hrtime.bigint();
    const r = await fetch(`${this.deps.gatewayUrl()}/endpoints/${e}/score`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${cred}`, ...(pinned ? { "azureml-model-deployment": pinned } : {}) },
      body: b.body,
    });
    const text = await r.text();
    const latencyMs = Number(process.hrtime.bigint() - started) / 1e6;
    return { status: r.status, latencyMs: Math.round(latencyMs * 10) / 10, deployment: r.headers.get("azureml-model-deployment"), requestId: r.headers.get("x-request-id"), body: text.replaceAll(cred, "***") };
  }

  /** Key regeneration, the studio's one write: the page asks for confirmation and sends the endpoint's name back. */
  private async regenerate(e: string, req: IncomingMessage): Promise<Json> {
    const b = await this.jsonBody(req, 4096);
    if (b.keyType !== "primary" && b.keyType !== "secondary") throw new StudioError(400, 'keyType: "primary" or "secondary"');
    if (b.confirm !== e) throw new StudioError(400, `confirm: type the endpoint's name (${e}) to regenerate its ${String(b.keyType)} key`);
    await this.mgmtOk("POST", `/endpoints/${e}/keys/regenerate`, { keyType: b.keyType });
    // The new key is not sent back: `modelplane keys <endpoint>` shows it where a terminal keeps it.
    return { regenerated: b.keyType };
  }

  private async jobs(e: string, rest: string): Promise<Json> {
    const ep = await this.mgmtOk("GET", `/endpoints/${e}`);
    if (ep.kind !== "batch") throw new StudioError(409, `endpoint '${e}' is an online endpoint; jobs run on batch endpoints`);
    // A batch endpoint may use keys as well as tokens: the credential its auth mode takes.
    const token = await this.credential(e, String(ep.auth_mode));
    const r = await fetch(`${this.deps.gatewayUrl()}/endpoints/${e}/jobs${rest}`, { headers: { authorization: `Bearer ${token}` } });
    const body = (await r.json()) as Json;
    if (!r.ok) throw new StudioError(r.status, String((body.error as Json | undefined)?.message ?? `gateway answered ${r.status}`));
    return body;
  }

  private async jobOutput(res: ServerResponse, e: string, id: string, file: string[]): Promise<void> {
    const ep = await this.mgmtOk("GET", `/endpoints/${e}`);
    const token = await this.credential(e, String(ep.auth_mode));
    const r = await fetch(`${this.deps.gatewayUrl()}/endpoints/${e}/jobs/${encodeURIComponent(id)}/outputs/${file.map(encodeURIComponent).join("/")}`, { headers: { authorization: `Bearer ${token}` } });
    const body = Buffer.from(await r.arrayBuffer());
    if (!r.ok) throw new StudioError(r.status, `the job's output ${file.join("/")} could not be read (gateway answered ${r.status})`);
    const name = (file[file.length - 1] ?? "output").replace(/[^A-Za-z0-9._-]/g, "_");
    res.writeHead(200, { ...SECURITY_HEADERS, "content-type": "application/octet-stream", "content-disposition": `attachment; filename="${name}"`, "content-length": body.length });
    res.end(body);
  }

  private json(res: ServerResponse, status: number, body: unknown): void {
    this.send(res, status, "application/json; charset=utf-8", JSON.stringify(body));
  }

  private send(res: ServerResponse, status: number, type: string, body: string | Buffer): void {
    const buf = typeof body === "string" ? Buffer.from(body) : body;
    res.writeHead(status, { ...SECURITY_HEADERS, "content-type": type, "content-length": buf.length });
    res.end(buf);
  }

  private redirect(res: ServerResponse, to: string): void {
    res.writeHead(303, { ...SECURITY_HEADERS, location: to, "content-length": 0 });
    res.end();
  }
}
