// The renderer on previews recorded from a real stack (fixtures/capture.ts): golden markdown per
// case, the warnings each case must raise, and no secret value anywhere in the output.
// UPDATE_GOLDEN=1 rewrites the golden files.
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { COMMENT_MARKER, parsePreviewJson, renderComment, summarizePreview, type StateResource, type SummaryOptions } from "../../../src/preview";

const FIX = path.join(__dirname, "fixtures");
const GOLDEN = path.join(__dirname, "golden");
const state = JSON.parse(readFileSync(path.join(FIX, "state.json"), "utf8")) as StateResource[];

/** The endpoint warnings (the server's own replacement, recorded while its sources were being edited, is tested apart). */
function endpointWarnings(w: string[]): string[] {
  return w.filter((x) => !x.startsWith("the modelplane server"));
}

function summary(name: string, stack = "dev", opts: SummaryOptions = {}) {
  return summarizePreview(stack, parsePreviewJson(readFileSync(path.join(FIX, `${name}.json`), "utf8")), { state, stripPrefixes: ["/REPO"], ...opts });
}

function golden(name: string, text: string): void {
  const file = path.join(GOLDEN, `${name}.md`);
  if (process.env.UPDATE_GOLDEN === "1" || !existsSync(file)) {
    mkdirSync(GOLDEN, { recursive: true });
    writeFileSync(file, text);
    if (process.env.UPDATE_GOLDEN !== "1") assert.fail(`${file} did not exist and was written: review it and run again`);
  }
  assert.equal(text, readFileSync(file, "utf8"), `${name}: rendering differs from ${file} (UPDATE_GOLDEN=1 rewrites it)`);
}

const CASES = ["traffic-change", "model-version", "new-deployment", "delete", "invalid-spec"];

