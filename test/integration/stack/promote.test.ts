/**
 * `modelplane promote`'s gates and idempotence on a real source stack (`it-promo-<pid>`, its own
 * backend, specs in a temp folder) promoting into a target whose specs are files in the same temp
 * folder (promote only writes them; --no-preview). One `pulumi up` of the source, with
 * --continue-on-error: blue (model-1) becomes Succeeded, red (a score.py whose init() raises)
 * fails readiness. Checked: promoting red is refused (gone from the live state, its saved failure
 * logs named) with the reason and the fix;
 * promoting a deployment the source never deployed is refused; a source whose verification fails
 * is refused naming the request; promoting blue writes the target's file, and promoting it again
 * changes nothing (same bytes, "nothing to promote"). Everything is removed in `after`, even on failure.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { chmod, mkdir, mkdtemp, readFile, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { parse } from "yaml";
import { REPO_ROOT, TestStack } from "../harness/pulumi";
import { freePort, removeByLabel } from "../harness/docker";
import type { CommandIo } from "../../../src/cli/commands/access";
import { runPromote } from "../../../src/cli/commands/promote";

// Short: instance container names (DNS labels, at most 63 characters) carry the stack name.
const SOURCE = `it-promo-${process.pid % 10000}`;
const TARGET = `it-promo-t${process.pid % 10000}`;
const MODEL_1 = path.join(REPO_ROOT, "examples/model-1");
const MODEL_2 = path.join(REPO_ROOT, "examples/model-2");
const EXPECTED = "[11055.977245525679, 4503.079536107787]";
const TARGET_CONFIG = path.join(REPO_ROOT, "stacks", `Pulumi.${TARGET}.yaml`);
let tmp: string;
let stack: TestStack | undefined;
let up: { exitCode: number; all?: string } | undefined;
let env: NodeJS.ProcessEnv;

function deployment(name: string, model: string, code: string, instances: number): string {
  return [
    `name: ${name}`,
    "endpoint_name: my-endpoint",
    `model:\n  path: ${path.join(model, "model")}`,
    `code_configuration:\n  code: ${code}\n  scoring_script: score.py`,
    `environment:\n  conda_file: ${path.join(model, "environment/conda.yaml")}`,
    `instance_count: ${instances}`,
    "readiness_probe:\n  initial_delay: 1\n  period: 2\n  failure_threshold: 30",
    "",
  ].join("\n");
}

const source = () => path.join(tmp, "source");
const target = () => path.join(tmp, "target");

async function writeVerify(expected: string): Promise<void> {
  await writeFile(
    path.join(source(), "verify", "my-endpoint.yml"),
    `endpoint: my-endpoint\nrequests:\n  - name: blue-sample\n    request_file: ${path.join(MODEL_1, "sample-request.json")}\n    deployment: blue\n    expect: ${expected}\n    tolerance: 1.0e-6\n`,
  );
}

function io(): CommandIo & { text: () => string; errors: string[] } {
  const out: string[] = [];
  const errors: string[] = [];
  return { out: (l) => out.push(`${l}\n`), write: (t) => out.push(t), err: (l) => errors.push(l), env, text: () => out.join(""), errors };
}

/** Every file of the target's spec folder, name -> text. */
async function targetFiles(): Promise<Record<string, string>> {
  const files: Record<string, string> = {};
  for (const f of (await readdir(target())).sort()) files[f] = await readFile(path.join(target(), f), "utf8");
  return files;
}

before(async () => {
  tmp = await mkdtemp(path.join(tmpdir(), "it-promo-"));
  // mkdtemp makes it 0700: the instances' non-root user must reach red's mounted code.
  await chmod(tmp, 0o755);
  await mkdir(path.join(source(), "verify"), { recursive: true });
  await mkdir(path.join(tmp, "broken"), { recursive: true });
  await writeFile(path.join(tmp, "broken", "score.py"), 'def init():\n    raise RuntimeError("red is broken on purpose")\n\n\ndef run(raw_data):\n    return []\n');
  await writeFile(path.join(source(), "endpoint.yml"), "name: my-endpoint\nauth_mode: key\ntraffic:\n  blue: 100\n");
  await writeFile(path.join(source(), "blue.yml"), deployment("blue", MODEL_1, path.join(MODEL_1, "onlinescoring"), 1));
  await writeFile(path.join(source(), "red.yml"), deployment("red", MODEL_1, path.join(tmp, "broken"), 1));
  await writeVerify(EXPECTED);
  // The target runs model-2's files in blue, with two instances and its own split.
  await mkdir(target(), { recursive: true });
  await writeFile(path.join(target(), "endpoint.yml"), "name: my-endpoint\nauth_mode: key\ntraffic:\n  blue: 100\n");
  await writeFile(path.join(target(), "blue.yml"), deployment("blue", MODEL_2, path.join(MODEL_2, "onlinescoring"), 2));
  await writeFile(TARGET_CONFIG, `config:\n  modelplane:specDir: ${target()}\n`);

  stack = await TestStack.create(REPO_ROOT, SOURCE, {
    "modelplane:gatewayPort": String(await freePort()),
    "modelplane:managementPort": String(await freePort()),
    "modelplane:baseImage": process.env.MODELPLANE_BASE_IMAGE ?? "modelplane/base:bookworm",
    "modelplane:specDir": source(),
  });
  env = { ...process.env, ...stack.env() };
  // Blue must be deployed although red fails: without --continue-on-error the engine stops starting new work.
  up = await stack.pulumi(["up", "--yes", "--skip-preview", "--continue-on-error"], { reject: false, timeoutMs: 1_800_000 });
});

