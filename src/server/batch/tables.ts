/**
 * The batch tables of the server's SQLite store (same database, WAL, synchronous=FULL; see
 * src/server/store/store.ts; leases alone commit with NORMAL, see relaxed). Each change is one
 * transaction, so a kill -9 after an answer loses nothing and a mini-batch result is recorded at
 * most once.
 */
import type Database from "better-sqlite3";
import { onLeaseLost, onResult, stateAfter, type ResultMessage, type Transition } from "./leases";
import type {
  BatchDeploymentConfig,
  BatchDeploymentRecord,
  ClusterRecord,
  DataAssetRecord,
  DataAssetType,
  JobConfig,
  JobRecord,
  JobStatus,
  MiniBatchCounts,
  MiniBatchRecord,
  MiniBatchState,
} from "./types";

const SCHEMA = `
CREATE TABLE IF NOT EXISTS batch_clusters (
  name TEXT PRIMARY KEY,
  min_instances INTEGER NOT NULL,
  max_instances INTEGER NOT NULL,
  idle_time_before_scale_down INTEGER NOT NULL,
  size TEXT NOT NULL,
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS batch_deployments (
  endpoint_name TEXT NOT NULL,
  name TEXT NOT NULL,
  config TEXT NOT NULL,
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL,
  PRIMARY KEY (endpoint_name, name)
);
CREATE TABLE IF NOT EXISTS batch_defaults (
  endpoint_name TEXT PRIMARY KEY,
  deployment_name TEXT
);
CREATE TABLE IF NOT EXISTS data_assets (
  name TEXT NOT NULL,
  version TEXT NOT NULL,
  type TEXT NOT NULL,
  path TEXT NOT NULL,
  created_at TEXT NOT NULL,
  PRIMARY KEY (name, version)
);
CREATE TABLE IF NOT EXISTS datastore_blobs (
  sha256 TEXT PRIMARY KEY,
  size INTEGER NOT NULL,
  created_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS datastore_folders (
  hash TEXT PRIMARY KEY,
  manifest TEXT NOT NULL,
  created_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS batch_jobs (
  id TEXT PRIMARY KEY,
  seq INTEGER NOT NULL UNIQUE,
  endpoint_name TEXT NOT NULL,
  deployment_name TEXT NOT NULL,
  cluster TEXT NOT NULL,
  status TEXT NOT NULL,
  instances INTEGER NOT NULL,
  config TEXT NOT NULL,
  total INTEGER NOT NULL,
  files INTEGER NOT NULL,
  rows INTEGER NOT NULL DEFAULT 0,
  relaunches INTEGER NOT NULL DEFAULT 0,
  created_at TEXT NOT NULL,
  started_at TEXT,
  ended_at TEXT,
  failure_reason TEXT
);
CREATE INDEX IF NOT EXISTS batch_jobs_status ON batch_jobs (status, seq);
CREATE INDEX IF NOT EXISTS batch_jobs_endpoint ON batch_jobs (endpoint_name, seq);
CREATE TABLE IF NOT EXISTS batch_mini_batches (
  job_id TEXT NOT NULL,
  idx INTEGER NOT NULL,
  files TEXT NOT NULL,
  state TEXT NOT NULL,
  attempt INTEGER NOT NULL DEFAULT 0,
  worker TEXT,
  lease_expires_at INTEGER,
  result TEXT,
  row_count INTEGER NOT NULL DEFAULT 0,
  error TEXT,
  traceback TEXT,
  PRIMARY KEY (job_id, idx)
);
CREATE INDEX IF NOT EXISTS batch_mini_batches_state ON batch_mini_batches (job_id, state, idx);
`;

interface ClusterRow {
  name: string;
  min_instances: number;
  max_instances: number;
  idle_time_before_scale_down: number;
  size: string;
  created_at: string;
  updated_at: string;
}

interface JobRow {
  id: string;
  seq: number;
  endpoint_name: string;
  deployment_name: string;
  cluster: string;
  status: string;
  instances: number;
  config: string;
  total: number;
  files: number;
  rows: number;
  relaunches: number;
  created_at: string;
  started_at: string | null;
  ended_at: string | null;
  failure_reason: string | null;
}

interface MiniBatchRow {
  job_id: string;
  idx: number;
  files: string;
  state: string;
  attempt: number;
  worker: string | null;
  lease_expires_at: number | null;
  error: string | null;
  traceback: string | null;
}

