// The sticky PR comment against a fake GitHub REST API on 127.0.0.1 that records every call.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { FakeGitHub } from "./fake-github";
import { commentTarget, GitHubError, prFromEvent, upsertStickyComment } from "../../../src/github/sticky-comment";

const MARKER = "<!-- modelplane-preview -->";
const gh = new FakeGitHub();
let apiUrl: string;

before(async () => {
  apiUrl = await gh.start();
});
after(() => gh.stop());

test("first run creates the comment, the second updates the same one, a third with the same text sends nothing", async () => {
  gh.comments.push({ id: 7, body: "someone else's review", issue: 12 });
  const t = { repository: "acme/models", pr: 12, token: "tok", apiUrl };
  const first = await upsertStickyComment(t, MARKER, `${MARKER}\nv1`);
  assert.equal(first.action, "created");
  const second = await upsertStickyComment(t, MARKER, `${MARKER}\nv2`);
  assert.deepEqual([second.action, second.id], ["updated", first.id]);
  const mine = gh.comments.filter((c) => c.body.includes(MARKER));
  assert.equal(mine.length, 1);
  assert.equal(mine[0]!.body, `${MARKER}\nv2`);
  assert.equal(gh.comments.find((c) => c.id === 7)!.body, "someone else's review", "other comments are left alone");
  const before = gh.calls.length;
  assert.equal((await upsertStickyComment(t, MARKER, `${MARKER}\nv2`)).action, "unchanged");
  assert.deepEqual(gh.calls.slice(before).map((c) => c.method), ["GET"]);
  assert.ok(gh.calls.every((c) => c.auth === "Bearer tok"));
});

test("the marker is found past the first page of comments", async () => {
  for (let i = 0; i < 120; i++) gh.comments.push({ id: 1000 + i, body: `chatter ${i}`, issue: 13 });
  gh.comments.push({ id: 5000, body: `${MARKER}\nold`, issue: 13 });
  const r = await upsertStickyComment({ repository: "acme/models", pr: 13, token: "tok", apiUrl }, MARKER, `${MARKER}\nnew`);
  assert.deepEqual([r.action, r.id], ["updated", 5000]);
});

test("GitHub's refusals are explained with the fix", async () => {
  const t = { repository: "acme/models", pr: 12, token: "wrong", apiUrl };
  await assert.rejects(upsertStickyComment(t, MARKER, `${MARKER}\nx`), (e: Error) => e instanceof GitHubError && /401 Bad credentials; the token was refused: check GITHUB_TOKEN/.test(e.message));
  gh.failWith = { status: 403, message: "Resource not accessible by integration" };
  try {
    await assert.rejects(upsertStickyComment({ ...t, token: "tok" }, MARKER, `${MARKER}\nx`), /403 Resource not accessible by integration; .*permissions: pull-requests: write/);
  } finally {
    gh.failWith = undefined;
  }
  await assert.rejects(upsertStickyComment({ ...t, token: "tok", repository: "acme/nope" }, MARKER, `${MARKER}\nx`), /404 Not Found; check GITHUB_REPOSITORY \(acme\/nope\)/);
  await assert.rejects(upsertStickyComment({ ...t, apiUrl: "http://127.0.0.1:1" }, MARKER, `${MARKER}\nx`), /got no answer \(ECONNREFUSED\): check GITHUB_API_URL/);
});

test("the target comes from the Actions environment; what is missing is named with the fix", () => {
  const dir = mkdtempSync(path.join(tmpdir(), "mp-gh-"));
  const event = path.join(dir, "event.json");
  writeFileSync(event, JSON.stringify({ pull_request: { number: 42 } }));
  const env = { GITHUB_TOKEN: "tok", GITHUB_REPOSITORY: "acme/models", GITHUB_EVENT_PATH: event, GITHUB_API_URL: apiUrl };
  assert.deepEqual(commentTarget(env), { repository: "acme/models", pr: 42, token: "tok", apiUrl });
  assert.equal(commentTarget(env, 7).pr, 7, "--pr wins over the event");
  assert.throws(() => commentTarget({ ...env, GITHUB_TOKEN: "" }), /GITHUB_TOKEN is not set: in a workflow pass `env: GITHUB_TOKEN: \$\{\{ secrets.GITHUB_TOKEN \}\}`/);
  assert.throws(() => commentTarget({ ...env, GITHUB_REPOSITORY: "nope" }), /GITHUB_REPOSITORY is "nope": set it to owner\/name/);
  assert.throws(() => prFromEvent(undefined), /pass --pr <number>/);
  writeFileSync(event, JSON.stringify({ ref: "refs/heads/main" }));
  assert.throws(() => prFromEvent(event), /is not a pull request's \(no pull_request.number\)/);
});
