/**
 * Batch jobs end to end: submission (input -> mini-batches, Queued), the scheduler tick (leases
 * that ran out, queued jobs onto free cluster instances, worker containers started, dead ones
 * detected, their mini-batches retried and the instance relaunched), leasing and results for the
 * workers, and the end of a job (workers drained, logs kept, outputs written, state recorded).
 * All state is in the store and in Docker's labels, so a restarted server resumes every job.
 */
import { randomBytes, randomUUID } from "node:crypto";
import * as path from "node:path";
import { ApiError } from "../management/errors";
import { jobInstances, planStarts } from "./capacity";
import type { BatchOptions } from "./config";
import type { Datastore } from "./datastore";
import type { WorkerContainer, WorkerEngine, WorkerSpec } from "./workers";
import { chunk, parseJobRequest } from "./inputs";
import { expiredLeases, heldByInstance, jobProgress, leaseAnswer, maxAttempts, thresholdExceeded } from "./leases";
import { appendWorkerLog, failedFiles, listOutputs, writeJson, writePredictions } from "./outputs";
import { resolveInput } from "./resolve-input";
import type { BatchTables } from "./tables";
import { TERMINAL, type JobConfig, type JobRecord } from "./types";
import { jobNeutral, overCapacity, WarmPool, warmFingerprint, warmToKeep, type WarmInstance } from "./warm";
import { instanceToken, instanceTokenMatches, workerToken, workerTokenMatches } from "./worker-token";

export const DEFAULT_PYTHON = "/opt/venv/bin/python";

export interface BatchServiceDeps {
  tables: BatchTables;
  datastore: Datastore;
  workers: WorkerEngine;
  options: BatchOptions;
  /** Secret the worker tokens are derived from (persisted by the store). */
  workerSecret: Buffer;
  /** Base URL of the gateway, for job URLs. */
  gatewayUrl: () => string;
  log?: (line: string) => void;
}

/** Consecutive ticks Docker may be unreachable while jobs run before they fail. */
const DOCKER_DOWN_TICKS = 20;

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

export class BatchService {
  private timer: NodeJS.Timeout | undefined;
  private ticking: Promise<void> | undefined;
  private again = false;
  private closed = false;
  /** Jobs being wound down (drain, logs, outputs) before their terminal state is recorded. */
  private readonly finishing = new Map<string, Promise<void>>();
  /** Whether to look for leftover worker containers even when no job runs. */
  private sweep = true;
  private dockerFailures = 0;
  /** Warm instances (kept after their job, up to the cluster's min_instances). */
  private readonly warm = new WarmPool();
  /** Instance ids of ending jobs' containers that are not kept warm: /next tells them to leave. */
  private readonly leaving = new Set<string>();

  constructor(private readonly d: BatchServiceDeps) {}

  private log(line: string): void {
    (this.d.log ?? ((l: string) => console.error(l)))(`batch: ${line}`);
  }

  start(): void {
    this.timer = setInterval(() => this.kick(), this.d.options.tickMs);
    this.timer.unref();
    this.kick();
  }

  /** Stops the scheduler; workers keep running and a restarted server resumes their jobs. */
  async stop(): Promise<void> {
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    await this.ticking;
    await Promise.allSettled([...this.finishing.values()]);
  }

  /** Runs a tick soon (now if none runs, else right after the current one). */
  kick(): void {
    if (this.closed) return;
    if (this.ticking) {
      this.again = true;
      return;
    }
    this.ticking = this.tick()
      .catch((err: unknown) => this.log(`scheduler error: ${(err as Error)?.stack ?? String(err)}`))
      .finally(() => {
        this.ticking = undefined;
        if (this.again) {
          this.again = false;
          this.kick();
        }
      });
  }

  // --- submission and control -------------------------------------------------------------------

