/**
 * The studio against a real stack deployed by `pulumi up` (the dev stack's shape: blue = model-1,
 * green = model-2, 90/10) on the local Docker engine, in Debian's chromium: sign in, the endpoint
 * and both deployments, traffic charted within 5 s, a traffic change made by `pulumi up` shown
 * within 2 s without a reload, the console's real prediction, a failing deployment's reason. No
 * console error; screenshots in $MODELPLANE_STATE/artifacts/studio. Everything is removed in `after`.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import * as path from "node:path";
import execa from "execa";
import { REPO_ROOT, TestStack } from "../harness/pulumi";
import { freePort, removeByLabel } from "../harness/docker";
import { latestRps, openStudio, overflowing, signIn, waitUntil, type StudioBrowser } from "./browser";

const STACK = "it-studio";
const SPEC_DIR_REL = `stacks/.${STACK}`;
const SPEC_DIR = path.join(REPO_ROOT, SPEC_DIR_REL);
const BASE_IMAGE = process.env.MODELPLANE_BASE_IMAGE ?? "modelplane/base:bookworm";
// As in test/integration/stack/dev-stack.test.ts: model-1's predictions for this request.
const EXPECTED = [11055.977245525679, 4503.079536107787];
const REQUEST = JSON.stringify({ data: [[1, 2, 3, 4, 5, 6, 7, 8, 9, 10], [10, 9, 8, 7, 6, 5, 4, 3, 2, 1]] });

let work: string;
let stack: TestStack;
let b: StudioBrowser;
let studio: string;
let token: string;
let scoringUri: string;
let key: string;

function deploymentYaml(name: string, code: string, model: string): string {
  return [
    `name: ${name}`,
    "endpoint_name: my-endpoint",
    `model:\n  path: ${model}`,
    `code_configuration:\n  code: ${code}\n  scoring_script: score.py`,
    `environment:\n  conda_file: ${path.join(REPO_ROOT, "examples/model-1/environment/conda.yaml")}`,
    "instance_type: Standard_DS3_v2",
    "instance_count: 1",
    "readiness_probe:\n  initial_delay: 1\n  period: 2\n  failure_threshold: 15",
    "",
  ].join("\n");
}

/** `brokenGreen`: green's code raises in init(), so updating green fails its readiness. */
async function writeSpecs(traffic: Record<string, number>, brokenGreen = false): Promise<void> {
  await rm(SPEC_DIR, { recursive: true, force: true });
  await mkdir(SPEC_DIR, { recursive: true });
  await writeFile(path.join(SPEC_DIR, "endpoint.yml"), `name: my-endpoint\nauth_mode: key\ntraffic:\n${Object.entries(traffic).map(([k, v]) => `  ${k}: ${v}`).join("\n")}\n`);
  await writeFile(path.join(SPEC_DIR, "blue.yml"), deploymentYaml("blue", path.join(REPO_ROOT, "examples/model-1/onlinescoring"), path.join(REPO_ROOT, "examples/model-1/model")));
  await writeFile(path.join(SPEC_DIR, "green.yml"), deploymentYaml("green", brokenGreen ? path.join(work, "broken-code") : path.join(REPO_ROOT, "examples/model-2/onlinescoring"), path.join(REPO_ROOT, "examples/model-2/model")));
}

before(async () => {
  work = await mkdtemp(path.join(tmpdir(), "studio-stack-"));
  await mkdir(path.join(work, "broken-code"));
  await writeFile(path.join(work, "broken-code/score.py"), 'def init():\n    raise RuntimeError("boom: the model file is corrupt")\n\ndef run(raw_data):\n    return []\n');
  await writeSpecs({ blue: 90, green: 10 });
  stack = await TestStack.create(REPO_ROOT, STACK, {
    "modelplane:gatewayPort": String(await freePort()),
    "modelplane:managementPort": String(await freePort()),
    "modelplane:baseImage": BASE_IMAGE,
    "modelplane:specDir": SPEC_DIR_REL,
  });
  await stack.pulumi(["up", "--yes", "--skip-preview"], { timeoutMs: 1_200_000 });
  const o = await stack.outputs();
  token = String(o.managementToken);
  studio = `${String(o.managementUrl)}/studio/`;
  const keys = await fetch(`${String(o.managementUrl)}/endpoints/my-endpoint/keys`, { method: "POST", headers: { authorization: `Bearer ${token}` } });
  key = ((await keys.json()) as { primaryKey: string }).primaryKey;
  scoringUri = `${String(o.gatewayUrl)}/endpoints/my-endpoint/score`;
  b = await openStudio();
});

after(async () => {
  await b?.close();
  await stack?.cleanup();
  await removeByLabel("modelplane.stack", STACK);
  await rm(SPEC_DIR, { recursive: true, force: true });
  await rm(work, { recursive: true, force: true });
});

test("sign in; the endpoints page lists the stack's endpoint", async () => {
  await signIn(b.page, studio, token);
  const row = b.page.locator('tr[data-endpoint="my-endpoint"]');
  await row.waitFor();
  assert.match(await row.innerText(), /blue 90%/);
  assert.match(await row.innerText(), /green 10%/);
  await b.screenshot("endpoints");
});

