import type { IncomingMessage, ServerResponse } from "node:http";
import { checkTraffic, parseOnlineEndpoint } from "../../spec";
import { checkDnsName } from "../../spec/names";
import type { BatchManagement } from "../batch/management-batch";
import { generateKey, hashKey, secretEquals } from "../auth/keys";
import { issueToken } from "../auth/tokens";
import type { DeploymentRuntime } from "../gateway/deployment";
import { BodyTooLarge, NAME_RE, bearer, pathSegments, readBody, sendJson } from "../http/request";
import type { Store } from "../store/store";
import type { AuthMode, DeploymentConfig, DeploymentRecord, EndpointKeys, EndpointRecord } from "../store/types";
import { deploymentBody, endpointBody, firstIssue, regenerateBody, tokenBody, trafficBody } from "./bodies";
import { ApiError } from "./errors";
import type { Provisioner } from "./provisioner";

/** Management bodies are small JSON documents. */
const MANAGEMENT_BODY_LIMIT = 1024 * 1024;

export interface ManagementDeps {
  store: Store;
  provisioner: Provisioner;
  managementToken: string;
  tokenSecret: Uint8Array;
  /** Base URL clients use for scoring (the gateway's). */
  gatewayUrl: () => string;
  /** Rebuilds and swaps the gateway's routing table from the store. */
  refresh: () => void;
  /** The gateway runtime currently serving a deployment, if any. */
  runtime: (endpoint: string, deployment: string) => DeploymentRuntime | undefined;
  /** Batch endpoints' routes (clusters, datastore, data, batch deployments, worker routes). */
  batch?: BatchManagement;
}

type Handler = (p: { e: string; d: string }, body: () => Promise<unknown>) => Promise<[number, unknown]> | [number, unknown];

/** The ARM-like management API. */
export class Management {
  constructor(private readonly deps: ManagementDeps) {}

  readonly handle = (req: IncomingMessage, res: ServerResponse): void => {
    this.dispatch(req)
      .then(([status, body]) => {
        if (status === 204) {
          res.writeHead(204);
          res.end();
        } else sendJson(res, status, body);
      })
      .catch((err: unknown) => {
        if (err instanceof ApiError) {
          sendJson(res, err.status, { error: { code: err.code, message: err.message, ...(err.field ? { field: err.field } : {}) } });
          return;
        }
        console.error(`management internal error: ${(err as Error)?.stack ?? String(err)}`);
        sendJson(res, 500, { error: { code: "internal_error", message: "the management API failed to handle the request" } });
      });
  };

  private async dispatch(req: IncomingMessage): Promise<[number, unknown]> {
    const seg = pathSegments(req.url);
    if (!seg) throw new ApiError(400, "invalid_path", "malformed request path");
    const method = req.method ?? "GET";
    if (seg.length === 1 && seg[0] === "healthz") {
      if (method !== "GET") throw new ApiError(405, "method_not_allowed", "use GET");
      return [200, { status: "ok" }];
    }
    const { batch } = this.deps;
    // Batch workers authenticate with their job's worker token, not the management token.
    if (seg[0] === "batch" && batch) return batch.worker(req, seg, method);
    const cred = bearer(req.headers.authorization);
    if (!cred || !secretEquals(cred, this.deps.managementToken)) throw new ApiError(401, "unauthorized", "missing or invalid management token");
    if (seg[0] !== "endpoints") {
      const answer = batch ? await batch.handle(req, seg, method) : undefined;
      if (answer) return answer;
      throw new ApiError(404, "route_not_found", "no such route");
    }
    const e = seg[1] ?? "";
    const d = seg[3] ?? "";
    for (const name of [seg[1], seg[3]]) {
      if (name !== undefined && !NAME_RE.test(name)) throw new ApiError(400, "invalid_name", "resource names are letters, digits, '-' and '_'", "name");
    }
    const pattern = seg.map((s, i) => (i === 1 || (i === 3 && seg[2] === "deployments") ? "*" : s)).join("/");
    const handler = this.routes[`${method} ${pattern}`];
    if (!handler) {
      const known = Object.keys(this.routes).some((k) => k.split(" ")[1] === pattern);
      throw known ? new ApiError(405, "method_not_allowed", `${method} is not allowed here`) : new ApiError(404, "route_not_found", "no such route");
    }
    let cached: unknown;
    const body = async (): Promise<unknown> => {
      if (cached !== undefined) return cached;
      let raw: Buffer;
      try {
        raw = await readBody(req, MANAGEMENT_BODY_LIMIT);
      } catch (err) {
        if (err instanceof BodyTooLarge) throw new ApiError(413, "payload_too_large", err.message);
        // readBody rejects with BodyTooLarge or BodyAborted, whose message says what happened.
        throw new ApiError(400, "invalid_body", (err as Error).message);
      }
      if (raw.length === 0) return (cached = null);
      try {
        return (cached = JSON.parse(raw.toString("utf8")) as unknown);
      } catch {
        throw new ApiError(400, "invalid_body", "body is not valid JSON", "(body)");
      }
    };
    return handler({ e, d }, body);
  }

