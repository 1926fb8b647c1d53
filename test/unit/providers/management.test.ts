import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { DEPLOYMENT_REPLACE_FIELDS, deploymentProvider, readinessBudgetSeconds, type DeploymentInputs } from "../../../src/providers/management/deployment";
import { ENDPOINT_REPLACE_FIELDS, endpointProvider, type EndpointInputs } from "../../../src/providers/management/endpoint";
import { trafficProvider, type TrafficInputs } from "../../../src/providers/management/traffic";
import { randomSecretProvider } from "../../../src/providers/secret";
import { networkProvider } from "../../../src/providers/docker/network";
import { volumeProvider } from "../../../src/providers/docker/volume";
import { DEFAULT_PROBE } from "../../../src/spec";

const access = { managementUrl: "http://127.0.0.1:18081", managementToken: "t0" };

describe("endpointProvider.diff", () => {
  const olds: EndpointInputs = { ...access, name: "my-endpoint", auth_mode: "key", description: "d", tags: { a: "1" } };
  const diff = (news: Partial<EndpointInputs>) => endpointProvider.diff!("my-endpoint", olds as never, { ...olds, ...news });
  it("only the name replaces", async () => {
    assert.deepEqual([...ENDPOINT_REPLACE_FIELDS], ["name"]);
    assert.deepEqual(await diff({}), { changes: false, replaces: [] });
    assert.deepEqual(await diff({ name: "other-endpoint" }), { changes: true, replaces: ["name"] });
  });
  it("auth_mode, description, tags, URL and token update in place", async () => {
    for (const change of [{ auth_mode: "aml_token" as const }, { description: "e" }, { tags: { a: "2" } }, { tags: undefined }, { managementUrl: "http://127.0.0.1:1" }, { managementToken: "t1" }]) {
      assert.deepEqual(await diff(change), { changes: true, replaces: [] }, JSON.stringify(change));
    }
  });
  it("an absent description equals an absent one", async () => {
    const o = { ...olds, description: undefined };
    assert.deepEqual(await endpointProvider.diff!("my-endpoint", o as never, { ...o }), { changes: false, replaces: [] });
  });
});

describe("deploymentProvider.diff and readinessBudgetSeconds", () => {
  const probe = { ...DEFAULT_PROBE };
  const olds: DeploymentInputs = {
    ...access,
    endpointName: "my-endpoint",
    name: "blue",
    instances: [{ id: "blue-0", url: "http://c-0:5001" }],
    routes: { scoring: "/score", readiness: "/", liveness: "/" },
    request_settings: { request_timeout_ms: 5000, max_concurrent_requests_per_instance: 1, max_queue_wait_ms: 500 },
    readiness_probe: probe,
    liveness_probe: probe,
    model_server: "azureml-inference-server-http",
    spec: { model: "model" },
    containerNames: ["c-0"],
  };
  const diff = (news: Partial<DeploymentInputs>) => deploymentProvider.diff!("my-endpoint/blue", olds as never, { ...olds, ...news });
  it("endpointName and name replace", async () => {
    assert.deepEqual([...DEPLOYMENT_REPLACE_FIELDS], ["endpointName", "name"]);
    assert.deepEqual(await diff({}), { changes: false, replaces: [] });
    assert.deepEqual(await diff({ name: "green" }), { changes: true, replaces: ["name"] });
    assert.deepEqual(await diff({ endpointName: "e2", name: "green" }), { changes: true, replaces: ["endpointName", "name"] });
  });
  it("instances, routes, settings, probes, server, spec, URL and token update in place", async () => {
    const changes: Partial<DeploymentInputs>[] = [
      { instances: [{ id: "blue-0", url: "http://c-1:5001" }] },
      { routes: { ...olds.routes, scoring: "/predict" } },
      { request_settings: { ...olds.request_settings, request_timeout_ms: 1 } },
      { readiness_probe: { ...probe, period: 1 } },
      { liveness_probe: { ...probe, timeout: 1 } },
      { model_server: "x" },
      { spec: { model: "m2" } },
      { managementUrl: "http://127.0.0.1:2" },
      { managementToken: "t2" },
    ];
    for (const c of changes) assert.deepEqual(await diff(c), { changes: true, replaces: [] }, JSON.stringify(c));
  });
  it("image and model_version new to a registration recorded without them are no change; once recorded, they are", async () => {
    assert.deepEqual(await diff({ spec: { model: "model", image: "r:abc", model_version: "2" } }), { changes: false, replaces: [] });
    assert.deepEqual(await diff({ spec: { model: "m2", image: "r:abc" } }), { changes: true, replaces: [] }, "another change still carries them");
    const recorded = { ...olds, spec: { model: "model", image: "r:abc" } };
    const d = (spec: Record<string, unknown>) => deploymentProvider.diff!("my-endpoint/blue", recorded as never, { ...recorded, spec });
    assert.deepEqual(await d({ model: "model", image: "r:abc" }), { changes: false, replaces: [] });
    assert.deepEqual(await d({ model: "model", image: "r:def" }), { changes: true, replaces: [] });
  });
  it("containerNames alone is not a change (they follow the instances)", async () => {
    assert.deepEqual(await diff({ containerNames: ["c-9"] }), { changes: false, replaces: [] });
  });
  it("readiness budget: initial delay + period x failures + timeout + 30 s", () => {
    assert.equal(readinessBudgetSeconds(probe), 10 + 10 * 30 + 2 + 30);
    assert.equal(readinessBudgetSeconds({ initial_delay: 0, period: 1, timeout: 1, success_threshold: 1, failure_threshold: 1 }), 32);
  });
});

