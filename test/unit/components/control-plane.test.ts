import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import * as path from "node:path";
import { before, describe, it } from "node:test";
import { DYN, installMocks, isSecret, MOCK_AUTO_PORT, MOCK_TOKEN, one, registrations, REPO_ROOT, reveal, secretOf, settle, valueOf } from "./harness";

installMocks("dev");
// Loaded after setMocks (the components must see the mock monitor).
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { ControlPlane, validateControlPlaneArgs } = require("../../../components") as typeof import("../../../components");
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { SERVER_COMMAND } = require("../../../components/control-plane") as typeof import("../../../components/control-plane");
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { fingerprint } = require("../../../src/providers/images/image") as typeof import("../../../src/providers/images/image");

const LABELS = { "modelplane.managed": "true", "modelplane.role": "control-plane", "modelplane.stack": "dev" };

describe("validateControlPlaneArgs", () => {
  it("accepts two distinct ports in 1024..65535", () => {
    assert.deepEqual(validateControlPlaneArgs({ gatewayPort: 18080, managementPort: 18081 }), []);
    assert.deepEqual(validateControlPlaneArgs({ gatewayPort: 1024, managementPort: 65535 }), []);
  });
  it("rejects out-of-range and non-integer ports, naming the field and the stack config key", () => {
    assert.deepEqual(validateControlPlaneArgs({ gatewayPort: 80, managementPort: 70000 }), [
      "gatewayPort is 80: set an integer port between 1024 and 65535, or auto (stack config modelplane:gatewayPort)",
      "managementPort is 70000: set an integer port between 1024 and 65535, or auto (stack config modelplane:managementPort)",
    ]);
    assert.deepEqual(validateControlPlaneArgs({ gatewayPort: 18080.5, managementPort: 18081 }), [
      "gatewayPort is 18080.5: set an integer port between 1024 and 65535, or auto (stack config modelplane:gatewayPort)",
    ]);
    assert.equal(validateControlPlaneArgs({ gatewayPort: Number.NaN, managementPort: 18081 }).length, 1);
  });
  it("rejects server limits the server could not keep, naming the stack config key", () => {
    assert.deepEqual(validateControlPlaneArgs({ gatewayPort: 18080, managementPort: 18081, serverLimits: { bodyLimitBytes: 2048, bodyBudgetBytes: 1024, clientRequestTimeoutMs: 10 } }), [
      "bodyBudgetBytes: 1024 is not a whole number of bytes of at least bodyLimitBytes (2048); a body at the limit must fit, so give 2048 or more, or lower bodyLimitBytes (default 1073741824) (stack config modelplane:bodyBudgetBytes)",
      "clientRequestTimeoutMs: 10 is not a whole number of milliseconds of at least 1000; the layer checks timeouts once a second, so give 1000 or more (stack config modelplane:clientRequestTimeoutMs)",
    ]);
    assert.deepEqual(validateControlPlaneArgs({ gatewayPort: 18080, managementPort: 18081, serverLimits: { bodyLimitBytes: 1048576, responseLimitBytes: 1 } }), []);
  });
  it("rejects the same port twice", () => {
    assert.deepEqual(validateControlPlaneArgs({ gatewayPort: 18080, managementPort: 18080 }), ["gatewayPort and managementPort are both 18080: give each its own port"]);
  });
});