  private readonly routes: Record<string, Handler> = {
    "GET endpoints": () => [200, { value: this.deps.store.listEndpoints().map((x) => this.endpointView(x)) }],
    "PUT endpoints/*": async ({ e }, body) => this.putEndpoint(e, await body()),
    "GET endpoints/*": ({ e }) => [200, this.endpointView(this.endpoint(e))],
    "DELETE endpoints/*": ({ e }) => this.deleteEndpoint(e),
    "GET endpoints/*/deployments": ({ e }) => {
      if (this.endpoint(e).kind === "batch") return this.batch().listDeployments(e);
      return [200, { value: this.deps.store.listDeployments(e).map((x) => this.deploymentView(x)) }];
    },
    "PUT endpoints/*/deployments/*": async ({ e, d }, body) => this.putDeployment(e, d, await body()),
    "GET endpoints/*/deployments/*": ({ e, d }) => (this.endpoint(e).kind === "batch" ? this.batch().getDeployment(e, d) : [200, this.deploymentView(this.deployment(e, d))]),
    "DELETE endpoints/*/deployments/*": ({ e, d }) => (this.endpoint(e).kind === "batch" ? this.batch().deleteDeployment(e, d) : this.deleteDeployment(e, d)),
    "GET endpoints/*/defaults": ({ e }) => this.batch(this.endpoint(e)).getDefaults(e),
    "PUT endpoints/*/defaults": async ({ e }, body) => this.batch(this.endpoint(e)).putDefaults(e, await body()),
    "GET endpoints/*/traffic": ({ e }) => {
      const ep = this.endpoint(e);
      return [200, { traffic: ep.traffic, mirror_traffic: ep.mirror_traffic }];
    },
    "PUT endpoints/*/traffic": async ({ e }, body) => this.putTraffic(e, await body()),
    "POST endpoints/*/keys": ({ e }) => {
      this.endpoint(e);
      const k = this.deps.store.getKeys(e)!;
      return [200, { primaryKey: k.primary, secondaryKey: k.secondary }];
    },
    "POST endpoints/*/keys/regenerate": async ({ e }, body) => this.regenerate(e, await body()),
    "POST endpoints/*/token": async ({ e }, body) => {
      const ep = this.endpoint(e);
      if (ep.auth_mode !== "aml_token") throw new ApiError(400, "token_auth_not_enabled", `endpoint '${e}' uses auth_mode ${ep.auth_mode}; tokens need aml_token`, "auth_mode");
      const b = tokenBody.safeParse(await body());
      if (!b.success) throw invalid(b.error);
      return [200, await issueToken(this.deps.tokenSecret, e, b.data?.expiresInSeconds)];
    },
  };

  /** The batch routes; with an endpoint, only for a batch one (409 with the fix otherwise). */
  private batch(ep?: EndpointRecord): BatchManagement {
    if (ep && ep.kind !== "batch") throw new ApiError(409, "not_a_batch_endpoint", `endpoint '${ep.name}' is an online endpoint; defaults apply to batch endpoints (online ones route by traffic: PUT /endpoints/${ep.name}/traffic)`);
    if (!this.deps.batch) throw new ApiError(501, "batch_unavailable", "this server runs no batch part");
    return this.deps.batch;
  }

  private endpoint(e: string): EndpointRecord {
    const ep = this.deps.store.getEndpoint(e);
    if (!ep) throw new ApiError(404, "endpoint_not_found", `endpoint '${e}' not found`);
    return ep;
  }

  private deployment(e: string, d: string): DeploymentRecord {
    this.endpoint(e);
    const dep = this.deps.store.getDeployment(e, d);
    if (!dep) throw new ApiError(404, "deployment_not_found", `deployment '${d}' not found on endpoint '${e}'`);
    return dep;
  }

