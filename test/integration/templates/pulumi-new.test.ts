/**
 * The `pulumi new` template (templates/pulumi-new/modelplane-endpoint) as a new team uses it: in an
 * empty temp folder, `pulumi new <template> --yes` (its own local backend, `npm install` of the
 * template's package.json), then `pulumi up` of the generated project on the real Docker engine,
 * a scored request through its gateway (the model's real predictions), the pipeline library's
 * verify() on the generated project (its specs/verify), then destroy and stack rm. The stack is
 * `it-tpl-<pid>`; everything (stack, backend, containers, folder) is removed in `after`, even on failure.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { chmod, mkdir, mkdtemp, readdir, readFile, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import * as path from "node:path";
import execa from "execa";
import { parse } from "yaml";
import { REPO_ROOT } from "../harness/pulumi";
import { freePort, removeByLabel } from "../harness/docker";
import { verify } from "../../../src/pipelines";

const TEMPLATE = path.join(REPO_ROOT, "templates/pulumi-new/modelplane-endpoint");
const STACK = `it-tpl-${process.pid % 10000}`;
// examples/model-1's pickle on its sample request (the template carries copies of both).
const EXPECTED = [11055.977245525679, 4503.079536107787];
let tmp: string;
let dir: string;
let env: Record<string, string>;
let created: execa.ExecaReturnValue | undefined;
let up: execa.ExecaReturnValue | undefined;
let destroyed = false;

function pulumi(args: string[], timeout = 600_000): Promise<execa.ExecaReturnValue> {
  return execa("pulumi", [...args, "--non-interactive"], { cwd: dir, env, reject: false, all: true, timeout });
}

before(async () => {
  tmp = await mkdtemp(path.join(tmpdir(), "it-tpl-"));
  // mkdtemp makes it 0700 and pulumi new writes folders 0700: the program opens the project's
  // mounted folders to the instances' non-root user, the test opens its own temp folder.
  await chmod(tmp, 0o755);
  dir = path.join(tmp, "my-endpoint");
  env = {
    ...(process.env as Record<string, string>),
    PULUMI_BACKEND_URL: `file://${path.join(tmp, "backend")}`,
    PULUMI_CONFIG_PASSPHRASE: "modelplane-tests",
    PULUMI_CONFIG_PASSPHRASE_FILE: "",
    // The generated project finds modelplane here (scripts/env.sh exports it).
    MODELPLANE_ROOT: REPO_ROOT,
  };
  await mkdir(path.join(tmp, "backend"));
  created = await execa(
    "pulumi",
    ["new", TEMPLATE, "--yes", "--non-interactive", "--stack", STACK, "--dir", dir, "--name", "it-tpl-endpoint", "--description", "the template's test project",
      "--config", `modelplane:gatewayPort=${await freePort()}`, "--config", `modelplane:managementPort=${await freePort()}`],
    { cwd: tmp, env, reject: false, all: true, timeout: 900_000 },
  );
  if (created.exitCode === 0) up = await pulumi(["up", "--yes", "--skip-preview", "--stack", STACK], 1_800_000);
});

after(async () => {
  if (dir && existsSync(path.join(dir, "Pulumi.yaml"))) {
    if (!destroyed) await pulumi(["destroy", "--yes", "--skip-preview", "--stack", STACK]);
    await pulumi(["stack", "rm", "--yes", "--force", "--stack", STACK]);
  }
  await removeByLabel("modelplane.stack", STACK);
  if (tmp) await rm(tmp, { recursive: true, force: true });
  // Logs of instances removed after failing readiness (only when the up failed): this stack's only.
  const logs = path.join(process.env.MODELPLANE_STATE ?? path.join(REPO_ROOT, ".state"), "failed-instances");
  for (const f of await readdir(logs).catch(() => [] as string[])) if (f.startsWith(`modelplane-${STACK}-`)) await rm(path.join(logs, f), { force: true });
});

test("pulumi new gives a project with the template's files, its config answers and installed dependencies", async () => {
  assert.equal(created?.exitCode, 0, created?.all);
  const project = parse(await readFile(path.join(dir, "Pulumi.yaml"), "utf8")) as { name: string; description: string; template?: unknown };
  assert.equal(project.name, "it-tpl-endpoint");
  assert.equal(project.description, "the template's test project");
  assert.equal(project.template, undefined, "pulumi new drops the template: section");
  const config = (parse(await readFile(path.join(dir, `Pulumi.${STACK}.yaml`), "utf8")) as { config: Record<string, string> }).config;
  assert.equal(config["modelplane:target"], "docker");
  assert.equal(config["modelplane:specDir"], "specs");
  for (const f of ["index.ts", "modelplane.ts", "specs/endpoint.yml", "specs/blue-deployment.yml", "model/sklearn_regression_model.pkl", "node_modules/@pulumi/pulumi/package.json", "node_modules/tsx/package.json"]) {
    assert.ok(existsSync(path.join(dir, f)), `${f} in the new project`);
  }
  assert.match(await readFile(path.join(dir, "README.md"), "utf8"), /^# it-tpl-endpoint\n\nthe template's test project\n/);
});

test("pulumi up deploys the endpoint and it scores with the model's real predictions", async () => {
  assert.equal(up?.exitCode, 0, up?.all ?? created?.all);
  // pulumi new wrote these 0700; the program opened them to the instances' user.
  for (const d of ["onlinescoring", "model"]) assert.equal((await stat(path.join(dir, d))).mode & 0o055, 0o055, `${d}/ is readable by the instances`);
  const outs = JSON.parse((await pulumi(["stack", "output", "--json", "--show-secrets", "--stack", STACK])).stdout) as {
    endpoints: Record<string, { scoringUri: string }>;
    keys: Record<string, { primaryKey: string }>;
  };
  const res = await fetch(outs.endpoints["my-endpoint"]!.scoringUri, {
    method: "POST",
    headers: { authorization: `Bearer ${outs.keys["my-endpoint"]!.primaryKey}`, "content-type": "application/json" },
    body: await readFile(path.join(dir, "sample-request.json"), "utf8"),
  });
  const text = await res.text();
  assert.equal(res.status, 200, text);
  assert.equal(res.headers.get("azureml-model-deployment"), "blue");
  const got = JSON.parse(text) as number[];
  assert.equal(got.length, 2);
  got.forEach((v, i) => assert.ok(Math.abs(v - EXPECTED[i]!) < 1e-6, `prediction ${i}: ${v}, expected ${EXPECTED[i]}`));
});

test("the pipeline library verifies the generated project's stack from its specs/verify", async () => {
  assert.equal(up?.exitCode, 0, "the up failed (see the previous test)");
  const v = await verify(STACK, { root: dir, env });
  assert.ok(v.ok, v.failure);
  assert.deepEqual(v.results.map((r) => [r.check.name, r.check.deployment, r.servedBy]), [["sample-prediction", "blue", "blue"]]);
});

test("pulumi destroy removes everything the project made", async () => {
  assert.equal(up?.exitCode, 0, "the up failed (see the second test)");
  const r = await pulumi(["destroy", "--yes", "--skip-preview", "--stack", STACK]);
  assert.equal(r.exitCode, 0, r.all);
  destroyed = true;
  const left = (await execa("docker", ["ps", "-aq", "--filter", `label=modelplane.stack=${STACK}`])).stdout.trim();
  assert.equal(left, "", "no container of the stack is left");
});
