/**
 * Batch routes of the management API: clusters, batch deployments and defaults, data assets,
 * datastore uploads (management token), and the worker routes (the job's worker token).
 */
import type { IncomingMessage } from "node:http";
import { firstIssue } from "../management/bodies";
import { ApiError } from "../management/errors";
import { BodyTooLarge, bearer, readBody } from "../http/request";
import type { EndpointRecord } from "../store/types";
import { batchDeploymentBody, clusterBody, dataAssetBody, defaultsBody } from "./bodies";
import type { Datastore } from "./datastore";
import { checkManifest } from "./datastore";
import { bindProblem, imageProblem } from "./docker-workers";
import { classifyInput, notAllowed, underRoots } from "./inputs";
import type { BatchService } from "./service";
import type { BatchTables } from "./tables";
import type { BatchDeploymentConfig, BatchDeploymentRecord, ClusterRecord } from "./types";

/** Bodies of worker results (a mini-batch's rows). */
const RESULT_BODY_LIMIT = 256 * 1024 * 1024;
const JSON_BODY_LIMIT = 4 * 1024 * 1024;
/** One uploaded file. */
const BLOB_LIMIT = 16 * 1024 * 1024 * 1024;

export interface BatchManagementDeps {
  tables: BatchTables;
  service: BatchService;
  datastore: Datastore;
  imagePrefix: string;
  inputRoots: readonly string[];
  /** Base URL of the gateway, for invocation URIs. */
  gatewayUrl: () => string;
}

type Result = [number, unknown];

async function jsonBody(req: IncomingMessage, limit = JSON_BODY_LIMIT): Promise<unknown> {
  let raw: Buffer;
  try {
    raw = await readBody(req, limit);
  } catch (err) {
    if (err instanceof BodyTooLarge) throw new ApiError(413, "payload_too_large", err.message);
    throw new ApiError(400, "invalid_body", (err as Error).message);
  }
  if (raw.length === 0) return null;
  try {
    return JSON.parse(raw.toString("utf8")) as unknown;
  } catch {
    throw new ApiError(400, "invalid_body", "body is not valid JSON", "(body)");
  }
}

function invalid(err: import("zod").ZodError): ApiError {
  const { field, message } = firstIssue(err);
  return new ApiError(400, "invalid_body", message, field);
}

const NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,254}$/;

export class BatchManagement {
  constructor(private readonly d: BatchManagementDeps) {}

  /** Worker routes: POST batch/jobs/{id}/lease | mini-batches/{i}/result | workers/{w}/ready|failed, and batch/instances/{id}/next. */
  async worker(req: IncomingMessage, seg: readonly string[], method: string): Promise<Result> {
    if (method !== "POST") throw new ApiError(405, "method_not_allowed", "worker routes take POST");
    if (seg.length === 4 && seg[1] === "instances" && seg[3] === "next") return this.d.service.nextJob(seg[2]!, bearer(req.headers.authorization), await jsonBody(req));
    if (seg[1] !== "jobs" || !seg[2]) throw new ApiError(404, "route_not_found", "no such worker route");
    const id = seg[2];
    const token = bearer(req.headers.authorization);
    const { service } = this.d;
    if (seg.length === 4 && seg[3] === "lease") {
      const b = (await jsonBody(req)) as { worker?: unknown } | null;
      const worker = typeof b?.worker === "string" && /^[A-Za-z0-9_.-]{1,64}$/.test(b.worker) ? b.worker : undefined;
      if (!worker) throw new ApiError(400, "invalid_body", `worker: give the worker's id, e.g. {"worker": "0-1"}`, "worker");
      return service.lease(id, token, worker);
    }
    if (seg.length === 6 && seg[3] === "mini-batches" && seg[5] === "result") {
      const idx = Number(seg[4]);
      if (!Number.isInteger(idx) || idx < 0) throw new ApiError(400, "invalid_path", `mini-batch index ${JSON.stringify(seg[4])} is not a whole number`);
      return service.result(id, idx, token, await jsonBody(req, RESULT_BODY_LIMIT));
    }
    if (seg.length === 6 && seg[3] === "workers" && (seg[5] === "ready" || seg[5] === "failed")) {
      return service.workerState(id, token, seg[4]!, seg[5], await jsonBody(req));
    }
    throw new ApiError(404, "route_not_found", "no such worker route");
  }