  /** Creates a Queued job from an invocation body. */
  async submit(endpoint: string, raw: unknown, headerDeployment?: string): Promise<JobRecord> {
    const { tables } = this.d;
    const req = parseJobRequest(raw);
    const name = req.deployment ?? headerDeployment ?? tables.getDefault(endpoint) ?? undefined;
    const all = tables.listDeployments(endpoint);
    if (!name) {
      throw all.length === 0
        ? new ApiError(409, "no_deployment", `batch endpoint '${endpoint}' has no deployment; add a batch deployment with endpoint_name: ${endpoint} to the stack (pulumi up), then invoke again`, "deployment")
        : new ApiError(409, "no_deployment", `batch endpoint '${endpoint}' has no default deployment; set defaults.deployment_name (PUT /endpoints/${endpoint}/defaults) or name one with "deployment" (deployments: ${all.map((x) => x.name).join(", ")})`, "deployment");
    }
    const dep = all.find((x) => x.name === name);
    if (!dep) throw new ApiError(404, "deployment_not_found", `deployment '${name}' not found on batch endpoint '${endpoint}'${all.length ? `; deployments: ${all.map((x) => x.name).join(", ")}` : ""}`, "deployment");
    const cluster = tables.getCluster(dep.config.cluster);
    if (!cluster) throw new ApiError(409, "cluster_not_found", `deployment '${name}' runs on compute cluster '${dep.config.cluster}', which does not exist; create it (PUT /clusters/${dep.config.cluster})`, "compute");
    const imageProblem = this.d.workers.checkImage(dep.config.image);
    if (imageProblem) throw new ApiError(409, "image_not_allowed", imageProblem, "image");
    const input = await resolveInput({ tables, datastore: this.d.datastore, inputRoots: this.d.options.inputRoots, downloadLimitBytes: this.d.options.downloadLimitBytes }, req.input);
    if (input.files.length === 0) throw new ApiError(400, "input_empty", `input ${req.input.uri} holds no files; give a folder with the files to score`, "input");
    const settings = {
      ...dep.config.settings,
      ...(req.mini_batch_size !== undefined ? { mini_batch_size: req.mini_batch_size } : {}),
      ...(req.output_file_name !== undefined ? { output_file_name: req.output_file_name } : {}),
    };
    const { files, ...inputWithoutFiles } = input;
    const config: JobConfig = {
      deployment: dep.config,
      settings,
      environment_variables: { ...dep.config.environment_variables, ...settings.environment_variables, ...req.environment_variables },
      input: inputWithoutFiles,
    };
    const miniBatches = chunk(files, settings.mini_batch_size);
    const job = tables.insertJob(
      {
        id: `batchjob-${randomUUID()}`,
        endpoint,
        deployment: dep.name,
        cluster: cluster.name,
        instances: jobInstances(req.instance_count ?? dep.config.instance_count, cluster.max_instances, miniBatches.length),
        config,
        miniBatches,
      },
      new Date().toISOString(),
    );
    this.log(`job ${job.id} queued: ${endpoint}/${dep.name} on ${cluster.name}, ${files.length} files in ${miniBatches.length} mini-batches`);
    this.kick();
    return job;
  }

  /** Cancels a queued or running job: Canceled at once, its workers stopped right after. */
  cancel(id: string): JobRecord | undefined {
    const job = this.d.tables.getJob(id);
    if (!job) return undefined;
    if (TERMINAL.has(job.status)) return job;
    const now = new Date().toISOString();
    if (this.d.tables.endJob(id, "Canceled", null, now)) {
      this.log(`job ${id} canceled`);
      this.windDown(job, "Canceled", null, 0);
    }
    return this.d.tables.getJob(id);
  }

  /** Cancels every unfinished job of an endpoint (it is being deleted); resolves once their workers are gone. */
  async cancelEndpoint(endpoint: string): Promise<void> {
    for (const j of this.d.tables.listJobs({ endpoint, statuses: ["Queued", "Running"] })) this.cancel(j.id);
    await Promise.allSettled(this.d.tables.listJobs({ endpoint }).map((j) => this.finishing.get(j.id)));
    await this.dropWarm((w) => w.endpoint === endpoint);
  }

  /** Removes the idle warm instances that match (their deployment, cluster or endpoint is being deleted). */
  async dropWarm(pred: (w: WarmInstance) => boolean): Promise<void> {
    const gone = this.warm.drop((w) => w.job === null && pred(w));
    await Promise.all(gone.map((w) => this.d.workers.remove(w.containerId).catch((err: unknown) => this.log(`could not remove warm instance ${w.name}: ${(err as Error).message}`))));
    if (gone.length) this.log(`removed ${gone.length} warm instance(s): ${gone.map((w) => w.name).join(", ")}`);
  }

