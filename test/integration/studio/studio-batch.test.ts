/**
 * The studio's batch pages in a real browser (Debian chromium), against a server in this process
 * on the real Docker engine: a batch endpoint whose deployment names an image the engine does not
 * have, so its job fails at its first worker's start (a real failure, with its reason). The jobs
 * list shows it with its status and progress bar, its page the mini-batch counts, the failure
 * reason and its outputs, and summary.json downloads through the page's link.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { startHarness, TOKEN, type Harness } from "../server/harness";
import { openStudio, signIn, type StudioBrowser } from "./browser";

const PREFIX = "modelplane-it-studio-batch/";
let h: Harness;
let b: StudioBrowser;
let studio: string;
let dir: string;
let job = "";

before(async () => {
  dir = mkdtempSync(path.join(tmpdir(), "mp-studio-batch-"));
  const input = path.join(dir, "input");
  mkdirSync(input);
  for (let i = 0; i < 4; i++) writeFileSync(path.join(input, `f${i}.csv`), `a,b\n${i},${i + 1}\n`);
  h = await startHarness({ batch: { stack: "it-studio-batch", imagePrefix: PREFIX, inputRoots: [dir] } });
  const ok = (r: { status: number; body: unknown }, what: string) => assert.ok(r.status >= 200 && r.status < 300, `${what}: ${r.status} ${JSON.stringify(r.body)}`);
  ok(await h.mgmt("PUT", "/clusters/cpu", { min_instances: 0, max_instances: 2 }), "cluster");
  ok(await h.mgmt("PUT", "/endpoints/scores", { kind: "batch", auth_mode: "key" }), "batch endpoint");
  ok(
    await h.mgmt("PUT", "/endpoints/scores/deployments/main", {
      kind: "batch",
      // Under the prefix, but never built: the engine answers "no such image" when the job starts.
      image: `${PREFIX}never-built:1`,
      cluster: "cpu",
      model_server: "mlflow",
      model_dir: "/var/azureml-app/model",
      instance_count: 2,
      settings: { mini_batch_size: 2 },
    }),
    "batch deployment",
  );
  ok(await h.mgmt("PUT", "/endpoints/scores/defaults", { deployment_name: "main" }), "defaults");
  const key = (await h.mgmt("POST", "/endpoints/scores/keys")).body.primaryKey as string;
  const r = await fetch(`${h.server.gatewayUrl}/endpoints/scores/jobs`, { method: "POST", headers: { authorization: `Bearer ${key}`, "content-type": "application/json" }, body: JSON.stringify({ input }) });
  const body = (await r.json()) as { id: string };
  assert.equal(r.status, 202, JSON.stringify(body));
  job = body.id;
  for (let i = 0; ; i++) {
    const j = (await (await fetch(`${h.server.gatewayUrl}/endpoints/scores/jobs/${job}`, { headers: { authorization: `Bearer ${key}` } })).json()) as { status: string };
    if (j.status === "Failed") break;
    if (i > 300) throw new Error(`job ${job} did not fail in 60 s: ${JSON.stringify(j)}`);
    await new Promise((res) => setTimeout(res, 200));
  }
  studio = `${h.server.managementUrl}/studio/`;
  b = await openStudio();
  await signIn(b.page, studio, TOKEN);
});

after(async () => {
  await b?.close();
  await h?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

test("the jobs page lists the job with its status and a progress bar", async () => {
  await b.page.goto(`${studio}#/jobs`);
  const row = b.page.locator("tr", { has: b.page.getByRole("link", { name: job }) });
  await row.waitFor();
  assert.match(await row.innerText(), /main/);
  assert.match(await row.innerText(), /Failed/);
  assert.equal(await row.locator("progress, [role=progressbar]").count(), 1, "a progress bar");
  await b.screenshot("local-jobs");
});

test("the job's page: mini-batch counts, the failure reason, and summary.json downloads", async () => {
  await b.page.getByRole("link", { name: job }).click();
  await b.page.getByRole("heading", { name: `Job ${job}` }).waitFor();
  const facts = await b.page.locator("dl.facts").innerText();
  assert.match(facts, /0 done, 0 failed, 0 running, 2 pending of 2/);
  assert.match(facts, /4 \(0 failed\)/);
  assert.match(await b.page.locator(".failure").innerText(), /could not start worker \d from image modelplane-it-studio-batch\/never-built:1/);
  const link = b.page.getByRole("link", { name: "summary.json" });
  const [download] = await Promise.all([b.page.waitForEvent("download"), link.click()]);
  const file = path.join(dir, "summary.json");
  await download.saveAs(file);
  const summary = JSON.parse(readFileSync(file, "utf8")) as { id: string; status: string; failure_reason: string };
  assert.equal(summary.id, job);
  assert.equal(summary.status, "Failed");
  assert.match(summary.failure_reason, /never-built/);
  await b.screenshot("local-job");
  assert.deepEqual(b.errors, []);
});
