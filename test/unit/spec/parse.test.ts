import assert from "node:assert/strict";
import path from "node:path";
import { describe, it } from "node:test";
import { formatDiagnostic, loadSpecs, loadStack, parseBatchDeployment, parseOnlineDeployment, parseOnlineEndpoint } from "../../../src/spec";
import { fixtures, repoRoot } from "./fixture-paths";
import { parse as parseYamlText } from "yaml";
import { fillPlaceholders } from "../../../src/spec/placeholders";

const minimalDeployment = { name: "blue", endpoint_name: "my-endpoint", model: { path: "m" }, instance_count: 1 };

describe("defaults", () => {
  it("online endpoint", () => {
    const r = parseOnlineEndpoint({ name: "my-endpoint" });
    assert.ok(r.ok);
    assert.deepEqual(r.value, { kind: "online-endpoint", name: "my-endpoint", tags: {}, auth_mode: "key", traffic: {}, mirror_traffic: {}, public_network_access: "enabled", endpoint_kind: "managed", extra: {} });
  });
  it("online deployment: request settings and probes", () => {
    const r = parseOnlineDeployment(minimalDeployment);
    assert.ok(r.ok);
    assert.deepEqual(r.value.request_settings, { request_timeout_ms: 5000, max_concurrent_requests_per_instance: 1, max_queue_wait_ms: 500 });
    const probe = { initial_delay: 10, period: 10, timeout: 2, success_threshold: 1, failure_threshold: 30 };
    assert.deepEqual(r.value.liveness_probe, probe);
    assert.deepEqual(r.value.readiness_probe, probe);
    assert.equal(r.value.deployment_kind, "managed");
    assert.deepEqual(r.value.model, { path: "m", type: "custom_model" });
    assert.deepEqual(r.value.environment_variables, {});
  });
  it("partial probe keeps the other defaults", () => {
    const r = parseOnlineDeployment({ ...minimalDeployment, readiness_probe: { period: 5 } });
    assert.ok(r.ok);
    assert.deepEqual(r.value.readiness_probe, { initial_delay: 10, period: 5, timeout: 2, success_threshold: 1, failure_threshold: 30 });
  });
  it("kubernetes target_utilization scale settings", () => {
    const r = parseOnlineDeployment({ ...minimalDeployment, type: "Kubernetes", instance_count: undefined, scale_settings: { type: "target_utilization" } });
    assert.ok(r.ok, JSON.stringify(r));
    assert.deepEqual(r.value.scale_settings, { type: "target_utilization", min_instances: 1, max_instances: 1, target_utilization_percentage: 70, polling_interval: 1 });
    assert.equal(r.value.instance_count, 1);
  });
  it("batch model deployment settings", () => {
    const r = parseBatchDeployment({ name: "dep", endpoint_name: "batch-ep", model: { path: "m" } });
    assert.ok(r.ok && r.value.type === "model");
    assert.deepEqual(r.value.resources, { instance_count: 1 });
    assert.deepEqual(r.value.settings, {
      max_concurrency_per_instance: 1,
      mini_batch_size: 10,
      output_action: "append_row",
      output_file_name: "predictions.csv",
      retry_settings: { max_retries: 3, timeout: 30 },
      error_threshold: -1,
      logging_level: "info",
      environment_variables: {},
    });
  });
});

describe("parsing", () => {
  it("enums are case-insensitive", () => {
    const r = parseOnlineEndpoint({ name: "my-endpoint", auth_mode: "Key", public_network_access: "Disabled" });
    assert.ok(r.ok);
    assert.equal(r.value.auth_mode, "key");
    assert.equal(r.value.public_network_access, "disabled");
  });
  it("unknown fields are kept in extra and warned about", () => {
    const r = parseOnlineEndpoint({ name: "my-endpoint", colour: "blue" });
    assert.ok(r.ok);
    assert.deepEqual(r.value.extra, { colour: "blue" });
    assert.deepEqual(r.warnings.map((w) => [w.code, w.field]), [["unknown_field", "colour"]]);
  });
  it("a string model becomes a reference", () => {
    const r = parseOnlineDeployment({ ...minimalDeployment, model: "azureml:my-model:1" });
    assert.ok(r.ok);
    assert.deepEqual(r.value.model, { type: "custom_model", reference: "azureml:my-model:1" });
  });
  it("reports several problems at once", () => {
    const r = parseOnlineDeployment({ ...minimalDeployment, name: "x", instance_count: 0, request_settings: { request_timeout_ms: 999999 } });
    assert.ok(!r.ok);
    assert.deepEqual(r.issues.map((i) => i.field).sort(), ["instance_count", "name", "request_settings.request_timeout_ms"]);
  });
  it("legacy root-level batch settings are normalized into settings", async () => {
    const { documents, diagnostics } = await loadSpecs([path.join(fixtures, "files/legacy-batch-ok.yml")], { pathCheck: false });
    assert.deepEqual(diagnostics, []);
    const spec = documents[0]?.spec;
    assert.ok(spec?.kind === "batch-deployment" && spec.type === "model");
    assert.equal(spec.settings.mini_batch_size, 5);
    assert.equal(spec.settings.output_action, "summary_only");
    assert.deepEqual(spec.settings.retry_settings, { max_retries: 2, timeout: 30 });
  });
});

