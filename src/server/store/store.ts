import Database from "better-sqlite3";
import { randomBytes } from "node:crypto";
import { mkdirSync, readFileSync, writeFileSync, existsSync } from "node:fs";
import * as path from "node:path";
import { seal, unseal } from "../auth/keys";
import type { AuthMode, DeploymentConfig, DeploymentRecord, EndpointKeys, EndpointKind, EndpointRecord, ProvisioningState } from "./types";

const SCHEMA = `
CREATE TABLE IF NOT EXISTS meta (k TEXT PRIMARY KEY, v TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS endpoints (
  name TEXT PRIMARY KEY,
  kind TEXT NOT NULL DEFAULT 'online',
  auth_mode TEXT NOT NULL,
  description TEXT NOT NULL DEFAULT '',
  tags TEXT NOT NULL DEFAULT '{}',
  traffic TEXT NOT NULL DEFAULT '{}',
  mirror_traffic TEXT NOT NULL DEFAULT '{}',
  provisioning_state TEXT NOT NULL,
  primary_hash TEXT NOT NULL,
  secondary_hash TEXT NOT NULL,
  keys_sealed TEXT NOT NULL,
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS deployments (
  endpoint_name TEXT NOT NULL REFERENCES endpoints(name) ON DELETE CASCADE,
  name TEXT NOT NULL,
  config TEXT NOT NULL,
  serving_config TEXT,
  provisioning_state TEXT NOT NULL,
  failure_reason TEXT,
  generation INTEGER NOT NULL,
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL,
  PRIMARY KEY (endpoint_name, name)
);
`;

interface EndpointRow {
  name: string;
  kind: string;
  auth_mode: string;
  description: string;
  tags: string;
  traffic: string;
  mirror_traffic: string;
  provisioning_state: string;
  primary_hash: string;
  secondary_hash: string;
  keys_sealed: string;
  created_at: string;
  updated_at: string;
}

interface DeploymentRow {
  endpoint_name: string;
  name: string;
  config: string;
  serving_config: string | null;
  provisioning_state: string;
  failure_reason: string | null;
  generation: number;
  created_at: string;
  updated_at: string;
}

function toEndpoint(r: EndpointRow): EndpointRecord {
  return {
    name: r.name,
    kind: r.kind === "batch" ? "batch" : "online",
    auth_mode: r.auth_mode as AuthMode,
    description: r.description,
    tags: JSON.parse(r.tags) as Record<string, string>,
    traffic: JSON.parse(r.traffic) as Record<string, number>,
    mirror_traffic: JSON.parse(r.mirror_traffic) as Record<string, number>,
    provisioningState: r.provisioning_state as ProvisioningState,
    primaryKeyHash: r.primary_hash,
    secondaryKeyHash: r.secondary_hash,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  };
}

function toDeployment(r: DeploymentRow): DeploymentRecord {
  return {
    endpoint_name: r.endpoint_name,
    name: r.name,
    config: JSON.parse(r.config) as DeploymentConfig,
    servingConfig: r.serving_config ? (JSON.parse(r.serving_config) as DeploymentConfig) : null,
    provisioningState: r.provisioning_state as ProvisioningState,
    failureReason: r.failure_reason,
    generation: r.generation,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  };
}

export interface EndpointWrite {
  name: string;
  /** Set on insert only (an endpoint never changes kind). @default "online" */
  kind?: EndpointKind;
  auth_mode: AuthMode;
  description: string;
  tags: Record<string, string>;
  keys: EndpointKeys;
  keyHashes: { primary: string; secondary: string };
}

/**
 * The server's durable state: SQLite in WAL mode with synchronous=FULL, every change in one
 * transaction, so a kill -9 after a response was sent loses nothing.
 */
export class Store {
  private readonly db: Database.Database;
  private readonly dataKey: Buffer;

