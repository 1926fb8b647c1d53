import { afterEach, beforeEach, describe, it } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { Store } from "../../../src/server/store/store";
import type { DeploymentConfig } from "../../../src/server/store/types";

const probe = { initial_delay: 0, period: 1, timeout: 1, success_threshold: 1, failure_threshold: 1 };
const config: DeploymentConfig = {
  instances: [{ id: "i0", url: "http://127.0.0.1:1" }],
  routes: { scoring: "/score", readiness: "/", liveness: "/" },
  request_settings: { request_timeout_ms: 1000, max_concurrent_requests_per_instance: 1, max_queue_wait_ms: 10 },
  readiness_probe: probe,
  liveness_probe: probe,
};

describe("store", () => {
  let dir: string;
  let store: Store;
  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), "mp-store-"));
    store = new Store(dir);
  });
  afterEach(() => {
    store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const write = { name: "ep", auth_mode: "key" as const, description: "", tags: { a: "b" }, keys: { primary: "PRIMARY-SECRET-VALUE", secondary: "SECONDARY-SECRET-VALUE" }, keyHashes: { primary: "1".repeat(64), secondary: "2".repeat(64) } };

  it("persists endpoints, sealed keys and deployments across reopen", () => {
    store.insertEndpoint(write, "t0");
    const g = store.putDeployment("ep", "blue", config, "Creating", "t0");
    assert.equal(store.finishProvisioning("ep", "blue", g, { ok: true }, "t1"), true);
    store.setTraffic("ep", { blue: 100 }, {}, "t2");
    store.close();
    const raw = ["modelplane.db", "modelplane.db-wal"]
      .filter((f) => existsSync(path.join(dir, f)))
      .map((f) => readFileSync(path.join(dir, f)).toString("latin1"))
      .join("");
    assert.ok(!raw.includes("PRIMARY-SECRET-VALUE"), "keys are not stored in plain text");
    store = new Store(dir);
    assert.deepEqual(store.getEndpoint("ep")?.traffic, { blue: 100 });
    assert.deepEqual(store.getKeys("ep"), write.keys);
    const d = store.getDeployment("ep", "blue")!;
    assert.equal(d.provisioningState, "Succeeded");
    assert.deepEqual(d.servingConfig, config);
  });

  it("ignores a probe outcome of an older generation, also after delete and re-create", () => {
    store.insertEndpoint(write, "t0");
    const g1 = store.putDeployment("ep", "blue", config, "Creating", "t0");
    const g2 = store.putDeployment("ep", "blue", config, "Updating", "t1");
    assert.ok(g2 > g1);
    assert.equal(store.finishProvisioning("ep", "blue", g1, { ok: false, reason: "old" }, "t2"), false);
    store.deleteDeployment("ep", "blue");
    const g3 = store.putDeployment("ep", "blue", config, "Creating", "t3");
    assert.equal(store.finishProvisioning("ep", "blue", g2, { ok: true }, "t4"), false);
    assert.equal(store.finishProvisioning("ep", "blue", g3, { ok: false, reason: "boom" }, "t4"), true);
    assert.equal(store.getDeployment("ep", "blue")?.failureReason, "boom");
  });

  it("deletes an endpoint with its deployments and keeps a stable signing secret", () => {
    store.insertEndpoint(write, "t0");
    store.putDeployment("ep", "blue", config, "Creating", "t0");
    assert.equal(store.deleteEndpoint("ep"), true);
    assert.deepEqual(store.listDeployments(), []);
    const s = store.secret("token-signing");
    assert.deepEqual(store.secret("token-signing"), s);
  });
});
