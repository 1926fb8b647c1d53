import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { deploymentBody, startHarness, startUpstream, waitProvisioned, type Harness, type Upstream } from "./harness";

describe("management API", () => {
  let h: Harness;
  let blue: Upstream;
  before(async () => {
    h = await startHarness();
    blue = await startUpstream("blue");
  });
  after(async () => {
    await h?.close();
    await blue?.close();
  });

  it("answers /healthz without a token and 401 for everything else without one", async () => {
    assert.equal((await fetch(`${h.server.managementUrl}/healthz`)).status, 200);
    const r = await h.mgmt("GET", "/endpoints", undefined, "wrong-token");
    assert.equal(r.status, 401);
    assert.equal(r.body.error.code, "unauthorized");
    assert.equal((await fetch(`${h.server.managementUrl}/endpoints`)).status, 401);
  });

  it("creates an endpoint (201), updates it idempotently (200), keeps unspecified fields", async () => {
    const c = await h.mgmt("PUT", "/endpoints/ep-one", { auth_mode: "Key", description: "d1", tags: { team: "a" } });
    assert.equal(c.status, 201);
    assert.equal(c.body.name, "ep-one");
    assert.equal(c.body.auth_mode, "key");
    assert.equal(c.body.provisioningState, "Succeeded");
    assert.match(c.body.scoring_uri, /\/endpoints\/ep-one\/score$/);
    assert.match(c.body.swagger_uri, /\/endpoints\/ep-one\/swagger.json$/);
    const keys1 = await h.mgmt("POST", "/endpoints/ep-one/keys");
    const u = await h.mgmt("PUT", "/endpoints/ep-one", { auth_mode: "key" });
    assert.equal(u.status, 200);
    assert.deepEqual(u.body.tags, { team: "a" });
    assert.equal(u.body.description, "d1");
    const keys2 = await h.mgmt("POST", "/endpoints/ep-one/keys");
    assert.deepEqual(keys2.body, keys1.body, "re-PUT keeps keys");
    const list = await h.mgmt("GET", "/endpoints");
    assert.ok(list.body.value.some((x: { name: string }) => x.name === "ep-one"));
    assert.ok(!JSON.stringify(list.body).includes(keys1.body.primaryKey), "no key in resource views");
  });

  it("takes given keys, regenerates one at a time", async () => {
    const c = await h.mgmt("PUT", "/endpoints/ep-keys", { auth_mode: "key", keys: { primary: "p".repeat(32), secondary: "s".repeat(32) } });
    assert.equal(c.status, 201);
    const k = await h.mgmt("POST", "/endpoints/ep-keys/keys");
    assert.deepEqual(k.body, { primaryKey: "p".repeat(32), secondaryKey: "s".repeat(32) });
    const r = await h.mgmt("POST", "/endpoints/ep-keys/keys/regenerate", { keyType: "secondary" });
    assert.equal(r.status, 200);
    assert.equal(r.body.primaryKey, "p".repeat(32));
    assert.notEqual(r.body.secondaryKey, "s".repeat(32));
    const v = await h.mgmt("POST", "/endpoints/ep-keys/keys/regenerate", { keyType: "primary", keyValue: "q".repeat(40) });
    assert.equal(v.body.primaryKey, "q".repeat(40));
    const bad = await h.mgmt("POST", "/endpoints/ep-keys/keys/regenerate", { keyType: "tertiary" });
    assert.equal(bad.status, 400);
    assert.equal(bad.body.error.code, "invalid_body");
    assert.equal(bad.body.error.field, "keyType");
  });

  it("rejects invalid bodies and names with 400 and a code", async () => {
    const j = await h.mgmt("PUT", "/endpoints/ep-bad", "{not json");
    assert.equal(j.status, 400);
    assert.equal(j.body.error.code, "invalid_body");
    const m = await h.mgmt("PUT", "/endpoints/ep-bad", { auth_mode: "nope" });
    assert.equal(m.status, 400);
    const n = await h.mgmt("PUT", "/endpoints/a", { auth_mode: "key" });
    assert.equal(n.status, 400);
    assert.equal(n.body.error.code, "name_not_dns_safe");
    const aad = await h.mgmt("PUT", "/endpoints/ep-aad", { auth_mode: "aad_token" });
    assert.equal(aad.status, 400);
    assert.equal(aad.body.error.code, "auth_mode_unsupported");
    const t = await h.mgmt("PUT", "/endpoints/..%2f..", { auth_mode: "key" });
    assert.equal(t.status, 400);
  });

  it("404s unknown endpoints and deployments", async () => {
    assert.equal((await h.mgmt("GET", "/endpoints/nope-nope")).body.error.code, "endpoint_not_found");
    assert.equal((await h.mgmt("GET", "/endpoints/ep-one/deployments/nope")).body.error.code, "deployment_not_found");
    assert.equal((await h.mgmt("PUT", "/endpoints/nope-nope/deployments/blue", deploymentBody([blue.url]))).status, 404);
    assert.equal((await h.mgmt("GET", "/whatever")).status, 404);
  });

  it("provisions a deployment to Succeeded, or Failed with the last probe error", async () => {
    await h.mgmt("PUT", "/endpoints/ep-dep", { auth_mode: "key" });
    const c = await h.mgmt("PUT", "/endpoints/ep-dep/deployments/blue", { ...deploymentBody([blue.url]), spec: { model: "m" } });
    assert.equal(c.status, 201);
    assert.equal(c.body.provisioningState, "Creating");
    const s = await waitProvisioned(h, "ep-dep", "blue");
    assert.equal(s.provisioningState, "Succeeded");
    const g = await h.mgmt("GET", "/endpoints/ep-dep/deployments/blue");
    assert.deepEqual(g.body.spec, { model: "m" });
    assert.equal(g.body.instances[0].healthy, true);
    const bad = deploymentBody(["http://127.0.0.1:1"]);
    bad.readiness_probe = { ...bad.readiness_probe, period: 0.05, failure_threshold: 2 };
    await h.mgmt("PUT", "/endpoints/ep-dep/deployments/red", bad);
    const f = await waitProvisioned(h, "ep-dep", "red");
    assert.equal(f.provisioningState, "Failed");
    assert.match(f.failureReason ?? "", /instance i0: readiness probe failed: GET \/ failed: ECONNREFUSED/);
    const list = await h.mgmt("GET", "/endpoints/ep-dep/deployments");
    assert.deepEqual(list.body.value.map((d: { name: string }) => d.name), ["blue", "red"]);
    const u = await h.mgmt("PUT", "/endpoints/ep-dep/deployments/blue", deploymentBody([blue.url]));
    assert.equal(u.status, 200);
    assert.equal(u.body.provisioningState, "Updating");
    const inv = await h.mgmt("PUT", "/endpoints/ep-dep/deployments/green", { ...deploymentBody([blue.url]), instances: [] });
    assert.equal(inv.status, 400);
    assert.equal(inv.body.error.field, "instances");
  });

  it("applies traffic atomically with spec rules (400) and readiness (409); guards deletes", async () => {
    await waitProvisioned(h, "ep-dep", "blue");
    const sum = await h.mgmt("PUT", "/endpoints/ep-dep/traffic", { traffic: { blue: 50 }, mirror_traffic: {} });
    assert.equal(sum.status, 400);
    assert.equal(sum.body.error.code, "traffic_sum");
    const unknown = await h.mgmt("PUT", "/endpoints/ep-dep/traffic", { traffic: { ghost: 100 } });
    assert.equal(unknown.status, 400);
    assert.equal(unknown.body.error.code, "traffic_unknown_deployment");
    const mirrorTooBig = await h.mgmt("PUT", "/endpoints/ep-dep/traffic", { traffic: { blue: 100 }, mirror_traffic: { red: 60 } });
    assert.equal(mirrorTooBig.status, 400);
    assert.equal(mirrorTooBig.body.error.code, "mirror_range");
    const notReady = await h.mgmt("PUT", "/endpoints/ep-dep/traffic", { traffic: { blue: 90, red: 10 } });
    assert.equal(notReady.status, 409);
    assert.equal(notReady.body.error.code, "deployment_not_ready");
    const ok = await h.mgmt("PUT", "/endpoints/ep-dep/traffic", { traffic: { blue: 100, red: 0 }, mirror_traffic: {} });
    assert.equal(ok.status, 200);
    assert.deepEqual((await h.mgmt("GET", "/endpoints/ep-dep/traffic")).body, { traffic: { blue: 100, red: 0 }, mirror_traffic: {} });
    const del = await h.mgmt("DELETE", "/endpoints/ep-dep/deployments/blue");
    assert.equal(del.status, 409);
    assert.equal(del.body.error.code, "deployment_has_traffic");
    const delRed = await h.mgmt("DELETE", "/endpoints/ep-dep/deployments/red");
    assert.equal(delRed.status, 200);
    assert.deepEqual((await h.mgmt("GET", "/endpoints/ep-dep/traffic")).body.traffic, { blue: 100 });
    assert.equal((await h.mgmt("DELETE", "/endpoints/ep-dep/deployments/red")).status, 204);
  });

  it("issues tokens only for aml_token endpoints", async () => {
    assert.equal((await h.mgmt("POST", "/endpoints/ep-one/token")).status, 400);
    await h.mgmt("PUT", "/endpoints/ep-tok", { auth_mode: "aml_token" });
    const t = await h.mgmt("POST", "/endpoints/ep-tok/token");
    assert.equal(t.status, 200);
    assert.match(t.body.accessToken, /^ey/);
    assert.ok(Date.parse(t.body.expiryTimeUtc) > Date.parse(t.body.refreshAfterTimeUtc));
  });

  it("deletes an endpoint with its deployments; a second delete is 204", async () => {
    const d = await h.mgmt("DELETE", "/endpoints/ep-dep");
    assert.equal(d.status, 200);
    assert.equal((await h.mgmt("GET", "/endpoints/ep-dep")).status, 404);
    assert.equal((await h.mgmt("DELETE", "/endpoints/ep-dep")).status, 204);
    const re = await h.mgmt("PUT", "/endpoints/ep-dep", { auth_mode: "key" });
    assert.equal(re.status, 201);
    assert.deepEqual((await h.mgmt("GET", "/endpoints/ep-dep/deployments")).body.value, []);
  });
});