  private putEndpoint(e: string, raw: unknown): [number, unknown] {
    const b = endpointBody.safeParse(raw);
    if (!b.success) throw invalid(b.error);
    const kind = b.data.kind ?? "online";
    // Azure's batch endpoints are aad_token; here their tokens are the server's (POST .../token), as aml_token.
    const authMode = kind === "batch" && b.data.auth_mode.toLowerCase() === "aad_token" ? "aml_token" : b.data.auth_mode.toLowerCase();
    const parsed = parseOnlineEndpoint({ name: e, auth_mode: authMode, ...(b.data.description !== undefined ? { description: b.data.description } : {}), tags: b.data.tags ?? {} });
    if (!parsed.ok) {
      const issue = parsed.issues.find((i) => i.severity === "error") ?? parsed.issues[0]!;
      throw new ApiError(400, issue.code, issue.message, issue.field);
    }
    if (authMode !== "key" && authMode !== "aml_token") throw new ApiError(400, "auth_mode_unsupported", `auth_mode ${authMode} is not supported by modelplane; use key or aml_token`, "auth_mode");
    const { store } = this.deps;
    const now = new Date().toISOString();
    const created = store.transaction(() => {
      const existing = store.getEndpoint(e);
      if (existing && existing.kind !== kind) {
        throw new ApiError(409, "kind_mismatch", `endpoint '${e}' is a ${existing.kind} endpoint, not a ${kind} one; an endpoint never changes kind: delete it first or choose another name`, "kind");
      }
      const old = existing ? store.getKeys(e)! : undefined;
      const keys: EndpointKeys = {
        primary: b.data.keys?.primary ?? old?.primary ?? generateKey(),
        secondary: b.data.keys?.secondary ?? old?.secondary ?? generateKey(),
      };
      const write = {
        name: e,
        kind,
        auth_mode: authMode as AuthMode,
        // Absent fields keep their stored value on update (no silent drift of tags or description).
        description: b.data.description ?? existing?.description ?? "",
        tags: b.data.tags ?? existing?.tags ?? {},
        keys,
        keyHashes: { primary: hashKey(keys.primary), secondary: hashKey(keys.secondary) },
      };
      if (existing) store.updateEndpoint(write, now);
      else store.insertEndpoint(write, now);
      return !existing;
    });
    this.deps.refresh();
    return [created ? 201 : 200, this.endpointView(this.endpoint(e))];
  }

  private async deleteEndpoint(e: string): Promise<[number, unknown]> {
    this.deps.provisioner.cancel(e);
    if (this.deps.store.getEndpoint(e)?.kind === "batch") await this.batch().deleteEndpoint(e);
    const existed = this.deps.store.deleteEndpoint(e);
    this.deps.refresh();
    return existed ? [200, { name: e, provisioningState: "Deleted" }] : [204, undefined];
  }

  private putDeployment(e: string, d: string, raw: unknown): [number, unknown] {
    const ep = this.endpoint(e);
    const nameIssue = checkDnsName(d, "name", "deployment")[0];
    if (nameIssue) throw new ApiError(400, nameIssue.code, nameIssue.message, nameIssue.field);
    const rawKind = (raw as { kind?: unknown } | null)?.kind;
    if (rawKind !== undefined && rawKind !== ep.kind) throw new ApiError(409, "kind_mismatch", `endpoint '${e}' is a ${ep.kind} endpoint; a ${String(rawKind)} deployment cannot go on it`, "kind");
    if (ep.kind === "batch") return this.batch().putDeployment(e, d, raw);
    const b = deploymentBody.safeParse(raw);
    if (!b.success) throw invalid(b.error);
    const ids = new Set(b.data.instances.map((i) => i.id));
    if (ids.size !== b.data.instances.length) throw new ApiError(400, "invalid_body", "instances: ids must be unique", "instances");
    const config: DeploymentConfig = { ...b.data };
    const { store } = this.deps;
    const existing = store.getDeployment(e, d);
    const generation = store.putDeployment(e, d, config, existing ? "Updating" : "Creating", new Date().toISOString());
    this.deps.provisioner.start(e, d, generation, config);
    this.deps.refresh();
    return [existing ? 200 : 201, this.deploymentView(this.deployment(e, d))];
  }

  private deleteDeployment(e: string, d: string): [number, unknown] {
    const { store } = this.deps;
    const result = store.transaction((): [number, unknown] => {
      const ep = this.endpoint(e);
      if (!store.getDeployment(e, d)) return [204, undefined];
      if ((ep.traffic[d] ?? 0) > 0 || (ep.mirror_traffic[d] ?? 0) > 0) {
        throw new ApiError(409, "deployment_has_traffic", `deployment '${d}' has live or mirrored traffic; set it to 0 first`);
      }
      if (d in ep.traffic || d in ep.mirror_traffic) {
        const traffic = { ...ep.traffic };
        const mirror = { ...ep.mirror_traffic };
        delete traffic[d];
        delete mirror[d];
        store.setTraffic(e, traffic, mirror, new Date().toISOString());
      }
      store.deleteDeployment(e, d);
      return [200, { name: d, endpoint_name: e, provisioningState: "Deleted" }];
    });
    this.deps.provisioner.cancel(e, d);
    this.deps.refresh();
    return result;
  }