for (const name of CASES) {
  test(`${name}: renders as its golden file, with no secret value`, () => {
    const text = renderComment([summary(name)]);
    golden(name, text);
    assert.ok(text.startsWith(COMMENT_MARKER));
    for (const secret of JSON.parse(readFileSync(path.join(FIX, "secrets.json"), "utf8")) as string[]) {
      assert.ok(secret.length > 8);
      assert.ok(!text.includes(secret), `${name}: a secret value is in the output`);
    }
    assert.doesNotMatch(text, /\/REPO\//, "checkout paths are made relative");
  });
}

test("traffic-change: before -> after of traffic and mirror, nothing else changes", () => {
  const s = summary("traffic-change");
  assert.equal(s.counts.update, 1);
  assert.equal(s.counts.create, undefined);
  const [e] = s.endpoints;
  assert.equal(e!.name, "my-endpoint");
  const by = Object.fromEntries(e!.deployments.map((d) => [d.name, d]));
  assert.deepEqual(by.blue!.traffic, { before: 90, after: 100 });
  assert.deepEqual(by.green!.traffic, { before: 10, after: 0 });
  assert.deepEqual(by.green!.mirror, { before: 0, after: 20 });
  assert.equal(by.blue!.op, "same");
  assert.deepEqual(by.blue!.model, { before: "regression:1", after: "regression:1" }, "unchanged values come from the live state");
  assert.deepEqual(endpointWarnings(s.warnings), []);
});

test("a prod stack flags a traffic shift past the threshold, dev does not", () => {
  assert.deepEqual(endpointWarnings(summary("traffic-change", "dev", { shiftThreshold: 5 }).warnings), []);
  const prod = endpointWarnings(summary("traffic-change", "prod", { shiftThreshold: 5 }).warnings);
  assert.equal(prod.length, 2);
  assert.match(prod[0]!, /\*\*flag\*\*: prod traffic of my-endpoint\/blue moves 10 points \(90% -> 100%\), more than the 5-point threshold/);
  assert.deepEqual(endpointWarnings(summary("traffic-change", "prod").warnings), [], "10 points is within the default 20");
});

test("model-version: model, content hash, instance count and env names change; the serving blue is replaced create-before-delete", () => {
  const s = summary("model-version");
  const blue = s.endpoints[0]!.deployments.find((d) => d.name === "blue")!;
  assert.equal(blue.op, "replace");
  assert.deepEqual(blue.model, { before: "regression:1", after: "regression:2" });
  assert.deepEqual(blue.instanceCount, { before: 1, after: 2 });
  assert.notEqual(blue.content.before, blue.content.after);
  assert.deepEqual(blue.envChanged, ["+EXTRA", "~MODE"]);
  assert.deepEqual(endpointWarnings(s.warnings), ["my-endpoint/blue serves 90% and will be replaced create-before-delete: the new instances take over once ready, so it keeps serving"]);
  const text = renderComment([s]);
  assert.doesNotMatch(text, /slow|fast/, "environment values are never shown");
});

test("new-deployment: traffic to a deployment that does not exist yet is a warning", () => {
  const s = summary("new-deployment");
  const red = s.endpoints[0]!.deployments.find((d) => d.name === "red")!;
  assert.equal(red.op, "create");
  assert.deepEqual(red.traffic, { before: 0, after: 10 });
  assert.deepEqual(red.model, { before: undefined, after: "regression:2" });
  assert.match(s.warnings.join("\n"), /traffic moves to my-endpoint\/red \(10%\), which does not exist yet/);
});

test("delete: an endpoint deleted while it serves traffic is a warning", () => {
  const s = summary("delete");
  const gone = s.endpoints.find((e) => e.name === "my-endpoint")!;
  assert.equal(gone.op, "delete");
  assert.ok(gone.deployments.every((d) => d.op === "delete"));
  assert.match(s.warnings.join("\n"), /endpoint my-endpoint is deleted while it serves traffic \(blue 90%, green 10%\)/);
  assert.doesNotMatch(s.warnings.join("\n"), /renamed-endpoint\/blue.*does not exist yet/, "a new endpoint's first split is no warning");
});

test("invalid-spec: the spec error is rendered with file:line:col, nothing previewed", () => {
  const s = summary("invalid-spec");
  assert.equal(s.errors.length, 1);
  assert.match(s.errors[0]!, /stacks\/\.mp-prev-stack\/green\.yml:\d+:\d+: error: .*instance_count/);
  const text = renderComment([s]);
  assert.match(text, /preview failed/);
  assert.match(text, /green\.yml:\d+:\d+/);
});

test("output that is not JSON becomes an error, not a crash", () => {
  const s = summarizePreview("dev", parsePreviewJson("", "error: no stack named 'nope' found"));
  assert.deepEqual(s.errors, ["no stack named 'nope' found"]);
});

test("a replaced modelplane server is listed and warned about; without that step there is no such warning", () => {
  const json = parsePreviewJson(readFileSync(path.join(FIX, "traffic-change.json"), "utf8"));
  const server = {
    op: "replace",
    urn: "urn:pulumi:s::modelplane::modelplane:index:ControlPlane$pulumi-nodejs:dynamic/modelplane:DockerContainer::control-plane-server",
    oldState: { inputs: { labels: { "modelplane.role": "control-plane" } } },
    newState: { inputs: { labels: { "modelplane.role": "control-plane" } } },
  };
  const without = { ...json, steps: (json.steps ?? []).filter((st) => !st.urn.includes("control-plane")) };
  assert.deepEqual(summarizePreview("dev", without, { state }).warnings, []);
  const s = summarizePreview("dev", { ...without, steps: [...without.steps, server] }, { state });
  assert.deepEqual(s.others, [{ name: "control-plane-server", kind: "DockerContainer", op: "replace" }]);
  assert.match(s.warnings.join("\n"), /the modelplane server \(gateway and management API\) is replaced: every endpoint of the stack answers nothing while it restarts/);
});