  constructor(stateDir: string) {
    mkdirSync(stateDir, { recursive: true });
    this.dataKey = loadOrCreateDataKey(path.join(stateDir, "secret.key"));
    this.db = new Database(path.join(stateDir, "modelplane.db"));
    this.db.pragma("journal_mode = WAL");
    this.db.pragma("synchronous = FULL");
    this.db.pragma("foreign_keys = ON");
    this.db.pragma("busy_timeout = 5000");
    this.db.exec(SCHEMA);
    migrate(this.db);
  }

  /** The open database, for the tables of other server parts (src/server/batch/tables.ts). */
  database(): Database.Database {
    return this.db;
  }

  close(): void {
    if (this.db.open) this.db.close();
  }

  /** A persisted random secret (created on first use), e.g. the token signing key. */
  secret(name: string): Buffer {
    const row = this.db.prepare("SELECT v FROM meta WHERE k = ?").get(`secret:${name}`) as { v: string } | undefined;
    if (row) return Buffer.from(unseal(row.v, this.dataKey), "base64");
    const value = randomBytes(32);
    this.db.prepare("INSERT OR IGNORE INTO meta (k, v) VALUES (?, ?)").run(`secret:${name}`, seal(value.toString("base64"), this.dataKey));
    return this.secret(name);
  }

  transaction<T>(fn: () => T): T {
    return this.db.transaction(fn)();
  }

  listEndpoints(): EndpointRecord[] {
    return (this.db.prepare("SELECT * FROM endpoints ORDER BY name").all() as EndpointRow[]).map(toEndpoint);
  }

  getEndpoint(name: string): EndpointRecord | undefined {
    const r = this.db.prepare("SELECT * FROM endpoints WHERE name = ?").get(name) as EndpointRow | undefined;
    return r ? toEndpoint(r) : undefined;
  }

  getKeys(name: string): EndpointKeys | undefined {
    const r = this.db.prepare("SELECT keys_sealed FROM endpoints WHERE name = ?").get(name) as { keys_sealed: string } | undefined;
    return r ? (JSON.parse(unseal(r.keys_sealed, this.dataKey)) as EndpointKeys) : undefined;
  }

  insertEndpoint(e: EndpointWrite, now: string): void {
    this.db
      .prepare(
        `INSERT INTO endpoints (name, kind, auth_mode, description, tags, traffic, mirror_traffic, provisioning_state,
           primary_hash, secondary_hash, keys_sealed, created_at, updated_at)
         VALUES (?, ?, ?, ?, ?, '{}', '{}', 'Succeeded', ?, ?, ?, ?, ?)`,
      )
      .run(e.name, e.kind ?? "online", e.auth_mode, e.description, JSON.stringify(e.tags), e.keyHashes.primary, e.keyHashes.secondary, seal(JSON.stringify(e.keys), this.dataKey), now, now);
  }

  updateEndpoint(e: EndpointWrite, now: string): void {
    this.db
      .prepare(
        `UPDATE endpoints SET auth_mode = ?, description = ?, tags = ?, primary_hash = ?, secondary_hash = ?,
           keys_sealed = ?, provisioning_state = 'Succeeded', updated_at = ? WHERE name = ?`,
      )
      .run(e.auth_mode, e.description, JSON.stringify(e.tags), e.keyHashes.primary, e.keyHashes.secondary, seal(JSON.stringify(e.keys), this.dataKey), now, e.name);
  }

  setTraffic(name: string, traffic: Record<string, number>, mirror: Record<string, number>, now: string): void {
    this.db.prepare("UPDATE endpoints SET traffic = ?, mirror_traffic = ?, updated_at = ? WHERE name = ?").run(JSON.stringify(traffic), JSON.stringify(mirror), now, name);
  }

  deleteEndpoint(name: string): boolean {
    return this.transaction(() => {
      this.db.prepare("DELETE FROM deployments WHERE endpoint_name = ?").run(name);
      return this.db.prepare("DELETE FROM endpoints WHERE name = ?").run(name).changes > 0;
    });
  }

