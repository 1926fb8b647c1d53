// `modelplane preview` with a recorded pulumi (test/unit/preview/fixtures) and a fake GitHub API.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import type { CommandIo } from "../../../src/cli/commands/access";
import type { PulumiRunner } from "../../../src/cli/commands/pulumi-run";
import { runPreview } from "../../../src/cli/commands/preview";
import { FakeGitHub } from "../github/fake-github";

const FIX = path.join(__dirname, "../preview/fixtures");
const gh = new FakeGitHub();
let apiUrl: string;
let dir: string;

before(async () => {
  apiUrl = await gh.start();
  dir = mkdtempSync(path.join(tmpdir(), "mp-preview-cli-"));
});
after(() => gh.stop());

function io(env: NodeJS.ProcessEnv = {}): CommandIo & { text: () => string; errors: string[] } {
  const written: string[] = [];
  const errors: string[] = [];
  return { out: (l) => written.push(`${l}\n`), write: (t) => written.push(t), err: (l) => errors.push(l), env, text: () => written.join(""), errors };
}

/** Answers `preview` of stack S with fixtures/<cases[S]>.json and `stack export` with the recorded state. */
function recorded(cases: Record<string, string>, calls: string[][] = []): PulumiRunner {
  const state = readFileSync(path.join(FIX, "state.json"), "utf8");
  return async (args) => {
    calls.push(args);
    const stack = args[args.indexOf("--stack") + 1]!;
    if (args[0] === "stack" && args[1] === "export") return { exitCode: 0, stdout: JSON.stringify({ deployment: { resources: JSON.parse(state) as unknown } }), stderr: "" };
    if (args[0] === "stack" && args[1] === "--show-name") return { exitCode: 0, stdout: "dev\n", stderr: "" };
    const name = cases[stack]!;
    const json = readFileSync(path.join(FIX, `${name}.json`), "utf8");
    const failed = name === "invalid-spec";
    return { exitCode: failed ? 255 : 0, stdout: json, stderr: "" };
  };
}

test("previews every --stack with --json --diff and writes the markdown; a failed stack exits 1 after rendering its error", async () => {
  const calls: string[][] = [];
  const md = path.join(dir, "preview.md");
  const c = io();
  const code = await runPreview({ stack: ["dev", "stage"], markdown: md }, c, { root: "/REPO", pulumi: recorded({ dev: "traffic-change", stage: "invalid-spec" }, calls) });
  assert.equal(code, 1);
  assert.deepEqual(calls.filter((a) => a[0] === "preview"), [["preview", "--json", "--diff", "--stack", "dev"], ["preview", "--json", "--diff", "--stack", "stage"]]);
  const text = readFileSync(md, "utf8");
  assert.equal(text, c.text());
  assert.match(text, /### Stack `dev`\n\nResources: update 1/);
  assert.match(text, /\| `blue` \| same \| 90% → \*\*100%\*\*/);
  assert.match(text, /### Stack `stage` — preview failed[\s\S]*green\.yml:\d+:\d+: error/);
  assert.match(c.errors.at(-1)!, /the preview of stack "stage" failed \(errors above\): fix the specs it names/);
});

test("--comment creates one sticky comment, then updates it", async () => {
  const event = path.join(dir, "event.json");
  writeFileSync(event, JSON.stringify({ pull_request: { number: 5 } }));
  const env = { GITHUB_TOKEN: "tok", GITHUB_REPOSITORY: "acme/models", GITHUB_EVENT_PATH: event, GITHUB_API_URL: apiUrl };
  const first = io(env);
  assert.equal(await runPreview({ stack: ["dev"], comment: true }, first, { root: "/REPO", pulumi: recorded({ dev: "traffic-change" }) }), 0);
  assert.match(first.errors.at(-1)!, /^comment created on acme\/models#5/);
  const second = io(env);
  assert.equal(await runPreview({ stack: ["dev"], comment: true }, second, { root: "/REPO", pulumi: recorded({ dev: "model-version" }) }), 0);
  assert.match(second.errors.at(-1)!, /^comment updated on acme\/models#5/);
  const mine = gh.comments.filter((x) => x.issue === 5);
  assert.equal(mine.length, 1);
  assert.match(mine[0]!.body, /regression:1` → \*\*`regression:2`/);
});

test("--comment without a token fails before any preview runs, naming the fix", async () => {
  const calls: string[][] = [];
  const c = io({ GITHUB_REPOSITORY: "acme/models" });
  assert.equal(await runPreview({ stack: ["dev"], comment: true, pr: "5" }, c, { root: "/REPO", pulumi: recorded({ dev: "traffic-change" }, calls) }), 1);
  assert.deepEqual(calls, []);
  assert.match(c.errors[0]!, /--comment: GITHUB_TOKEN is not set: in a workflow pass/);
});

test("a bad --shift-threshold is refused with an example", async () => {
  const c = io();
  assert.equal(await runPreview({ stack: ["dev"], shiftThreshold: "ten" }, c, { root: "/REPO", pulumi: recorded({ dev: "traffic-change" }) }), 1);
  assert.match(c.errors[0]!, /--shift-threshold "ten" is not a whole number >= 0: pass e.g. --shift-threshold 20/);
});