  /** Routes under clusters/, datastore/ and data/; undefined when `seg` is none of them. */
  async handle(req: IncomingMessage, seg: readonly string[], method: string): Promise<Result | undefined> {
    const { tables, datastore } = this.d;
    const root = seg[0];
    if (root === "clusters") {
      if (seg.length === 1 && method === "GET") return [200, { value: tables.listClusters().map(clusterView) }];
      if (seg.length !== 2) return undefined;
      const name = seg[1]!;
      if (!/^[A-Za-z0-9][A-Za-z0-9_-]{0,62}$/.test(name)) throw new ApiError(400, "invalid_name", `cluster name ${JSON.stringify(name)}: letters, digits, '-' and '_'`, "name");
      if (method === "GET") return [200, clusterView(this.cluster(name))];
      if (method === "PUT") {
        const b = clusterBody.safeParse((await jsonBody(req)) ?? {});
        if (!b.success) throw invalid(b.error);
        if (b.data.min_instances > b.data.max_instances) throw new ApiError(400, "invalid_body", `min_instances (${b.data.min_instances}) is more than max_instances (${b.data.max_instances}); lower min_instances or raise max_instances`, "min_instances");
        const created = tables.putCluster({ name, ...b.data }, new Date().toISOString());
        this.d.service.kick();
        return [created ? 201 : 200, clusterView(this.cluster(name))];
      }
      if (method === "DELETE") {
        const users = tables.listDeployments().filter((x) => x.config.cluster === name);
        if (users.length) throw new ApiError(409, "cluster_in_use", `compute cluster '${name}' is used by batch deployment(s) ${users.map((u) => `${u.endpoint_name}/${u.name}`).join(", ")}; delete them or move them to another cluster first`);
        await this.d.service.dropWarm((w) => w.cluster === name);
        return tables.deleteCluster(name) ? [200, { name, provisioningState: "Deleted" }] : [204, undefined];
      }
      throw new ApiError(405, "method_not_allowed", `${method} is not allowed here`);
    }
    if (root === "datastore") {
      if (seg[1] === "blobs" && seg.length === 3) {
        const sha = seg[2]!;
        if (method === "HEAD" || method === "GET") {
          if (await datastore.hasBlob(sha)) return [200, { sha256: sha }];
          throw new ApiError(404, "blob_not_found", `no blob ${sha}`);
        }
        if (method === "PUT") {
          const r = await datastore.putBlob(sha, req, BLOB_LIMIT);
          tables.recordBlob(sha, r.size, new Date().toISOString());
          return [r.created ? 201 : 200, { sha256: sha, size: r.size, uri: `datastore://blobs/${sha}` }];
        }
        throw new ApiError(405, "method_not_allowed", "use HEAD or PUT");
      }
      if (seg[1] === "folders" && seg.length === 2) {
        if (method !== "POST") throw new ApiError(405, "method_not_allowed", "use POST");
        const files = checkManifest(await jsonBody(req, 64 * 1024 * 1024));
        const f = await datastore.makeFolder(files);
        tables.recordFolder(f.hash, f.text, new Date().toISOString());
        return [200, { uri: `datastore://${f.rel}`, files: files.length }];
      }
      return undefined;
    }
    if (root === "data") {
      const name = seg[1];
      if (!name || !NAME.test(name)) throw new ApiError(400, "invalid_name", `data asset name ${JSON.stringify(name ?? "")}: letters, digits, '.', '-' and '_'`, "name");
      if (seg.length === 2 && method === "GET") {
        return [200, { name, versions: tables.dataAssetVersions(name) }];
      }
      if (seg.length !== 4 || seg[2] !== "versions") return undefined;
      const version = seg[3]!;
      if (!NAME.test(version)) throw new ApiError(400, "invalid_name", `data asset version ${JSON.stringify(version)}: letters, digits, '.', '-' and '_'`, "version");
      if (method === "GET") {
        const a = tables.getDataAsset(name, version);
        if (!a) throw new ApiError(404, "data_not_found", `data asset ${name}:${version} not found`);
        return [200, { name: a.name, version: a.version, type: a.type, path: a.path }];
      }
      if (method === "PUT") {
        const b = dataAssetBody.safeParse(await jsonBody(req));
        if (!b.success) throw invalid(b.error);
        const ref = classifyInput(b.data.path, "path");
        if (ref.kind === "asset") throw new ApiError(400, "invalid_body", `path: a data asset points at data (datastore://..., a host folder, a URL), not at another asset (${b.data.path})`, "path");
        if (ref.kind === "host" && !underRoots(ref.path, this.d.inputRoots)) throw notAllowed(ref.path, this.d.inputRoots);
        tables.putDataAsset({ name, version, type: b.data.type, path: b.data.path }, new Date().toISOString());
        return [200, { name, version, type: b.data.type, path: b.data.path }];
      }
      throw new ApiError(405, "method_not_allowed", `${method} is not allowed here`);
    }
    return undefined;
  }

  private cluster(name: string): ClusterRecord {
    const c = this.d.tables.getCluster(name);
    if (!c) throw new ApiError(404, "cluster_not_found", `compute cluster '${name}' not found`);
    return c;
  }

  // --- batch endpoints (called by the management API for endpoints of kind batch) ----------------

  /** What a batch endpoint's view adds. */
  endpointExtras(ep: EndpointRecord): Record<string, unknown> {
    return { defaults: { deployment_name: this.d.tables.getDefault(ep.name) }, invocation_uri: `${this.d.gatewayUrl()}/endpoints/${ep.name}/jobs` };
  }

