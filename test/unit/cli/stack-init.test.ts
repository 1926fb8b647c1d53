import assert from "node:assert/strict";
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, beforeEach, describe, it } from "node:test";
import type { CommandIo } from "../../../src/cli/commands/access";
import type { PulumiResult, PulumiRunner } from "../../../src/cli/commands/pulumi-run";
import { runStackInit, specDirSetting } from "../../../src/cli/commands/stack-init";
import { runCli } from "../../../src/cli/main";

function capture(): CommandIo & { lines: string[]; errors: string[] } {
  const lines: string[] = [];
  const errors: string[] = [];
  return { lines, errors, out: (l) => lines.push(l), err: (l) => errors.push(l), write: () => undefined, env: { PULUMI_CONFIG_PASSPHRASE: "unit-test", PULUMI_BACKEND_URL: "file:///tmp/unit-backend" } };
}

describe("modelplane stack init", () => {
  const root = mkdtempSync(path.join(os.tmpdir(), "mp-stack-init-"));
  after(() => rmSync(root, { recursive: true, force: true }));
  writeFileSync(path.join(root, "Pulumi.yaml"), "name: modelplane\nruntime: nodejs\nstackConfigDir: stacks\n");
  mkdirSync(path.join(root, "stacks"));
  const specs = path.join(root, "specs", "good");
  mkdirSync(path.join(specs, "code"), { recursive: true });
  mkdirSync(path.join(specs, "model"));
  writeFileSync(path.join(specs, "code", "score.py"), "");
  writeFileSync(path.join(specs, "endpoint.yml"), "name: my-endpoint\nauth_mode: key\ntraffic: {blue: 100}\n");
  writeFileSync(path.join(specs, "blue.yml"), "name: blue\nendpoint_name: my-endpoint\nmodel: {path: model}\ncode_configuration: {code: code, scoring_script: score.py}\ninstance_type: Standard_DS3_v2\ninstance_count: 1\n");
  const bad = path.join(root, "specs", "bad");
  mkdirSync(bad);
  writeFileSync(path.join(bad, "endpoint.yml"), "name: my-endpoint\nauth_mode: sometimes\n");

  let calls: string[][] = [];
  let answers: Record<string, PulumiResult> = {};
  const ok: PulumiResult = { exitCode: 0, stdout: "", stderr: "" };
  const pulumi: PulumiRunner = async (args) => {
    calls.push(args);
    return answers[args.slice(0, 2).join(" ")] ?? ok;
  };
  const deps = { root, cwd: root, pulumi };
  beforeEach(() => {
    calls = [];
    answers = { "stack ls": { exitCode: 0, stdout: JSON.stringify([{ name: "dev" }, { name: "organization/modelplane/taken" }]), stderr: "" } };
    rmSync(path.join(root, "stacks", "Pulumi.fresh.yaml"), { force: true });
  });

  it("validates, creates the stack with its config (ports auto) and prints the next command", async () => {
    const io = capture();
    assert.equal(await runStackInit("fresh", { specs: "specs/good" }, io, deps), 0, io.errors.join("\n"));
    assert.deepEqual(calls, [
      ["stack", "ls", "--json"],
      ["stack", "init", "fresh"],
      ["config", "set-all", "--plaintext", "modelplane:target=docker", "--plaintext", "modelplane:specDir=specs/good", "--plaintext", "modelplane:gatewayPort=auto", "--plaintext", "modelplane:managementPort=auto", "--stack", "fresh"],
    ]);
    // The docker target's warning about instance_type is shown before anything is made.
    assert.match(io.lines[0] ?? "", /specs\/good\/blue\.yml:5:16: warning: instance_type "Standard_DS3_v2" is not acted on by the docker target/);
    assert.equal(io.lines.at(-1), "next: pulumi up --stack fresh   (after `. scripts/env.sh`)");
    assert.match(io.lines.join("\n"), /created stack "fresh" in file:\/\/\/tmp\/unit-backend: stacks\/Pulumi\.fresh\.yaml has modelplane:target=docker, modelplane:specDir=specs\/good, modelplane:gatewayPort=auto, modelplane:managementPort=auto/);
  });

  it("refuses a folder with spec errors (file:line:col) and creates nothing", async () => {
    const io = capture();
    assert.equal(await runStackInit("fresh", { specs: bad }, io, deps), 1);
    assert.deepEqual(calls, []);
    assert.equal(io.lines[0], `${bad}/endpoint.yml:2:12: error: auth_mode is "sometimes", not one of key | aml_token | aad_token (auth_mode) - use one of: key | aml_token | aad_token`);
    assert.match(io.errors[0] ?? "", /^modelplane: the specs in .*specs\/bad have 1 error\(s\) \(above\); fix them and run `modelplane stack init fresh --specs .*` again \(nothing was created\)$/);
  });

  it("refuses a stack name the backend already has", async () => {
    for (const name of ["dev", "taken"]) {
      const io = capture();
      assert.equal(await runStackInit(name, { specs: specs }, io, deps), 1);
      assert.match(io.errors[0] ?? "", new RegExp(`^modelplane: stack "${name}" already exists in the backend file:///tmp/unit-backend: pick another name, or remove it first`));
    }
    assert.ok(!calls.some((c) => c[1] === "init"));
  });

  it("refuses a stack that already has a config file", async () => {
    writeFileSync(path.join(root, "stacks", "Pulumi.fresh.yaml"), "config: {}\n");
    const io = capture();
    assert.equal(await runStackInit("fresh", { specs }, io, deps), 1);
    assert.match(io.errors[0] ?? "", /^modelplane: stack "fresh" already has a config file \(.*stacks\/Pulumi\.fresh\.yaml\): pick another name/);
    assert.deepEqual(calls, []);
  });

  it("argument checks: name, target, folder", async () => {
    const cases: Array<[string, { specs: string; target?: string }, RegExp]> = [
      ["Dev", { specs }, /^modelplane: stack name "Dev" is not usable: use 2-32 lowercase letters, digits or hyphens, starting with a letter/],
      ["my_stack", { specs }, /stack name "my_stack" is not usable/],
      ["-x", { specs }, /stack name "-x" is not usable/],
      ["fresh", { specs, target: "kubernetes" }, /^modelplane: --target kubernetes is not available: this version deploys to docker only; pass --target docker \(or leave it out\)$/],
      ["fresh", { specs: "specs/none" }, /^modelplane: --specs specs\/none: no such folder \(looked for .*specs\/none\); pass the folder holding the endpoint and deployment YAML files$/],
      ["fresh", { specs: "specs/good/endpoint.yml" }, /^modelplane: --specs specs\/good\/endpoint\.yml is a file: pass the folder holding it/],
    ];
    for (const [name, opts, message] of cases) {
      const io = capture();
      assert.equal(await runStackInit(name, opts, io, deps), 1, name);
      assert.match(io.errors[0] ?? "", message);
    }
    assert.deepEqual(calls, []);
  });

  it("a folder without an endpoint is refused", async () => {
    const only = path.join(root, "specs", "only-deployment");
    mkdirSync(only, { recursive: true });
    writeFileSync(path.join(only, "notes.yml"), "$schema: https://azuremlschemas.azureedge.net/latest/commandJob.schema.json\ncommand: echo\n");
    const io = capture();
    assert.equal(await runStackInit("fresh", { specs: only }, io, deps), 1);
    assert.match(io.errors[0] ?? "", /^modelplane: no online endpoint spec in .*only-deployment: add an endpoint\.yml/);
  });

  it("a failed config step removes the stack again", async () => {
    answers["config set-all"] = { exitCode: 255, stdout: "", stderr: "error: boom" };
    // As the real one does, `pulumi stack init` writes the stack's config file.
    const pulumiWritingConfig: PulumiRunner = async (args, o) => {
      if (args[1] === "init") writeFileSync(path.join(root, "stacks", "Pulumi.fresh.yaml"), "encryptionsalt: x\n");
      return pulumi(args, o);
    };
    const io = capture();
    assert.equal(await runStackInit("fresh", { specs }, io, { ...deps, pulumi: pulumiWritingConfig }), 1);
    assert.deepEqual(calls.at(-1), ["stack", "rm", "fresh", "--yes", "--force"]);
    assert.ok(!existsSync(path.join(root, "stacks", "Pulumi.fresh.yaml")));
    assert.match(io.errors[0] ?? "", /setting the config of stack "fresh" failed \(exit 255\): error: boom; the stack was removed again/);
  });

  it("specDir is relative to the project inside it, absolute outside", () => {
    assert.equal(specDirSetting(path.join(root, "specs", "good"), root), "specs/good");
    assert.equal(specDirSetting("/elsewhere/specs", root), "/elsewhere/specs");
  });

  it("is registered: a missing --specs is a usage error (exit 2)", async () => {
    const orig = process.stderr.write;
    process.stderr.write = (() => true) as typeof process.stderr.write;
    try {
      assert.equal(await runCli(["stack", "init", "fresh"]), 2);
    } finally {
      process.stderr.write = orig;
    }
  });
});
