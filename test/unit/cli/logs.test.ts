import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, describe, it } from "node:test";
import type { CommandIo } from "../../../src/cli/commands/access";
import { failedLogFiles, instanceFilters, instanceIndex, runLogs, type InstanceContainer, type LogsDeps, type LogsEngine } from "../../../src/cli/commands/logs";
import { runCli } from "../../../src/cli/main";

function capture(stackOutputs?: Record<string, unknown>): CommandIo & { lines: string[]; errors: string[]; written: string[] } {
  const lines: string[] = [];
  const errors: string[] = [];
  const written: string[] = [];
  return {
    lines,
    errors,
    written,
    out: (l) => lines.push(l),
    err: (l) => errors.push(l),
    write: (t) => written.push(t),
    env: {},
    ...(stackOutputs ? { stackOutputs: async () => stackOutputs } : {}),
  };
}

function instance(stack: string, deployment: string, index: number, extra: Record<string, string> = {}, state = "running"): InstanceContainer {
  const id = `${stack}-${deployment}-${index}`;
  return {
    id,
    name: `modelplane-${stack}-1a2b3c4d-my-endpoint-${deployment}-${index}-0123abcd`,
    labels: { "modelplane.stack": stack, "modelplane.role": "instance", "modelplane.endpoint": "my-endpoint", "modelplane.deployment": deployment, ...extra },
    state,
    created: index,
  };
}

/** An engine holding `containers`; `list` applies the label filters as Docker does. */
function engine(containers: InstanceContainer[], seen: string[][] = []): LogsEngine {
  return {
    async list(labels) {
      seen.push(labels);
      return containers.filter((c) => labels.every((l) => c.labels[l.slice(0, l.indexOf("="))] === l.slice(l.indexOf("=") + 1)));
    },
    async tail(id, lines) {
      return Array.from({ length: 3 }, (_, i) => `${id} line ${i + 1}`).slice(-lines).join("\n");
    },
    async follow(id, _lines, onText) {
      onText(`${id} followed\n`);
    },
  };
}