const toCluster = (r: ClusterRow): ClusterRecord => ({
  name: r.name,
  min_instances: r.min_instances,
  max_instances: r.max_instances,
  idle_time_before_scale_down: r.idle_time_before_scale_down,
  size: r.size,
  createdAt: r.created_at,
  updatedAt: r.updated_at,
});

const toJob = (r: JobRow): JobRecord => ({
  id: r.id,
  seq: r.seq,
  endpoint: r.endpoint_name,
  deployment: r.deployment_name,
  cluster: r.cluster,
  status: r.status as JobStatus,
  instances: r.instances,
  config: JSON.parse(r.config) as JobConfig,
  total: r.total,
  files: r.files,
  rows: r.rows,
  relaunches: r.relaunches,
  createdAt: r.created_at,
  startedAt: r.started_at,
  endedAt: r.ended_at,
  failureReason: r.failure_reason,
});

const toMiniBatch = (r: MiniBatchRow): MiniBatchRecord => ({
  job_id: r.job_id,
  idx: r.idx,
  files: JSON.parse(r.files) as string[],
  state: r.state as MiniBatchState,
  attempt: r.attempt,
  worker: r.worker,
  leaseExpiresAt: r.lease_expires_at,
  error: r.error,
  traceback: r.traceback,
});

export interface NewJob {
  id: string;
  endpoint: string;
  deployment: string;
  cluster: string;
  instances: number;
  config: JobConfig;
  miniBatches: string[][];
}

export interface Lease {
  idx: number;
  attempt: number;
  files: string[];
}

export class BatchTables {
  constructor(private readonly db: Database.Database) {
    db.exec(SCHEMA);
  }

  /** Prepared statements, kept: on the lease and result path preparing one cost more than running it. */
  private readonly statements = new Map<string, Database.Statement>();

  private sql(text: string): Database.Statement {
    let stmt = this.statements.get(text);
    if (!stmt) {
      stmt = this.db.prepare(text);
      this.statements.set(text, stmt);
    }
    return stmt;
  }

  private tx<T>(fn: () => T): T {
    return this.db.transaction(fn)();
  }

  /**
   * Runs `fn` with synchronous=NORMAL: in WAL mode its commits survive a kill -9 of the server
   * (they are in the WAL, which the OS keeps) but not a power loss, and they cost no fsync (3 ms
   * each on the first bench host, with the event loop blocked). Only for writes whose loss a
   * power cut makes harmless; everything else keeps the store's synchronous=FULL.
   */
  private relaxed<T>(fn: () => T): T {
    const level = this.sql("PRAGMA synchronous").pluck().get() as number;
    if (level <= 1) return fn();
    this.sql("PRAGMA synchronous = NORMAL").run();
    try {
      return fn();
    } finally {
      this.sql(`PRAGMA synchronous = ${level}`).run();
    }
  }

  // --- clusters -----------------------------------------------------------------------------

  listClusters(): ClusterRecord[] {
    return (this.sql("SELECT * FROM batch_clusters ORDER BY name").all() as ClusterRow[]).map(toCluster);
  }

  getCluster(name: string): ClusterRecord | undefined {
    const r = this.sql("SELECT * FROM batch_clusters WHERE name = ?").get(name) as ClusterRow | undefined;
    return r ? toCluster(r) : undefined;
  }

  /** Creates or updates; true when created. */
  putCluster(c: Omit<ClusterRecord, "createdAt" | "updatedAt">, now: string): boolean {
    return this.tx(() => {
      const existed = this.getCluster(c.name) !== undefined;
      this.db
        .prepare(
          `INSERT INTO batch_clusters (name, min_instances, max_instances, idle_time_before_scale_down, size, created_at, updated_at)
           VALUES (?, ?, ?, ?, ?, ?, ?)
           ON CONFLICT(name) DO UPDATE SET min_instances = excluded.min_instances, max_instances = excluded.max_instances,
             idle_time_before_scale_down = excluded.idle_time_before_scale_down, size = excluded.size, updated_at = excluded.updated_at`,
        )
        .run(c.name, c.min_instances, c.max_instances, c.idle_time_before_scale_down, c.size, now, now);
      return !existed;
    });
  }

