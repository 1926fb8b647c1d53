import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { describe, it } from "node:test";
import { CONTAINER_REPLACE_FIELDS, containerName, containerProvider, diffContainer, dockerHealthcheck, startError, type ContainerInputs } from "../../../src/providers/docker/container";

const base: ContainerInputs = {
  name: "modelplane-dev-my-endpoint-blue-0",
  image: "modelplane-dev/custom-server:0123456789ab",
  env: { A: "1" },
  labels: { "modelplane.stack": "dev" },
  binds: [{ source: "/code", target: "/var/azureml-app/code", readOnly: true }],
  network: "modelplane-dev",
};
const withPorts: ContainerInputs = { ...base, name: "modelplane-dev-server", ports: [{ container: 8080, host: 18080, hostIp: "127.0.0.1" }] };

/** One changed value per replace-forcing field. */
const CHANGES: Record<(typeof CONTAINER_REPLACE_FIELDS)[number], Partial<ContainerInputs>> = {
  image: { image: "modelplane-dev/custom-server:ba9876543210" },
  env: { env: { A: "2" } },
  labels: { labels: { "modelplane.stack": "prod" } },
  binds: { binds: [{ source: "/code2", target: "/var/azureml-app/code", readOnly: true }] },
  volumes: { volumes: { "modelplane-dev-state": "/data" } },
  network: { network: "other" },
  networkAliases: { networkAliases: ["x"] },
  ports: { ports: [{ container: 8080, host: 18081 }] },
  command: { command: ["sleep", "1"] },
  user: { user: "1000" },
  restart: { restart: "no" },
  memoryBytes: { memoryBytes: 1 << 30 },
  nanoCpus: { nanoCpus: 1e9 },
  deviceRequests: { deviceRequests: [{ Driver: "nvidia", Count: 1, Capabilities: [["gpu"]] }] },
  init: { init: true },
  healthcheck: { healthcheck: { test: ["/bin/true"], intervalS: 10, timeoutS: 3, retries: 30, startPeriodS: 10 } },
  groupAdd: { groupAdd: ["998"] },
};

describe("containerName", () => {
  it("is the base name plus 8 hex characters, stable for equal inputs", () => {
    assert.match(containerName(base), /^modelplane-dev-my-endpoint-blue-0-[0-9a-f]{8}$/);
    assert.equal(containerName(base), containerName({ ...base }));
  });
  it("changes when any replace-forcing field changes", () => {
    const names = new Set([containerName(base)]);
    for (const f of CONTAINER_REPLACE_FIELDS) {
      const n = containerName({ ...base, ...CHANGES[f] });
      assert.notEqual(n, containerName(base), f);
      names.add(n);
    }
    assert.equal(names.size, CONTAINER_REPLACE_FIELDS.length + 1);
  });
  it("does not change for waitForHttp (not replace-forcing); an absent field equals undefined", () => {
    assert.equal(containerName({ ...base, waitForHttp: { url: "http://127.0.0.1:1/healthz", timeoutSeconds: 5 } }), containerName(base));
    assert.equal(containerName({ ...base, user: undefined }), containerName(base));
  });
  it("fields added later (deviceRequests, init, healthcheck) keep the names of containers that do not set them", () => {
    // The name of `base` as computed before those fields existed.
    const h = createHash("sha256");
    for (const f of ["image", "env", "labels", "binds", "volumes", "network", "networkAliases", "ports", "command", "user", "restart", "memoryBytes", "nanoCpus"] as const) h.update(`${f}=${JSON.stringify(base[f] ?? null)}\0`);
    assert.equal(containerName(base), `${base.name}-${h.digest("hex").slice(0, 8)}`);
    assert.notEqual(containerName({ ...base, init: false }), containerName(base));
    assert.equal(containerName({ ...base, healthcheck: undefined }), containerName(base));
    assert.equal(containerName({ ...base, groupAdd: undefined }), containerName(base));
  });
  it("replace fields are exactly the container's immutable config", () => {
    assert.deepEqual([...CONTAINER_REPLACE_FIELDS], ["image", "env", "labels", "binds", "volumes", "network", "networkAliases", "ports", "command", "user", "restart", "memoryBytes", "nanoCpus", "deviceRequests", "init", "healthcheck", "groupAdd"]);
  });
});