test("the detail page shows both deployments, the split, and the traffic sent within 5 s", async (t) => {
  await b.page.goto(`${studio}#/endpoints/my-endpoint`);
  await b.page.locator('tr[data-deployment="blue"]').waitFor();
  await b.page.locator('tr[data-deployment="green"]').waitFor();
  assert.equal(await b.page.locator("#traffic").getAttribute("data-traffic"), JSON.stringify({ blue: 90, green: 10 }));
  // The image column: the content-hash tag, the full reference in its title, an image the engine has.
  const image = b.page.locator('tr[data-deployment="blue"] td.image code');
  assert.match((await image.textContent()) ?? "", /^[0-9a-f]{12}$/);
  const ref = (await image.getAttribute("title")) ?? "";
  assert.ok(ref.endsWith(`:${await image.textContent()}`), ref);
  assert.equal((await execa("docker", ["image", "inspect", ref], { reject: false })).exitCode, 0, `docker has ${ref}`);
  const sentAt = Date.now();
  const load = (async () => {
    while (Date.now() - sentAt < 7000) {
      const r = await fetch(scoringUri, { method: "POST", headers: { "content-type": "application/json", authorization: `Bearer ${key}` }, body: REQUEST });
      assert.equal(r.status, 200);
      await r.text();
    }
  })();
  await waitUntil(() => latestRps(b.page, "blue"), (v) => v > 0, 5000, "the chart shows blue's traffic");
  t.diagnostic(`traffic charted ${Date.now() - sentAt} ms after the first request`);
  await load;
  await b.screenshot("detail");
  await b.screenshot("detail-390", 390);
});

test("a traffic change made by pulumi up appears within 2 s without a reload", async (t) => {
  await b.page.goto(`${studio}#/endpoints/my-endpoint`);
  await b.page.locator("#traffic").waitFor();
  const loads = b.loads();
  await writeSpecs({ blue: 50, green: 50 });
  await stack.pulumi(["up", "--yes", "--skip-preview"]);
  const done = Date.now();
  await waitUntil(() => b.page.locator("#traffic").getAttribute("data-traffic", { timeout: 500 }), (v) => v === JSON.stringify({ blue: 50, green: 50 }), 2000, "the new split");
  t.diagnostic(`shown ${Date.now() - done} ms after pulumi up returned`);
  assert.equal(b.loads(), loads, "the page was not reloaded");
});

test("the test console returns the model's real prediction", async () => {
  await b.page.goto(`${studio}#/endpoints/my-endpoint/test`);
  await b.page.getByLabel("Request body (JSON)").fill(REQUEST);
  await b.page.getByLabel("Send to").selectOption("blue");
  await b.page.getByRole("button", { name: "Send" }).click();
  await b.page.locator("#answer-status").waitFor({ timeout: 15_000 });
  assert.equal(await b.page.locator("#answer-status").innerText(), "200", await b.page.locator("#answer-body").innerText());
  assert.equal(await b.page.locator("#answer-deployment").innerText(), "blue");
  const got = JSON.parse(await b.page.locator("#answer-body").innerText()) as number[];
  assert.equal(got.length, 2);
  got.forEach((v, i) => assert.ok(Math.abs(v - EXPECTED[i]!) <= 1e-9 * EXPECTED[i]!, `prediction ${i}: ${v}`));
  await b.screenshot("console");
});

// A failed *create* is unregistered by the provider (Pulumi records nothing for it); a failed
// update stays registered as Failed, its last good instances serving: that is what the studio shows.
test("a failing deployment shows its failure reason on its logs page", async (t) => {
  await writeSpecs({ blue: 50, green: 50 }, true);
  const r = await stack.pulumi(["up", "--yes", "--skip-preview"], { reject: false });
  assert.notEqual(r.exitCode, 0, "the broken update fails pulumi up");
  const o = await stack.outputs();
  const state = await fetch(`${String(o.managementUrl)}/endpoints/my-endpoint/deployments/green`, { headers: { authorization: `Bearer ${token}` } });
  const dep = (await state.json()) as { provisioningState?: string; failureReason?: string };
  t.diagnostic(`green after the failed up: ${dep.provisioningState} (${dep.failureReason ?? "no reason"}); up said: ${String(r.all).split("\n").filter((l) => /error|fail/i.test(l)).slice(0, 6).join(" | ")}`);
  // The provider saw the crash loop first; the server marks the update Failed when its own probes run out (15 x 2 s).
  await b.page.goto(`${studio}#/endpoints/my-endpoint/deployments/green/logs`);
  await b.page.locator("#failure-reason").waitFor({ timeout: 90_000 });
  const reason = await b.page.locator("#failure-reason").innerText();
  t.diagnostic(`failure reason shown: ${reason}`);
  assert.match(reason, /readiness|boom|exited|failed/i);
  // This stack's server has no Docker socket (only batch stacks mount it): the page says where the logs are.
  const page = await b.page.locator("main").innerText();
  assert.match(page, /boom: the model file is corrupt|modelplane logs my-endpoint --deployment green/);
  await b.screenshot("logs");
});

test("no console error, no layout break at 390 px, the token in no URL", async () => {
  for (const hash of ["#/", "#/endpoints/my-endpoint", "#/endpoints/my-endpoint/test"]) {
    await b.page.setViewportSize({ width: 390, height: 844 });
    await b.page.goto(`${studio}${hash}`);
    await b.page.locator("main h1").waitFor();
    assert.deepEqual(await overflowing(b.page), [], hash);
  }
  await b.page.setViewportSize({ width: 1280, height: 900 });
  assert.deepEqual(b.errors, []);
  assert.equal(b.urls.some((u) => u.includes(token)), false);
});