describe("loader", () => {
  const rel = (d: Parameters<typeof formatDiagnostic>[0]) => formatDiagnostic({ ...d, file: path.relative(fixtures, d.file) });
  it("names each unfilled placeholder with its position", async () => {
    const { diagnostics } = await loadSpecs([path.join(fixtures, "files/placeholders.yml")], { pathCheck: false });
    assert.deepEqual(diagnostics.map(rel), [
      "files/placeholders.yml:3:16: error: placeholder {{ENDPOINT_NAME}} has no value - pass --set ENDPOINT_NAME=<value> (or replace it in the file)",
      "files/placeholders.yml:5:10: error: placeholder {{ACR_NAME}} has no value - pass --set ACR_NAME=<value> (or replace it in the file)",
    ]);
  });
  it("fills placeholders from set", async () => {
    const { documents, diagnostics } = await loadSpecs([path.join(fixtures, "files/placeholders.yml")], { pathCheck: false, set: { ENDPOINT_NAME: "ep-one", ACR_NAME: "acr" } });
    // No errors; the one warning is the docker target's about the filled-in image.
    assert.deepEqual(diagnostics.map((d) => [d.severity, d.code, d.field, d.line, d.col]), [["warning", "not_acted_on", "environment.image", 5, 10]]);
    assert.match(diagnostics[0]?.message ?? "", /^environment\.image "acr\.azurecr\.io\/img:1" is not acted on/);
    const spec = documents[0]?.spec;
    assert.ok(spec?.kind === "online-deployment");
    assert.equal(spec.endpoint_name, "ep-one");
    assert.equal(spec.environment?.image, "acr.azurecr.io/img:1");
  });
  it("writes each placeholder value as the YAML around it needs: escaped in quotes, quoted as a whole plain value, typed when plain-safe", () => {
    const doc = ["a: {{V}}", 'b: "x{{V}}y"', "c: 'x{{V}}y'", "d: img-{{V}}:1", "e: {{V}} # note", "f:", "  - {{V}}", "g: it's {{V}}", "h: |", "  run {{V}}", 'i: [x, "{{V}}"]', ""].join("\n");
    const values = ["plain", "a: b", "#x", "[1, 2]", 'q"uo\\te', "it's", "- x", "*alias", "x #y", "ends:", " sp ", "{k: v}"];
    for (const v of values) {
      const filled = fillPlaceholders(doc, { V: v });
      const data = parseYamlText(filled.text) as Record<string, unknown>;
      const midOk = !/: |\s#|[[\]{},]/.test(v);
      // After "it's " a leading "#" would start a comment; at the line's end a trailing ":" would make a key, a trailing blank be dropped.
      const afterBlankOk = midOk && !v.startsWith("#") && !/(\s|:)$/.test(v);
      const mid = (before: string, after = ""): string => (midOk ? `${before}${v}${after}` : `${before}unset-v${after}`);
      assert.deepEqual(data, { a: v, b: `x${v}y`, c: `x${v}y`, d: mid("img-", ":1"), e: v, f: [v], g: afterBlankOk ? `it's ${v}` : "it's unset-v", h: `run ${v}\n`, i: ["x", v] }, JSON.stringify(v));
      const unsafe = [...(midOk ? [] : [["placeholder_unsafe", doc.indexOf("{{V}}:1")]]), ...(afterBlankOk ? [] : [["placeholder_unsafe", doc.indexOf("{{V}}\nh:")]])];
      assert.deepEqual(filled.unfilled.map((u) => [u.issue.code, u.offset]), unsafe, JSON.stringify(v));
    }
    // Plain-safe values keep the type YAML gives them, as a hand-written value would.
    assert.deepEqual(parseYamlText(fillPlaceholders(doc, { V: "3" }).text), { a: 3, b: "x3y", c: "x3y", d: "img-3:1", e: 3, f: [3], g: "it's 3", h: "run 3\n", i: ["x", "3"] });
    assert.deepEqual((parseYamlText(fillPlaceholders("a: {{V}}\n", { V: "true" }).text) as { a: unknown }).a, true);
    assert.deepEqual((parseYamlText(fillPlaceholders("a: {{V}}\n", { V: "line\nbreak" }).text) as { a: unknown }).a, "line break");
  });
  it("names a placeholder whose value cannot stand in the unquoted text around it, with its position and the fix", async () => {
    const { diagnostics } = await loadSpecs([path.join(fixtures, "files/placeholders.yml")], { pathCheck: false, set: { ENDPOINT_NAME: "ep: one", ACR_NAME: "my acr #1" } });
    assert.deepEqual(diagnostics.map(rel), [
      'files/placeholders.yml:5:10: error: the value of {{ACR_NAME}} ("my acr #1") cannot go into the unquoted text around it: YAML would misread it - quote the whole value in the file (e.g. "...{{ACR_NAME}}..."), or pass a value without ": ", " #", brackets or braces',
      // The whole value "ep: one" went in quoted, so the schema (not the YAML parser) judges it, at its own place.
      'files/placeholders.yml:3:16: error: deployment endpoint_name "ep: one" is not DNS-safe (endpoint_name) - use 3-32 letters, digits or hyphens, starting with a letter and not ending with a hyphen (e.g. my-endpoint)',
    ]);
  });
  it("rejects duplicate keys", async () => {
    const { diagnostics } = await loadSpecs([path.join(fixtures, "files/duplicate-key.yml")]);
    assert.deepEqual(diagnostics.map((d) => [d.code, d.line]), [["duplicate_key", 4]]);
  });
  it("detects the kind from the shape without $schema", async () => {
    const { documents } = await loadSpecs([path.join(fixtures, "files/minimal-deployment.yml")], { pathCheck: false });
    assert.equal(documents[0]?.kind, "online-deployment");
  });
  it("reports missing paths relative to the YAML file", async () => {
    const { diagnostics } = await loadSpecs([path.join(fixtures, "valid-set/blue.yml")]);
    assert.deepEqual(diagnostics.map((d) => [d.code, d.field, d.line]), [["path_missing", "model.path", 5], ["path_missing", "code_configuration.code", 7]]);
  });
  it("resolves azureml references against registry.yml, and explains the ones it cannot", async () => {
    const stack = await loadStack(path.join(fixtures, "registry-stack"));
    // blue's image comes from the registry: its warning sits at the environment reference.
    assert.deepEqual(stack.diagnostics.map((d) => [path.basename(d.file), d.code, d.field, d.line]), [
      ["blue.yml", "not_acted_on", "environment.image", 5],
      ["green.yml", "registry_ref", "environment", 5],
    ]);
    assert.match(stack.diagnostics[0]?.message ?? "", /^environment\.image "python:3\.12-slim" is not acted on by the docker target: .* \(from azureml:my-env:1\)$/);
    const { documents } = await loadSpecs([path.join(fixtures, "registry-stack/blue.yml")]);
    const blue = documents[0]?.spec;
    assert.ok(blue?.kind === "online-deployment");
    assert.deepEqual(blue.model, { name: "my-model", version: "1", path: path.join(fixtures, "registry-stack/models/m1"), type: "custom_model", reference: "azureml:my-model:1" });
    assert.deepEqual(blue.environment, { name: "my-env", version: "1", image: "python:3.12-slim", reference: "azureml:my-env:1" });
  });
  it("the shipped stacks are valid with absolute paths", async () => {
    for (const name of ["dev", "stage", "prod"]) {
      const stack = await loadStack(path.join(repoRoot, "stacks", name), { pathCheck: false });
      // No errors; each deployment is told that its managed image and CPU instance_type are not used.
      assert.deepEqual(
        stack.diagnostics.map((d) => [path.basename(d.file), d.severity, d.code, d.field]),
        ["blue", "green"].flatMap((dep) => [
          [`${dep}-deployment.yml`, "warning", "not_acted_on", "environment.image"],
          [`${dep}-deployment.yml`, "warning", "not_acted_on", "instance_type"],
        ]),
        name,
      );
      assert.equal(stack.endpoints.length, 1);
      assert.deepEqual(stack.deployments.map((d) => d.name).sort(), ["blue", "green"]);
      assert.ok(stack.deployments.every((d) => path.isAbsolute(d.model?.path ?? "")));
    }
    const prod = await loadStack(path.join(repoRoot, "stacks/prod"), { pathCheck: false });
    assert.deepEqual(prod.endpoints[0]?.mirror_traffic, { green: 10 });
    assert.ok(prod.deployments.every((d) => d.instance_count === 2));
  });
});
