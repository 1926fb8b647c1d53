// The batch scheduler against a fake engine: when it runs and how it starts instances.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { batchOptions } from "../../../../src/server/batch/config";
import { Datastore } from "../../../../src/server/batch/datastore";
import type { WorkerContainer, WorkerDocker, WorkerSpec } from "../../../../src/server/batch/docker-workers";
import { BatchService } from "../../../../src/server/batch/service";
import { BatchTables } from "../../../../src/server/batch/tables";
import type { JobConfig } from "../../../../src/server/batch/types";
import { instanceToken, workerToken } from "../../../../src/server/batch/worker-token";
import { Store } from "../../../../src/server/store/store";
import { DEFAULT_BATCH_SETTINGS } from "../../../../src/spec/defaults";

const settings = { ...DEFAULT_BATCH_SETTINGS, retry_settings: { max_retries: 1, timeout: 30 } };
const config: JobConfig = {
  deployment: { image: "modelplane-t/x:1", cluster: "cpu", model_server: "custom", binds: [], instance_count: 2, settings, environment_variables: {} },
  settings,
  environment_variables: {},
  input: { uri: "/data", type: "uri_folder" },
};
const SECRET = Buffer.from("unit-test-secret");

/** An engine that records calls; each launch stays pending until the test lets it finish. */
class FakeEngine {
  lists = 0;
  containers: WorkerContainer[] = [];
  launching: { instance: number; finish: () => void }[] = [];
  checkImage(): string | undefined {
    return undefined;
  }
  async list(): Promise<WorkerContainer[]> {
    this.lists++;
    return this.containers.map((c) => ({ ...c }));
  }
  launch(spec: WorkerSpec): Promise<{ id: string; name: string }> {
    return new Promise((resolve) => {
      this.launching.push({
        instance: spec.instance,
        finish: () => {
          const c = { id: `c${spec.instance}`, name: `w${spec.instance}`, jobId: spec.jobId, instance: spec.instance, ...(spec.instanceId ? { instanceId: spec.instanceId } : {}), alive: true, state: "running" };
          this.containers.push(c);
          resolve(c);
        },
      });
    });
  }
  async stop(): Promise<void> {}
  async logs(): Promise<string> {
    return "";
  }
  async remove(id: string): Promise<void> {
    this.containers = this.containers.filter((c) => c.id !== id);
  }
}

