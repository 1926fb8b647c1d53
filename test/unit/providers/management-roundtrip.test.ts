import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { endpointProvider, type EndpointInputs } from "../../../src/providers/management/endpoint";
import { trafficProvider } from "../../../src/providers/management/traffic";
import { startServer, type RunningServer } from "../../../src/server/main";

// The management providers against a real in-process server (no Docker): create, read, diff.
describe("endpoint/traffic providers against an in-process server", () => {
  const tmp = mkdtempSync(path.join(os.tmpdir(), "mp-prov-"));
  let server: RunningServer;
  let access: { managementUrl: string; managementToken: string };
  before(async () => {
    server = await startServer({ stateDir: tmp, gatewayPort: 0, gatewayHost: "127.0.0.1", managementPort: 0, managementToken: "prov-test-token", accessLog: false });
    access = { managementUrl: server.managementUrl, managementToken: "prov-test-token" };
  });
  after(async () => {
    await server?.close();
    rmSync(tmp, { recursive: true, force: true });
  });

  it("create returns keys and Succeeded; read after create shows no diff", async () => {
    const inputs: EndpointInputs = { ...access, name: "rt-endpoint", auth_mode: "key", description: "d", tags: { a: "1" } };
    const created = await endpointProvider.create(inputs);
    assert.equal(created.id, "rt-endpoint");
    assert.equal(created.outs!.provisioningState, "Succeeded");
    assert.ok(created.outs!.primaryKey.length >= 16 && created.outs!.primaryKey !== created.outs!.secondaryKey);
    const read = await endpointProvider.read!(created.id, created.outs);
    assert.deepEqual(await endpointProvider.diff!(created.id, read.props as never, inputs), { changes: false, replaces: [] });
  });
  it("read of a deleted endpoint is empty (refresh drops it)", async () => {
    const c = await endpointProvider.create({ ...access, name: "gone-endpoint", auth_mode: "key", tags: {} });
    await endpointProvider.delete!(c.id, c.outs!);
    assert.deepEqual(await endpointProvider.read!(c.id, c.outs!), {});
    await endpointProvider.delete!(c.id, c.outs!); // a second delete is a no-op
  });
  it("traffic: create writes the split, read returns it, delete zeroes it", async () => {
    const t = { ...access, endpointName: "rt-endpoint", traffic: {}, mirror_traffic: {} };
    const c = await trafficProvider.create(t);
    assert.equal(c.id, "rt-endpoint");
    const r = await trafficProvider.read!(c.id, c.outs!);
    assert.deepEqual(await trafficProvider.diff!(c.id, r.props as never, t), { changes: false, replaces: [] });
  });
  it(
    "refresh then up is a no-op for an endpoint without description",
    async () => {
      const inputs: EndpointInputs = { ...access, name: "nodesc-endpoint", auth_mode: "key", tags: {} };
      const c = await endpointProvider.create(inputs);
      const r = await endpointProvider.read!(c.id, c.outs!);
      // The engine sends read results as protobuf Structs, which reject `undefined` ("Unexpected struct type").
      assert.deepEqual(Object.entries(r.props as object).filter(([, v]) => v === undefined), []);
      assert.deepEqual(await endpointProvider.diff!(c.id, r.props as never, inputs), { changes: false, replaces: [] });
    },
  );
  it(
    "refresh then up is a no-op for an aad_token endpoint",
    async () => {
      const inputs: EndpointInputs = { ...access, name: "aad-endpoint", auth_mode: "aad_token", description: "x", tags: {} };
      const c = await endpointProvider.create(inputs);
      const r = await endpointProvider.read!(c.id, c.outs!);
      assert.deepEqual(await endpointProvider.diff!(c.id, r.props as never, inputs), { changes: false, replaces: [] });
    },
  );
});