  /**
   * A worker of a container whose job ended asks for its next job (POST /batch/instances/{id}/next):
   * 200 with the job it now serves (a warm instance given to a starting job), 204 while it is kept
   * warm (or its ending job has not decided yet), 410 when it is not kept (it leaves).
   */
  nextJob(instanceId: string, token: string | undefined, body: unknown): [number, unknown] {
    if (!instanceTokenMatches(this.d.workerSecret, instanceId, token)) throw new ApiError(401, "unauthorized", "missing or invalid instance token");
    const w = this.warm.get(instanceId);
    const gone: [number, unknown] = [410, { error: { code: "instance_over", message: `instance ${instanceId} is not kept warm; it leaves` } }];
    if (!w) {
      const last = (body as { job?: unknown } | null)?.job;
      // Its job is being wound down and has not decided which containers stay warm yet (when it may keep any).
      const job = typeof last === "string" && this.finishing.has(last) && !this.leaving.has(instanceId) ? this.d.tables.getJob(last) : undefined;
      const mayKeep = job !== undefined && (this.d.tables.getCluster(job.cluster)?.min_instances ?? 0) > 0 && jobNeutral(job.config);
      return mayKeep ? [204, undefined] : gone;
    }
    if (w.job === null) return [204, undefined];
    const job = this.d.tables.getJob(w.job);
    if (!job) return gone;
    return [200, { job: job.id, token: workerToken(this.d.workerSecret, job.id), instance: w.instance }];
  }

  async jobView(job: JobRecord): Promise<Record<string, unknown>> {
    const c = this.d.tables.counts(job.id);
    return {
      id: job.id,
      name: job.id,
      endpoint: job.endpoint,
      deployment: job.deployment,
      cluster: job.cluster,
      status: job.status,
      instances: job.instances,
      input: job.config.input.uri,
      mini_batches: { total: c.total, done: c.done, failed: c.failed, running: c.leased, pending: c.pending },
      rows: job.rows,
      files: { total: job.files, failed: c.failedFiles },
      created_at: job.createdAt,
      started_at: job.startedAt,
      ended_at: job.endedAt,
      failure_reason: job.failureReason,
      outputs: await listOutputs(this.d.datastore.jobDir(job.id)),
      url: `${this.d.gatewayUrl()}/endpoints/${job.endpoint}/jobs/${job.id}`,
    };
  }

  // --- worker routes ------------------------------------------------------------------------------

  private workerJob(id: string, token: string | undefined): JobRecord | "gone" {
    const job = this.d.tables.getJob(id);
    if (!job) return "gone";
    if (!workerTokenMatches(this.d.workerSecret, id, token)) throw new ApiError(401, "unauthorized", "missing or invalid worker token");
    return job;
  }

  private running(job: JobRecord): boolean {
    return job.status === "Running" && !this.finishing.has(job.id);
  }

  lease(id: string, token: string | undefined, worker: string): [number, unknown] {
    const job = this.workerJob(id, token);
    if (job === "gone" || !this.running(job)) return [410, { error: { code: "job_over", message: `job ${id} is not running` } }];
    const timeout = job.config.settings.retry_settings.timeout;
    const l = this.d.tables.lease(id, worker, Date.now(), timeout);
    if (l) return [200, { mini_batch: l.idx, attempt: l.attempt, files: l.files, timeout_s: timeout }];
    const answer = leaseAnswer(this.d.tables.counts(id), true);
    if (answer === "gone") {
      this.kick();
      return [410, { error: { code: "job_over", message: `job ${id} has no mini-batch left` } }];
    }
    return [204, undefined];
  }

