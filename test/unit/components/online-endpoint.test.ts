import assert from "node:assert/strict";
import * as path from "node:path";
import { before, describe, it } from "node:test";
import { byType, deploymentSpec, descendants, DYN, endpointSpec, installMocks, isSecret, MOCK_TOKEN, MODEL_1, one, PROBE_BIN, registrations, reveal, secretOf, settle, valueOf } from "./harness";

installMocks("dev");
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { ControlPlane, OnlineEndpoint, validateOnlineEndpointArgs } = require("../../../components") as typeof import("../../../components");
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { containerName } = require("../../../src/providers/docker/container") as typeof import("../../../src/providers/docker/container");
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { fingerprint } = require("../../../src/providers/images/image") as typeof import("../../../src/providers/images/image");

const EP = "modelplane:index:OnlineEndpoint";
const DEP = "modelplane:index:OnlineDeployment";

describe("validateOnlineEndpointArgs", () => {
  const ep = endpointSpec("my-endpoint", { traffic: { blue: 90, green: 10 } });
  it("accepts a consistent endpoint", () => {
    assert.deepEqual(validateOnlineEndpointArgs(ep, [deploymentSpec("blue", "my-endpoint", 1), deploymentSpec("green", "my-endpoint", 1)]), [
    ]);
  });
  it("an endpoint needs a deployment", () => {
    const problems = validateOnlineEndpointArgs(endpointSpec("lonely"), []);
    assert.deepEqual(problems, ['endpoint "lonely" has no deployment: add at least one deployment whose endpoint_name is "lonely"']);
  });
  it("a deployment of another endpoint is named with its endpoint_name", () => {
    const problems = validateOnlineEndpointArgs(endpointSpec("my-endpoint"), [deploymentSpec("blue", "other-endpoint", 1)]);
    assert.deepEqual(problems, ['deployment "blue" has endpoint_name "other-endpoint", not "my-endpoint": fix endpoint_name or pass it to the right endpoint']);
  });
  it("traffic to an unknown deployment is an error (from checkTraffic), with field and fix", () => {
    const problems = validateOnlineEndpointArgs(ep, [deploymentSpec("blue", "my-endpoint", 1)]);
    assert.equal(problems.length, 1, problems.join("\n"));
    assert.equal(
      problems[0],
      'traffic names deployment "green", which endpoint "my-endpoint" does not have (traffic.green) - add a deployment "green" with endpoint_name: my-endpoint, or remove it from traffic (existing: blue)',
    );
  });
  it("traffic that does not sum to 100 is an error", () => {
    const bad = { ...ep, traffic: { blue: 90, green: 20 } };
    const problems = validateOnlineEndpointArgs(bad, [deploymentSpec("blue", "my-endpoint", 1), deploymentSpec("green", "my-endpoint", 1)]);
    assert.deepEqual(problems, ['traffic of endpoint "my-endpoint" sums to 110, not 100 (traffic) - make the percentages add up to 100, or set them all to 0']);
  });
  it("mirror traffic to an unknown deployment is an error", () => {
    const bad = { ...ep, traffic: { blue: 100 }, mirror_traffic: { ghost: 10 } };
    const problems = validateOnlineEndpointArgs(bad, [deploymentSpec("blue", "my-endpoint", 1)]);
    assert.ok(problems.some((p) => p.startsWith('mirror_traffic names deployment "ghost"') && p.includes("(mirror_traffic.ghost)")), problems.join("\n"));
  });
});

