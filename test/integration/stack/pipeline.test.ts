/**
 * The example MLOps pipeline (examples/pipelines/train-and-promote.ts) end to end on two
 * throwaway stacks (`mp-pipe-s<pid>` -> `mp-pipe-t<pid>`, one backend, dev-like specs in a temp
 * folder): it trains a real scikit-learn model, registers it, deploys it at 0 % in the source,
 * verifies, shifts 10 %, and promotes it. Checked: the new model answers its pinned request through
 * the real gateway, the target's specs carry its version, the target's traffic is the target's own,
 * and the library's preview of the target shows the promoted deployment.
 * Everything (both stacks, their containers, the temp folder) is removed in `after`, even on failure.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import * as path from "node:path";
import execa from "execa";
import { parse } from "yaml";
import { REPO_ROOT, TestStack } from "../harness/pulumi";
import { freePort, removeByLabel } from "../harness/docker";
import { preview } from "../../../src/pipelines";

const SOURCE = `mp-pipe-s${process.pid % 10000}`;
const TARGET = `mp-pipe-t${process.pid % 10000}`;
const MODEL_1 = path.join(REPO_ROOT, "examples/model-1");
let tmp: string;
let stack: TestStack | undefined;
let targetCreated = false;
let run: execa.ExecaReturnValue | undefined;

function deployment(name: string, instances: number): string {
  return [
    `name: ${name}`,
    "endpoint_name: my-endpoint",
    `model:\n  path: ${path.join(MODEL_1, "model")}`,
    `code_configuration:\n  code: ${path.join(MODEL_1, "onlinescoring")}\n  scoring_script: score.py`,
    `environment:\n  conda_file: ${path.join(MODEL_1, "environment/conda.yaml")}`,
    `instance_count: ${instances}`,
    "readiness_probe:\n  initial_delay: 1\n  period: 2\n  failure_threshold: 30",
    "",
  ].join("\n");
}

async function writeStackSpecs(dir: string, traffic: string, instances: number): Promise<void> {
  await mkdir(path.join(dir, "verify"), { recursive: true });
  await writeFile(path.join(dir, "endpoint.yml"), `name: my-endpoint\nauth_mode: key\ntraffic:\n${traffic}\n`);
  await writeFile(path.join(dir, "blue-deployment.yml"), deployment("blue", instances));
  await writeFile(
    path.join(dir, "verify", "my-endpoint.yml"),
    `endpoint: my-endpoint\nrequests:\n  - name: blue-sample\n    request_file: ${path.join(MODEL_1, "sample-request.json")}\n    deployment: blue\n    expect: [11055.977245525679, 4503.079536107787]\n    tolerance: 1.0e-6\n`,
  );
}

function targetPulumi(args: string[]): Promise<execa.ExecaReturnValue> {
  return execa("pulumi", [...args, "--non-interactive", "--stack", TARGET], { cwd: REPO_ROOT, env: { ...process.env, ...stack!.env() }, reject: false, all: true, timeout: 600_000 });
}

before(async () => {
  tmp = await mkdtemp(path.join(tmpdir(), "mp-pipe-"));
  await writeStackSpecs(path.join(tmp, "source"), "  blue: 100", 1);
  // The target says: blue takes everything, with two instances.
  await writeStackSpecs(path.join(tmp, "target"), "  blue: 100", 2);
  const base = process.env.MODELPLANE_BASE_IMAGE ?? "modelplane/base:bookworm";
  stack = await TestStack.create(REPO_ROOT, SOURCE, {
    "modelplane:gatewayPort": String(await freePort()),
    "modelplane:managementPort": String(await freePort()),
    "modelplane:baseImage": base,
    "modelplane:specDir": path.join(tmp, "source"),
  });
  const init = await execa("pulumi", ["stack", "init", TARGET, "--non-interactive"], { cwd: REPO_ROOT, env: { ...process.env, ...stack.env() }, reject: false, all: true });
  assert.equal(init.exitCode, 0, init.all);
  targetCreated = true;
  for (const [k, v] of Object.entries({ "modelplane:specDir": path.join(tmp, "target"), "modelplane:baseImage": base })) {
    const r = await targetPulumi(["config", "set", k, v]);
    assert.equal(r.exitCode, 0, r.all);
  }
  await stack.pulumi(["up", "--yes", "--skip-preview"], { timeoutMs: 1_800_000 });
  run = await execa("npx", ["tsx", "examples/pipelines/train-and-promote.ts", "--from", SOURCE, "--to", TARGET, "--models-dir", path.join(tmp, "models"), "--no-preview"], {
    cwd: REPO_ROOT,
    env: { ...process.env, ...stack.env() },
    reject: false,
    all: true,
    timeout: 1_800_000,
  });
});

after(async () => {
  if (targetCreated) {
    await targetPulumi(["destroy", "--yes", "--skip-preview"]);
    await targetPulumi(["stack", "rm", "--yes", "--force"]);
    await rm(path.join(REPO_ROOT, "stacks", `Pulumi.${TARGET}.yaml`), { force: true });
  }
  await stack?.cleanup();
  await removeByLabel("modelplane.stack", SOURCE);
  await removeByLabel("modelplane.stack", TARGET);
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

test("the pipeline runs end to end", () => {
  assert.equal(run?.exitCode, 0, run?.all);
  assert.match(String(run?.all), /trained LinearRegression, R\^2 1\.000000/);
  assert.match(String(run?.all), /ok {4}my-endpoint\/candidate-1 "candidate-1-sample"/);
  assert.match(String(run?.all), /promoted mp-pipe-s\d+ -> mp-pipe-t\d+:/);
});

test("the new model answers its pinned request through the source gateway, at 10 % of the traffic", async () => {
  assert.equal(run?.exitCode, 0, "the pipeline failed (see the first test)");
  const outs = await stack!.outputs();
  const key = (outs.keys as Record<string, { primaryKey: string }>)["my-endpoint"]!.primaryKey;
  const res = await fetch(`${String(outs.gatewayUrl)}/endpoints/my-endpoint/score`, {
    method: "POST",
    headers: { authorization: `Bearer ${key}`, "content-type": "application/json", "azureml-model-deployment": "candidate-1" },
    body: await readFile(path.join(MODEL_1, "sample-request.json"), "utf8"),
  });
  assert.equal(res.status, 200);
  assert.equal(res.headers.get("azureml-model-deployment"), "candidate-1");
  const got = (await res.json()) as number[];
  assert.equal(got.length, 2);
  assert.ok(Math.abs(got[0]! - 388) < 1e-6 && Math.abs(got[1]! - 223) < 1e-6, `answer ${JSON.stringify(got)}`);
  const endpoint = parse(await readFile(path.join(tmp, "source", "endpoint.yml"), "utf8")) as { traffic: Record<string, number> };
  assert.deepEqual(endpoint.traffic, { blue: 90, "candidate-1": 10 });
});

test("the target's specs carry the new version; its traffic and instances are the target's own", async () => {
  assert.equal(run?.exitCode, 0, "the pipeline failed (see the first test)");
  const dir = path.join(tmp, "target");
  const dep = parse(await readFile(path.join(dir, "candidate-1-deployment.yml"), "utf8")) as { name: string; model: string; instance_count: number };
  assert.equal(dep.name, "candidate-1");
  assert.equal(dep.model, "azureml:regression-candidate:1");
  assert.equal(dep.instance_count, 2, "a new deployment takes its target sibling's instance count");
  const registry = parse(await readFile(path.join(dir, "registry.yml"), "utf8")) as { models: Array<{ name: string; version: string; path: string }> };
  const entry = registry.models.find((m) => m.name === "regression-candidate");
  assert.equal(entry?.version, "1");
  const models = await readdir(path.join(tmp, "models"));
  assert.equal(models.length, 1);
  assert.equal(path.resolve(dir, entry!.path), path.join(tmp, "models", models[0]!, "model"));
  const endpoint = parse(await readFile(path.join(dir, "endpoint.yml"), "utf8")) as { traffic: Record<string, number> };
  assert.deepEqual(endpoint.traffic, { blue: 100, "candidate-1": 0 });
  const blue = parse(await readFile(path.join(dir, "blue-deployment.yml"), "utf8")) as { instance_count: number };
  assert.equal(blue.instance_count, 2);
});

test("the library's preview of the target (never deployed) shows the promoted deployment to create", async () => {
  assert.equal(run?.exitCode, 0, "the pipeline failed (see the first test)");
  const lines: string[] = [];
  const p = await preview(TARGET, { root: REPO_ROOT, env: { ...process.env, ...stack!.env() }, onOutput: (l) => lines.push(l) });
  assert.ok((p.changes.create ?? 0) > 0, JSON.stringify(p.changes));
  assert.equal(p.changes.delete ?? 0, 0);
  assert.match(p.text, /candidate-1/);
  assert.ok(lines.length > 0 && lines.join("\n") === p.text, "every line of the preview went to onOutput");
});