  result(id: string, idx: number, token: string | undefined, body: unknown): [number, unknown] {
    const job = this.workerJob(id, token);
    // A job being wound down takes no more rows: its outputs are being written from what it has.
    if (job === "gone" || TERMINAL.has(job.status) || this.finishing.has(id)) return [410, { error: { code: "job_over", message: `job ${id} is over` } }];
    const b = body as { attempt?: unknown; ok?: unknown; rows?: unknown; error?: unknown; traceback?: unknown } | null;
    if (!b || !Number.isInteger(b.attempt) || typeof b.ok !== "boolean") throw new ApiError(400, "invalid_body", `a result is {"attempt": <n>, "ok": true, "rows": [[...]]} or {"attempt": <n>, "ok": false, "error": "...", "traceback": "..."}`, "(body)");
    let rows: unknown[][] | undefined;
    if (b.ok) {
      if (!Array.isArray(b.rows)) throw new ApiError(400, "invalid_body", "rows: an ok result carries rows (a list of rows, each a list of values)", "rows");
      rows = b.rows.map((r: unknown) => (Array.isArray(r) ? r : [r]));
    }
    const t = this.d.tables.applyResult(
      id,
      idx,
      { attempt: b.attempt as number, ok: b.ok, ...(typeof b.error === "string" ? { error: b.error.slice(0, 10_000) } : {}), ...(typeof b.traceback === "string" ? { traceback: b.traceback.slice(0, 50_000) } : {}), ...(rows ? { rows } : {}) },
      job.config.settings.retry_settings.max_retries,
    );
    if (!t) throw new ApiError(404, "mini_batch_not_found", `job ${id} has no mini-batch ${idx}`);
    // Only a result that ends the job (nothing left, or error_threshold passed) needs the scheduler
    // now: idle workers lease a retried mini-batch themselves, and the periodic tick watches leases
    // and containers. A tick per result listed the engine's containers once per mini-batch.
    if (t.kind !== "ignored" && jobProgress(this.d.tables.counts(id), job.config.settings.error_threshold) !== "running") this.kick();
    if (t.kind === "retry" || t.kind === "failed") this.log(`job ${id} mini-batch ${idx} attempt ${String(b.attempt)} failed (${t.kind === "retry" ? "will retry" : "no retries left"}): ${t.error}`);
    return [200, { accepted: t.kind !== "ignored", outcome: t.kind }];
  }

  workerState(id: string, token: string | undefined, worker: string, state: "ready" | "failed", body: unknown): [number, unknown] {
    const job = this.workerJob(id, token);
    if (job === "gone" || !this.running(job)) return [410, { error: { code: "job_over", message: `job ${id} is not running` } }];
    if (state === "ready") return [200, { ok: true }];
    const b = (body ?? {}) as { error?: unknown; traceback?: unknown };
    const error = typeof b.error === "string" ? b.error.slice(0, 2000) : "init() failed";
    this.log(`job ${id} worker ${worker} failed to start: ${error}${typeof b.traceback === "string" ? `\n${b.traceback}` : ""}`);
    this.windDown(job, "Failed", `worker ${worker} failed before scoring: ${error}`, 0);
    return [200, { ok: true }];
  }

  // --- the scheduler ------------------------------------------------------------------------------

  private async tick(): Promise<void> {
    if (this.closed) return;
    const { tables } = this.d;
    const now = Date.now();
    for (const job of tables.listJobs({ statuses: ["Running"] })) {
      if (this.finishing.has(job.id)) continue;
      const maxRetries = job.config.settings.retry_settings.max_retries;
      for (const mb of expiredLeases(tables.miniBatches(job.id, ["leased"]), now)) {
        tables.loseLease(job.id, mb.idx, mb.attempt, `mini-batch ${mb.idx} timed out after ${job.config.settings.retry_settings.timeout} s (retry_settings.timeout) on attempt ${mb.attempt} of ${maxAttempts(maxRetries)}`, maxRetries);
      }
      this.checkProgress(job);
    }
    this.startQueued();
    const running = tables.listJobs({ statuses: ["Running"] }).filter((j) => !this.finishing.has(j.id));
    if (running.length > 0 || this.sweep) await this.reconcile(running);
  }

  /** Ends a running job whose mini-batches are all finished, or whose failures passed error_threshold. */
  private checkProgress(job: JobRecord): void {
    const c = this.d.tables.counts(job.id);
    const threshold = job.config.settings.error_threshold;
    const p = jobProgress(c, threshold);
    if (p === "running") return;
    if (p === "completed") {
      this.windDown(job, "Completed", null, 5000);
      return;
    }
    const failed = failedFiles(this.d.tables.miniBatches(job.id, ["failed"]));
    const named = failed
      .slice(0, 20)
      .map((f) => `${f.file} (${f.error.split("\n")[0]})`)
      .join(", ");
    this.windDown(job, "Failed", `error_threshold ${threshold} exceeded: ${c.failedFiles} file(s) failed: ${named}${failed.length > 20 ? `, and ${failed.length - 20} more` : ""}`, 0);
  }

