// Requests through the traffic split: an answer from a deployment that has its own pinned request
// (same endpoint and body) is compared with that request's answer, so a candidate taking 10 % of
// the traffic does not make the split check fail at random; anything else still fails.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import * as path from "node:path";
import { parseVerifyFile } from "../../../src/verify";
import { runChecks, type ScoreAnswer } from "../../../src/verify/run";

const ROOT = path.resolve(__dirname, "../../..");
const BODY = '{"data":[[1,2]]}';
const read = () => BODY;
const STACK = "endpoint: my-endpoint\nrequests:\n  - name: sample\n    request_file: req.json\n    deployments: [blue, green]\n    expect: [10, 20]\n  - name: split\n    request_file: req.json\n    expect: [10, 20]\n";
const CANDIDATE = "endpoint: my-endpoint\nrequests:\n  - name: candidate-sample\n    request_file: req.json\n    deployment: candidate-2\n    expect: [3, 4]\n";

function checks(...texts: string[]) {
  return texts.flatMap((t, i) => {
    const r = parseVerifyFile(`/s/dev/verify/${i}.yml`, t, read);
    assert.deepEqual(r.problems, []);
    return r.checks;
  });
}

/** A gateway whose split sends every 10th request to candidate-2 (10 %), the rest to blue. */
function gateway(answers: Record<string, string>) {
  let n = 0;
  return async (c: { deployment?: string }): Promise<ScoreAnswer> => {
    const d = c.deployment ?? (++n % 10 === 0 ? "candidate-2" : "blue");
    return { status: 200, text: answers[d] ?? "[10, 20]", deployment: d };
  };
}

test("the split check passes whichever deployment answers, each against its own pinned answer (30 rounds at 10 %)", async () => {
  const all = checks(STACK, CANDIDATE);
  const score = gateway({ "candidate-2": "[3, 4]" });
  const served = new Set<string>();
  for (let round = 0; round < 30; round++) {
    const results = await runChecks(all, score);
    for (const r of results) {
      assert.ok(r.ok, `${r.check.name} served by ${r.servedBy}: ${r.reason}`);
      if (!r.check.deployment && r.servedBy) served.add(r.servedBy);
    }
  }
  assert.deepEqual([...served].sort(), ["blue", "candidate-2"], "the split did reach the candidate");
});

test("a candidate answering the split wrongly fails, naming the pinned request it was compared with", async () => {
  const all = checks(STACK, CANDIDATE);
  const score = gateway({ "candidate-2": "[3, 5]" });
  const failures: string[] = [];
  for (let round = 0; round < 10; round++) for (const r of await runChecks(all, score)) if (!r.ok) failures.push(`${r.check.name}: ${r.reason}`);
  assert.ok(failures.includes('candidate-sample: the answer differs at $[1]: got 5, expected 4 (off by 1)'), failures.join("\n"));
  assert.ok(failures.some((f) => f === 'split: the answer differs at $[1]: got 5, expected 4 (off by 1) (compared with my-endpoint/candidate-2 "candidate-sample", the request pinned to candidate-2)'), failures.join("\n"));
});

test("a deployment without a pinned request of the same body is compared with the split's expect", async () => {
  const other = "endpoint: my-endpoint\nrequests:\n  - name: other-body\n    request: {data: [[9]]}\n    deployment: candidate-2\n    expect: [3, 4]\n";
  const all = checks(STACK, other).filter((c) => !c.deployment || c.deployment === "candidate-2");
  const score = gateway({ "candidate-2": "[3, 4]" });
  const failed = [];
  for (let round = 0; round < 10; round++) failed.push(...(await runChecks(all, score)).filter((r) => !r.ok && r.check.name === "split"));
  assert.ok(failed.length > 0 && failed.every((r) => r.reason === "the answer differs at $[0]: got 3, expected 10 (off by 7)"), JSON.stringify(failed.map((r) => r.reason)));
});

test("stacks/dev/verify: the split request and the pipeline's pinned candidate request send the same body", () => {
  // examples/pipelines/train-and-promote.ts pins its candidate to examples/model-1/sample-request.json.
  const file = path.join(ROOT, "stacks/dev/verify/my-endpoint.yml");
  const r = parseVerifyFile(file, readFileSync(file, "utf8"));
  assert.deepEqual(r.problems, []);
  const split = r.checks.find((c) => !c.deployment);
  assert.ok(split, "dev has a request through the split");
  assert.equal(split.body, readFileSync(path.join(ROOT, "examples/model-1/sample-request.json"), "utf8"));
  assert.match(readFileSync(path.join(ROOT, "examples/pipelines/train-and-promote.ts"), "utf8"), /const SAMPLE = path\.join\(ROOT, "examples\/model-1\/sample-request\.json"\)/);
});