  listDeployments(endpoint?: string): DeploymentRecord[] {
    const rows = endpoint
      ? (this.db.prepare("SELECT * FROM deployments WHERE endpoint_name = ? ORDER BY name").all(endpoint) as DeploymentRow[])
      : (this.db.prepare("SELECT * FROM deployments ORDER BY endpoint_name, name").all() as DeploymentRow[]);
    return rows.map(toDeployment);
  }

  getDeployment(endpoint: string, name: string): DeploymentRecord | undefined {
    const r = this.db.prepare("SELECT * FROM deployments WHERE endpoint_name = ? AND name = ?").get(endpoint, name) as DeploymentRow | undefined;
    return r ? toDeployment(r) : undefined;
  }

  /** Creates or replaces the desired config; returns the new generation (unique across the store's life). */
  putDeployment(endpoint: string, name: string, config: DeploymentConfig, state: ProvisioningState, now: string): number {
    return this.transaction(() => {
      this.db.prepare("INSERT INTO meta (k, v) VALUES ('generation', '1') ON CONFLICT(k) DO UPDATE SET v = CAST(v AS INTEGER) + 1").run();
      const generation = Number((this.db.prepare("SELECT v FROM meta WHERE k = 'generation'").get() as { v: string }).v);
      this.db
        .prepare(
          `INSERT INTO deployments (endpoint_name, name, config, serving_config, provisioning_state, failure_reason, generation, created_at, updated_at)
           VALUES (?, ?, ?, NULL, ?, NULL, ?, ?, ?)
           ON CONFLICT(endpoint_name, name) DO UPDATE SET config = excluded.config, provisioning_state = excluded.provisioning_state,
             failure_reason = NULL, generation = excluded.generation, updated_at = excluded.updated_at`,
        )
        .run(endpoint, name, JSON.stringify(config), state, generation, now, now);
      return generation;
    });
  }

  /**
   * Records a probe outcome for one generation; ignored (returns false) when a newer PUT happened.
   * Success also makes the config the serving one.
   */
  finishProvisioning(endpoint: string, name: string, generation: number, outcome: { ok: true } | { ok: false; reason: string }, now: string): boolean {
    if (outcome.ok) {
      return (
        this.db
          .prepare(
            `UPDATE deployments SET provisioning_state = 'Succeeded', failure_reason = NULL, serving_config = config, updated_at = ?
             WHERE endpoint_name = ? AND name = ? AND generation = ?`,
          )
          .run(now, endpoint, name, generation).changes > 0
      );
    }
    return (
      this.db
        .prepare("UPDATE deployments SET provisioning_state = 'Failed', failure_reason = ?, updated_at = ? WHERE endpoint_name = ? AND name = ? AND generation = ?")
        .run(outcome.reason, now, endpoint, name, generation).changes > 0
    );
  }

  deleteDeployment(endpoint: string, name: string): boolean {
    return this.db.prepare("DELETE FROM deployments WHERE endpoint_name = ? AND name = ?").run(endpoint, name).changes > 0;
  }
}

/**
 * Brings a database made by an older server up to the current schema, in place: columns added
 * since keep every existing row (endpoints before batch support are online ones).
 */
function migrate(db: Database.Database): void {
  const columns = (db.prepare("PRAGMA table_info(endpoints)").all() as { name: string }[]).map((c) => c.name);
  if (!columns.includes("kind")) db.exec("ALTER TABLE endpoints ADD COLUMN kind TEXT NOT NULL DEFAULT 'online'");
}

function loadOrCreateDataKey(file: string): Buffer {
  if (existsSync(file)) {
    const key = Buffer.from(readFileSync(file, "utf8").trim(), "base64");
    if (key.length !== 32) throw new Error(`${file} does not hold a 32-byte key`);
    return key;
  }
  const key = randomBytes(32);
  // wx: fail rather than overwrite if another process created it meanwhile.
  writeFileSync(file, key.toString("base64") + "\n", { mode: 0o600, flag: "wx" });
  return key;
}