describe("ControlPlane (Pulumi mocks)", () => {
  let cp: InstanceType<typeof ControlPlane>;
  before(async () => {
    cp = new ControlPlane("cp", { stack: "dev", gatewayPort: 18080, managementPort: 18081 });
    await settle();
  });

  it("registers exactly the component and its six children (fixed ports: no port reservation)", () => {
    assert.deepEqual(
      registrations.map((r) => [r.type, r.name]).sort(),
      [
        ["modelplane:index:ControlPlane", "cp"],
        [`${DYN}modelplane:DockerContainer`, "cp-server"],
        [`${DYN}modelplane:DockerNetwork`, "cp-network"],
        [`${DYN}modelplane:DockerVolume`, "cp-state"],
        [`${DYN}modelplane:Image`, "cp-image"],
        [`${DYN}modelplane:RandomSecret`, "cp-token"],
        [`${DYN}modelplane:StackIdentity`, "cp-identity"],
      ].sort(),
    );
  });
  it("parents every child to the component; children are custom dynamic resources with a provider", () => {
    const comp = one("modelplane:index:ControlPlane", "cp");
    assert.equal(comp.custom, false);
    assert.equal(comp.parent, "");
    assert.match(comp.urn, /::modelplane:index:ControlPlane::cp$/);
    for (const r of registrations.filter((x) => x !== comp)) {
      assert.equal(r.parent, comp.urn, r.name);
      assert.equal(r.custom, true, r.name);
      assert.equal(r.hasProvider, true, r.name);
      assert.ok(r.urn.includes("modelplane:index:ControlPlane$pulumi-nodejs:dynamic/"), r.urn);
    }
  });
  it("network and volume: stack-scoped names and labels", () => {
    assert.deepEqual(one(`${DYN}modelplane:DockerNetwork`, "cp-network").inputs, { name: "modelplane-dev", labels: LABELS });
    assert.deepEqual(one(`${DYN}modelplane:DockerVolume`, "cp-state").inputs, { name: "modelplane-dev-state", labels: LABELS });
  });
  it("token: 32 random bytes, value a secret output", () => {
    const t = one(`${DYN}modelplane:RandomSecret`, "cp-token");
    assert.deepEqual(t.inputs, { bytes: 32 });
    assert.deepEqual(t.additionalSecretOutputs, ["value"]);
  });
  it("server image: fingerprint over the server sources, base image and node version", () => {
    // Every input of the server's bundle: its folders, and the files it takes from elsewhere (batch workers' Docker and Kubernetes clients).
    const sources = [
      "src/server",
      "src/spec",
      "src/images/build.ts",
      "templates/server",
      "package-lock.json",
      "src/servers/custom.ts",
      "src/servers/gpu.ts",
      "src/providers/docker/client.ts",
      "src/providers/docker/labels.ts",
      "src/targets/kubernetes/api-call.ts",
      "src/targets/kubernetes/in-cluster.ts",
      "src/targets/kubernetes/kubeconfig.ts",
      "src/targets/kubernetes/names.ts",
    ].map((p) => path.join(REPO_ROOT, p));
    assert.deepEqual(one(`${DYN}modelplane:Image`, "cp-image").inputs, {
      kind: "modelplane-server",
      baseImage: "modelplane/base:bookworm",
      fingerprint: fingerprint(sources, ["modelplane/base:bookworm", process.version]),
      stackRepository: "modelplane-dev/server",
    });
  });
  it("server container: image, env (token secret), network, volume, ports on 127.0.0.1, health wait", () => {
    const s = one(`${DYN}modelplane:DockerContainer`, "cp-server");
    assert.equal(isSecret(s.inputs.env), true, "env carries the management token: it must be secret");
    const fp = (one(`${DYN}modelplane:Image`, "cp-image").inputs.fingerprint as string).slice(0, 12);
    assert.deepEqual(reveal(s.inputs), {
      name: "modelplane-dev-server",
      image: `modelplane-dev/server:${fp}`,
      env: { MODELPLANE_MANAGEMENT_TOKEN: MOCK_TOKEN, MODELPLANE_STACK: "dev", MODELPLANE_PUBLIC_URL: "http://127.0.0.1:18080" },
      labels: LABELS,
      network: "modelplane-dev",
      networkAliases: ["modelplane-server"],
      volumes: { "modelplane-dev-state": "/data" },
      ports: [
        { container: 8080, host: 18080, hostIp: "127.0.0.1" },
        { container: 8081, host: 18081, hostIp: "127.0.0.1" },
      ],
      portConfigKeys: { "18080": "modelplane:gatewayPort", "18081": "modelplane:managementPort" },
      waitForHttp: { url: "http://127.0.0.1:18081/healthz", timeoutSeconds: 60 },
    });
  });
  it("server container depends on the volume, the image (imageRef), the network, the token and the identity", () => {
    const urn = (n: string) => registrations.find((r) => r.name === n)!.urn;
    assert.deepEqual(one(`${DYN}modelplane:DockerContainer`, "cp-server").dependencies, [urn("cp-identity"), urn("cp-image"), urn("cp-network"), urn("cp-state"), urn("cp-token")].sort());
  });
  it("identity: made from the stack and its token (secret in its state); a stack without one keeps the old names", () => {
    const id = one(`${DYN}modelplane:StackIdentity`, "cp-identity");
    assert.deepEqual(reveal(id.inputs), { stack: "dev", token: MOCK_TOKEN });
    assert.deepEqual(id.additionalSecretOutputs, ["token"]);
    assert.deepEqual(one(`${DYN}modelplane:DockerVolume`, "cp-state").dependencies, [registrations.find((r) => r.name === "cp-network")!.urn, id.urn].sort());
  });
  it("outputs: URLs are known values, the token is secret", async () => {
    assert.equal(cp.stack, "dev");
    assert.equal(await valueOf(cp.gatewayUrl), "http://127.0.0.1:18080");
    assert.equal(await valueOf(cp.managementUrl), "http://127.0.0.1:18081");
    assert.equal(await valueOf(cp.networkName), "modelplane-dev");
    assert.equal(await valueOf(cp.managementToken), MOCK_TOKEN);
    assert.equal(await secretOf(cp.managementToken), true);
    assert.equal(await secretOf(cp.gatewayUrl), false);
  });
  it("gatewayHostIp publishes the gateway port elsewhere, never the management port", async () => {
    new ControlPlane("cp2", { stack: "other", gatewayPort: 28080, managementPort: 28081, gatewayHostIp: "0.0.0.0", baseImage: "example/base:1" });
    await settle();
    const s = one(`${DYN}modelplane:DockerContainer`, "cp2-server");
    assert.deepEqual(s.inputs.ports, [
      { container: 8080, host: 28080, hostIp: "0.0.0.0" },
      { container: 8081, host: 28081, hostIp: "127.0.0.1" },
    ]);
    assert.equal(s.inputs.name, "modelplane-other-server");
    assert.equal(one(`${DYN}modelplane:Image`, "cp2-image").inputs.baseImage, "example/base:1");
  });
  it("server limits become flags after the image's own command; unset limits leave the command to the image", async () => {
    new ControlPlane("cp3", { stack: "limits", gatewayPort: 38080, managementPort: 38081, serverLimits: { bodyLimitBytes: 1048576, clientRequestTimeoutMs: 60000 } });
    new ControlPlane("cp4", { stack: "nolimits", gatewayPort: 48080, managementPort: 48081, serverLimits: { bodyLimitBytes: undefined, bodyBudgetBytes: undefined, responseLimitBytes: undefined, clientRequestTimeoutMs: undefined } });
    await settle();
    assert.deepEqual(one(`${DYN}modelplane:DockerContainer`, "cp3-server").inputs.command, [
      "--state-dir", "/data", "--gateway-port", "8080", "--management-port", "8081", "--management-host", "0.0.0.0",
      "--body-limit-bytes", "1048576", "--client-request-timeout-ms", "60000",
    ]);
    assert.equal("command" in one(`${DYN}modelplane:DockerContainer`, "cp4-server").inputs, false);
  });
  it("the command limits are added to is the server image's own CMD", () => {
    const dockerfile = readFileSync(path.join(REPO_ROOT, "templates/server/Dockerfile"), "utf8");
    const cmd = /^CMD (\[.*\])$/m.exec(dockerfile);
    assert.ok(cmd, "templates/server/Dockerfile has an exec-form CMD line");
    assert.deepEqual(JSON.parse(cmd[1]!), SERVER_COMMAND);
  });
  it("a stack with an identity: every name and label carries it; auto ports come from one PortReservation", async () => {
    const c = new ControlPlane("cp5", { stack: "dev", stackId: "1a2b3c4d" });
    await settle();
    const labels = { ...LABELS, "modelplane.stack-id": "1a2b3c4d" };
    assert.deepEqual(reveal(one(`${DYN}modelplane:StackIdentity`, "cp5-identity").inputs), { stack: "dev", token: MOCK_TOKEN, requested: "1a2b3c4d" });
    assert.deepEqual(one(`${DYN}modelplane:PortReservation`, "cp5-ports").inputs, { names: ["gateway", "management"] });
    assert.deepEqual(one(`${DYN}modelplane:DockerNetwork`, "cp5-network").inputs, { name: "modelplane-dev-1a2b3c4d", labels });
    assert.deepEqual(one(`${DYN}modelplane:DockerVolume`, "cp5-state").inputs, { name: "modelplane-dev-1a2b3c4d-state", labels });
    assert.equal(one(`${DYN}modelplane:Image`, "cp5-image").inputs.stackRepository, "modelplane-dev-1a2b3c4d/server");
    const s = reveal(one(`${DYN}modelplane:DockerContainer`, "cp5-server").inputs) as Record<string, unknown>;
    assert.equal(s.name, "modelplane-dev-1a2b3c4d-server");
    assert.deepEqual(s.labels, labels);
    assert.deepEqual(s.volumes, { "modelplane-dev-1a2b3c4d-state": "/data" });
    assert.deepEqual(s.env, { MODELPLANE_MANAGEMENT_TOKEN: MOCK_TOKEN, MODELPLANE_STACK: "dev", MODELPLANE_PUBLIC_URL: `http://127.0.0.1:${MOCK_AUTO_PORT}`, MODELPLANE_STACK_ID: "1a2b3c4d" });
    assert.deepEqual(s.ports, [
      { container: 8080, host: MOCK_AUTO_PORT, hostIp: "127.0.0.1" },
      { container: 8081, host: MOCK_AUTO_PORT + 1, hostIp: "127.0.0.1" },
    ]);
    assert.equal(await valueOf(c.gatewayUrl), `http://127.0.0.1:${MOCK_AUTO_PORT}`);
    assert.equal(await valueOf(c.stackId), "1a2b3c4d");
  });
  it("one auto port and one fixed: the fixed one is used, the reservation still holds both (switching never replaces it)", async () => {
    new ControlPlane("cp6", { stack: "half", gatewayPort: 18090 });
    await settle();
    assert.deepEqual(one(`${DYN}modelplane:PortReservation`, "cp6-ports").inputs, { names: ["gateway", "management"] });
    assert.deepEqual(one(`${DYN}modelplane:DockerContainer`, "cp6-server").inputs.ports, [
      { container: 8080, host: 18090, hostIp: "127.0.0.1" },
      { container: 8081, host: MOCK_AUTO_PORT + 1, hostIp: "127.0.0.1" },
    ]);
  });
  it("a malformed stackId is refused with the fix", () => {
    assert.deepEqual(validateControlPlaneArgs({ stackId: "XYZ" }), ['stackId is "XYZ": an identity is 8 lowercase hex digits; remove modelplane:stackId to let the first up choose one']);
  });
  it("invalid args throw before any child is registered", async () => {
    const before = registrations.length;
    assert.throws(() => new ControlPlane("bad", { gatewayPort: 1, managementPort: 1 }), /gatewayPort is 1: .*\n.*managementPort is 1: .*\n.*both 1/);
    await settle();
    assert.deepEqual(registrations.slice(before).map((r) => [r.type, r.name]), [["modelplane:index:ControlPlane", "bad"]]);
  });
});
