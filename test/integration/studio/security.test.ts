/**
 * The studio's access rules against a real server (this process) and fake model servers: every
 * studio API answers 401 without the session cookie, cross-site writes are refused, and the
 * management token appears in no URL, response body or log line.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { startHarness, startUpstream, setupEndpoint, TOKEN, type Harness, type Upstream } from "../server/harness";

let h: Harness;
let up: Upstream;
let base: string;
const written: string[] = [];
const restore: (() => void)[] = [];

/** Every studio API route, with a method. */
const ROUTES: [string, string][] = [
  ["GET", "endpoints"],
  ["GET", "endpoints/my-endpoint"],
  ["GET", "endpoints/my-endpoint/series"],
  ["GET", "endpoints/my-endpoint/deployments/blue/logs"],
  ["POST", "endpoints/my-endpoint/test"],
  ["POST", "endpoints/my-endpoint/keys"],
  ["GET", "endpoints/my-endpoint/jobs"],
  ["GET", "endpoints/my-endpoint/jobs/j1"],
  ["GET", "endpoints/my-endpoint/jobs/j1/outputs/a.csv"],
  ["POST", "sign-out"],
  ["GET", "nope"],
];

before(async () => {
  // Everything the process writes (the server's own lines included) is kept to grep for the token.
  for (const stream of [process.stdout, process.stderr]) {
    const orig = stream.write.bind(stream);
    stream.write = ((chunk: string | Uint8Array, ...rest: unknown[]) => {
      written.push(typeof chunk === "string" ? chunk : Buffer.from(chunk).toString("utf8"));
      return (orig as (c: string | Uint8Array, ...r: unknown[]) => boolean)(chunk, ...rest);
    }) as typeof stream.write;
    restore.push(() => (stream.write = orig as typeof stream.write));
  }
  h = await startHarness();
  up = await startUpstream("blue");
  await setupEndpoint(h, "my-endpoint", { blue: [up.url] }, { blue: 100 });
  base = h.server.managementUrl;
});

after(async () => {
  for (const r of restore) r();
  await h?.close();
  await up?.close();
});

async function signIn(): Promise<{ cookie: string; csrf: string }> {
  const r = await fetch(`${base}/studio/sign-in`, { method: "POST", redirect: "manual", headers: { "content-type": "application/x-www-form-urlencoded", origin: base, "sec-fetch-site": "same-origin" }, body: new URLSearchParams({ token: TOKEN }).toString() });
  assert.equal(r.status, 303);
  assert.equal(r.headers.get("location"), "/studio/");
  const set = r.headers.get("set-cookie") ?? "";
  assert.match(set, /HttpOnly/);
  assert.match(set, /SameSite=Strict/);
  const cookie = set.split(";")[0]!;
  const s = (await (await fetch(`${base}/studio/session`, { headers: { cookie } })).json()) as { signedIn: boolean; csrf: string };
  assert.equal(s.signedIn, true);
  return { cookie, csrf: s.csrf };
}

test("every studio API answers 401 without the session cookie (and with a made-up one)", async () => {
  for (const [method, p] of ROUTES) {
    for (const headers of [{}, { cookie: "modelplane_studio=made-up" }, { authorization: `Bearer ${TOKEN}` }] as Record<string, string>[]) {
      const r = await fetch(`${base}/studio/api/${p}`, { method, headers, ...(method === "POST" ? { body: "{}" } : {}) });
      assert.equal(r.status, 401, `${method} ${p} with ${Object.keys(headers).join(",") || "nothing"}`);
      await r.text();
    }
  }
});

test("a wrong token does not sign in; a cross-site sign-in form is refused", async () => {
  const wrong = await fetch(`${base}/studio/sign-in`, { method: "POST", redirect: "manual", headers: { "content-type": "application/x-www-form-urlencoded", origin: base }, body: "token=wrong" });
  assert.equal(wrong.status, 303);
  assert.equal(wrong.headers.get("location"), "/studio/#/sign-in/failed");
  assert.equal(wrong.headers.get("set-cookie"), null);
  const cross = await fetch(`${base}/studio/sign-in`, { method: "POST", redirect: "manual", headers: { "content-type": "application/x-www-form-urlencoded", origin: "http://evil.example", "sec-fetch-site": "cross-site" }, body: `token=${TOKEN}` });
  assert.equal(cross.status, 403);
  assert.equal(cross.headers.get("set-cookie"), null);
});

