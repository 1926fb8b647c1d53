import assert from "node:assert/strict";
import { createServer, type Server } from "node:net";
import { describe, it } from "node:test";
import { canBind, takenPortMessage } from "../../../src/providers/docker/host-ports";
import { foreignObjectProblem, labelledStackId, stackLabels } from "../../../src/providers/docker/labels";
import { objectPrefix, stackObjectNames } from "../../../src/providers/docker/names";
import { foreignObjectsProblem, stackIdentityProvider } from "../../../src/providers/stack/identity";

describe("stack object names (one table)", () => {
  it("carry the identity; a pre-identity stack ('') keeps the old names", () => {
    const n = stackObjectNames("dev", "1a2b3c4d");
    assert.deepEqual([n.network, n.stateVolume, n.datastoreVolume, n.server, n.instance("ep", "blue", 0), n.imageRepository("server")], [
      "modelplane-dev-1a2b3c4d",
      "modelplane-dev-1a2b3c4d-state",
      "modelplane-dev-1a2b3c4d-datastore",
      "modelplane-dev-1a2b3c4d-server",
      "modelplane-dev-1a2b3c4d-ep-blue-0",
      "modelplane-dev-1a2b3c4d/server",
    ]);
    const old = stackObjectNames("dev", "");
    assert.deepEqual([old.network, old.stateVolume, old.server, old.instance("ep", "blue", 1), old.imageRepository("server")], ["modelplane-dev", "modelplane-dev-state", "modelplane-dev-server", "modelplane-dev-ep-blue-1", "modelplane-dev/server"]);
    assert.equal(objectPrefix("stage", "00ff00ff"), "modelplane-stage-00ff00ff");
  });
  it("labels: the identity label only when there is one", () => {
    assert.deepEqual(stackLabels("dev", { "modelplane.role": "instance" }, "1a2b3c4d"), { "modelplane.managed": "true", "modelplane.stack": "dev", "modelplane.stack-id": "1a2b3c4d", "modelplane.role": "instance" });
    assert.deepEqual(stackLabels("dev", {}, ""), { "modelplane.managed": "true", "modelplane.stack": "dev" });
    assert.equal(labelledStackId({ "modelplane.stack-id": "1a2b3c4d" }), "1a2b3c4d");
    assert.equal(labelledStackId(undefined), "");
  });
});

describe("foreignObjectProblem: never adopt or remove another stack's object", () => {
  const ours = stackLabels("dev", {}, "1a2b3c4d");
  it("ours (same stack, same identity): no problem", () => {
    assert.equal(foreignObjectProblem("volume", "v", ours, { ...ours, extra: "x" }), undefined);
  });
  it("same stack name, other identity: refused, naming both identities and the fix", () => {
    assert.equal(
      foreignObjectProblem("volume", "modelplane-dev-state", ours, stackLabels("dev", {}, "99999999")),
      'volume modelplane-dev-state already exists and belongs to modelplane stack "dev" (identity 99999999), not to this stack (identity 1a2b3c4d): ' +
        "modelplane never adopts, changes or removes another stack's objects, so this up stopped. " +
        "Fix: give this stack its own identity (remove modelplane:stackId from its config), or remove that volume yourself if it is a leftover.",
    );
  });
  it("a pre-identity stack's object is not a new stack's, and an unlabelled one is nobody's", () => {
    assert.match(foreignObjectProblem("network", "modelplane-dev", ours, stackLabels("dev"))!, /identity \(none\)\), not to this stack \(identity 1a2b3c4d\)/);
    assert.match(foreignObjectProblem("container", "x", ours, null)!, /belongs to something other than modelplane/);
  });
});

