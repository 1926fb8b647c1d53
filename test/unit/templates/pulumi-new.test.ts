// The `pulumi new` template (templates/pulumi-new/modelplane-endpoint): its Pulumi.yaml template
// section and prompts, dependencies pinned to the checkout's versions (the generated project's
// program and modelplane's code share one @pulumi/pulumi and tsx behaviour), and specs that validate.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import * as path from "node:path";
import { parse } from "yaml";
import { loadStack } from "../../../src/spec";
import { loadVerifyDir } from "../../../src/verify";

const ROOT = path.resolve(__dirname, "../../..");
const TEMPLATE = path.join(ROOT, "templates/pulumi-new/modelplane-endpoint");

test("Pulumi.yaml: a nodejs TypeScript project with a template section and config prompts with defaults", () => {
  const p = parse(readFileSync(path.join(TEMPLATE, "Pulumi.yaml"), "utf8")) as { name: string; runtime: { name: string; options: { typescript: boolean } }; template: { description: string; config: Record<string, { description: string; default: string }> } };
  assert.equal(p.name, "${PROJECT}");
  assert.deepEqual(p.runtime, { name: "nodejs", options: { typescript: true } });
  assert.ok(p.template.description.length > 20);
  assert.equal(p.template.config["modelplane:target"]?.default, "docker");
  assert.equal(p.template.config["modelplane:specDir"]?.default, "specs");
  for (const [k, v] of Object.entries(p.template.config)) assert.ok(v.description && v.default !== undefined, `${k} has a description and a default (pulumi new --yes takes it)`);
});

test("package.json pins @pulumi/pulumi, tsx, typescript and @types/node to the checkout's versions", () => {
  const root = JSON.parse(readFileSync(path.join(ROOT, "package.json"), "utf8")) as { dependencies: Record<string, string>; devDependencies: Record<string, string> };
  const t = JSON.parse(readFileSync(path.join(TEMPLATE, "package.json"), "utf8")) as { dependencies: Record<string, string>; devDependencies: Record<string, string> };
  const all = { ...root.dependencies, ...root.devDependencies };
  const pinned = { ...t.dependencies, ...t.devDependencies };
  assert.deepEqual(Object.keys(pinned).sort(), ["@pulumi/pulumi", "@types/node", "tsx", "typescript"]);
  for (const [name, version] of Object.entries(pinned)) assert.equal(version, all[name], `${name} in the template`);
});

test("the template's specs validate: one endpoint, one deployment, all its traffic; its verify file names them", async () => {
  const spec = await loadStack(path.join(TEMPLATE, "specs"));
  assert.deepEqual(spec.diagnostics.filter((d) => d.severity === "error"), []);
  assert.deepEqual(spec.endpoints.map((e) => [e.name, e.traffic]), [["my-endpoint", { blue: 100 }]]);
  assert.deepEqual(spec.deployments.map((d) => [d.name, d.endpoint_name]), [["blue", "my-endpoint"]]);
  const v = loadVerifyDir(path.join(TEMPLATE, "specs/verify"), (d) => readdirSync(d), (p) => readFileSync(p, "utf8"));
  assert.deepEqual(v.problems, []);
  assert.deepEqual(v.checks.map((c) => [c.endpoint, c.deployment, c.body]), [["my-endpoint", "blue", readFileSync(path.join(TEMPLATE, "sample-request.json"), "utf8")]]);
});
