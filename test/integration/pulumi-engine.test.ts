import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import * as path from "node:path";
import { TestStack, REPO_ROOT } from "./harness/pulumi";
import { containersByLabel, freePort, removeByLabel } from "./harness/docker";

const PROGRAM = path.join(REPO_ROOT, "test/integration/fixtures/smoke-program");
const STACK = `it${process.pid}`;
const LABEL = { "modelplane.stack": `smoke-${STACK}` };
let stack: TestStack;
let port: number;

before(async () => {
  port = await freePort();
  stack = await TestStack.create(PROGRAM, STACK, { baseImage: process.env.MODELPLANE_BASE_IMAGE ?? "modelplane/base:bookworm", port: String(port) });
});
after(async () => {
  await stack?.cleanup();
  await removeByLabel("modelplane.stack", `smoke-${STACK}`);
});

test("real engine: preview, up, idempotent up, refresh, destroy on a local backend", async (t) => {
  const preview = await stack.pulumi(["preview", "--diff"]);
  assert.match(String(preview.stdout), /\+ 3 to create/, "preview plans the stack, the dynamic resource and the container");
  assert.deepEqual(await containersByLabel(LABEL), [], "preview starts nothing");

  const up = await stack.pulumi(["up", "--yes", "--skip-preview"]);
  assert.match(String(up.stdout), /3 created/);
  const outs = await stack.outputs();
  assert.equal(outs.stampId, "stamp-hello");
  const names = await containersByLabel(LABEL);
  assert.equal(names.length, 1);
  assert.equal(names[0], outs.containerName);
  const res = await fetch(`http://127.0.0.1:${port}/`);
  assert.equal(res.status, 200, "the container really serves HTTP");

  const again = await stack.pulumi(["up", "--yes", "--skip-preview"]);
  assert.match(String(again.stdout), /3 unchanged/, "a second up changes nothing");
  assert.doesNotMatch(String(again.stdout), /created|updated|replaced|deleted/);

  const refresh = await stack.pulumi(["refresh", "--yes", "--skip-preview"]);
  assert.match(String(refresh.stdout), /3 unchanged/);

  const destroy = await stack.pulumi(["destroy", "--yes", "--skip-preview"]);
  assert.match(String(destroy.stdout), /3 deleted/);
  assert.deepEqual(await containersByLabel(LABEL), [], "destroy leaves no container");
  await assert.rejects(fetch(`http://127.0.0.1:${port}/`, { signal: AbortSignal.timeout(2000) }));
  t.diagnostic(`container ${String(outs.containerName)} ran on 127.0.0.1:${port} and is gone`);
});