describe("foreignObjectsProblem: a requested identity must be provably this stack's", () => {
  const labels = stackLabels("dev", { "modelplane.role": "control-plane" }, "1a2b3c4d");
  it("no objects: nothing to take", () => assert.equal(foreignObjectsProblem("dev", "1a2b3c4d", "t", []), undefined));
  it("the server holds this stack's token: ours", () => {
    assert.equal(foreignObjectsProblem("dev", "1a2b3c4d", "tok", [{ kind: "container", name: "s", labels, env: ["A=1", "MODELPLANE_MANAGEMENT_TOKEN=tok"] }]), undefined);
  });
  it("another token, or no server to prove it: refused, listing the objects", () => {
    const p = foreignObjectsProblem("dev", "1a2b3c4d", "mine", [
      { kind: "container", name: "modelplane-dev-1a2b3c4d-server-1", labels, env: ["MODELPLANE_MANAGEMENT_TOKEN=theirs"] },
      { kind: "volume", name: "modelplane-dev-1a2b3c4d-state", labels },
    ]);
    assert.match(p!, /^stack "dev" would take the engine objects of identity 1a2b3c4d, which belong to another stack \("dev", another checkout or backend\): container modelplane-dev-1a2b3c4d-server-1, volume modelplane-dev-1a2b3c4d-state\. .*nothing was created\. Fix: remove modelplane:stackId/);
    assert.ok(foreignObjectsProblem("dev", "1a2b3c4d", "mine", [{ kind: "network", name: "modelplane-dev-1a2b3c4d", labels }]));
  });
  it("the identity never changes once made (diff reports nothing)", async () => {
    assert.deepEqual(await stackIdentityProvider.diff!("id", { stack: "dev", token: "a", stackId: "1a2b3c4d" }, { stack: "dev", token: "b", requested: "00000000" }), { changes: false });
  });
  it("check: a malformed modelplane:stackId is a failure with the fix", async () => {
    const r = await stackIdentityProvider.check!({ stack: "dev", token: "t" }, { stack: "dev", token: "t", requested: "NOPE" });
    assert.deepEqual(r.failures, [{ property: "requested", reason: 'modelplane:stackId is "NOPE": an identity is 8 lowercase hex digits (as `pulumi stack output stackId` prints); remove the key to get a new one' }]);
  });
});

describe("host ports", () => {
  it("canBind: false while something listens, true once it stops", async () => {
    const s: Server = createServer();
    await new Promise<void>((r) => s.listen(0, "127.0.0.1", r));
    const port = (s.address() as { port: number }).port;
    assert.equal(await canBind(port, "127.0.0.1"), false);
    await new Promise<void>((r) => s.close(() => r()));
    assert.equal(await canBind(port, "127.0.0.1"), true);
  });
  it("takenPortMessage names the port, its key, who holds it and the config lines", () => {
    assert.equal(
      takenPortMessage(18080, "127.0.0.1", { container: { name: "modelplane-dev-server-1", stack: "dev", stackId: "1a2b3c4d" } }, "modelplane:gatewayPort", "dev"),
      'host port 127.0.0.1:18080 (modelplane:gatewayPort) is taken by modelplane stack "dev" (identity 1a2b3c4d), container modelplane-dev-server-1. Nothing was created. ' +
        "Fix: let modelplane choose free ports with `pulumi config set modelplane:gatewayPort auto --stack dev`, or set another port with `pulumi config set modelplane:gatewayPort <port> --stack dev`.",
    );
    assert.match(takenPortMessage(9000, "127.0.0.1", {}, undefined, undefined), /^host port 127\.0\.0\.1:9000 is taken by another process \(not a Docker container\)\./);
  });
});

describe("hostName: what other containers resolve", () => {
  it("a name that is a DNS label is kept; a longer one gets a unique 63-character alias", async () => {
    const { hostName } = await import("../../../src/providers/docker/container");
    assert.equal(hostName("modelplane-dev-1a2b3c4d-my-endpoint-blue-0-0527b71f"), "modelplane-dev-1a2b3c4d-my-endpoint-blue-0-0527b71f");
    const long = "modelplane-ittritonoff4395-55d59fd8-tri-endpoint-triton-0-427426ce";
    const h = hostName(long);
    assert.equal(h.length, 63);
    assert.ok(h.startsWith(long.slice(0, 54) + "-"), h);
    assert.notEqual(hostName(long.replace(/ce$/, "cf")), h, "two long names that share their start still differ");
  });
});
