import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { describe, it } from "node:test";
import { livenessHealthcheck, PROBE_STATE, PROBE_TARGET, probeBind, probeBinaryPath, probeSourceHash } from "../../../src/providers/docker/probe";

const ROOT = path.resolve(__dirname, "../../..");

describe("livenessHealthcheck", () => {
  it("Azure's defaults: every 10 s after a 10 s start period, GET timeout 2 s (+1 s for the exec), 30 failures", () => {
    assert.deepEqual(livenessHealthcheck({ initial_delay: 10, period: 10, timeout: 2, success_threshold: 1, failure_threshold: 30 }, "/", 5001), {
      test: [PROBE_TARGET, "--url", "http://127.0.0.1:5001/", "--timeout", "2s", "--failures", "30", "--initial-delay", "10s", "--state", PROBE_STATE],
      intervalS: 10,
      timeoutS: 3,
      retries: 30,
      startPeriodS: 10,
    });
  });
  it("custom values and a route without its leading slash", () => {
    assert.deepEqual(livenessHealthcheck({ initial_delay: 0, period: 1, timeout: 1, success_threshold: 1, failure_threshold: 3 }, "v2/health/live", 8000), {
      test: ["/opt/modelplane/bin/modelplane-probe", "--url", "http://127.0.0.1:8000/v2/health/live", "--timeout", "1s", "--failures", "3", "--initial-delay", "0s", "--state", "/tmp/.modelplane-liveness"],
      intervalS: 1,
      timeoutS: 2,
      retries: 3,
      startPeriodS: 0,
    });
  });
  it("probeBind mounts the binary read-only at PROBE_TARGET", () => {
    assert.deepEqual(probeBind("/cache/tools/modelplane-probe-x"), { source: "/cache/tools/modelplane-probe-x", target: PROBE_TARGET, readOnly: true });
  });
});

describe("probeBinaryPath", () => {
  it("is the build of the current source in $MODELPLANE_CACHE/tools, with set-up's hash", () => {
    const script = `cd ${JSON.stringify(path.join(ROOT, "tools/liveness-probe"))} && cat go.mod main.go | sha256sum | cut -c1-16`;
    assert.equal(probeSourceHash(), execFileSync("bash", ["-c", script], { encoding: "utf8" }).trim());
    const cache = fs.mkdtempSync(path.join(os.tmpdir(), "modelplane-probe-"));
    const bin = path.join(cache, "tools", `modelplane-probe-${probeSourceHash()}`);
    fs.mkdirSync(path.dirname(bin));
    fs.writeFileSync(bin, "", { mode: 0o755 });
    assert.equal(probeBinaryPath({ MODELPLANE_CACHE: cache }), bin);
    fs.rmSync(cache, { recursive: true });
  });
  it("missing: the error names the file and the fix", () => {
    assert.throws(() => probeBinaryPath({ MODELPLANE_CACHE: "/nonexistent" }), {
      message: `the liveness probe binary /nonexistent/tools/modelplane-probe-${probeSourceHash()} is missing (it is built from tools/liveness-probe by set-up); run \`bash scripts/setup.sh\``,
    });
    assert.throws(() => probeBinaryPath({ MODELPLANE_PROBE_BIN: "/nonexistent/probe" }), /run `bash scripts\/setup.sh` or fix MODELPLANE_PROBE_BIN/);
  });
});
