import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { wholeNumber } from "../../../src/server/cli";
import { checkServerOptions, serverLimitFlags, serverLimitProblems } from "../../../src/server/limits";
import { runCli } from "../../../src/cli/main";

describe("server options", () => {
  it("reads whole-number flags strictly and names the flag in the error", () => {
    assert.equal(wholeNumber(undefined, "--body-limit-bytes", "1048576"), undefined);
    assert.equal(wholeNumber("1048576", "--body-limit-bytes", "1048576"), 1048576);
    assert.equal(wholeNumber("0", "--body-limit-bytes", "1048576"), 0);
    for (const bad of ["", "10MB", "1e6", "-1", " 5", "5.5", "abc"]) {
      assert.throws(() => wholeNumber(bad, "--body-limit-bytes", "1048576"), { message: `--body-limit-bytes must be a whole number, got ${JSON.stringify(bad)}; write it without units, e.g. --body-limit-bytes 1048576` });
    }
  });

  it("refuses limits the server could not keep, quoting the field, the value and the fix", () => {
    checkServerOptions({});
    checkServerOptions({ bodyLimitBytes: 0, clientRequestTimeoutMs: 1000 });
    for (const bad of [Number.NaN, -1, 1.5, Infinity]) {
      assert.throws(() => checkServerOptions({ bodyLimitBytes: bad }), { message: `bodyLimitBytes: ${bad} is not a whole number of bytes; give 0 or more (default 104857600)` });
    }
    checkServerOptions({ bodyBudgetBytes: 104857600 });
    checkServerOptions({ bodyLimitBytes: 10, bodyBudgetBytes: 10 });
    for (const [limit, bad] of [[undefined, 104857599], [undefined, Number.NaN], [10, 9], [10, 10.5], [0, -1]] as const) {
      const shown = limit ?? 104857600;
      assert.throws(() => checkServerOptions({ bodyLimitBytes: limit, bodyBudgetBytes: bad }), {
        message: `bodyBudgetBytes: ${bad} is not a whole number of bytes of at least bodyLimitBytes (${shown}); a body at the limit must fit, so give ${shown} or more, or lower bodyLimitBytes (default 1073741824)`,
      });
    }
    checkServerOptions({ responseLimitBytes: 1 });
    for (const bad of [Number.NaN, 0, -1, 1.5, Infinity]) {
      assert.throws(() => checkServerOptions({ responseLimitBytes: bad }), { message: `responseLimitBytes: ${bad} is not a whole number of bytes of at least 1; give the largest model answer to accept (default 104857600)` });
    }
    for (const bad of [Number.NaN, 999, 1500.5, -1000]) {
      assert.throws(() => checkServerOptions({ clientRequestTimeoutMs: bad }), { message: `clientRequestTimeoutMs: ${bad} is not a whole number of milliseconds of at least 1000; the layer checks timeouts once a second, so give 1000 or more` });
    }
    checkServerOptions({ maxConnections: 1 });
    for (const bad of [Number.NaN, 0, -5, 2.5, Infinity]) {
      assert.throws(() => checkServerOptions({ maxConnections: bad }), { message: `maxConnections: ${bad} is not a whole number of connections of at least 1; give how many clients may be connected at once (default 10000)` });
    }
  });

  it("lists every limit problem with its field, and turns set limits into the server's flags in one order", () => {
    assert.deepEqual(serverLimitProblems({}), []);
    assert.deepEqual(
      serverLimitProblems({ bodyLimitBytes: -1, bodyBudgetBytes: Number.NaN, responseLimitBytes: 0, clientRequestTimeoutMs: 5, maxConnections: 0 }).map((p) => p.field),
      ["bodyLimitBytes", "bodyBudgetBytes", "responseLimitBytes", "clientRequestTimeoutMs", "maxConnections"],
    );
    assert.deepEqual(serverLimitFlags({}), []);
    assert.deepEqual(serverLimitFlags({ clientRequestTimeoutMs: 60000, bodyLimitBytes: 0, bodyBudgetBytes: undefined }), ["--body-limit-bytes", "0", "--client-request-timeout-ms", "60000"]);
    assert.deepEqual(serverLimitFlags({ maxConnections: 5, bodyLimitBytes: 1, bodyBudgetBytes: 2, responseLimitBytes: 3, clientRequestTimeoutMs: 4000 }), [
      "--body-limit-bytes", "1", "--body-budget-bytes", "2", "--response-limit-bytes", "3", "--client-request-timeout-ms", "4000", "--max-connections", "5",
    ]);
  });

  it("`modelplane server` says what stopped the start and exits 1 (not an internal error), before creating state", async () => {
    const written: string[] = [];
    const orig = process.stderr.write;
    const token = process.env.MODELPLANE_MANAGEMENT_TOKEN;
    process.stderr.write = ((chunk: string) => written.push(String(chunk)) > 0) as typeof process.stderr.write;
    process.env.MODELPLANE_MANAGEMENT_TOKEN = "unit-test-token";
    try {
      const stateDir = "/nonexistent/modelplane-never-created";
      assert.equal(await runCli(["server", "--state-dir", stateDir, "--body-limit-bytes", "10MB"]), 1);
      assert.equal(await runCli(["server", "--state-dir", stateDir, "--client-request-timeout-ms", "500"]), 1);
      assert.equal(await runCli(["server", "--state-dir", stateDir, "--response-limit-bytes", "0"]), 1);
      assert.equal(await runCli(["server", "--state-dir", stateDir, "--body-limit-bytes", "2048", "--body-budget-bytes", "1024"]), 1);
      delete process.env.MODELPLANE_MANAGEMENT_TOKEN;
      assert.equal(await runCli(["server", "--state-dir", stateDir]), 1);
    } finally {
      process.stderr.write = orig;
      // runCli leaves the command's exit code on the process; this test process itself passed.
      process.exitCode = 0;
      if (token === undefined) delete process.env.MODELPLANE_MANAGEMENT_TOKEN;
      else process.env.MODELPLANE_MANAGEMENT_TOKEN = token;
    }
    assert.deepEqual(written, [
      'modelplane server: --body-limit-bytes must be a whole number, got "10MB"; write it without units, e.g. --body-limit-bytes 1048576\n',
      "modelplane server: clientRequestTimeoutMs: 500 is not a whole number of milliseconds of at least 1000; the layer checks timeouts once a second, so give 1000 or more\n",
      "modelplane server: responseLimitBytes: 0 is not a whole number of bytes of at least 1; give the largest model answer to accept (default 104857600)\n",
      "modelplane server: bodyBudgetBytes: 1024 is not a whole number of bytes of at least bodyLimitBytes (2048); a body at the limit must fit, so give 2048 or more, or lower bodyLimitBytes (default 1073741824)\n",
      "modelplane server: set MODELPLANE_MANAGEMENT_TOKEN to the management API's bearer token\n",
    ]);
  });
});