  private startQueued(): void {
    const { tables } = this.d;
    const queued = tables.listJobs({ statuses: ["Queued"] });
    if (queued.length === 0) return;
    const clusters = new Map(tables.listClusters().map((c) => [c.name, c]));
    const running = tables.listJobs({ statuses: ["Running"] });
    const plan = planStarts(clusters, running, queued);
    const now = new Date().toISOString();
    for (const s of plan.start) {
      if (!tables.startJob(s.id, s.instances, now)) continue;
      const job = tables.getJob(s.id);
      const { assigned, stale } = job ? this.warm.assign(job.id, { cluster: job.cluster, endpoint: job.endpoint, deployment: job.deployment, fingerprint: warmFingerprint(job.config) }, s.instances, Date.now()) : { assigned: [], stale: [] };
      for (const w of stale) void this.d.workers.remove(w.containerId).catch(() => undefined);
      this.log(`job ${s.id} running on ${s.instances} instance(s)${assigned.length ? `, ${assigned.length} of them warm (${assigned.map((w) => w.name).join(", ")})` : ""}`);
    }
    for (const x of plan.impossible) {
      const job = tables.getJob(x.id);
      if (job) this.windDown(job, "Failed", x.reason, 0);
    }
  }

  /** Worker containers against running jobs: start missing instances, retry what dead ones held, remove leftovers. */
  private async reconcile(jobs: JobRecord[]): Promise<void> {
    let containers: WorkerContainer[];
    try {
      containers = await this.d.workers.list();
      this.dockerFailures = 0;
    } catch (err) {
      if (jobs.length === 0) {
        // No job needs the engine (a stack without batch has no socket): do not ask again until one does.
        this.sweep = false;
        return;
      }
      this.dockerFailures++;
      if (this.dockerFailures === 1) this.log(`cannot reach ${this.d.workers.engineName}: ${(err as Error).message}`);
      if (this.dockerFailures >= DOCKER_DOWN_TICKS) {
        for (const job of jobs) this.windDown(job, "Failed", `the server cannot reach ${this.d.workers.engineName} to run workers (${(err as Error).message}); ${this.d.workers.reachHint}`, 0);
      }
      return;
    }
    this.sweep = false;
    containers = await this.reconcileWarm(containers, jobs);
    const byJob = new Map<string, WorkerContainer[]>();
    for (const c of containers) byJob.set(c.jobId, [...(byJob.get(c.jobId) ?? []), c]);
    const live = new Set(jobs.map((j) => j.id));
    for (const job of jobs) {
      if (this.closed) return;
      await this.reconcileJob(job, byJob.get(job.id) ?? []);
    }
    // Workers of jobs that are over (canceled while the server was down, ended before a restart).
    for (const [jobId, cs] of byJob) {
      if (live.has(jobId) || this.finishing.has(jobId)) continue;
      for (const c of cs) await this.collect(jobId, c);
    }
  }