  /**
   * The endpoint is being deleted: its jobs are canceled and their workers removed before this
   * resolves (so `pulumi destroy` leaves no worker); job records and outputs stay, its deployments go.
   */
  async deleteEndpoint(e: string): Promise<void> {
    this.d.tables.deleteEndpointRows(e);
    await this.d.service.cancelEndpoint(e);
  }

  listDeployments(e: string): Result {
    return [200, { value: this.d.tables.listDeployments(e).map(deploymentView) }];
  }

  getDeployment(e: string, d: string): Result {
    return [200, deploymentView(this.deployment(e, d))];
  }

  private deployment(e: string, d: string): BatchDeploymentRecord {
    const dep = this.d.tables.getDeployment(e, d);
    if (!dep) throw new ApiError(404, "deployment_not_found", `deployment '${d}' not found on endpoint '${e}'`);
    return dep;
  }

  /** Batch deployments consume nothing: the PUT records the config, no container starts. */
  putDeployment(e: string, d: string, raw: unknown): Result {
    const b = batchDeploymentBody.safeParse(raw);
    if (!b.success) throw invalid(b.error);
    const { kind: _kind, ...config } = b.data;
    void _kind;
    if (config.model_server === "custom" && (!config.code_dir || !config.scoring_script)) {
      throw new ApiError(400, "invalid_body", "code_dir and scoring_script: a custom-scoring batch deployment names its scoring script (code_configuration.code and scoring_script)", config.code_dir ? "scoring_script" : "code_dir");
    }
    const image = imageProblem(config.image, this.d.imagePrefix);
    if (image) throw new ApiError(400, "image_not_allowed", image, "image");
    for (const bind of config.binds) {
      const p = bindProblem(bind);
      if (p) throw new ApiError(400, "invalid_body", `binds: ${p}`, "binds");
    }
    const { tables } = this.d;
    if (!tables.getCluster(config.cluster)) {
      const have = tables.listClusters().map((c) => c.name);
      throw new ApiError(409, "cluster_not_found", `compute cluster '${config.cluster}' does not exist (clusters: ${have.length ? have.join(", ") : "none"}); create it first (PUT /clusters/${config.cluster})`, "cluster");
    }
    const created = tables.putDeployment(e, d, config as BatchDeploymentConfig, new Date().toISOString());
    return [created ? 201 : 200, deploymentView(this.deployment(e, d))];
  }

  /** Removes a batch deployment and its warm instances (a running job keeps its workers until it ends). */
  async deleteDeployment(e: string, d: string): Promise<Result> {
    const { tables } = this.d;
    if (!tables.getDeployment(e, d)) return [204, undefined];
    const others = tables.listDeployments(e).filter((x) => x.name !== d);
    if (tables.getDefault(e) === d) {
      if (others.length) throw new ApiError(409, "deployment_is_default", `deployment '${d}' is the default of batch endpoint '${e}'; make another one the default first (PUT /endpoints/${e}/defaults {"deployment_name": "${others[0]!.name}"})`);
      tables.setDefault(e, null);
    }
    tables.deleteDeployment(e, d);
    await this.d.service.dropWarm((w) => w.endpoint === e && w.deployment === d);
    return [200, { name: d, endpoint_name: e, provisioningState: "Deleted" }];
  }

  getDefaults(e: string): Result {
    return [200, { deployment_name: this.d.tables.getDefault(e) }];
  }

  putDefaults(e: string, raw: unknown): Result {
    const b = defaultsBody.safeParse(raw);
    if (!b.success) throw invalid(b.error);
    const name = b.data.deployment_name;
    if (name !== null && !this.d.tables.getDeployment(e, name)) {
      const have = this.d.tables.listDeployments(e).map((x) => x.name);
      throw new ApiError(409, "deployment_not_found", `deployment '${name}' does not exist on batch endpoint '${e}' (deployments: ${have.length ? have.join(", ") : "none"}); create it before making it the default`, "deployment_name");
    }
    this.d.tables.setDefault(e, name);
    return [200, { deployment_name: name }];
  }
}

function clusterView(c: ClusterRecord): Record<string, unknown> {
  return {
    name: c.name,
    min_instances: c.min_instances,
    max_instances: c.max_instances,
    idle_time_before_scale_down: c.idle_time_before_scale_down,
    size: c.size,
    provisioningState: "Succeeded",
    createdAt: c.createdAt,
    updatedAt: c.updatedAt,
  };
}

function deploymentView(dep: BatchDeploymentRecord): Record<string, unknown> {
  return { name: dep.name, endpoint_name: dep.endpoint_name, kind: "batch", provisioningState: "Succeeded", ...dep.config, createdAt: dep.createdAt, updatedAt: dep.updatedAt };
}