  deleteCluster(name: string): boolean {
    return this.sql("DELETE FROM batch_clusters WHERE name = ?").run(name).changes > 0;
  }

  // --- deployments and defaults --------------------------------------------------------------

  listDeployments(endpoint?: string): BatchDeploymentRecord[] {
    const rows = (
      endpoint
        ? this.sql("SELECT * FROM batch_deployments WHERE endpoint_name = ? ORDER BY name").all(endpoint)
        : this.sql("SELECT * FROM batch_deployments ORDER BY endpoint_name, name").all()
    ) as { endpoint_name: string; name: string; config: string; created_at: string; updated_at: string }[];
    return rows.map((r) => ({ endpoint_name: r.endpoint_name, name: r.name, config: JSON.parse(r.config) as BatchDeploymentConfig, createdAt: r.created_at, updatedAt: r.updated_at }));
  }

  getDeployment(endpoint: string, name: string): BatchDeploymentRecord | undefined {
    return this.listDeployments(endpoint).find((d) => d.name === name);
  }

  /** Creates or replaces; true when created. */
  putDeployment(endpoint: string, name: string, config: BatchDeploymentConfig, now: string): boolean {
    return this.tx(() => {
      const existed = this.getDeployment(endpoint, name) !== undefined;
      this.db
        .prepare(
          `INSERT INTO batch_deployments (endpoint_name, name, config, created_at, updated_at) VALUES (?, ?, ?, ?, ?)
           ON CONFLICT(endpoint_name, name) DO UPDATE SET config = excluded.config, updated_at = excluded.updated_at`,
        )
        .run(endpoint, name, JSON.stringify(config), now, now);
      return !existed;
    });
  }

  deleteDeployment(endpoint: string, name: string): boolean {
    return this.sql("DELETE FROM batch_deployments WHERE endpoint_name = ? AND name = ?").run(endpoint, name).changes > 0;
  }

  getDefault(endpoint: string): string | null {
    const r = this.sql("SELECT deployment_name FROM batch_defaults WHERE endpoint_name = ?").get(endpoint) as { deployment_name: string | null } | undefined;
    return r?.deployment_name ?? null;
  }

  setDefault(endpoint: string, deployment: string | null): void {
    this.db
      .prepare("INSERT INTO batch_defaults (endpoint_name, deployment_name) VALUES (?, ?) ON CONFLICT(endpoint_name) DO UPDATE SET deployment_name = excluded.deployment_name")
      .run(endpoint, deployment);
  }

  /** Deployments and default of an endpoint being deleted (its jobs stay, as records). */
  deleteEndpointRows(endpoint: string): void {
    this.tx(() => {
      this.sql("DELETE FROM batch_deployments WHERE endpoint_name = ?").run(endpoint);
      this.sql("DELETE FROM batch_defaults WHERE endpoint_name = ?").run(endpoint);
    });
  }

  // --- data assets and datastore ---------------------------------------------------------------

  putDataAsset(a: Omit<DataAssetRecord, "createdAt">, now: string): boolean {
    return this.tx(() => {
      const existed = this.getDataAsset(a.name, a.version) !== undefined;
      this.db
        .prepare(
          `INSERT INTO data_assets (name, version, type, path, created_at) VALUES (?, ?, ?, ?, ?)
           ON CONFLICT(name, version) DO UPDATE SET type = excluded.type, path = excluded.path`,
        )
        .run(a.name, a.version, a.type, a.path, now);
      return !existed;
    });
  }

  getDataAsset(name: string, version: string): DataAssetRecord | undefined {
    const r = this.sql("SELECT * FROM data_assets WHERE name = ? AND version = ?").get(name, version) as
      | { name: string; version: string; type: string; path: string; created_at: string }
      | undefined;
    return r ? { name: r.name, version: r.version, type: r.type as DataAssetType, path: r.path, createdAt: r.created_at } : undefined;
  }

  dataAssetVersions(name: string): string[] {
    return (this.sql("SELECT version FROM data_assets WHERE name = ?").all(name) as { version: string }[]).map((r) => r.version);
  }

  recordBlob(sha256: string, size: number, now: string): void {
    this.sql("INSERT OR IGNORE INTO datastore_blobs (sha256, size, created_at) VALUES (?, ?, ?)").run(sha256, size, now);
  }