describe("OnlineEndpoint (Pulumi mocks): dev-like endpoint, blue x1 + green x2", () => {
  let ep: InstanceType<typeof OnlineEndpoint>;
  const blue = deploymentSpec("blue", "my-endpoint", 1);
  const green = deploymentSpec("green", "my-endpoint", 2, { environment_variables: { GREETING: "hi" }, request_settings: { request_timeout_ms: 9000 } });
  before(async () => {
    const cp = new ControlPlane("cp", { stack: "dev", gatewayPort: 18080, managementPort: 18081 });
    ep = new OnlineEndpoint("my-endpoint", { controlPlane: cp, spec: endpointSpec("my-endpoint", { traffic: { blue: 90, green: 10 }, tags: { stack: "dev" } }), deployments: [blue, green] });
    await settle();
  });
  const inEndpoint = () => descendants(one(EP, "my-endpoint").urn);

  it("creates exactly 1 Endpoint, 2 Deployment registrations, 3 DockerContainer, 2 Image, 1 Traffic (plus the components)", () => {
    const counts: Record<string, number> = {};
    for (const r of inEndpoint()) counts[r.type] = (counts[r.type] ?? 0) + 1;
    assert.deepEqual(counts, {
      [EP]: 1,
      [DEP]: 2,
      [`${DYN}modelplane:Endpoint`]: 1,
      [`${DYN}modelplane:Deployment`]: 2,
      [`${DYN}modelplane:DockerContainer`]: 3,
      [`${DYN}modelplane:Image`]: 2,
      [`${DYN}modelplane:Traffic`]: 1,
    });
    assert.deepEqual(
      inEndpoint().map((r) => r.name).sort(),
      [
        "my-endpoint", "my-endpoint-endpoint", "my-endpoint-traffic",
        "my-endpoint-blue", "my-endpoint-blue-image", "my-endpoint-blue-0", "my-endpoint-blue-registration",
        "my-endpoint-green", "my-endpoint-green-image", "my-endpoint-green-0", "my-endpoint-green-1", "my-endpoint-green-registration",
      ].sort(),
    );
  });
  it("children are named `${name}-part` and parented: endpoint/traffic/deployments to the endpoint, the rest to their deployment", () => {
    const epUrn = one(EP, "my-endpoint").urn;
    for (const n of ["my-endpoint-endpoint", "my-endpoint-traffic", "my-endpoint-blue", "my-endpoint-green"]) assert.equal(registrations.find((r) => r.name === n)!.parent, epUrn, n);
    for (const d of ["blue", "green"]) {
      const depUrn = one(DEP, `my-endpoint-${d}`).urn;
      const kids = registrations.filter((r) => r.parent === depUrn).map((r) => r.name).sort();
      const expected = [`my-endpoint-${d}-image`, `my-endpoint-${d}-registration`, ...Array.from({ length: d === "blue" ? 1 : 2 }, (_, i) => `my-endpoint-${d}-${i}`)].sort();
      assert.deepEqual(kids, expected, d);
    }
    assert.equal(one(EP, "my-endpoint").parent, "");
  });
  it("endpoint registration: inputs, secret token, secret keys, depends on the server", () => {
    const e = one(`${DYN}modelplane:Endpoint`, "my-endpoint-endpoint");
    assert.equal(isSecret(e.inputs.managementToken), true);
    assert.deepEqual(reveal(e.inputs), { managementUrl: "http://127.0.0.1:18081", managementToken: MOCK_TOKEN, name: "my-endpoint", auth_mode: "key", tags: { stack: "dev" } });
    assert.deepEqual(e.additionalSecretOutputs, ["primaryKey", "secondaryKey", "managementToken"]);
    assert.ok(e.dependencies.includes(one(`${DYN}modelplane:DockerContainer`, "cp-server").urn));
  });
  it("images: one custom-server image per deployment, fingerprinted over the template and the conda file", () => {
    const conda = path.join(MODEL_1, "environment/conda.yaml");
    const template = path.resolve(__dirname, "../../../templates/servers/custom");
    for (const d of ["blue", "green"]) {
      assert.deepEqual(one(`${DYN}modelplane:Image`, `my-endpoint-${d}-image`).inputs, {
        kind: "custom-server",
        baseImage: "modelplane/base:bookworm",
        condaFile: conda,
        fingerprint: fingerprint([template, conda], ["modelplane/base:bookworm"]),
        stackRepository: `modelplane-dev/custom-server-my-endpoint-${d}`,
      });
    }
    // Same environment, same build, but each deployment owns its own tag (destroying one never untags the other's).
    assert.notEqual(one(`${DYN}modelplane:Image`, "my-endpoint-blue-image").inputs.stackRepository, one(`${DYN}modelplane:Image`, "my-endpoint-green-image").inputs.stackRepository);
  });
  it("containers: exact names, labels, binds (read-only) and env", () => {
    const hash = fingerprint([path.join(MODEL_1, "onlinescoring"), path.join(MODEL_1, "model")]).slice(0, 12);
    const fp = (one(`${DYN}modelplane:Image`, "my-endpoint-blue-image").inputs.fingerprint as string).slice(0, 12);
    const expect = (d: string, i: number, env: Record<string, string>) => ({
      name: `modelplane-dev-my-endpoint-${d}-${i}`,
      image: `modelplane-dev/custom-server-my-endpoint-${d}:${fp}`,
      env: { ...env, AZUREML_ENTRY_SCRIPT: "code/score.py", AZUREML_MODEL_DIR: `/var/azureml-app/azureml-models/${d}/1`, MODELPLANE_CONTENT_HASH: hash },
      labels: { "modelplane.managed": "true", "modelplane.stack": "dev", "modelplane.role": "instance", "modelplane.endpoint": "my-endpoint", "modelplane.deployment": d },
      binds: [
        { source: path.join(MODEL_1, "onlinescoring"), target: "/var/azureml-app/code", readOnly: true },
        { source: path.join(MODEL_1, "model"), target: `/var/azureml-app/azureml-models/${d}/1/model`, readOnly: true },
        { source: PROBE_BIN, target: "/opt/modelplane/bin/modelplane-probe", readOnly: true },
      ],
      network: "modelplane-dev",
      healthcheck: {
        test: ["/opt/modelplane/bin/modelplane-probe", "--url", "http://127.0.0.1:5001/", "--timeout", "2s", "--failures", "30", "--initial-delay", "10s", "--state", "/tmp/.modelplane-liveness"],
        intervalS: 10,
        timeoutS: 3,
        retries: 30,
        startPeriodS: 10,
      },
    });
    assert.deepEqual(one(`${DYN}modelplane:DockerContainer`, "my-endpoint-blue-0").inputs, expect("blue", 0, {}));
    assert.deepEqual(one(`${DYN}modelplane:DockerContainer`, "my-endpoint-green-0").inputs, expect("green", 0, { GREETING: "hi" }));
    assert.deepEqual(one(`${DYN}modelplane:DockerContainer`, "my-endpoint-green-1").inputs, expect("green", 1, { GREETING: "hi" }));
  });
  it("deployment registrations: instances are the real container names, settings from the spec, secret token", () => {
    for (const [d, spec] of [["blue", blue], ["green", green]] as const) {
      const r = one(`${DYN}modelplane:Deployment`, `my-endpoint-${d}-registration`);
      const names = Array.from({ length: spec.instance_count }, (_, i) => containerName(one(`${DYN}modelplane:DockerContainer`, `my-endpoint-${d}-${i}`).inputs as never));
      assert.equal(isSecret(r.inputs.managementToken), true);
      assert.deepEqual(r.additionalSecretOutputs, ["managementToken"]);
      // The image is the Image resource's content-hash tag: its repository and its fingerprint's first 12.
      const img = reveal(one(`${DYN}modelplane:Image`, `my-endpoint-${d}-image`).inputs) as { stackRepository: string; fingerprint: string };
      assert.deepEqual(reveal(r.inputs), {
        managementUrl: "http://127.0.0.1:18081",
        managementToken: MOCK_TOKEN,
        endpointName: "my-endpoint",
        name: d,
        instances: names.map((n, i) => ({ id: `${d}-${i}`, url: `http://${n}:5001` })),
        routes: { scoring: "/score", readiness: "/", liveness: "/", swagger: "/swagger.json" },
        request_settings: { request_timeout_ms: d === "green" ? 9000 : 5000, max_concurrent_requests_per_instance: 1, max_queue_wait_ms: 500 },
        readiness_probe: { initial_delay: 10, period: 10, timeout: 2, success_threshold: 1, failure_threshold: 30 },
        liveness_probe: { initial_delay: 10, period: 10, timeout: 2, success_threshold: 1, failure_threshold: 30 },
        model_server: "azureml-inference-server-http",
        spec: { model: "model", instance_type: "Standard_DS3_v2", instance_count: spec.instance_count, tags: {}, image: `${img.stackRepository}:${img.fingerprint.slice(0, 12)}` },
        containerNames: names,
      });
      // Depends on the server and on every one of its containers.
      const deps = [one(`${DYN}modelplane:DockerContainer`, "cp-server").urn, ...Array.from({ length: spec.instance_count }, (_, i) => one(`${DYN}modelplane:DockerContainer`, `my-endpoint-${d}-${i}`).urn)];
      for (const u of deps) assert.ok(r.dependencies.includes(u), `${d} registration should depend on ${u}`);
    }
  });
  it("traffic: the whole split, secret token, depends on every deployment registration and the server", () => {
    const t = one(`${DYN}modelplane:Traffic`, "my-endpoint-traffic");
    assert.equal(isSecret(t.inputs.managementToken), true);
    assert.deepEqual(t.additionalSecretOutputs, ["managementToken"]);
    assert.deepEqual(reveal(t.inputs), { managementUrl: "http://127.0.0.1:18081", managementToken: MOCK_TOKEN, endpointName: "my-endpoint", traffic: { blue: 90, green: 10 }, mirror_traffic: {} });
    for (const n of ["my-endpoint-blue-registration", "my-endpoint-green-registration"]) assert.ok(t.dependencies.includes(one(`${DYN}modelplane:Deployment`, n).urn), n);
    assert.ok(t.dependencies.includes(one(`${DYN}modelplane:DockerContainer`, "cp-server").urn));
    assert.ok(t.dependencies.includes(one(`${DYN}modelplane:Endpoint`, "my-endpoint-endpoint").urn));
  });
  it("outputs: scoring/swagger URIs, auth mode, secret keys, deployments", async () => {
    assert.equal(await valueOf(ep.scoringUri), "http://127.0.0.1:18080/endpoints/my-endpoint/score");
    assert.equal(await valueOf(ep.swaggerUri), "http://127.0.0.1:18080/endpoints/my-endpoint/swagger.json");
    assert.equal(ep.authMode, "key");
    assert.equal(await valueOf(ep.primaryKey), "primary-key-0123456789");
    assert.equal(await secretOf(ep.primaryKey), true);
    assert.equal(await secretOf(ep.secondaryKey), true);
    assert.deepEqual(ep.deployments.map((d) => d.deploymentName), ["blue", "green"]);
    assert.equal(await valueOf(ep.deployments[1]!.provisioningState), "Succeeded");
    assert.equal((await valueOf(ep.deployments[1]!.containerNames)).length, 2);
  });
  it("an invalid endpoint throws with every problem and registers no child", async () => {
    const cpRef = new ControlPlane("cp-x", { stack: "x", gatewayPort: 19080, managementPort: 19081 });
    const before = registrations.length;
    assert.throws(
      () => new OnlineEndpoint("bad", { controlPlane: cpRef, spec: endpointSpec("bad", { traffic: { blue: 100 } }), deployments: [] }),
      /endpoint "bad" has no deployment[\s\S]*traffic names deployment "blue"/,
    );
    await settle();
    assert.equal(byType(`${DYN}modelplane:Endpoint`).filter((r) => r.name === "bad-endpoint").length, 0);
    assert.ok(registrations.slice(before).every((r) => r.name.startsWith("cp-x") || r.name === "bad"));
  });
});
