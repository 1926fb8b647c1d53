/**
 * The studio in a real browser (Debian chromium) against a server started in this process with
 * fake model servers: fast enough to run on every change. The same behaviours against a stack
 * deployed by `pulumi up`, with real model containers, are in dev-stack-studio.test.ts.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { startHarness, startUpstream, setupEndpoint, score, sleep, TOKEN, type Harness, type Upstream } from "../server/harness";
import { latestRps, openStudio, overflowing, signIn, waitUntil, type StudioBrowser } from "./browser";

let h: Harness;
let blue: Upstream;
let green: Upstream;
let key: string;
let b: StudioBrowser;
let studio: string;

before(async () => {
  h = await startHarness();
  blue = await startUpstream("blue");
  green = await startUpstream("green");
  key = await setupEndpoint(h, "my-endpoint", { blue: [blue.url], green: [green.url] }, { blue: 90, green: 10 });
  studio = `${h.server.managementUrl}/studio/`;
  b = await openStudio();
});

after(async () => {
  await b?.close();
  await h?.close();
  await blue?.close();
  await green?.close();
});

test("sign in, then the endpoints page lists the endpoint with its traffic", async () => {
  await signIn(b.page, studio, TOKEN);
  const row = b.page.locator('tr[data-endpoint="my-endpoint"]');
  await row.waitFor();
  assert.match(await row.innerText(), /online/);
  assert.match(await row.innerText(), /blue 90%/);
  assert.match(await row.innerText(), /green 10%/);
  await b.screenshot("local-endpoints");
});

test("the detail page shows both deployments and the split, and charts the traffic sent within 5 s", async () => {
  await b.page.getByRole("link", { name: "my-endpoint" }).click();
  await b.page.locator('tr[data-deployment="blue"]').waitFor();
  await b.page.locator('tr[data-deployment="green"]').waitFor();
  assert.equal(await b.page.locator("#traffic").getAttribute("data-traffic"), JSON.stringify({ blue: 90, green: 10 }));
  const sentAt = Date.now();
  const load = (async () => {
    while (Date.now() - sentAt < 6000) {
      const r = await score(h.server.gatewayUrl, "my-endpoint", key);
      assert.equal(r.status, 200);
      await sleep(20);
    }
  })();
  // The chart's newest blue point (what the page drew, read from the page) goes above 0.
  await waitUntil(() => latestRps(b.page, "blue"), (v) => v > 0, 5000, "the chart shows blue's traffic");
  const seenMs = Date.now() - sentAt;
  await load;
  assert.ok(seenMs < 5000, `traffic reached the chart data after ${seenMs} ms`);
  assert.equal(await b.page.locator(".chart").count() >= 3, true);
  await b.screenshot("local-detail");
});

test("a traffic change appears within 2 s without a reload", async () => {
  const loads = b.loads();
  const t = await h.mgmt("PUT", "/endpoints/my-endpoint/traffic", { traffic: { blue: 50, green: 50 } });
  assert.equal(t.status, 200);
  const changed = Date.now();
  await waitUntil(() => b.page.locator("#traffic").getAttribute("data-traffic", { timeout: 500 }), (v) => v === JSON.stringify({ blue: 50, green: 50 }), 2000, "the new split");
  assert.ok(Date.now() - changed < 2000);
  assert.equal(b.loads(), loads, "the page was not reloaded");
});

test("the test console answers with the model's prediction, pinned or by traffic", async () => {
  await b.page.goto(`${studio}#/endpoints/my-endpoint/test`);
  await b.page.getByLabel("Request body (JSON)").fill('{"data": [1]}');
  await b.page.getByLabel("Send to").selectOption("green");
  await b.page.getByRole("button", { name: "Send" }).click();
  await b.page.locator("#answer-status").waitFor();
  assert.equal(await b.page.locator("#answer-status").innerText(), "200");
  assert.equal(await b.page.locator("#answer-deployment").innerText(), "green");
  assert.equal(await b.page.locator("#answer-body").innerText(), JSON.stringify({ deployment: "green" }));
  await b.screenshot("local-console");
});

test("a failing deployment shows its failure reason", async () => {
  const r = await h.mgmt("PUT", "/endpoints/my-endpoint/deployments/broken", {
    instances: [{ id: "i0", url: "http://127.0.0.1:9" }],
    routes: { scoring: "/score", readiness: "/", liveness: "/" },
    request_settings: { request_timeout_ms: 1000, max_concurrent_requests_per_instance: 1, max_queue_wait_ms: 100 },
    readiness_probe: { initial_delay: 0, period: 0.1, timeout: 0.2, success_threshold: 1, failure_threshold: 2 },
    liveness_probe: { initial_delay: 0, period: 0.1, timeout: 0.2, success_threshold: 1, failure_threshold: 2 },
  });
  assert.equal(r.status, 201);
  await b.page.goto(`${studio}#/endpoints/my-endpoint/deployments/broken/logs`);
  await b.page.locator("#failure-reason").waitFor({ timeout: 15_000 });
  assert.match(await b.page.locator("#failure-reason").innerText(), /readiness|127\.0\.0\.1:9|ECONNREFUSED/i);
  await b.screenshot("local-logs");
});

test("no layout break at 390 px, and no console error on any page", async () => {
  for (const hash of ["#/", "#/endpoints/my-endpoint", "#/endpoints/my-endpoint/test", "#/jobs"]) {
    await b.page.setViewportSize({ width: 390, height: 844 });
    await b.page.goto(`${studio}${hash}`);
    await b.page.locator("main h1").waitFor();
    await sleep(300);
    assert.deepEqual(await overflowing(b.page), [], `${hash} is wider than 390 px`);
  }
  await b.screenshot("local-detail-390");
  await b.page.setViewportSize({ width: 1280, height: 900 });
  assert.deepEqual(b.errors, []);
  assert.equal(b.urls.some((u) => u.includes(TOKEN)), false);
  assert.equal(h.logs.some((l) => l.includes(TOKEN)), false);
});

test("mirror on: the detail page charts mirror agreement; readable in dark and light, no break at 1280 px", async () => {
  const t = await h.mgmt("PUT", "/endpoints/my-endpoint/traffic", { traffic: { blue: 100, green: 0 }, mirror_traffic: { green: 50 } });
  assert.equal(t.status, 200, JSON.stringify(t.body));
  await b.page.setViewportSize({ width: 1280, height: 900 });
  await b.page.goto(`${studio}#/endpoints/my-endpoint`);
  const sentAt = Date.now();
  while (Date.now() - sentAt < 3000) {
    assert.equal((await score(h.server.gatewayUrl, "my-endpoint", key)).status, 200);
    await sleep(20);
  }
  await b.page.getByText("Mirror agreement").waitFor({ timeout: 5000 });
  assert.deepEqual(await overflowing(b.page), [], "wider than 1280 px");
  const colors = async (scheme: "dark" | "light") => {
    await b.page.emulateMedia({ colorScheme: scheme });
    // A string: the test is compiled without the DOM's types.
    return (await b.page.evaluate("(() => { const s = getComputedStyle(document.body); return [s.backgroundColor, s.color]; })()")) as string[];
  };
  const [dark, light] = [await colors("dark"), await colors("light")];
  assert.notDeepEqual(dark, light, "the page follows the color scheme");
  assert.notEqual(dark[0], dark[1], "dark: text and background differ");
  await b.screenshot("local-mirror");
  assert.deepEqual(b.errors, []);
});

test("key regeneration asks for the endpoint's name; then the old key gets 401 and the new one scores", async () => {
  await b.page.goto(`${studio}#/endpoints/my-endpoint`);
  await b.page.getByRole("button", { name: "Regenerate a key…" }).click();
  await b.page.locator("form.confirm select").selectOption("primary");
  const submit = b.page.getByRole("button", { name: "Regenerate", exact: true });
  assert.equal(await submit.isDisabled(), true, "not before the name is typed");
  await b.page.getByLabel("Type the endpoint's name to confirm").fill("my-endpoint");
  await submit.click();
  const status = b.page.locator("form.confirm [role=status]");
  await status.waitFor();
  assert.match(await status.innerText(), /The primary key was regenerated/);
  assert.equal((await score(h.server.gatewayUrl, "my-endpoint", key)).status, 401, "the old key");
  const fresh = (await h.mgmt("POST", "/endpoints/my-endpoint/keys")).body.primaryKey as string;
  assert.notEqual(fresh, key);
  assert.equal((await score(h.server.gatewayUrl, "my-endpoint", fresh)).status, 200, "the new key");
  key = fresh;
  assert.deepEqual(b.errors, []);
});