after(async () => {
  await stack?.cleanup();
  await removeByLabel("modelplane.stack", SOURCE);
  await rm(TARGET_CONFIG, { force: true });
  if (tmp) await rm(tmp, { recursive: true, force: true });
  // Logs of red's removed instances (modelplane logs reads them): this stack's only.
  const logs = path.join(env?.MODELPLANE_STATE ?? path.join(REPO_ROOT, ".state"), "failed-instances");
  for (const f of await readdir(logs).catch(() => [] as string[])) if (f.includes(SOURCE)) await rm(path.join(logs, f), { force: true });
});

test("the source's up deploys blue and fails red's readiness", () => {
  assert.notEqual(up?.exitCode, 0, "red's init() raises: the up must fail");
  assert.match(String(up?.all), /deployment "red" of endpoint "my-endpoint" failed readiness/);
  assert.doesNotMatch(String(up?.all), /deployment "blue" of endpoint "my-endpoint" failed readiness/);
});

test("promote refuses a source deployment that failed readiness, with the reason and the fix; nothing is written", async () => {
  const before = await targetFiles();
  const c = io();
  assert.equal(await runPromote({ from: SOURCE, to: TARGET, deployment: ["red"], preview: false }, c), 1);
  const errors = c.errors.join("\n");
  // A registration that failed readiness is gone from the management API; its saved logs say it failed.
  assert.match(errors, new RegExp(`deployment my-endpoint/red is not deployed in stack "${SOURCE}": it failed readiness in an up and its instances were removed \\(their logs: \`modelplane logs my-endpoint --deployment red --stack ${SOURCE}\`\\); fix it and \`pulumi up --stack ${SOURCE}\` until it is Succeeded; nothing was written`));
  assert.deepEqual(await targetFiles(), before);
});

test("promote refuses a deployment the source has in its specs but never deployed", async () => {
  await writeFile(path.join(source(), "green.yml"), deployment("green", MODEL_1, path.join(MODEL_1, "onlinescoring"), 1));
  try {
    const before = await targetFiles();
    const c = io();
    assert.equal(await runPromote({ from: SOURCE, to: TARGET, deployment: ["green"], preview: false }, c), 1);
    assert.match(c.errors.join("\n"), new RegExp(`deployment my-endpoint/green is not deployed in stack "${SOURCE}": run \`pulumi up --stack ${SOURCE}\` and promote what runs there`));
    assert.deepEqual(await targetFiles(), before);
  } finally {
    await rm(path.join(source(), "green.yml"), { force: true });
  }
});

test("promote refuses when the source's verification fails, naming the request; nothing is written", async () => {
  await writeVerify("[11055.977245525679, 4500]");
  try {
    const before = await targetFiles();
    const c = io();
    assert.equal(await runPromote({ from: SOURCE, to: TARGET, deployment: ["blue"], preview: false }, c), 1);
    assert.match(c.text(), /FAIL {2}my-endpoint\/blue "blue-sample"/);
    assert.match(c.errors.join("\n"), new RegExp(`verification of stack "${SOURCE}" failed: my-endpoint/blue "blue-sample" \\(.*my-endpoint\\.yml:3:5\\): the answer differs at \\$\\[1\\]: got 4503\\.07953\\d*, expected 4500.*; fix the deployment \\(or its verify request\\) in stack "${SOURCE}" first; nothing was written`));
    assert.deepEqual(await targetFiles(), before);
  } finally {
    await writeVerify(EXPECTED);
  }
});

test("promote carries blue into the target once; promoting again changes nothing", async () => {
  const first = io();
  assert.equal(await runPromote({ from: SOURCE, to: TARGET, deployment: ["blue"], preview: false }, first), 0, first.errors.join("\n"));
  assert.match(first.text(), new RegExp(`promoted ${SOURCE} -> ${TARGET}:`));
  assert.match(first.text(), /ok {4}my-endpoint\/blue "blue-sample"/, "the verification ran before the write");
  assert.match(first.text(), /changed .*blue\.yml/);
  const written = await targetFiles();
  const blue = parse(written["blue.yml"]!) as { model: { path: string }; code_configuration: { code: string }; instance_count: number };
  assert.equal(path.resolve(target(), blue.model.path), path.join(MODEL_1, "model"), "the model comes from the source");
  assert.equal(path.resolve(target(), blue.code_configuration.code), path.join(MODEL_1, "onlinescoring"), "the code comes from the source");
  assert.equal(blue.instance_count, 2, "instances stay the target's");
  assert.deepEqual((parse(written["endpoint.yml"]!) as { traffic: unknown }).traffic, { blue: 100 }, "traffic stays the target's");

  const second = io();
  assert.equal(await runPromote({ from: SOURCE, to: TARGET, deployment: ["blue"], preview: false }, second), 0, second.errors.join("\n"));
  assert.match(second.text(), new RegExp(`nothing to promote: stack ${TARGET} already runs what ${SOURCE} runs \\(my-endpoint/blue\\)`));
  assert.doesNotMatch(second.text(), /changed|created/);
  assert.deepEqual(await targetFiles(), written, "the second promote leaves every file byte for byte");
});