  recordFolder(hash: string, manifest: string, now: string): void {
    this.sql("INSERT OR IGNORE INTO datastore_folders (hash, manifest, created_at) VALUES (?, ?, ?)").run(hash, manifest, now);
  }

  // --- jobs ------------------------------------------------------------------------------------

  /** The job and its mini-batches, in one transaction; the job is Queued. */
  insertJob(j: NewJob, now: string): JobRecord {
    return this.tx(() => {
      const seq = ((this.sql("SELECT MAX(seq) AS m FROM batch_jobs").get() as { m: number | null }).m ?? 0) + 1;
      const files = j.miniBatches.reduce((n, mb) => n + mb.length, 0);
      this.db
        .prepare(
          `INSERT INTO batch_jobs (id, seq, endpoint_name, deployment_name, cluster, status, instances, config, total, files, created_at)
           VALUES (?, ?, ?, ?, ?, 'Queued', ?, ?, ?, ?, ?)`,
        )
        .run(j.id, seq, j.endpoint, j.deployment, j.cluster, j.instances, JSON.stringify(j.config), j.miniBatches.length, files, now);
      const ins = this.sql("INSERT INTO batch_mini_batches (job_id, idx, files, state) VALUES (?, ?, ?, 'pending')");
      j.miniBatches.forEach((mb, idx) => ins.run(j.id, idx, JSON.stringify(mb)));
      return this.getJob(j.id)!;
    });
  }

  getJob(id: string): JobRecord | undefined {
    const r = this.sql("SELECT * FROM batch_jobs WHERE id = ?").get(id) as JobRow | undefined;
    return r ? toJob(r) : undefined;
  }

  listJobs(filter: { endpoint?: string; statuses?: JobStatus[] } = {}): JobRecord[] {
    const where: string[] = [];
    const args: unknown[] = [];
    if (filter.endpoint !== undefined) {
      where.push("endpoint_name = ?");
      args.push(filter.endpoint);
    }
    if (filter.statuses) {
      where.push(`status IN (${filter.statuses.map(() => "?").join(", ")})`);
      args.push(...filter.statuses);
    }
    const sql = `SELECT * FROM batch_jobs${where.length ? ` WHERE ${where.join(" AND ")}` : ""} ORDER BY seq`;
    return (this.sql(sql).all(...args) as JobRow[]).map(toJob);
  }

  /** Queued -> Running with its instance count; false when the job was not Queued any more. */
  startJob(id: string, instances: number, now: string): boolean {
    return this.sql("UPDATE batch_jobs SET status = 'Running', instances = ?, started_at = ? WHERE id = ? AND status = 'Queued'").run(instances, now, id).changes > 0;
  }

  /** Into a terminal state once; false when it already was in one. */
  endJob(id: string, status: "Completed" | "Failed" | "Canceled", reason: string | null, now: string): boolean {
    return (
      this.db
        .prepare("UPDATE batch_jobs SET status = ?, failure_reason = ?, ended_at = ? WHERE id = ? AND status IN ('Queued', 'Running')")
        .run(status, reason, now, id).changes > 0
    );
  }

  countRelaunch(id: string): number {
    return this.tx(() => {
      this.sql("UPDATE batch_jobs SET relaunches = relaunches + 1 WHERE id = ?").run(id);
      return (this.sql("SELECT relaunches FROM batch_jobs WHERE id = ?").get(id) as { relaunches: number }).relaunches;
    });
  }

  // --- mini-batches ---------------------------------------------------------------------------

  counts(jobId: string): MiniBatchCounts {
    const c: MiniBatchCounts = { total: 0, pending: 0, leased: 0, done: 0, failed: 0, failedFiles: 0 };
    // Counted from the (job_id, state, idx) index alone; only failed mini-batches' file lists are read.
    const rows = this.sql("SELECT state, COUNT(*) AS n FROM batch_mini_batches WHERE job_id = ? GROUP BY state").all(jobId) as { state: MiniBatchState; n: number }[];
    for (const r of rows) {
      c[r.state] = r.n;
      c.total += r.n;
    }
    if (c.failed > 0) c.failedFiles = this.sql("SELECT SUM(json_array_length(files)) FROM batch_mini_batches WHERE job_id = ? AND state = 'failed'").pluck().get(jobId) as number;
    return c;
  }

