import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { describe, test } from "node:test";
import { CPU_IMAGE_BACKENDS, backendProblems, parseTritonConfig, requiredBackend, tritonImageProblems } from "../../../src/servers/triton-config";
import { tritonModels } from "../../../src/servers/triton";

const root = path.resolve(__dirname, "../../..");
const ADD_SUB = path.join(root, "examples/triton/models");
const DENSENET = path.join(root, "test/fixtures/triton-densenet/models");

describe("Triton config.pbtxt backend check", () => {
  test("reads top-level platform/backend with their lines, not nested or commented ones", () => {
    const text = ['# backend: "commented"', 'name: "m"', "parameters {", '  key: "backend"', '  value: { string_value: "x" }', "}", 'input [ { name: "a{b" } ]', 'platform: "onnxruntime_onnx"'].join("\n");
    const c = parseTritonConfig(text, "m", "/r/m/config.pbtxt");
    assert.deepEqual(c.platform, { value: "onnxruntime_onnx", line: 8 });
    assert.equal(c.backend, undefined);
    assert.equal(requiredBackend(c), "onnxruntime");
    assert.equal(requiredBackend(parseTritonConfig('backend: "python"\nplatform: "onnxruntime_onnx"', "m", "f")), "python", "backend wins over platform");
    assert.equal(requiredBackend(parseTritonConfig('platform: "ensemble"', "m", "f")), "ensemble");
    assert.equal(requiredBackend(parseTritonConfig('name: "m"', "m", "f")), undefined);
  });

  test("the shipped python-backend model passes on the CPU image", () => {
    assert.deepEqual(backendProblems(ADD_SUB, tritonModels(ADD_SUB), CPU_IMAGE_BACKENDS, "triton"), []);
  });

  test("the corpus layout (ONNX DenseNet) is refused on the CPU image with file:line, field and fix", () => {
    assert.deepEqual(tritonModels(DENSENET), ["densenet_onnx"]);
    const problems = backendProblems(DENSENET, ["densenet_onnx"], CPU_IMAGE_BACKENDS, "blue");
    assert.equal(problems.length, 1);
    assert.equal(
      problems[0],
      `${path.join(DENSENET, "densenet_onnx/config.pbtxt")}:5: model "densenet_onnx" needs the Triton "onnxruntime" backend (platform: "onnxruntime_onnx"), which the CPU image built from the local base does not carry (it has: python) (deployment "blue"). ` +
        "Fix: set the stack config modelplane:tritonImage to an official Triton image (e.g. auto with a reachable nvcr.io, or a mirror of nvcr.io/nvidia/tritonserver), or use a python-backend model.",
    );
    assert.deepEqual(backendProblems(DENSENET, ["densenet_onnx"], new Set(["onnxruntime", "python"]), "blue"), [], "an official image carries it");
  });

  test("a model without backend or platform, and an unreadable config, are explained", () => {
    const p = backendProblems(path.join(root, "test/fixtures"), ["no-such-model"], CPU_IMAGE_BACKENDS, "blue");
    assert.equal(p.length, 1);
    assert.match(p[0]!, /no-such-model\/config\.pbtxt: cannot read/);
    const repo = mkdtempSync(path.join(tmpdir(), "triton-repo-"));
    try {
      mkdirSync(path.join(repo, "bare"));
      writeFileSync(path.join(repo, "bare", "config.pbtxt"), 'name: "bare"\n');
      assert.deepEqual(backendProblems(repo, ["bare"], CPU_IMAGE_BACKENDS, "blue"), [
        `${path.join(repo, "bare", "config.pbtxt")}: model "bare" names neither backend nor platform; add e.g. backend: "python" (deployment "blue")`,
      ]);
    } finally {
      rmSync(repo, { recursive: true, force: true });
    }
  });
});

describe("tritonImageProblems", () => {
  test("the official image takes any backend; the local CPU build only python", () => {
    const root2 = path.resolve(__dirname, "../../..");
    const densenet = path.join(root2, "test/fixtures/triton-densenet/models");
    assert.deepEqual(tritonImageProblems("official", densenet, ["densenet_onnx"], "blue"), []);
    const local = tritonImageProblems("local", densenet, ["densenet_onnx"], "blue");
    assert.equal(local.length, 1);
    assert.match(local[0]!, /config\.pbtxt:5: model "densenet_onnx" needs the Triton "onnxruntime" backend/);
    assert.deepEqual(tritonImageProblems("local", path.join(root2, "examples/triton/models"), ["add_sub"], "blue"), []);
  });
});