test("a cross-site POST is refused even with the cookie; the same call from the page works", async () => {
  const { cookie, csrf } = await signIn();
  const body = JSON.stringify({ keyType: "secondary", confirm: "my-endpoint" });
  const before = (await h.mgmt("POST", "/endpoints/my-endpoint/keys")).body.secondaryKey as string;
  const attempts: Record<string, string>[] = [
    { cookie, "content-type": "application/json", origin: "http://evil.example", "sec-fetch-site": "cross-site", "x-studio-csrf": csrf },
    { cookie, "content-type": "text/plain", "sec-fetch-site": "cross-site" },
    { cookie, "content-type": "application/json", origin: base, "sec-fetch-site": "same-origin" },
    { cookie, "content-type": "application/json", origin: base, "sec-fetch-site": "same-origin", "x-studio-csrf": "guess" },
  ];
  for (const headers of attempts) {
    const r = await fetch(`${base}/studio/api/endpoints/my-endpoint/keys`, { method: "POST", headers, body });
    assert.equal(r.status, 403, JSON.stringify(Object.keys(headers)));
    await r.text();
  }
  assert.equal((await h.mgmt("POST", "/endpoints/my-endpoint/keys")).body.secondaryKey, before, "no refused call changed the key");
  const noConfirm = await fetch(`${base}/studio/api/endpoints/my-endpoint/keys`, { method: "POST", headers: { cookie, "content-type": "application/json", origin: base, "sec-fetch-site": "same-origin", "x-studio-csrf": csrf }, body: JSON.stringify({ keyType: "secondary" }) });
  assert.equal(noConfirm.status, 400);
  const ok = await fetch(`${base}/studio/api/endpoints/my-endpoint/keys`, { method: "POST", headers: { cookie, "content-type": "application/json", origin: base, "sec-fetch-site": "same-origin", "x-studio-csrf": csrf }, body });
  assert.equal(ok.status, 200);
  assert.deepEqual(await ok.json(), { regenerated: "secondary" });
  assert.notEqual((await h.mgmt("POST", "/endpoints/my-endpoint/keys")).body.secondaryKey, before);
});

test("the token is in no response body, header or log line; signing out ends the session", async () => {
  const { cookie, csrf } = await signIn();
  const keys = (await h.mgmt("POST", "/endpoints/my-endpoint/keys")).body as { primaryKey: string; secondaryKey: string };
  const bodies: string[] = [];
  for (const p of ["/studio/", "/studio/app.js", "/studio/app.css", "/studio/session"]) {
    const r = await fetch(`${base}${p}`, { headers: { cookie } });
    assert.equal(r.status, 200, p);
    bodies.push(await r.text(), JSON.stringify([...r.headers]));
  }
  for (const [method, p] of ROUTES.filter(([m, x]) => x !== "sign-out" && !(m === "POST" && x.endsWith("/keys")))) {
    const r = await fetch(`${base}/studio/api/${p}`, { method, headers: { cookie, "content-type": "application/json", origin: base, "x-studio-csrf": csrf }, ...(method === "POST" ? { body: JSON.stringify({ body: '{"data": [1]}' }) } : {}) });
    bodies.push(await r.text(), JSON.stringify([...r.headers]));
  }
  for (const b of bodies) {
    assert.equal(b.includes(TOKEN), false);
    assert.equal(b.includes(keys.primaryKey), false, "nor an endpoint key");
  }
  const lines = [...written, ...h.logs].join("\n");
  assert.ok(h.logs.length > 0, "the test console's request was logged by the gateway");
  assert.equal(lines.includes(TOKEN), false);
  const out = await fetch(`${base}/studio/api/sign-out`, { method: "POST", headers: { cookie, origin: base, "x-studio-csrf": csrf, "content-type": "application/json" }, body: "{}" });
  assert.equal(out.status, 200);
  assert.equal((await fetch(`${base}/studio/api/endpoints`, { headers: { cookie } })).status, 401);
});