async function until(what: string, ok: () => boolean): Promise<void> {
  const end = Date.now() + 5000;
  while (!ok()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** A scheduler over a fresh store and datastore in a temp dir, on a FakeEngine; its timer ticks hourly, so it runs when kicked. */
async function scheduler(): Promise<{ engine: FakeEngine; tables: BatchTables; datastore: Datastore; service: BatchService; close(): Promise<void> }> {
  const dir = mkdtempSync(path.join(tmpdir(), "mp-batch-service-"));
  const store = new Store(dir);
  const engine = new FakeEngine();
  const tables = new BatchTables(store.database());
  const datastore = new Datastore(path.join(dir, "datastore"));
  await datastore.init();
  const service = new BatchService({ tables, datastore, workers: engine as unknown as WorkerDocker, options: batchOptions(dir, { tickMs: 3_600_000 }), workerSecret: SECRET, gatewayUrl: () => "http://gw", log: () => {} });
  const close = async (): Promise<void> => {
    await service.stop();
    store.close();
    rmSync(dir, { recursive: true, force: true });
  };
  return { engine, tables, datastore, service, close };
}

describe("batch scheduler", () => {
  it("launches a job's instances at once, runs no tick per result, and ends the job on its last result", async () => {
    const { engine, tables, datastore, service, close } = await scheduler();
    try {
      tables.putCluster({ name: "cpu", min_instances: 0, max_instances: 4, idle_time_before_scale_down: 120, size: "Standard_DS3_v2" }, "now");
      tables.insertJob({ id: "j1", endpoint: "e", deployment: "d", cluster: "cpu", instances: 2, config, miniBatches: [["/a"], ["/b"], ["/c"]] }, "now");
      service.kick();
      // Both instances are being launched before either has started.
      await until("two launches", () => engine.launching.length === 2);
      assert.deepEqual(engine.launching.map((l) => l.instance).sort(), [0, 1]);
      assert.equal(tables.getJob("j1")!.status, "Running");
      for (const l of engine.launching) l.finish();
      await until("the tick to end", () => engine.containers.length === 2);
      await new Promise((r) => setTimeout(r, 20));
      const token = workerToken(SECRET, "j1");
      const leases = ["0-0", "0-1", "1-0"].map((w) => service.lease("j1", token, w));
      assert.deepEqual(leases.map(([status]) => status), [200, 200, 200]);
      const listsBefore = engine.lists;
      assert.deepEqual(service.result("j1", 0, token, { attempt: 1, ok: true, rows: [["a"]] }), [200, { accepted: true, outcome: "done" }]);
      assert.deepEqual(service.result("j1", 2, token, { attempt: 1, ok: true, rows: [["c"]] }), [200, { accepted: true, outcome: "done" }]);
      await new Promise((r) => setTimeout(r, 50));
      assert.equal(engine.lists, listsBefore, "a result that leaves work to do does not run the scheduler (which lists the engine's containers)");
      // The workers leave once told the job is over; the last result ends the job at once.
      for (const c of engine.containers) c.alive = false;
      service.result("j1", 1, token, { attempt: 1, ok: true, rows: [["b"]] });
      await until("Completed", () => tables.getJob("j1")!.status === "Completed");
      assert.ok(engine.lists > listsBefore);
      assert.equal(readFileSync(path.join(datastore.jobDir("j1"), "predictions.csv"), "utf8"), "a\nb\nc\n");
      assert.deepEqual(engine.containers, [], "the job's containers are removed");
    } finally {
      await close();
    }
  });

  it("min_instances 1: the ended job's container stays warm and the next job of the deployment gets it instead of a new one", async () => {
    const { engine, tables, service, close } = await scheduler();
    try {
      tables.putCluster({ name: "cpu", min_instances: 1, max_instances: 2, idle_time_before_scale_down: 120, size: "Standard_DS3_v2" }, "now");
      tables.putDeployment("e", "d", config.deployment, "now");
      tables.insertJob({ id: "j1", endpoint: "e", deployment: "d", cluster: "cpu", instances: 1, config, miniBatches: [["/a"]] }, "now");
      service.kick();
      await until("one launch", () => engine.launching.length === 1);
      engine.launching[0]!.finish();
      await until("the container", () => engine.containers.length === 1);
      const warm = engine.containers[0]!;
      assert.ok(warm.instanceId, "every worker has an instance id");
      const itoken = instanceToken(SECRET, warm.instanceId);
      assert.throws(() => service.nextJob(warm.instanceId!, "wrong", { job: "j1" }), /invalid instance token/);
      await new Promise((r) => setTimeout(r, 20));
      assert.equal(service.lease("j1", workerToken(SECRET, "j1"), "0-0")[0], 200);
      service.result("j1", 0, workerToken(SECRET, "j1"), { attempt: 1, ok: true, rows: [["a"]] });
      await until("Completed", () => tables.getJob("j1")!.status === "Completed");
      assert.deepEqual(
        engine.containers.map((c) => c.id),
        [warm.id],
        "the container stays (warm)",
      );
      assert.equal(service.nextJob(warm.instanceId!, itoken, { job: "j1" })[0], 204, "a warm worker waits for its next job");

      tables.insertJob({ id: "j2", endpoint: "e", deployment: "d", cluster: "cpu", instances: 1, config, miniBatches: [["/b"]] }, "now");
      service.kick();
      await until("j2 Running", () => tables.getJob("j2")!.status === "Running");
      await new Promise((r) => setTimeout(r, 50));
      assert.equal(engine.launching.length, 1, "no container is started for j2: it got the warm one");
      assert.deepEqual(service.nextJob(warm.instanceId!, itoken, { job: "j1" }), [200, { job: "j2", token: workerToken(SECRET, "j2"), instance: 0 }]);
      assert.equal(service.lease("j2", workerToken(SECRET, "j2"), "0-0")[0], 200);

      // Another deployment's job does not get it; deleting the deployment removes the idle warm instance.
      service.result("j2", 0, workerToken(SECRET, "j2"), { attempt: 1, ok: true, rows: [["b"]] });
      await until("j2 Completed", () => tables.getJob("j2")!.status === "Completed");
      assert.equal(engine.containers.length, 1, "kept again after j2");
      await service.dropWarm((w) => w.deployment === "d");
      assert.deepEqual(engine.containers, []);
      assert.equal(service.nextJob(warm.instanceId!, itoken, { job: "j2" })[0], 410, "a removed instance is told to leave");
    } finally {
      await close();
    }
  });
});