  /**
   * Warm instances against the engine: forgets those whose container is gone or dead, removes idle
   * ones beyond their cluster's min_instances (or of a deleted deployment), and idle ones a running
   * job needs the room of (max_instances counts them). Returns the containers with each warm one
   * shown as its current job's (or without the idle ones).
   */
  private async reconcileWarm(containers: WorkerContainer[], jobs: JobRecord[]): Promise<WorkerContainer[]> {
    const { tables } = this.d;
    const byId = new Map(containers.map((c) => [c.id, c]));
    const remove: WarmInstance[] = [];
    remove.push(...this.warm.drop((w) => !byId.get(w.containerId)?.alive && w.job === null));
    for (const w of this.warm.all()) {
      if (w.job !== null && !byId.has(w.containerId)) this.warm.drop((x) => x.id === w.id);
    }
    for (const cluster of tables.listClusters()) {
      const idle = this.warm.idle(cluster.name).sort((a, b) => b.since - a.since);
      const unused = idle.filter((w) => !tables.getDeployment(w.endpoint, w.deployment));
      const beyondMin = idle.filter((w) => !unused.includes(w)).slice(Math.max(0, cluster.min_instances));
      const inUse = jobs.filter((j) => j.cluster === cluster.name).reduce((n, j) => n + j.instances, 0);
      const rest = idle.filter((w) => !unused.includes(w) && !beyondMin.includes(w));
      const ids = new Set([...unused, ...beyondMin, ...overCapacity(rest, inUse, cluster.max_instances)].map((w) => w.id));
      remove.push(...this.warm.drop((w) => ids.has(w.id)));
    }
    const clusters = new Set(tables.listClusters().map((c) => c.name));
    remove.push(...this.warm.drop((w) => w.job === null && !clusters.has(w.cluster)));
    for (const w of remove) {
      const c = byId.get(w.containerId);
      if (c) await this.d.workers.remove(c.id).catch((err: unknown) => this.log(`could not remove warm instance ${w.name}: ${(err as Error).message}`));
      byId.delete(w.containerId);
    }
    const out: WorkerContainer[] = [];
    for (const c of byId.values()) {
      const w = c.instanceId ? this.warm.get(c.instanceId) : undefined;
      if (!w) out.push(c);
      else if (w.job !== null) out.push({ ...c, jobId: w.job, instance: w.instance });
    }
    return out;
  }

  private async reconcileJob(job: JobRecord, containers: WorkerContainer[]): Promise<void> {
    const { tables } = this.d;
    const maxRetries = job.config.settings.retry_settings.max_retries;
    for (const c of containers.filter((x) => !x.alive)) {
      // A dead container's leases go back to the queue (attempt + 1) before its instance is relaunched.
      for (const mb of heldByInstance(tables.miniBatches(job.id, ["leased"]), c.instance)) {
        tables.loseLease(job.id, mb.idx, mb.attempt, `worker container ${c.name} stopped (${c.state}) while running mini-batch ${mb.idx} (attempt ${mb.attempt} of ${maxAttempts(maxRetries)})`, maxRetries);
      }
      const tail = await this.collect(job.id, c);
      const relaunches = tables.countRelaunch(job.id);
      const budget = Math.max(3, job.instances * maxAttempts(maxRetries));
      if (relaunches > budget) {
        this.windDown(job, "Failed", `worker containers stopped ${relaunches} times (more than ${budget}); the last one's log ends with:\n${tail}`, 0);
        return;
      }
      this.log(`job ${job.id}: worker container ${c.name} stopped (${c.state}); its mini-batches go back to the queue`);
    }
    const c = tables.counts(job.id);
    if (jobProgress(c, job.config.settings.error_threshold) !== "running") {
      this.checkProgress(job);
      return;
    }
    if (c.pending === 0) return;
    const alive = new Set(containers.filter((x) => x.alive).map((x) => x.instance));
    const missing = Array.from({ length: job.instances }, (_, i) => i).filter((i) => !alive.has(i));
    // Canceled or ending meanwhile (a route runs between the scheduler's awaits): start nothing more.
    const now = tables.getJob(job.id);
    if (missing.length === 0 || !now || !this.running(now)) return;
    // All at once: an instance does not wait for the ones before it to be created and started.
    const launched = await Promise.allSettled(missing.map((instance) => this.d.workers.launch(this.workerSpec(job, instance, `wi-${randomBytes(8).toString("hex")}`), randomBytes(3).toString("hex"))));
    const failed = launched.findIndex((r) => r.status === "rejected");
    if (failed >= 0) {
      const err = (launched[failed] as PromiseRejectedResult).reason as Error;
      this.windDown(job, "Failed", `could not start worker ${missing[failed]} from image ${job.config.deployment.image}: ${err?.message ?? String(err)}`, 0);
    }
  }

