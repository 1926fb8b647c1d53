// Verify files: the format's rules with file:line:col problems, and answer comparison.
import { test } from "node:test";
import assert from "node:assert/strict";
import { answerDifference, parseVerifyFile } from "../../../src/verify";

const read = (files: Record<string, string>) => (p: string) => {
  const t = files[p];
  if (t === undefined) throw Object.assign(new Error("missing"), { code: "ENOENT" });
  return t;
};

test("a request per deployment, the body read relative to the file, defaults filled in", () => {
  const text = "endpoint: my-endpoint\nrequests:\n  - name: s\n    request_file: ../req.json\n    deployments: [blue, green]\n    expect: [1.5]\n    tolerance: 0.01\n  - name: inline\n    request: {data: [[1]]}\n    expect: {ok: true}\n";
  const r = parseVerifyFile("/s/dev/verify/e.yml", text, read({ "/s/dev/req.json": '{"data":[[2]]}' }));
  assert.deepEqual(r.problems, []);
  assert.deepEqual(
    r.checks.map((c) => [c.name, c.deployment, c.body, c.tolerance, c.status, c.where]),
    [
      ["s", "blue", '{"data":[[2]]}', 0.01, 200, "/s/dev/verify/e.yml:3:5"],
      ["s", "green", '{"data":[[2]]}', 0.01, 200, "/s/dev/verify/e.yml:3:5"],
      ["inline", undefined, '{"data":[[1]]}', 0, 200, "/s/dev/verify/e.yml:8:5"],
    ],
  );
});

test("every bad field is reported at its line:col with the fix", () => {
  const text = "endpoint: e\nextra: 1\nrequests:\n  - name: a\n    request_file: nope.json\n    expect: 1\n    tolerance: -1\n  - request: {}\n    request_file: x.json\n";
  const r = parseVerifyFile("/v/e.yml", text, read({}));
  assert.deepEqual(r.checks, []);
  assert.deepEqual(r.problems, [
    '/v/e.yml:2:1: error: unknown field "extra" (extra) - use only endpoint, requests',
    "/v/e.yml:5:19: error: cannot read /v/nope.json: ENOENT (requests.0.request_file) - fix the path (relative to this file)",
    "/v/e.yml:7:16: error: tolerance is -1 (requests.0.tolerance) - give a number >= 0 (how far each number of the answer may be from expect)",
    "/v/e.yml:8:5: error: name is undefined (requests.1.name) - give each request a name (it is printed when it fails), e.g. `name: sample-prediction`",
    "/v/e.yml:8:5: error: a request needs exactly one of request_file and request (requests.1) - set request_file: <path relative to this file>, or request: <inline JSON body>",
    "/v/e.yml:8:5: error: expect is missing (requests.1) - write the JSON answer the request must get, e.g. `expect: [1.5, 2.5]`",
  ]);
  assert.match(parseVerifyFile("/v/e.yml", "endpoint: [", read({})).problems[0]!, /^\/v\/e\.yml:1:\d+: error: YAML syntax error/);
});

test("answers: numbers within the tolerance match; the first difference is named by its path", () => {
  assert.equal(answerDifference([11055.977245525679, 4503.079536107787], [11055.9772455, 4503.0795361], 1e-6), undefined);
  assert.equal(answerDifference([1, 2], [1, 2.5], 0.1), "at $[1]: got 2.5, expected 2 (off by 0.5, tolerance 0.1)");
  assert.equal(answerDifference([1, 2], [1], 0), "at $: got 1 items, expected 2");
  assert.equal(answerDifference({ a: { b: "x" } }, { a: { b: "y" } }, 0), 'at $.a.b: got "y", expected "x"');
  assert.equal(answerDifference({ a: 1 }, { a: 1, b: 2 }, 0), "at $: unexpected field(s) b");
  assert.equal(answerDifference([1], "oops", 0), 'at $: got "oops", expected an array of 1');
});