  private putTraffic(e: string, raw: unknown): [number, unknown] {
    if (this.deps.store.getEndpoint(e)?.kind === "batch") throw new ApiError(409, "not_an_online_endpoint", `endpoint '${e}' is a batch endpoint; it routes to its default deployment: PUT /endpoints/${e}/defaults {"deployment_name": "<name>"}`);
    const b = trafficBody.safeParse(raw);
    if (!b.success) throw invalid(b.error);
    const traffic = b.data.traffic;
    const mirror = b.data.mirror_traffic ?? {};
    const { store } = this.deps;
    store.transaction(() => {
      this.endpoint(e);
      const deployments = store.listDeployments(e);
      const issues = checkTraffic({ name: e, traffic, mirror_traffic: mirror }, deployments.map((x) => x.name)).filter((i) => i.severity === "error");
      if (issues.length > 0) throw new ApiError(400, issues[0]!.code, issues.map((i) => i.message).join("; "), issues[0]!.field);
      for (const [name, pct] of [...Object.entries(traffic), ...Object.entries(mirror)]) {
        if (pct <= 0) continue;
        const dep = deployments.find((x) => x.name === name)!;
        // A deployment that passed readiness before keeps serving its last good config during an update.
        if (dep.provisioningState !== "Succeeded" && !dep.servingConfig) {
          throw new ApiError(409, "deployment_not_ready", `deployment '${name}' is ${dep.provisioningState}${dep.failureReason ? ` (${dep.failureReason})` : ""}; traffic can go only to a Succeeded deployment`);
        }
      }
      store.setTraffic(e, traffic, mirror, new Date().toISOString());
    });
    this.deps.refresh();
    const ep = this.endpoint(e);
    return [200, { traffic: ep.traffic, mirror_traffic: ep.mirror_traffic }];
  }

  private regenerate(e: string, raw: unknown): [number, unknown] {
    const b = regenerateBody.safeParse(raw);
    if (!b.success) throw invalid(b.error);
    const { store } = this.deps;
    store.transaction(() => {
      const ep = this.endpoint(e);
      const keys = { ...store.getKeys(e)! };
      keys[b.data.keyType] = b.data.keyValue ?? generateKey();
      store.updateEndpoint(
        { name: e, auth_mode: ep.auth_mode, description: ep.description, tags: ep.tags, keys, keyHashes: { primary: hashKey(keys.primary), secondary: hashKey(keys.secondary) } },
        new Date().toISOString(),
      );
    });
    this.deps.refresh();
    const k = store.getKeys(e)!;
    return [200, { primaryKey: k.primary, secondaryKey: k.secondary }];
  }

  private endpointView(ep: EndpointRecord): Record<string, unknown> {
    const base = `${this.deps.gatewayUrl()}/endpoints/${ep.name}`;
    // Keys in the order the API has always answered with: common, per kind, timestamps.
    const kindFields =
      ep.kind === "batch"
        ? { provisioningState: ep.provisioningState, ...this.batch().endpointExtras(ep) }
        : { traffic: ep.traffic, mirror_traffic: ep.mirror_traffic, provisioningState: ep.provisioningState, scoring_uri: `${base}/score`, swagger_uri: `${base}/swagger.json` };
    return { name: ep.name, kind: ep.kind, auth_mode: ep.auth_mode, description: ep.description, tags: ep.tags, ...kindFields, createdAt: ep.createdAt, updatedAt: ep.updatedAt };
  }

  private deploymentView(dep: DeploymentRecord): Record<string, unknown> {
    const rt = this.deps.runtime(dep.endpoint_name, dep.name);
    const serving = rt;
    return {
      name: dep.name,
      endpoint_name: dep.endpoint_name,
      provisioningState: dep.provisioningState,
      ...(dep.failureReason ? { failureReason: dep.failureReason } : {}),
      instances: dep.config.instances.map((i) => {
        const live = serving?.instances.find((x) => x.id === i.id && x.url === i.url);
        return { id: i.id, url: i.url, healthy: live ? live.healthy : dep.provisioningState === "Succeeded" };
      }),
      routes: dep.config.routes,
      request_settings: dep.config.request_settings,
      readiness_probe: dep.config.readiness_probe,
      liveness_probe: dep.config.liveness_probe,
      ...(dep.config.model_server !== undefined ? { model_server: dep.config.model_server } : {}),
      ...(dep.config.readiness_owner !== undefined ? { readiness_owner: dep.config.readiness_owner } : {}),
      ...(dep.config.spec !== undefined ? { spec: dep.config.spec } : {}),
      createdAt: dep.createdAt,
      updatedAt: dep.updatedAt,
    };
  }
}

function invalid(err: import("zod").ZodError): ApiError {
  const { field, message } = firstIssue(err);
  return new ApiError(400, "invalid_body", message, field);
}
