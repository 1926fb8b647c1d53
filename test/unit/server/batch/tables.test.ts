import { describe, it } from "node:test";
import assert from "node:assert/strict";
import Database from "better-sqlite3";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { BatchTables } from "../../../../src/server/batch/tables";
import type { JobConfig } from "../../../../src/server/batch/types";
import { DEFAULT_BATCH_SETTINGS } from "../../../../src/spec/defaults";
import { Store } from "../../../../src/server/store/store";

const settings = { ...DEFAULT_BATCH_SETTINGS, retry_settings: { max_retries: 1, timeout: 30 } };
const config: JobConfig = {
  deployment: { image: "modelplane-t/x:1", cluster: "cpu", model_server: "custom", binds: [], instance_count: 1, settings, environment_variables: {} },
  settings,
  environment_variables: {},
  input: { uri: "/data", type: "uri_folder" },
};

function withStore(fn: (dir: string, store: Store, t: BatchTables) => void): void {
  const dir = mkdtempSync(path.join(tmpdir(), "mp-batch-tables-"));
  const store = new Store(dir);
  try {
    fn(dir, store, new BatchTables(store.database()));
  } finally {
    store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

describe("batch tables", () => {
  it("takes each mini-batch's result once and keeps rows in index order", () => {
    withStore((_dir, _store, t) => {
      t.insertJob({ id: "j1", endpoint: "e", deployment: "d", cluster: "cpu", instances: 1, config, miniBatches: [["/a", "/b"], ["/c"]] }, "now");
      assert.equal(t.getJob("j1")!.status, "Queued");
      assert.ok(t.startJob("j1", 1, "now"));
      assert.ok(!t.startJob("j1", 1, "now"), "a job starts once");
      const l0 = t.lease("j1", "0-0", 1000, 30)!;
      const l1 = t.lease("j1", "0-1", 1000, 30)!;
      assert.deepEqual([l0.idx, l0.attempt, l0.files], [0, 1, ["/a", "/b"]]);
      assert.equal(l1.idx, 1);
      assert.equal(t.lease("j1", "0-2", 1000, 30), undefined, "nothing pending");
      // Mini-batch 1 finishes first; its result posted twice (a retried POST) counts once.
      assert.equal(t.applyResult("j1", 1, { attempt: 1, ok: true, rows: [["c"]] }, 1)!.kind, "done");
      assert.equal(t.applyResult("j1", 1, { attempt: 1, ok: true, rows: [["c"]] }, 1)!.kind, "ignored");
      // Mini-batch 0's lease runs out; the late result of that try is ignored, the retry's is taken.
      assert.equal(t.loseLease("j1", 0, 1, "timed out", 1).kind, "retry");
      const again = t.lease("j1", "0-3", 2000, 30)!;
      assert.deepEqual([again.idx, again.attempt], [0, 2]);
      assert.equal(t.applyResult("j1", 0, { attempt: 1, ok: true, rows: [["late"]] }, 1)!.kind, "ignored");
      assert.equal(t.applyResult("j1", 0, { attempt: 2, ok: true, rows: [["a"], ["b"]] }, 1)!.kind, "done");
      assert.deepEqual([...t.resultRows("j1")], [[["a"], ["b"]], [["c"]]]);
      assert.equal(t.getJob("j1")!.rows, 3);
      assert.deepEqual(t.counts("j1"), { total: 2, pending: 0, leased: 0, done: 2, failed: 0, failedFiles: 0 });
      assert.equal(t.applyResult("j1", 7, { attempt: 1, ok: true, rows: [] }, 1), undefined);
    });
  });

  it("fails a mini-batch after max_retries and counts its files", () => {
    withStore((_dir, _store, t) => {
      t.insertJob({ id: "j2", endpoint: "e", deployment: "d", cluster: "cpu", instances: 1, config, miniBatches: [["/a", "/b"]] }, "now");
      t.startJob("j2", 1, "now");
      t.lease("j2", "0-0", 0, 30);
      assert.equal(t.applyResult("j2", 0, { attempt: 1, ok: false, error: "E1" }, 1)!.kind, "retry");
      t.lease("j2", "0-0", 0, 30);
      assert.equal(t.applyResult("j2", 0, { attempt: 2, ok: false, error: "E2", traceback: "TB" }, 1)!.kind, "failed");
      assert.deepEqual(t.counts("j2"), { total: 1, pending: 0, leased: 0, done: 0, failed: 1, failedFiles: 2 });
      const [mb] = t.miniBatches("j2", ["failed"]);
      assert.deepEqual([mb!.error, mb!.traceback, mb!.attempt], ["E2", "TB", 2]);
      assert.ok(t.endJob("j2", "Completed", null, "later"));
      assert.ok(!t.endJob("j2", "Canceled", null, "later"), "a terminal state is final");
    });
  });

  it("keeps everything across a reopen of the database (a restarted server)", () => {
    const dir = mkdtempSync(path.join(tmpdir(), "mp-batch-reopen-"));
    try {
      let store = new Store(dir);
      let t = new BatchTables(store.database());
      t.putCluster({ name: "cpu", min_instances: 0, max_instances: 2, idle_time_before_scale_down: 120, size: "" }, "now");
      t.insertJob({ id: "j3", endpoint: "e", deployment: "d", cluster: "cpu", instances: 1, config, miniBatches: [["/a"], ["/b"]] }, "now");
      t.startJob("j3", 1, "now");
      t.lease("j3", "0-0", 5, 30);
      t.applyResult("j3", 0, { attempt: 1, ok: true, rows: [["a"]] }, 1);
      t.lease("j3", "0-1", 5, 30);
      store.close();
      store = new Store(dir);
      t = new BatchTables(store.database());
      assert.equal(t.getJob("j3")!.status, "Running");
      assert.deepEqual(t.counts("j3"), { total: 2, pending: 0, leased: 1, done: 1, failed: 0, failedFiles: 0 });
      assert.equal(t.applyResult("j3", 1, { attempt: 1, ok: true, rows: [["b"]] }, 1)!.kind, "done", "the worker's post after the restart is taken");
      assert.equal(t.getCluster("cpu")!.max_instances, 2);
      store.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("a lease is committed, and leaves the store's synchronous=FULL in place for every other write", () => {
    withStore((dir, store, t) => {
      const db = store.database();
      assert.equal(db.pragma("synchronous", { simple: true }), 2, "the store runs FULL");
      t.insertJob({ id: "js", endpoint: "e", deployment: "d", cluster: "cpu", instances: 1, config, miniBatches: [["/a"], ["/b"]] }, "now");
      t.startJob("js", 1, "now");
      assert.equal(t.lease("js", "0-0", 1000, 30)!.idx, 0);
      assert.equal(db.pragma("synchronous", { simple: true }), 2, "FULL again after the lease");
      // Another connection (as after a restart) sees the lease.
      const other = new Database(path.join(dir, "modelplane.db"), { readonly: true });
      try {
        assert.deepEqual(other.prepare("SELECT state, worker, attempt FROM batch_mini_batches WHERE job_id = 'js' ORDER BY idx").all(), [
          { state: "leased", worker: "0-0", attempt: 1 },
          { state: "pending", worker: null, attempt: 0 },
        ]);
      } finally {
        other.close();
      }
    });
  });

  it("a database made before batch support keeps its endpoints, as online ones", () => {
    const dir = mkdtempSync(path.join(tmpdir(), "mp-batch-migrate-"));
    try {
      const old = new Database(path.join(dir, "modelplane.db"));
      old.exec(`CREATE TABLE endpoints (name TEXT PRIMARY KEY, auth_mode TEXT NOT NULL, description TEXT NOT NULL DEFAULT '', tags TEXT NOT NULL DEFAULT '{}',
        traffic TEXT NOT NULL DEFAULT '{}', mirror_traffic TEXT NOT NULL DEFAULT '{}', provisioning_state TEXT NOT NULL, primary_hash TEXT NOT NULL,
        secondary_hash TEXT NOT NULL, keys_sealed TEXT NOT NULL, created_at TEXT NOT NULL, updated_at TEXT NOT NULL)`);
      old.prepare("INSERT INTO endpoints VALUES ('old', 'key', '', '{}', '{\"blue\":100}', '{}', 'Succeeded', 'a', 'b', 'x', 't', 't')").run();
      old.close();
      const store = new Store(dir);
      try {
        const ep = store.getEndpoint("old")!;
        assert.equal(ep.kind, "online");
        assert.deepEqual(ep.traffic, { blue: 100 });
        store.insertEndpoint({ name: "b", kind: "batch", auth_mode: "key", description: "", tags: {}, keys: { primary: "p".repeat(20), secondary: "s".repeat(20) }, keyHashes: { primary: "a", secondary: "b" } }, "t");
        assert.equal(store.getEndpoint("b")!.kind, "batch");
      } finally {
        store.close();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
