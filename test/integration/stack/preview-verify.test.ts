/**
 * `modelplane verify` and `modelplane preview` on a real stack (stack `mp-prev-v<pid>`, its own
 * backend): the verify requests are scored through the real gateway by the real inference server
 * (model-1's regression), a wrong expectation fails naming the request, and the preview of a
 * traffic edit renders the before -> after split. Everything is destroyed in `after`.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { mkdir, rm, writeFile } from "node:fs/promises";
import * as path from "node:path";
import execa from "execa";
import { REPO_ROOT, TestStack } from "../harness/pulumi";
import { freePort, removeByLabel } from "../harness/docker";
import type { CommandIo } from "../../../src/cli/commands/access";
import type { PulumiRunner } from "../../../src/cli/commands/pulumi-run";
import { runPreview } from "../../../src/cli/commands/preview";
import { runVerify } from "../../../src/cli/commands/verify";

// Short: instance container names (which the gateway resolves as DNS labels, at most 63 characters) carry the stack name.
const STACK = `mp-prev-v${process.pid % 10000}`;
const SPEC_DIR_REL = `stacks/.${STACK}`;
const SPEC_DIR = path.join(REPO_ROOT, SPEC_DIR_REL);
// examples/model-1's pickle on examples/model-1/sample-request.json (scikit-learn 1.7.0).
const EXPECTED = "[11055.977245525679, 4503.079536107787]";
let stack: TestStack;
let env: NodeJS.ProcessEnv;

function deployment(name: string): string {
  return [
    `name: ${name}`,
    "endpoint_name: my-endpoint",
    `model:\n  path: ${path.join(REPO_ROOT, "examples/model-1/model")}`,
    `code_configuration:\n  code: ${path.join(REPO_ROOT, "examples/model-1/onlinescoring")}\n  scoring_script: score.py`,
    `environment:\n  conda_file: ${path.join(REPO_ROOT, "examples/model-1/environment/conda.yaml")}`,
    "instance_count: 1",
    "readiness_probe:\n  initial_delay: 1\n  period: 2\n  failure_threshold: 30",
    "",
  ].join("\n");
}

async function writeSpecs(traffic: string, expected = EXPECTED): Promise<void> {
  await mkdir(path.join(SPEC_DIR, "verify"), { recursive: true });
  await writeFile(path.join(SPEC_DIR, "endpoint.yml"), `name: my-endpoint\nauth_mode: key\ntraffic:\n${traffic}\n`);
  await writeFile(path.join(SPEC_DIR, "blue.yml"), deployment("blue"));
  await writeFile(path.join(SPEC_DIR, "green.yml"), deployment("green"));
  await writeFile(
    path.join(SPEC_DIR, "verify", "my-endpoint.yml"),
    `endpoint: my-endpoint\nrequests:\n  - name: sample\n    request_file: ${path.join(REPO_ROOT, "examples/model-1/sample-request.json")}\n    deployments: [blue, green]\n    expect: ${expected}\n    tolerance: 1.0e-6\n`,
  );
}

function io(): CommandIo & { text: () => string; errors: string[] } {
  const out: string[] = [];
  const errors: string[] = [];
  return { out: (l) => out.push(`${l}\n`), write: (t) => out.push(t), err: (l) => errors.push(l), env, text: () => out.join(""), errors };
}

before(async () => {
  await writeSpecs("  blue: 90\n  green: 10");
  stack = await TestStack.create(REPO_ROOT, STACK, {
    "modelplane:gatewayPort": String(await freePort()),
    "modelplane:managementPort": String(await freePort()),
    "modelplane:baseImage": process.env.MODELPLANE_BASE_IMAGE ?? "modelplane/base:bookworm",
    "modelplane:specDir": SPEC_DIR_REL,
  });
  await stack.pulumi(["up", "--yes", "--skip-preview"], { timeoutMs: 1_800_000 });
  env = { ...process.env, ...stack.env() };
});

after(async () => {
  await stack?.cleanup();
  await removeByLabel("modelplane.stack", STACK);
  await rm(SPEC_DIR, { recursive: true, force: true });
});

test("verify scores each deployment through the real gateway and passes", async () => {
  const c = io();
  assert.equal(await runVerify({ stack: STACK }, c), 0, c.errors.join("\n"));
  assert.match(c.text(), /ok {4}my-endpoint\/blue "sample" \(\d+ ms, served by blue\)/);
  assert.match(c.text(), /ok {4}my-endpoint\/green "sample" \(\d+ ms, served by green\)/);
});

test("a wrong expectation fails with exit 1 naming the request and the difference", async () => {
  await writeSpecs("  blue: 90\n  green: 10", "[11055.977245525679, 4500]");
  const c = io();
  assert.equal(await runVerify({ stack: STACK }, c), 1);
  assert.match(c.errors.join("\n"), /verification of stack "mp-prev-v\d+" failed: my-endpoint\/blue "sample" \(.*verify\/my-endpoint\.yml:3:5\): the answer differs at \$\[1\]: got 4503\.07953\d*, expected 4500/);
  await writeSpecs("  blue: 90\n  green: 10");
});

test("preview renders a traffic edit of the real stack as before -> after", async () => {
  await writeSpecs("  blue: 40\n  green: 60");
  const pulumi: PulumiRunner = async (args) => {
    const r = await execa("pulumi", [...args, "--non-interactive"], { cwd: REPO_ROOT, env, reject: false, timeout: 600_000 });
    return { exitCode: r.exitCode, stdout: r.stdout, stderr: r.stderr };
  };
  const c = io();
  assert.equal(await runPreview({ stack: [STACK] }, c, { pulumi }), 0, c.errors.join("\n"));
  const text = c.text();
  assert.match(text, /\| `blue` \| same \| 90% → \*\*40%\*\* \|/);
  assert.match(text, /\| `green` \| same \| 10% → \*\*60%\*\* \|/);
  const outs = await stack.outputs();
  const keys = Object.values(outs.keys as Record<string, { primaryKey: string; secondaryKey: string }>).flatMap((k) => [k.primaryKey, k.secondaryKey]);
  for (const secret of [outs.managementToken as string, ...keys]) assert.ok(!text.includes(secret), "no secret value in the rendered preview");
});