describe("dockerHealthcheck", () => {
  it("maps seconds to Docker's nanoseconds; the test runs without a shell (CMD)", () => {
    assert.deepEqual(dockerHealthcheck({ test: ["/p", "--url", "http://127.0.0.1:1/"], intervalS: 1, timeoutS: 3, retries: 3, startPeriodS: 0 }), {
      Test: ["CMD", "/p", "--url", "http://127.0.0.1:1/"],
      Interval: 1_000_000_000,
      Timeout: 3_000_000_000,
      Retries: 3,
      StartPeriod: 0,
    });
  });
});

describe("diffContainer", () => {
  it("no change: no changes, no replaces", () => {
    assert.deepEqual(diffContainer(base, { ...base }), { changes: false, replaces: [], deleteBeforeReplace: false });
  });
  for (const f of CONTAINER_REPLACE_FIELDS) {
    it(`a change of ${f} replaces`, () => {
      const d = diffContainer(base, { ...base, ...CHANGES[f] });
      assert.equal(d.changes, true);
      assert.deepEqual(d.replaces, [f]);
    });
  }
  it("several changes list every field in declaration order", () => {
    assert.deepEqual(diffContainer(base, { ...base, ...CHANGES.user, ...CHANGES.image }).replaces, ["image", "user"]);
  });
  it("a new base name replaces (the real name changes)", () => {
    assert.deepEqual(diffContainer(base, { ...base, name: "other" }), { changes: true, replaces: ["name"], deleteBeforeReplace: false });
  });
  it("waitForHttp alone is an in-place update", () => {
    assert.deepEqual(diffContainer(base, { ...base, waitForHttp: { url: "http://127.0.0.1:1/", timeoutSeconds: 5 } }), { changes: true, replaces: [], deleteBeforeReplace: false });
  });
  it("deleteBeforeReplace only when the new container publishes ports", () => {
    assert.equal(diffContainer(withPorts, { ...withPorts, ...CHANGES.image }).deleteBeforeReplace, true);
    assert.equal(diffContainer(base, { ...base, ...CHANGES.image }).deleteBeforeReplace, false);
    assert.equal(diffContainer(withPorts, { ...withPorts, ports: [] }).deleteBeforeReplace, false);
  });
  it("the provider's diff is diffContainer", async () => {
    assert.deepEqual(await containerProvider.diff!("id", base as never, { ...base, ...CHANGES.env }), diffContainer(base, { ...base, ...CHANGES.env }));
  });
});

describe("containerProvider.check", () => {
  it("defaults restart to unless-stopped and accepts valid inputs", async () => {
    assert.deepEqual(await containerProvider.check!({} as never, base), { inputs: { ...base, restart: "unless-stopped" }, failures: [] });
  });
  it("rejects bad names, missing images and relative bind sources", async () => {
    const r = await containerProvider.check!({} as never, { ...base, name: "-bad", image: "", binds: [{ source: "rel/path", target: "/x" }] });
    assert.deepEqual(r.failures, [
      { property: "name", reason: 'name "-bad" must match [a-zA-Z0-9][a-zA-Z0-9_.-]*' },
      { property: "image", reason: "image is required (a local tag such as modelplane/custom-server:abc123)" },
      { property: "binds", reason: 'bind source "rel/path" must be an absolute path' },
    ]);
  });
});

describe("startError", () => {
  it("a taken host port names the ports and the config keys; other failures keep the engine's words", () => {
    const engine = "driver failed programming external connectivity on endpoint x: Error starting userland proxy: listen tcp4 127.0.0.1:35759: bind: address already in use";
    assert.equal(
      startError("modelplane-dev-server", { ports: [{ container: 8080, host: 35759 }] }, engine),
      `container modelplane-dev-server could not start: one of its host ports (127.0.0.1:35759) is already in use by another process (engine: ${engine}). ` +
        "Fix: stop what listens there, or choose other ports (the control plane's are the stack config modelplane:gatewayPort and modelplane:managementPort).",
    );
    assert.equal(startError("c-1", {}, "no such image"), "container c-1 could not start (engine: no such image)");
    assert.match(startError("c-1", { deviceRequests: [{ Driver: "nvidia", Count: 1, Capabilities: [["gpu"]] }] }, "could not select device driver"), /no NVIDIA GPU support/);
  });
});