describe("modelplane logs", () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), "mp-logs-"));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const noState: LogsDeps["deploymentState"] = async () => undefined;

  it("prints the deployment's instance lines; the only deployment needs no --deployment", async () => {
    const io = capture();
    const code = await runLogs("my-endpoint", { lines: 2 }, io, { engine: engine([instance("dev", "blue", 0)]), failedLogDir: dir, deploymentState: noState });
    assert.equal(code, 0, io.errors.join("\n"));
    assert.deepEqual(io.lines, ["dev-blue-0 line 2\ndev-blue-0 line 3"]);
  });

  it("prints a failed deployment's reason first; several instances get a header each, in instance order", async () => {
    const io = capture();
    const containers = [instance("dev", "blue", 1, {}, "restarting"), instance("dev", "blue", 0), instance("dev", "green", 0)];
    const deploymentState: LogsDeps["deploymentState"] = async (e, d) => (e === "my-endpoint" && d === "blue" ? { provisioningState: "Failed", failureReason: "instance blue-0: GET / answered 502" } : undefined);
    assert.equal(await runLogs("my-endpoint", { deployment: "blue", lines: 1 }, io, { engine: engine(containers), failedLogDir: dir, deploymentState }), 0);
    assert.deepEqual(io.lines, [
      'deployment "blue" of endpoint "my-endpoint" failed: instance blue-0: GET / answered 502',
      "==> modelplane-dev-1a2b3c4d-my-endpoint-blue-0-0123abcd (instance 0, running) <==",
      "dev-blue-0 line 3",
      "==> modelplane-dev-1a2b3c4d-my-endpoint-blue-1-0123abcd (instance 1, restarting) <==",
      "dev-blue-1 line 3",
    ]);
  });

  it("--instance picks one; an instance it does not have is named with the ones it has", async () => {
    const containers = [instance("dev", "blue", 0), instance("dev", "blue", 1)];
    const io = capture();
    assert.equal(await runLogs("my-endpoint", { instance: 1, lines: 1 }, io, { engine: engine(containers), failedLogDir: dir, deploymentState: noState }), 0);
    assert.deepEqual(io.lines, ["dev-blue-1 line 3"]);
    const bad = capture();
    assert.equal(await runLogs("my-endpoint", { instance: 5 }, bad, { engine: engine(containers), failedLogDir: dir, deploymentState: noState }), 1);
    assert.equal(bad.errors[0], 'modelplane: deployment "blue" has no instance 5 (instances: 0, 1): pass --instance with one of them');
  });

  it("asks for --deployment when the endpoint has several, and for --stack when several stacks have it", async () => {
    const io = capture();
    assert.equal(await runLogs("my-endpoint", {}, io, { engine: engine([instance("dev", "blue", 0), instance("dev", "green", 0)]), failedLogDir: dir, deploymentState: noState }), 1);
    assert.equal(io.errors[0], 'modelplane: endpoint "my-endpoint" has deployments blue, green: pass --deployment <name>');
    const two = capture();
    const containers = [instance("dev", "blue", 0, { "modelplane.stack-id": "aaaa1111" }), instance("prod", "blue", 0)];
    assert.equal(await runLogs("my-endpoint", { deployment: "blue" }, two, { engine: engine(containers), failedLogDir: dir, deploymentState: noState }), 1);
    assert.equal(two.errors[0], 'modelplane: endpoint "my-endpoint" has instances of several stacks on this engine (dev (identity aaaa1111), prod): pass --stack <stack>');
  });

  it("--stack filters on the stack and, when its outputs give one, its identity", async () => {
    const seen: string[][] = [];
    const containers = [instance("dev", "blue", 0, { "modelplane.stack-id": "aaaa1111" }), instance("dev", "blue", 0, { "modelplane.stack-id": "bbbb2222" })];
    containers[1]!.id = "other-checkout";
    const io = capture({ stackId: "aaaa1111" });
    assert.equal(await runLogs("my-endpoint", { stack: "dev", lines: 1 }, io, { engine: engine(containers, seen), failedLogDir: dir, deploymentState: noState }), 0);
    assert.deepEqual(seen, [["modelplane.role=instance", "modelplane.endpoint=my-endpoint", "modelplane.stack=dev", "modelplane.stack-id=aaaa1111"]]);
    assert.deepEqual(io.lines, ["dev-blue-0 line 3"]);
    assert.deepEqual(instanceFilters("e", "dev"), ["modelplane.role=instance", "modelplane.endpoint=e", "modelplane.stack=dev"]);
  });

  it("shows the saved logs of instances removed after failing readiness", async () => {
    writeFileSync(path.join(dir, "modelplane-dev-1a2b3c4d-my-endpoint-blue-0-89abcdef.log"), "# header\nTraceback (most recent call last):\nRuntimeError: init failed\n");
    writeFileSync(path.join(dir, "modelplane-dev-1a2b3c4d-my-endpoint-blue-extra-0-89abcdef.log"), "another deployment's\n");
    const io = capture();
    const state: LogsDeps["deploymentState"] = async () => ({ provisioningState: "Failed", failureReason: "init() raised" });
    assert.equal(await runLogs("my-endpoint", { deployment: "blue", lines: 2 }, io, { engine: engine([]), failedLogDir: dir, deploymentState: state }), 0, io.errors.join("\n"));
    assert.deepEqual(io.lines, ['deployment "blue" of endpoint "my-endpoint" failed: init() raised', "Traceback (most recent call last):\nRuntimeError: init failed"]);
    const none = capture();
    assert.equal(await runLogs("my-endpoint", { deployment: "red" }, none, { engine: engine([]), failedLogDir: dir, deploymentState: noState }), 1);
    assert.match(none.errors[0] ?? "", /^modelplane: deployment "red" of endpoint "my-endpoint" has no instance container \(any stack\) and no saved logs in /);
  });

  it("no instance at all: says what to check", async () => {
    const io = capture();
    assert.equal(await runLogs("nope", {}, io, { engine: engine([]), failedLogDir: dir, deploymentState: noState }), 1);
    assert.match(io.errors[0] ?? "", /^modelplane: no instance container of endpoint "nope" \(any stack\) on the engine: check the endpoint name/);
  });

  it("--follow follows every instance, with a header when the source changes", async () => {
    const io = capture();
    const containers = [instance("dev", "blue", 0), instance("dev", "blue", 1)];
    assert.equal(await runLogs("my-endpoint", { follow: true }, io, { engine: engine(containers), failedLogDir: dir, deploymentState: noState }), 0);
    assert.equal(
      io.written.join(""),
      "==> modelplane-dev-1a2b3c4d-my-endpoint-blue-0-0123abcd (instance 0, running) <==\ndev-blue-0 followed\n\n==> modelplane-dev-1a2b3c4d-my-endpoint-blue-1-0123abcd (instance 1, running) <==\ndev-blue-1 followed\n",
    );
  });

  it("names: instance index from a container name; saved files by endpoint and deployment", () => {
    assert.equal(instanceIndex("modelplane-dev-1a2b3c4d-my-endpoint-blue-12-0123abcd"), 12);
    assert.equal(instanceIndex("modelplane-dev-server"), undefined);
    const files = ["modelplane-dev-my-endpoint-blue-0-01234567.log", "modelplane-prod-9f9f9f9f-my-endpoint-blue-1-01234567.log", "modelplane-dev-my-endpoint-blue-green-0-01234567.log", "notes.txt"];
    assert.deepEqual(failedLogFiles(files, "my-endpoint", "blue"), files.slice(0, 2));
    assert.deepEqual(failedLogFiles(files, "my-endpoint", "blue", (p) => p === "modelplane-prod-9f9f9f9f"), [files[1]]);
  });

  it("is registered: --lines must be a whole number >= 1 (usage error, exit 2)", async () => {
    const orig = process.stderr.write;
    process.stderr.write = (() => true) as typeof process.stderr.write;
    try {
      assert.equal(await runCli(["logs", "my-endpoint", "--lines", "0"]), 2);
      assert.equal(await runCli(["logs", "my-endpoint", "--instance", "x"]), 2);
    } finally {
      process.stderr.write = orig;
    }
  });
});