  private workerSpec(job: JobRecord, instance: number, instanceId: string): WorkerSpec {
    const dep = job.config.deployment;
    const s = job.config.settings;
    return {
      jobId: job.id,
      endpoint: job.endpoint,
      deployment: job.deployment,
      instance,
      instanceId,
      image: dep.image,
      python: dep.python ?? DEFAULT_PYTHON,
      binds: dep.binds,
      ...(dep.pod_volumes ? { podVolumes: dep.pod_volumes } : {}),
      ...(job.config.input.hostMount ? { hostInput: job.config.input.hostMount } : {}),
      env: {
        ...job.config.environment_variables,
        AZUREML_MODEL_DIR: dep.model_dir ?? "",
        PYTHONUNBUFFERED: "1",
        MODELPLANE_SERVER_URL: this.d.options.workerServerUrl,
        MODELPLANE_WORKER_TOKEN: workerToken(this.d.workerSecret, job.id),
        MODELPLANE_JOB_ID: job.id,
        MODELPLANE_INSTANCE: String(instance),
        MODELPLANE_INSTANCE_ID: instanceId,
        MODELPLANE_INSTANCE_TOKEN: instanceToken(this.d.workerSecret, instanceId),
        MODELPLANE_CONCURRENCY: String(s.max_concurrency_per_instance),
        MODELPLANE_LOGGING_LEVEL: s.logging_level,
        MODELPLANE_MODEL_SERVER: dep.model_server,
        MODELPLANE_CODE_DIR: dep.code_dir ?? "",
        MODELPLANE_SCORING_SCRIPT: dep.scoring_script ?? "",
      },
    };
  }

  /** Keeps a container's log in the job's outputs, then removes it; returns the log's last lines. */
  private async collect(jobId: string, c: WorkerContainer, o: { sinceMs?: number | undefined; keep?: boolean } = { sinceMs: this.warmSince(c) }): Promise<string> {
    let text = "";
    try {
      text = await this.d.workers.logs(c.id, o.sinceMs);
      if (this.d.tables.getJob(jobId)) await appendWorkerLog(this.d.datastore.jobDir(jobId), c.instance, c.name, text);
    } catch (err) {
      this.log(`could not keep the log of ${c.name}: ${(err as Error).message}`);
    }
    if (o.keep) return "";
    if (c.instanceId) this.warm.drop((w) => w.id === c.instanceId);
    await this.d.workers.remove(c.id).catch((err: unknown) => this.log(`could not remove ${c.name}: ${(err as Error).message}`));
    return text.split("\n").slice(-15).join("\n");
  }

  /** When a warm container began serving its current job (its log for that job starts there). */
  private warmSince(c: WorkerContainer): number | undefined {
    const w = c.instanceId ? this.warm.get(c.instanceId) : undefined;
    return w && w.job !== null ? w.since : undefined;
  }

  /**
   * Decides which of an ending job's live containers stay warm (up to its cluster's min_instances,
   * when the job was job-neutral and its deployment still exists) and marks them idle at once, so
   * their workers wait for the next job instead of leaving; the others are told to leave.
   */
  private keepWarm(job: JobRecord, mine: WorkerContainer[]): Set<string> {
    const kept = new Set<string>();
    const cluster = this.d.tables.getCluster(job.cluster);
    const candidates = mine.filter((c) => c.alive && c.instanceId).sort((a, b) => a.instance - b.instance);
    const n = cluster && this.d.workers.keepsWarm !== false && jobNeutral(job.config) && this.d.tables.getDeployment(job.endpoint, job.deployment) ? warmToKeep(cluster.min_instances, this.warm.idle(job.cluster).length, candidates.length) : 0;
    const fingerprint = warmFingerprint(job.config);
    const now = Date.now();
    for (const c of candidates.slice(0, n)) {
      this.warm.keep({ id: c.instanceId!, containerId: c.id, name: c.name, cluster: job.cluster, endpoint: job.endpoint, deployment: job.deployment, fingerprint }, now);
      kept.add(c.id);
    }
    for (const c of mine) {
      if (!kept.has(c.id) && c.instanceId) {
        this.warm.drop((w) => w.id === c.instanceId);
        this.leaving.add(c.instanceId);
      }
    }
    if (kept.size) this.log(`job ${job.id}: ${kept.size} worker container(s) stay warm on cluster ${job.cluster} (min_instances ${cluster?.min_instances ?? 0})`);
    return kept;
  }