  miniBatches(jobId: string, states?: MiniBatchState[]): MiniBatchRecord[] {
    const rows = states
      ? this.sql(`SELECT * FROM batch_mini_batches WHERE job_id = ? AND state IN (${states.map(() => "?").join(", ")}) ORDER BY idx`).all(jobId, ...states)
      : this.sql("SELECT * FROM batch_mini_batches WHERE job_id = ? ORDER BY idx").all(jobId);
    return (rows as MiniBatchRow[]).map(toMiniBatch);
  }

  /** Result rows of done mini-batches, in index order, one mini-batch at a time. */
  *resultRows(jobId: string): Generator<unknown[][]> {
    // Prepared afresh: a kept statement would be busy while this iterator is open.
    const stmt = this.db.prepare("SELECT result FROM batch_mini_batches WHERE job_id = ? AND state = 'done' ORDER BY idx");
    for (const r of stmt.iterate(jobId) as Iterable<{ result: string | null }>) yield r.result ? (JSON.parse(r.result) as unknown[][]) : [];
  }

  /**
   * Leases the lowest pending mini-batch of a Running job to `worker`. Committed without waiting
   * for the disk (see relaxed): the lease is the hot path (one per mini-batch), and a lease the
   * disk never got costs at most a rerun of that mini-batch, whose worker died with the machine.
   */
  lease(jobId: string, worker: string, now: number, timeoutS: number): Lease | undefined {
    return this.relaxed(() => this.tx(() => {
      const r = this.sql("SELECT idx, attempt, files FROM batch_mini_batches WHERE job_id = ? AND state = 'pending' ORDER BY idx LIMIT 1").get(jobId) as
        | { idx: number; attempt: number; files: string }
        | undefined;
      if (!r) return undefined;
      const attempt = r.attempt + 1;
      this.db
        .prepare("UPDATE batch_mini_batches SET state = 'leased', attempt = ?, worker = ?, lease_expires_at = ? WHERE job_id = ? AND idx = ?")
        .run(attempt, worker, now + timeoutS * 1000, jobId, r.idx);
      return { idx: r.idx, attempt, files: JSON.parse(r.files) as string[] };
    }));
  }

  /** A worker's result for one try, applied once (see onResult). */
  applyResult(jobId: string, idx: number, msg: ResultMessage & { rows?: unknown[][] }, maxRetries: number): Transition | undefined {
    return this.tx(() => {
      const mb = this.sql("SELECT state, attempt FROM batch_mini_batches WHERE job_id = ? AND idx = ?").get(jobId, idx) as { state: MiniBatchState; attempt: number } | undefined;
      if (!mb) return undefined;
      const t = onResult(mb, msg, maxRetries);
      this.write(jobId, idx, mb.state, t, msg.rows);
      return t;
    });
  }

  /** A lease that ran out or whose container died; retried or failed (see onLeaseLost). */
  loseLease(jobId: string, idx: number, attempt: number, why: string, maxRetries: number): Transition {
    return this.tx(() => {
      const mb = this.sql("SELECT state, attempt FROM batch_mini_batches WHERE job_id = ? AND idx = ?").get(jobId, idx) as { state: MiniBatchState; attempt: number } | undefined;
      if (!mb || mb.attempt !== attempt) return { kind: "ignored", reason: "lease changed" } as Transition;
      const t = onLeaseLost(mb, why, maxRetries);
      this.write(jobId, idx, mb.state, t);
      return t;
    });
  }

  private write(jobId: string, idx: number, current: MiniBatchState, t: Transition, rows?: unknown[][]): void {
    if (t.kind === "ignored") return;
    const state = stateAfter(current, t);
    if (t.kind === "done") {
      const result = rows ?? [];
      this.db
        .prepare("UPDATE batch_mini_batches SET state = 'done', worker = NULL, lease_expires_at = NULL, result = ?, row_count = ?, error = NULL, traceback = NULL WHERE job_id = ? AND idx = ?")
        .run(JSON.stringify(result), result.length, jobId, idx);
      this.sql("UPDATE batch_jobs SET rows = rows + ? WHERE id = ?").run(result.length, jobId);
      return;
    }
    this.db
      .prepare("UPDATE batch_mini_batches SET state = ?, worker = NULL, lease_expires_at = NULL, error = ?, traceback = ? WHERE job_id = ? AND idx = ?")
      .run(state, t.error, t.traceback, jobId, idx);
  }
}