describe("trafficProvider.diff", () => {
  const olds: TrafficInputs = { ...access, endpointName: "my-endpoint", traffic: { blue: 90, green: 10 }, mirror_traffic: {} };
  const diff = (news: Partial<TrafficInputs>) => trafficProvider.diff!("my-endpoint", olds, { ...olds, ...news });
  it("the endpoint name replaces; the split, mirror, URL and token update", async () => {
    assert.deepEqual(await diff({}), { changes: false, replaces: [] });
    assert.deepEqual(await diff({ endpointName: "other-endpoint" }), { changes: true, replaces: ["endpointName"] });
    for (const c of [{ traffic: { blue: 100, green: 0 } }, { mirror_traffic: { green: 10 } }, { managementUrl: "http://x" }, { managementToken: "t3" }]) {
      assert.deepEqual(await diff(c), { changes: true, replaces: [] }, JSON.stringify(c));
    }
  });
});

describe("other providers' diffs", () => {
  it("RandomSecret: a new size replaces", async () => {
    assert.deepEqual(await randomSecretProvider.diff!("s", { bytes: 32 } as never, { bytes: 32 }), { changes: false, replaces: [] });
    assert.deepEqual(await randomSecretProvider.diff!("s", { bytes: 32 } as never, { bytes: 16 }), { changes: true, replaces: ["bytes"] });
  });
  it("RandomSecret: create makes `bytes` random bytes, base64url", async () => {
    const r = await randomSecretProvider.create({ bytes: 32 });
    assert.equal(r.id, "secret-32");
    assert.equal(Buffer.from((r.outs as { value: string }).value, "base64url").length, 32);
  });
  it("network: labels or name replace; same name deletes first", async () => {
    const o = { name: "n", labels: { a: "1" } };
    assert.deepEqual(await networkProvider.diff!("id", o as never, { ...o }), { changes: false, replaces: [], deleteBeforeReplace: true });
    assert.deepEqual(await networkProvider.diff!("id", o as never, { ...o, labels: { a: "2" } }), { changes: true, replaces: ["labels"], deleteBeforeReplace: true });
    assert.deepEqual(await networkProvider.diff!("id", o as never, { ...o, name: "m" }), { changes: true, replaces: ["name"], deleteBeforeReplace: false });
  });
  it("volume: labels or name replace, always deleting first", async () => {
    const o = { name: "v", labels: { a: "1" } };
    assert.deepEqual(await volumeProvider.diff!("v", o, { ...o, name: "w" }), { changes: true, replaces: ["name"], deleteBeforeReplace: true });
  });
});

describe("relevantLogLines", () => {
  it("shows the last failed start, not the banner of the restart that followed it", async () => {
    const { relevantLogLines } = await import("../../../src/providers/management/deployment");
    const failedStart = ["Booting worker", "Traceback (most recent call last):", '  File "score.py", line 2, in init', "RuntimeError: boom: the model file is corrupt", "Worker exiting", "Reason: Worker failed to boot."];
    const banner = [...Array.from({ length: 30 }, (_, i) => `banner line ${i}`), "2026-11-25 20:25:55,967 I [7] gunicorn.error - Starting gunicorn 27.0.1"];
    const out = relevantLogLines([...failedStart, ...banner].join("\n"));
    assert.match(out, /RuntimeError: boom: the model file is corrupt/);
    assert.match(out, /Reason: Worker failed to boot\./);
    assert.doesNotMatch(out, /banner line 29|Starting gunicorn/);
  });
  it("falls back to the last lines when nothing looks like an error", async () => {
    const { relevantLogLines } = await import("../../../src/providers/management/deployment");
    const out = relevantLogLines(Array.from({ length: 100 }, (_, i) => `line ${i}`).join("\n"), 10);
    assert.equal(out.split("\n")[0], "line 90");
    assert.equal(out.split("\n").length, 10);
  });
});
