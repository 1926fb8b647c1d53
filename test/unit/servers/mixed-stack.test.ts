import assert from "node:assert/strict";
import * as path from "node:path";
import { test } from "node:test";
import { loadStack } from "../../../src/spec/loader";
import { planServer } from "../../../src/servers/plan";

const root = path.resolve(__dirname, "../../..");

test("stacks/mixed: one endpoint whose custom, mlflow, triton and byoc deployments all plan on Docker", async () => {
  const stack = await loadStack(path.join(root, "stacks/mixed"));
  assert.deepEqual(stack.diagnostics.filter((d) => d.severity === "error"), []);
  assert.deepEqual(stack.endpoints.map((e) => e.name), ["mixed-endpoint"]);
  const servers: Record<string, [string, string, number]> = {};
  for (const d of stack.deployments) {
    const r = planServer(d);
    assert.ok(r.ok, r.ok ? "" : r.problems.join("\n"));
    servers[d.name] = [r.plan.image.kind, r.plan.routes.scoring, r.plan.port];
  }
  assert.deepEqual(servers, {
    byoc: ["byoc", "/predict", 8080],
    custom: ["custom-server", "/score", 5001],
    mlflow: ["mlflow-server", "/score", 5001],
    triton: ["triton-server", "/v2/models/add_sub/infer", 8000],
  });
});
