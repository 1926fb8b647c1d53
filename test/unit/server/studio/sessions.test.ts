import { test } from "node:test";
import assert from "node:assert/strict";
import { MAX_SESSIONS, SESSION_IDLE_MS, Sessions, clearedCookie, cookieValue, csrfRefusal, sessionCookie } from "../../../../src/server/studio/sessions";

test("sessions: random 43-char ids, found until idle for 8 h, then gone", () => {
  let now = 1_000;
  const s = new Sessions(() => now);
  const a = s.create();
  const b = s.create();
  assert.match(a.id, /^[A-Za-z0-9_-]{43}$/);
  assert.match(a.csrf, /^[A-Za-z0-9_-]{43}$/);
  assert.notEqual(a.id, b.id);
  assert.notEqual(a.id, a.csrf);
  now += SESSION_IDLE_MS;
  assert.equal(s.get(a.id), a, "used exactly at the limit: still live, idle time restarts");
  now += SESSION_IDLE_MS + 1;
  assert.equal(s.get(a.id), undefined);
  assert.equal(s.get(b.id), undefined);
  assert.equal(s.get(undefined), undefined);
  assert.equal(s.get("nope"), undefined);
});

test("sessions: at most MAX_SESSIONS, the least recently used one goes first; delete signs out", () => {
  const s = new Sessions(() => 0);
  const first = s.create();
  const second = s.create();
  for (let i = 2; i < MAX_SESSIONS; i++) s.create();
  assert.equal(s.size, MAX_SESSIONS);
  s.get(first.id); // now the most recently used
  s.create();
  assert.equal(s.size, MAX_SESSIONS);
  assert.equal(s.get(second.id), undefined);
  assert.equal(s.get(first.id), first);
  s.delete(first.id);
  assert.equal(s.get(first.id), undefined);
});

test("cookies: HttpOnly, SameSite=Strict, scoped to /studio; parsed from a Cookie header", () => {
  assert.equal(sessionCookie("abc", false), "modelplane_studio=abc; Path=/studio; HttpOnly; SameSite=Strict; Max-Age=28800");
  assert.equal(sessionCookie("abc", true), "modelplane_studio=abc; Path=/studio; HttpOnly; SameSite=Strict; Max-Age=28800; Secure");
  assert.equal(clearedCookie(), "modelplane_studio=; Path=/studio; HttpOnly; SameSite=Strict; Max-Age=0");
  assert.equal(cookieValue("a=1; modelplane_studio=xyz; b=2", "modelplane_studio"), "xyz");
  assert.equal(cookieValue("modelplane_studiox=1", "modelplane_studio"), undefined);
  assert.equal(cookieValue(undefined, "modelplane_studio"), undefined);
});

test("csrf: same-origin with the session's token passes; cross-site, foreign Origin or a wrong token are refused", () => {
  const s = new Sessions(() => 0).create();
  const host = "127.0.0.1:8081";
  const ok = { host, origin: `http://${host}`, "sec-fetch-site": "same-origin", "x-studio-csrf": s.csrf };
  assert.equal(csrfRefusal(ok, s), undefined);
  assert.equal(csrfRefusal({ host, "x-studio-csrf": s.csrf }, s), undefined, "a non-browser client without Origin/Sec-Fetch-Site, with the token");
  assert.equal(csrfRefusal({ ...ok, "sec-fetch-site": "cross-site" }, s), "cross-site request refused (Sec-Fetch-Site: cross-site)");
  assert.equal(csrfRefusal({ ...ok, "sec-fetch-site": "same-site" }, s), "cross-site request refused (Sec-Fetch-Site: same-site)");
  assert.equal(csrfRefusal({ ...ok, origin: "http://evil.example" }, s), "cross-site request refused (Origin http://evil.example is not this studio)");
  assert.equal(csrfRefusal({ ...ok, origin: "null" }, s), "cross-site request refused (Origin: null)");
  assert.equal(csrfRefusal({ ...ok, origin: "::" }, s), "cross-site request refused (malformed Origin)");
  assert.equal(csrfRefusal({ ...ok, "x-studio-csrf": undefined }, s), "missing or wrong x-studio-csrf header (reload the studio page)");
  assert.equal(csrfRefusal({ ...ok, "x-studio-csrf": `${s.csrf}x` }, s), "missing or wrong x-studio-csrf header (reload the studio page)");
  assert.equal(csrfRefusal({ host, origin: `http://${host}` }, undefined), undefined, "the sign-in form: origin only");
  assert.equal(csrfRefusal({ host, origin: "http://evil.example" }, undefined), "cross-site request refused (Origin http://evil.example is not this studio)");
});
