// The verify folders of the checkout's stacks parse, and every request names an endpoint and
// deployments that the stack's own specs define (a renamed deployment must not leave a stale check).
import { test } from "node:test";
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import * as path from "node:path";
import { loadStack } from "../../../src/spec";
import { loadVerifyDir } from "../../../src/verify";

const ROOT = path.resolve(__dirname, "../../..");

for (const stack of ["dev", "stage", "prod"]) {
  test(`stacks/${stack}/verify matches stacks/${stack}'s endpoints and deployments`, async () => {
    const dir = path.join(ROOT, "stacks", stack);
    const verify = loadVerifyDir(path.join(dir, "verify"), (d) => readdirSync(d), (p) => readFileSync(p, "utf8"));
    assert.deepEqual(verify.problems, []);
    assert.ok(verify.checks.some((c) => !c.deployment), "a request through the split");
    const spec = await loadStack(dir);
    for (const c of verify.checks) {
      const endpoint = spec.endpoints.find((e) => e.name === c.endpoint);
      assert.ok(endpoint, `${c.where}: endpoint ${c.endpoint} is in stacks/${stack}`);
      if (c.deployment) assert.ok(spec.deployments.some((d) => d.name === c.deployment && d.endpoint_name === c.endpoint), `${c.where}: deployment ${c.deployment} of ${c.endpoint} is in stacks/${stack}`);
    }
  });
}
