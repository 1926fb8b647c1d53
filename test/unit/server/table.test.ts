import { after, describe, it } from "node:test";
import assert from "node:assert/strict";
import { GatewayMetrics } from "../../../src/server/metrics/metrics";
import { RuntimeRegistry } from "../../../src/server/gateway/table";
import { UpstreamPools } from "../../../src/server/gateway/upstream";
import type { DeploymentConfig, DeploymentRecord, EndpointRecord } from "../../../src/server/store/types";

const probe = { initial_delay: 0, period: 60, timeout: 1, success_threshold: 1, failure_threshold: 1 };
const config = (port: number): DeploymentConfig => ({
  instances: [{ id: "i0", url: `http://127.0.0.1:${port}` }],
  routes: { scoring: "/score", readiness: "/", liveness: "/" },
  request_settings: { request_timeout_ms: 1000, max_concurrent_requests_per_instance: 2, max_queue_wait_ms: 10 },
  readiness_probe: probe,
  liveness_probe: probe,
});
const endpoint = (traffic: Record<string, number>, mirror: Record<string, number> = {}): EndpointRecord => ({
  name: "ep",
  kind: "online",
  auth_mode: "key",
  description: "",
  tags: {},
  traffic,
  mirror_traffic: mirror,
  provisioningState: "Succeeded",
  primaryKeyHash: "a".repeat(64),
  secondaryKeyHash: "b".repeat(64),
  createdAt: "",
  updatedAt: "",
});
const dep = (name: string, serving: DeploymentConfig | null): DeploymentRecord => ({
  endpoint_name: "ep",
  name,
  config: serving ?? config(1),
  servingConfig: serving,
  provisioningState: serving ? "Succeeded" : "Creating",
  failureReason: null,
  generation: 1,
  createdAt: "",
  updatedAt: "",
});

describe("routing table", () => {
  const pools = new UpstreamPools();
  const registry = new RuntimeRegistry(pools, new GatewayMetrics());
  after(async () => {
    registry.stopAll();
    await pools.close();
  });

  it("builds a new immutable table per change and keeps runtimes whose config is unchanged", () => {
    const t1 = registry.build([endpoint({ blue: 100 })], [dep("blue", config(1)), dep("green", null)]);
    const r1 = t1.endpoints.get("ep")!;
    assert.deepEqual(r1.split.names, ["blue"]);
    assert.equal(r1.deployments.get("green"), undefined, "not yet serving");
    assert.ok(r1.deployments.has("green"));
    const blue1 = r1.deployments.get("blue")!;
    const t2 = registry.build([endpoint({ blue: 50, green: 50 }, {})], [dep("blue", config(1)), dep("green", config(2))]);
    assert.notEqual(t2, t1);
    assert.equal(t2.endpoints.get("ep")!.deployments.get("blue"), blue1, "health and queues survive a traffic change");
    assert.deepEqual(t1.endpoints.get("ep")!.split.names, ["blue"], "the old table is untouched");
    const t3 = registry.build([endpoint({ blue: 100 }, { green: 10 })], [dep("blue", config(3)), dep("green", config(2))]);
    assert.notEqual(t3.endpoints.get("ep")!.deployments.get("blue"), blue1, "a new serving config gets a new runtime");
    assert.deepEqual(t3.endpoints.get("ep")!.mirror, { name: "green", percent: 10 });
  });
});

describe("deployment gauges", () => {
  it("read live runtimes at scrape time and drop a removed deployment's series", async () => {
    const pools = new UpstreamPools();
    const metrics = new GatewayMetrics();
    const registry = new RuntimeRegistry(pools, metrics);
    try {
      const t = registry.build([endpoint({ blue: 100 })], [dep("blue", config(1)), dep("green", config(2))]);
      const blue = t.endpoints.get("ep")!.deployments.get("blue")!;
      assert.equal(blue.limiter.tryAcquire(), true);
      assert.equal(blue.limiter.tryAcquire(), true);
      const waiting = blue.limiter.acquire().catch(() => undefined);
      blue.instances[0]!.healthy = false;
      const text = await metrics.registry.metrics();
      assert.match(text, /modelplane_gateway_inflight_requests\{endpoint="ep",deployment="blue"\} 2\n/);
      assert.match(text, /modelplane_gateway_queued_requests\{endpoint="ep",deployment="blue"\} 1\n/);
      assert.match(text, /modelplane_gateway_healthy_instances\{endpoint="ep",deployment="blue"\} 0\n/);
      assert.match(text, /modelplane_gateway_healthy_instances\{endpoint="ep",deployment="green"\} 1\n/);
      await waiting;
      registry.build([endpoint({ blue: 100 })], [dep("blue", config(1))]);
      const later = await metrics.registry.metrics();
      assert.doesNotMatch(later, /deployment="green"/);
      assert.match(later, /modelplane_gateway_healthy_instances\{endpoint="ep",deployment="blue"\} 0\n/);
    } finally {
      registry.stopAll();
      await pools.close();
    }
  });
});