  /**
   * Winds a job down once: its workers leave (they are told 410; after `drainMs` they are stopped),
   * their logs are kept, outputs are written, and only then is the terminal state recorded (a
   * canceled job's was recorded first). A server killed meanwhile does it again on restart.
   */
  private windDown(job: JobRecord, status: "Completed" | "Failed" | "Canceled", reason: string | null, drainMs: number): void {
    if (this.finishing.has(job.id)) return;
    const p = (async () => {
      const deadline = Date.now() + drainMs;
      let kept: Set<string> | undefined;
      let keptContainers: WorkerContainer[] = [];
      /** Where each container's log for this job starts (a warm one's: when it was given the job). */
      const sinces = new Map<string, number | undefined>();
      for (;;) {
        const listed = this.containersOf(job.id, await this.d.workers.list().catch(() => [] as WorkerContainer[]));
        for (const c of listed) if (!sinces.has(c.id)) sinces.set(c.id, this.warmSince(c));
        if (!kept) {
          kept = this.keepWarm(job, listed);
          keptContainers = listed.filter((c) => kept!.has(c.id));
        }
        const leaving = listed.filter((c) => !kept!.has(c.id));
        const mine = [...leaving, ...keptContainers];
        if (leaving.every((c) => !c.alive) || Date.now() >= deadline) {
          await Promise.all(leaving.map((c) => this.d.workers.stop(c.id, 2).catch(() => undefined)));
          // Instances at once; one instance's containers in turn (they append to one log file).
          const byInstance = new Map<number, WorkerContainer[]>();
          for (const c of mine) byInstance.set(c.instance, [...(byInstance.get(c.instance) ?? []), c]);
          await Promise.all(
            [...byInstance.values()].map(async (cs) => {
              for (const c of cs) await this.collect(job.id, c, { sinceMs: sinces.get(c.id), keep: kept!.has(c.id) });
            }),
          );
          for (const c of leaving) if (c.instanceId) this.leaving.delete(c.instanceId);
          break;
        }
        // Workers leave within a poll of being told the job is over: look again soon.
        await sleep(50);
      }
      await this.writeOutputs(job, status, reason);
      if (status !== "Canceled") this.d.tables.endJob(job.id, status, reason, new Date().toISOString());
      this.log(`job ${job.id} ${status}${reason ? `: ${reason}` : ""}`);
    })()
      .catch((err: unknown) => this.log(`winding down job ${job.id} failed: ${(err as Error)?.stack ?? String(err)}`))
      .finally(() => {
        this.finishing.delete(job.id);
        this.sweep = true;
        this.kick();
      });
    this.finishing.set(job.id, p);
  }

  /** A job's containers: those launched for it and the warm ones serving it (shown with its instance index). */
  private containersOf(jobId: string, containers: WorkerContainer[]): WorkerContainer[] {
    const out: WorkerContainer[] = [];
    for (const c of containers) {
      const w = c.instanceId ? this.warm.get(c.instanceId) : undefined;
      if (w) {
        if (w.job === jobId) out.push({ ...c, jobId, instance: w.instance });
      } else if (c.jobId === jobId) out.push(c);
    }
    return out;
  }

  private async writeOutputs(job: JobRecord, status: string, reason: string | null): Promise<void> {
    const { tables } = this.d;
    const dir = this.d.datastore.jobDir(job.id);
    const s = job.config.settings;
    const rows = s.output_action === "append_row" ? await writePredictions(path.join(dir, s.output_file_name), tables.resultRows(job.id)) : (tables.getJob(job.id)?.rows ?? 0);
    const c = tables.counts(job.id);
    const latest = tables.getJob(job.id) ?? job;
    await writeJson(path.join(dir, "summary.json"), {
      id: job.id,
      endpoint: job.endpoint,
      deployment: job.deployment,
      status,
      failure_reason: reason,
      input: job.config.input.uri,
      mini_batches: { total: c.total, done: c.done, failed: c.failed, not_run: c.pending + c.leased },
      files: { total: job.files, failed: c.failedFiles },
      rows,
      error_threshold: s.error_threshold,
      error_threshold_exceeded: thresholdExceeded(c.failedFiles, s.error_threshold),
      output_action: s.output_action,
      output_file_name: s.output_action === "append_row" ? s.output_file_name : null,
      failed_files: failedFiles(tables.miniBatches(job.id, ["failed"])),
      created_at: latest.createdAt,
      started_at: latest.startedAt,
      ended_at: latest.endedAt ?? new Date().toISOString(),
    });
  }
}
