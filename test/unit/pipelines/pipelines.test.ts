// The pipeline library's spec edits on temp checkouts (registerModel, addDeployment, shiftTraffic)
// and its pure parts (versions, registry entries, traffic shifts, line splitting, error mapping).
import { afterEach, beforeEach, test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { parse } from "yaml";
import { addDeployment, addModelEntry, copyDeployment, nextVersion, PipelineError, promote, registerModel, shiftSplit, shiftTraffic } from "../../../src/pipelines";
import { lineSplitter } from "../../../src/pipelines/workspace";
import { loadStack } from "../../../src/spec";

let root: string;
const dev = (f: string) => path.join(root, "stacks/dev", f);

beforeEach(() => {
  root = mkdtempSync(path.join(tmpdir(), "mp-pipelines-"));
  for (const d of ["model-1", "models/new/model", "code", "env", "stacks/dev"]) mkdirSync(path.join(root, d), { recursive: true });
  writeFileSync(path.join(root, "env/conda.yaml"), "name: x\ndependencies:\n  - python=3.11\n  - pip:\n    - azureml-inference-server-http\n");
  writeFileSync(path.join(root, "code/score.py"), "def init():\n    pass\n\ndef run(raw):\n    return []\n");
  writeFileSync(path.join(root, "model-1/model.pkl"), "m1");
  writeFileSync(path.join(root, "models/new/model/model.pkl"), "new");
  writeFileSync(dev("endpoint.yml"), "name: my-endpoint\nauth_mode: key\n# the split\ntraffic:\n  blue: 90\n  green: 10\n");
  for (const n of ["blue", "green"]) {
    writeFileSync(dev(`${n}.yml`), `# ${n} runs model-1\nname: ${n}\nendpoint_name: my-endpoint\nmodel:\n  path: ../../model-1/\ncode_configuration:\n  code: ../../code/\n  scoring_script: score.py\nenvironment:\n  conda_file: ../../env/conda.yaml\ninstance_type: Standard_DS3_v2\ninstance_count: 3\n`);
  }
});

afterEach(() => rmSync(root, { recursive: true, force: true }));

test("nextVersion is one more than the highest numeric version of that name", () => {
  assert.equal(nextVersion([], "m"), "1");
  assert.equal(nextVersion([{ name: "m", version: 3 }, { name: "m", version: "10" }, { name: "other", version: 99 }], "m"), "11");
});

test("addModelEntry appends (comments kept), is idempotent for the same path, refuses another path", () => {
  const text = "# registry\nmodels:\n  - name: m\n    version: 1\n    path: a\n";
  const r = addModelEntry(text, "registry.yml", { name: "m", version: "2", path: "b", type: "custom_model" });
  assert.ok(r.added);
  assert.match(r.text, /^# registry/);
  assert.deepEqual((parse(r.text) as { models: unknown[] }).models[1], { name: "m", version: "2", path: "b", type: "custom_model" });
  assert.deepEqual(addModelEntry(r.text, "registry.yml", { name: "m", version: "2", path: "b", type: "custom_model" }), { text: r.text, added: false });
  assert.throws(() => addModelEntry(r.text, "registry.yml", { name: "m", version: "2", path: "c", type: "custom_model" }), /registry\.yml: model m version 2 is already registered with path "b", not "c": registered versions do not change/);
  assert.throws(() => addModelEntry("models: 3\n", "r.yml", { name: "m", version: "1", path: "a", type: "custom_model" }), /r\.yml: models is not a list/);
});

test("registerModel creates the registry with a relative path, then gives the next version; the specs resolve the reference", async () => {
  const lines: string[] = [];
  const m1 = await registerModel({ stack: "dev", name: "cand", path: path.join(root, "models/new/model") }, { root, onOutput: (l) => lines.push(l) });
  assert.deepEqual([m1.version, m1.reference, m1.added], ["1", "azureml:cand:1", true]);
  assert.deepEqual((parse(readFileSync(dev("registry.yml"), "utf8")) as { models: unknown[] }).models, [{ name: "cand", version: "1", path: "../../models/new/model", type: "custom_model" }]);
  assert.match(lines[0]!, /^registered model cand:1 \(\.\.\/\.\.\/models\/new\/model\)/);
  const m2 = await registerModel({ stack: "dev", name: "cand", path: path.join(root, "model-1") }, { root });
  assert.equal(m2.version, "2");
  await addDeployment({ stack: "dev", endpoint: "my-endpoint", name: "cand", copyOf: "blue", model: m2.reference }, { root });
  const spec = await loadStack(path.join(root, "stacks/dev"));
  assert.deepEqual(spec.diagnostics.filter((d) => d.severity === "error"), []);
  const d = spec.deployments.find((x) => x.name === "cand");
  assert.equal(d?.model?.path, path.join(root, "model-1"));
  await assert.rejects(registerModel({ stack: "dev", name: "cand", path: path.join(root, "nope") }, { root }), /model path .*nope does not exist/);
  await assert.rejects(registerModel({ stack: "stage", name: "cand", path: path.join(root, "model-1") }, { root }), (e: Error) => e instanceof PipelineError && /stack "stage" has no spec folder/.test(e.message));
});

test("addDeployment copies the sibling with the new name and model, adds it at 0 %, and is idempotent", async () => {
  const r = await addDeployment({ stack: "dev", endpoint: "my-endpoint", name: "cand", copyOf: "blue", model: "azureml:cand:1" }, { root });
  assert.deepEqual(r.traffic, { blue: 90, green: 10, cand: 0 });
  const text = readFileSync(dev("cand-deployment.yml"), "utf8");
  assert.match(text, /^# blue runs model-1\nname: cand\n/);
  assert.equal((parse(text) as { model: string; instance_count: number }).model, "azureml:cand:1");
  assert.equal((parse(text) as { instance_count: number }).instance_count, 3);
  assert.match(readFileSync(dev("endpoint.yml"), "utf8"), /# the split\ntraffic:\n {2}blue: 90\n {2}green: 10\n {2}cand: 0\n/);
  const again = await addDeployment({ stack: "dev", endpoint: "my-endpoint", name: "cand", copyOf: "blue", model: "azureml:cand:1" }, { root });
  assert.deepEqual(again.files, []);
  await assert.rejects(addDeployment({ stack: "dev", endpoint: "my-endpoint", name: "cand", copyOf: "blue", model: "azureml:cand:2" }, { root }), /already has deployment my-endpoint\/cand .* running "azureml:cand:1", not azureml:cand:2: pick another name/);
  await assert.rejects(addDeployment({ stack: "dev", endpoint: "my-endpoint", name: "x", copyOf: "red", model: "azureml:cand:1" }, { root }), /has no deployment "red" to copy \(it has: blue, cand, green\)/);
  await assert.rejects(addDeployment({ stack: "dev", endpoint: "other", name: "x", copyOf: "blue", model: "azureml:cand:1" }, { root }), /has no online endpoint "other" .*\(it has: my-endpoint\)/);
});

test("copyDeployment keeps every other field", () => {
  const out = parse(copyDeployment("name: blue\nendpoint_name: e\nmodel:\n  path: x\ninstance_count: 2\n", "f.yml", "c", "azureml:m:1")) as Record<string, unknown>;
  assert.deepEqual(out, { name: "c", endpoint_name: "e", model: "azureml:m:1", instance_count: 2 });
  assert.throws(() => copyDeployment("- a\n", "f.yml", "c", "m"), /f\.yml does not parse as a YAML map/);
});

test("shiftSplit takes the difference from the largest others first, and gives it back", () => {
  assert.deepEqual(shiftSplit({ blue: 90, green: 10, cand: 0 }, "cand", 10), { blue: 80, green: 10, cand: 10 });
  assert.deepEqual(shiftSplit({ blue: 5, green: 5, cand: 0 }, "cand", 8), { blue: 0, green: 2, cand: 8 });
  assert.deepEqual(shiftSplit({ blue: 80, cand: 20 }, "cand", 10), { blue: 90, cand: 10 });
  assert.deepEqual(shiftSplit({ blue: 100 }, "cand", 100), { blue: 0, cand: 100 });
  assert.throws(() => shiftSplit({ blue: 100 }, "cand", 101), /traffic percent 101 for "cand" is not a whole number from 0 to 100/);
  assert.throws(() => shiftSplit({}, "cand", 10), /"cand" is the endpoint's only deployment: its traffic can only be 100, not 10/);
});

test("shiftTraffic rewrites only the split and refuses an unknown deployment", async () => {
  const lines: string[] = [];
  const r = await shiftTraffic({ stack: "dev", endpoint: "my-endpoint", deployment: "green", percent: 30 }, { root, onOutput: (l) => lines.push(l) });
  assert.deepEqual(r.traffic, { blue: 70, green: 30 });
  assert.equal(readFileSync(dev("endpoint.yml"), "utf8"), "name: my-endpoint\nauth_mode: key\n# the split\ntraffic:\n  blue: 70\n  green: 30\n");
  assert.deepEqual(lines, ["traffic of my-endpoint in stack dev: blue=90 green=10 -> blue=70 green=30"]);
  await assert.rejects(shiftTraffic({ stack: "dev", endpoint: "my-endpoint", deployment: "cand", percent: 10 }, { root }), /has no deployment "cand" \(it has: blue, green\): add it first/);
  assert.ok(!existsSync(dev("cand-deployment.yml")));
});

test("lineSplitter emits whole lines across chunks and the rest on flush", () => {
  const got: string[] = [];
  const s = lineSplitter((l) => got.push(l));
  s.push("a\nb");
  s.push("c\r\nd");
  assert.deepEqual(got, ["a", "bc"]);
  s.flush();
  assert.deepEqual(got, ["a", "bc", "d"]);
});

test("promote maps the CLI's refusal to a PipelineError with the reason and the output", async () => {
  await assert.rejects(promote({ from: "dev", to: "dev" }, { root }), (e: Error) => {
    assert.ok(e instanceof PipelineError);
    assert.match(e.message, /^promote dev -> dev refused: --from and --to are both "dev": promote from one stack to another/);
    assert.ok(e.output.length > 0);
    return true;
  });
});
