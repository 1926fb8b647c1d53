import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { compareReleases, raiseUnbuildablePins } from "../../../src/images/wheel-pins";

describe("raiseUnbuildablePins", () => {
  it("the heart-classifier model's pins: scikit-learn 1.1.2 -> 1.1.3 (first cp311 wheel), numpy<2 added, the rest kept", () => {
    const r = raiseUnbuildablePins(["cloudpickle==1.6.0", "scikit-learn==1.1.2", "xgboost==1.3.3"]);
    assert.deepEqual(r.requirements, ["cloudpickle==1.6.0", "scikit-learn==1.1.3", "xgboost==1.3.3", "numpy<2"]);
    assert.deepEqual(r.notes, [
      "scikit-learn==1.1.2 has no wheel for Python 3.11 (the first is 1.1.3): installing scikit-learn==1.1.3",
      "scikit-learn==1.1.3 was built against NumPy 1 (NumPy 2 needs scikit-learn>=1.4.2): adding numpy<2",
    ]);
  });
  it("installable pins and ranges are left alone, and so is a model that pins numpy itself", () => {
    assert.deepEqual(raiseUnbuildablePins(["scikit-learn==1.7.0", "numpy==2.3.1", "pandas>=1.0"]), { requirements: ["scikit-learn==1.7.0", "numpy==2.3.1", "pandas>=1.0"], notes: [] });
    const pinned = raiseUnbuildablePins(["Scikit_Learn==1.0.2", "numpy==1.21.0"]);
    assert.deepEqual(pinned.requirements, ["Scikit_Learn==1.1.3", "numpy==1.23.2"]);
    assert.equal(pinned.notes.length, 2);
  });
  it("another interpreter has no wheel table: the pin is kept, the NumPy 1 cap still applies", () => {
    const r = raiseUnbuildablePins(["scikit-learn==1.1.2"], "3.8");
    assert.deepEqual(r.requirements, ["scikit-learn==1.1.2", "numpy<2"]);
    assert.equal(r.notes.length, 1);
  });
  it("compareReleases orders numerically", () => {
    assert.ok(compareReleases("1.1.10", "1.1.3") > 0);
    assert.ok(compareReleases("1.1", "1.1.0") === 0);
    assert.ok(compareReleases("0.24.2", "1.1.3") < 0);
  });
});
