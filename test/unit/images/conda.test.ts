import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import * as path from "node:path";
import { describe, test } from "node:test";
import { CONDA_ONLY_PACKAGES, CondaFileError, condaToRequirements } from "../../../src/images/conda";
import { renderRequirements, splitServerRequirement } from "../../../src/images/custom-server";

const root = path.resolve(__dirname, "../../..");

function conv(text: string, targetPython?: string) {
  return condaToRequirements(text, { file: "env/conda.yaml", ...(targetPython ? { targetPython } : {}) });
}

function expectError(text: string, check: (e: CondaFileError) => void): void {
  assert.throws(
    () => conv(text),
    (e: unknown) => {
      assert.ok(e instanceof CondaFileError, `expected CondaFileError, got ${String(e)}`);
      assert.equal(e.file, "env/conda.yaml");
      assert.match(e.message, /^env\/conda\.yaml(:\d+)?: .+ Fix: .+/);
      check(e);
      return true;
    },
  );
}

describe("condaToRequirements", () => {
  test("model-1 conda file: conda pins become ==, python and pip are dropped, pip section kept as-is", () => {
    const file = path.join(root, "examples/model-1/environment/conda.yaml");
    const r = condaToRequirements(readFileSync(file, "utf8"), { file });
    assert.deepEqual(r.requirements, [
      "numpy==2.3.1",
      "scikit-learn==1.7.0",
      "scipy==1.16.0",
      "azureml-inference-server-http==1.4.1",
      "inference-schema[numpy-support]",
      "joblib",
    ]);
    assert.equal(r.pythonVersion, "3.12");
    assert.deepEqual(
      r.dropped.map((d) => d.spec),
      ["python=3.12", "pip=25.1.1"],
    );
    // python=3.12 against the 3.11 base is a warning (with file and line), not an error.
    assert.equal(r.warnings.length, 1);
    assert.match(r.warnings[0] ?? "", /conda\.yaml:5: dependencies\[0\]: pins python 3\.12 .* Python 3\.11/);
  });

  test("managed-identity conda file keeps its unpinned and pinned pip lines", () => {
    const file = path.join(root, "examples/model-1/environment/conda-managedidentity.yaml");
    const r = condaToRequirements(readFileSync(file, "utf8"), { file });
    assert.deepEqual(r.requirements.slice(3), [
      "azureml-inference-server-http",
      "joblib==1.5.1",
      "azure-storage-blob==12.25.1",
      "azure-identity==1.23.0",
    ]);
  });

  test("no python warning when the pin matches the target interpreter", () => {
    const r = conv("dependencies:\n  - python=3.11.4\n  - numpy\n");
    assert.deepEqual(r.warnings, []);
    assert.equal(r.pythonVersion, "3.11");
    assert.deepEqual(r.requirements, ["numpy"]);
    assert.equal(conv("dependencies:\n  - python=3.12\n", "3.12").warnings.length, 0);
  });

  test("spec forms: channel prefix, ==, ranges, space-separated, build strings, wildcards", () => {
    const r = conv(
      [
        "dependencies:",
        "  - conda-forge::pandas=2.2.3",
        "  - requests==2.32.3",
        "  - pyarrow>=15,<18",
        "  - lightgbm 4.5.0",
        "  - numpy=2.3.1=py312h58c1407_0",
        "  - Flask=3.*",
        "  - tqdm",
      ].join("\n"),
    );
    assert.deepEqual(r.requirements, ["pandas==2.2.3", "requests==2.32.3", "pyarrow>=15,<18", "lightgbm==4.5.0", "numpy==2.3.1", "flask==3.*", "tqdm"]);
    assert.ok(r.warnings.some((w) => /build string 'py312h58c1407_0'/.test(w)));
  });

  test("conda-only packages are dropped with a warning; common renames are mapped", () => {
    const r = conv("dependencies:\n  - mkl=2024.0\n  - cudatoolkit=11.8\n  - _libgcc_mutex\n  - pytorch=2.3.1\n  - py-xgboost>=2\n  - matplotlib-base\n");
    assert.deepEqual(r.requirements, ["torch==2.3.1", "xgboost>=2", "matplotlib"]);
    assert.deepEqual(
      r.dropped.map((d) => d.spec),
      ["mkl=2024.0", "cudatoolkit=11.8", "_libgcc_mutex"],
    );
    assert.equal(r.warnings.filter((w) => /dropped/.test(w)).length, 3);
    for (const p of ["python", "pip", "openssl", "libgcc-ng"]) assert.ok(CONDA_ONLY_PACKAGES.has(p), p);
  });

  test("pip options and URLs in the pip section pass through untouched", () => {
    const r = conv("dependencies:\n  - pip:\n    - --extra-index-url https://example.org/simple\n    - 'mypkg @ https://example.org/mypkg-1.0-py3-none-any.whl'\n");
    assert.deepEqual(r.requirements, ["--extra-index-url https://example.org/simple", "mypkg @ https://example.org/mypkg-1.0-py3-none-any.whl"]);
  });

  test("malformed YAML names the file and line", () => {
    expectError("name: x\ndependencies:\n  - numpy\n   - scipy: [\n", (e) => {
      assert.equal(e.field, "(yaml)");
      assert.equal(typeof e.line, "number");
    });
  });

  test("missing or non-list dependencies", () => {
    expectError("name: x\nchannels: [conda-forge]\n", (e) => assert.equal(e.field, "dependencies"));
    expectError("name: x\ndependencies: numpy\n", (e) => {
      assert.equal(e.field, "dependencies");
      assert.equal(e.line, 2);
      assert.match(e.fix, /- /);
    });
    expectError("- numpy\n", (e) => assert.equal(e.field, "(root)"));
  });

  test("bad entries name the field and line", () => {
    expectError("dependencies:\n  - numpy\n  - 3\n", (e) => {
      assert.equal(e.field, "dependencies[1]");
      assert.equal(e.line, 3);
    });
    expectError("dependencies:\n  - numpy\n  - conda: [x]\n", (e) => {
      assert.equal(e.field, "dependencies[1]");
      assert.match(e.problem, /'conda'/);
    });
    expectError("dependencies:\n  - pip: joblib\n", (e) => assert.equal(e.field, "dependencies[0].pip"));
    expectError("dependencies:\n  - pip:\n    - joblib\n    - {a: 1}\n", (e) => {
      assert.equal(e.field, "dependencies[0].pip[1]");
      assert.equal(e.line, 4);
    });
    expectError("dependencies:\n  - numpy[version='>=1.2']\n", (e) => assert.equal(e.field, "dependencies[0]"));
    expectError("dependencies:\n  - numpy 1.2|1.3\n", (e) => assert.match(e.problem, /conda-only syntax/));
  });
});

describe("splitServerRequirement", () => {
  test("an exact pin chooses the server version and leaves the requirements", () => {
    assert.deepEqual(splitServerRequirement(["numpy==2.3.1", "azureml-inference-server-http==1.4.1", "joblib"]), {
      serverVersion: "1.4.1",
      requirements: ["numpy==2.3.1", "joblib"],
    });
  });
  test("an unpinned mention is dropped; other constraints stay for pip", () => {
    assert.deepEqual(splitServerRequirement(["azureml-inference-server-http", "x"]), { requirements: ["x"] });
    assert.deepEqual(splitServerRequirement(["azureml_inference_server_http>=1.3"]), { requirements: ["azureml_inference_server_http>=1.3"] });
  });
  test("rendered requirements carry no paths (identical inputs hash identically)", () => {
    assert.equal(renderRequirements(["a==1"]), "# generated by modelplane from the deployment's conda file\na==1\n");
  });
});
