import assert from "node:assert/strict";
import { cpSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, it } from "node:test";
import { checkTraffic, formatDiagnostic, loadSpecs } from "../../../src/spec";
import { fixtures } from "./fixture-paths";

/** Loads one fixture folder as a set and returns its errors as formatted lines relative to fixtures. */
async function errorsOf(folder: string): Promise<string[]> {
  const result = await loadSpecs([path.join(fixtures, folder)], { pathCheck: false });
  return result.diagnostics
    .filter((d) => d.severity === "error")
    .map((d) => formatDiagnostic({ ...d, file: path.relative(fixtures, d.file) }));
}

const cases: Record<string, string> = {
  "endpoint-without-deployment":
    'endpoint-without-deployment/endpoint.yml:2:7: error: endpoint "my-endpoint" has no deployment (name) - add a deployment with endpoint_name: my-endpoint',
  "deployment-endpoint-missing":
    'deployment-endpoint-missing/orphan.yml:3:16: error: deployment "orphan" names endpoint "other-endpoint", which is not in this stack (endpoint_name) - add an online endpoint named "other-endpoint" or fix endpoint_name (online endpoints here: my-endpoint)',
  "deployment-endpoint-kind":
    'deployment-endpoint-kind/blue.yml:3:16: error: kubernetes deployment "blue" names managed endpoint "my-endpoint" (endpoint_name) - use a kubernetes endpoint, or make the deployment managed',
  "traffic-unknown-deployment":
    'traffic-unknown-deployment/endpoint.yml:6:8: error: traffic names deployment "red", which endpoint "my-endpoint" does not have (traffic.red) - add a deployment "red" with endpoint_name: my-endpoint, or remove it from traffic (existing: blue)',
  "traffic-sum":
    'traffic-sum/endpoint.yml:5:3: error: traffic of endpoint "my-endpoint" sums to 110, not 100 (traffic) - make the percentages add up to 100, or set them all to 0',
  "mirror-single":
    "mirror-single/endpoint.yml:7:3: error: mirror_traffic names 2 deployments (green, red); only one deployment can be mirrored (mirror_traffic) - keep a single deployment in mirror_traffic",
  "mirror-range":
    "mirror-range/endpoint.yml:7:10: error: mirror_traffic.green is 60, must be a whole percent from 0 to 50 (mirror_traffic.green) - set mirror_traffic.green to at most 50",
  "mirror-live-traffic":
    'mirror-live-traffic/endpoint.yml:8:10: error: deployment "green" is mirrored but also has 10% live traffic (mirror_traffic.green) - set traffic.green to 0, or mirror a deployment without live traffic',
  "name-not-dns-safe":
    'name-not-dns-safe/blue.yml:2:7: error: deployment name "blue_deployment" is not DNS-safe (name) - use 3-32 letters, digits or hyphens, starting with a letter and not ending with a hyphen (e.g. my-endpoint)',
  "name-duplicate":
    'name-duplicate/endpoint.yml:2:7: error: name "my-endpoint" is used by more than one endpoint in this stack (name) - give each one its own name',
  "deployment-name-duplicate":
    'deployment-name-duplicate/blue.yml:2:7: error: name "blue" is used by more than one deployment on endpoint "my-endpoint" (name) - give each one its own name',
  "batch-default-missing":
    'batch-default-missing/endpoint.yml:4:20: error: default deployment "missing-dep" of endpoint "batch-ep" does not exist (defaults.deployment_name) - add a deployment "missing-dep" with endpoint_name: batch-ep, or name an existing one (batch-dep)',
  "request-timeout":
    "request-timeout/blue.yml:14:23: error: request_settings.request_timeout_ms is 200000, must be an integer from 1 to 180000 (Azure caps it at 3 minutes) (request_settings.request_timeout_ms) - set request_settings.request_timeout_ms to an integer from 1 to 180000",
  "instance-count":
    "instance-count/blue.yml:12:17: error: instance_count is 0, must be an integer from 1 to 1000 (instance_count) - set instance_count to an integer from 1 to 1000",
  "probe-range":
    "probe-range/blue.yml:14:11: error: liveness_probe.period is 0, must be an integer from 1 to 3600 (liveness_probe.period) - set liveness_probe.period to an integer from 1 to 3600",
};

describe("cross-resource and range rules (one failing fixture each)", () => {
  it("the valid set has no diagnostics", async () => {
    assert.deepEqual(await errorsOf("valid-set"), []);
  });
  for (const [folder, expected] of Object.entries(cases)) {
    it(folder, async () => {
      assert.deepEqual(await errorsOf(folder), [expected]);
    });
  }
});

describe("checkTraffic", () => {
  const endpoint = { name: "ep", traffic: { blue: 100, green: 0 }, mirror_traffic: { green: 10 } };
  it("accepts prod-style traffic with a mirror of a 0% deployment", () => {
    assert.deepEqual(checkTraffic(endpoint, ["blue", "green"]), []);
  });
  it("accepts all-zero traffic", () => {
    assert.deepEqual(checkTraffic({ name: "ep", traffic: { blue: 0 }, mirror_traffic: {} }, ["blue"]), []);
  });
  it("reports names, sum and mirror problems together", () => {
    const codes = checkTraffic({ name: "ep", traffic: { blue: 70, red: 10 }, mirror_traffic: { blue: 51 } }, ["blue"]).map((i) => i.code);
    assert.deepEqual(codes.sort(), ["mirror_live_traffic", "mirror_range", "traffic_sum", "traffic_unknown_deployment"]);
  });
});

describe("a file that fails to parse", () => {
  it("yields its own error and none of the set errors that would only follow from it", async () => {
    // endpoint.yml has an unclosed flow map; blue.yml and green.yml name its endpoint. Without the
    // endpoint, the set rules would add 'deployment "blue" names endpoint "my-endpoint", which is
    // not in this stack' for each deployment.
    assert.deepEqual(await errorsOf("yaml-syntax-endpoint"), [
      "yaml-syntax-endpoint/endpoint.yml:5:1: error: YAML syntax error: Flow map in block collection must be sufficiently indented and end with a } - fix the YAML syntax at this position",
    ]);
  });
  it("a file skipped as not a spec (a warning) still lets the set rules run", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), "mp-spec-set-"));
    try {
      cpSync(path.join(fixtures, "deployment-endpoint-missing"), dir, { recursive: true });
      writeFileSync(path.join(dir, "job.yml"), "$schema: https://azuremlschemas.azureedge.net/latest/commandJob.schema.json\ncommand: echo hi\n");
      const result = await loadSpecs([dir], { pathCheck: false });
      assert.deepEqual(
        // (the docker target's not_acted_on warnings about the deployments are beside the point here)
        result.diagnostics.filter((d) => d.code !== "not_acted_on").map((d) => [path.basename(d.file), d.severity, d.code]),
        [["job.yml", "warning", "not_a_spec"], ["orphan.yml", "error", "deployment_endpoint_missing"]],
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
