// `modelplane verify` against a fake management API + gateway on 127.0.0.1: keys fetched per
// endpoint, each request scored (pinned to its deployment when it names one), exit 1 names the
// request that failed.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import type { CommandIo } from "../../../src/cli/commands/access";
import { runVerify } from "../../../src/cli/commands/verify";

/** What each deployment answers. */
const answers: Record<string, unknown> = { blue: [11055.977245525679, 4503.079536107787], green: [11055.977245525679, 4503.079536107787] };
const scored: Array<{ auth?: string; deployment?: string; body: string }> = [];
let server: Server;
let url: string;
let root: string;

before(async () => {
  server = createServer((req, res) => {
    let body = "";
    req.on("data", (c: Buffer) => (body += c.toString()));
    req.on("end", () => {
      const json = (status: number, v: unknown, headers: Record<string, string> = {}) => {
        res.writeHead(status, { "content-type": "application/json", ...headers });
        res.end(JSON.stringify(v));
      };
      if (req.url === "/endpoints/my-endpoint" && req.method === "GET") return json(200, { auth_mode: "key", scoring_uri: "http://unused/score" });
      if (req.url === "/endpoints/my-endpoint/keys" && req.method === "POST") return json(req.headers.authorization === "Bearer mt" ? 200 : 401, { primaryKey: "k1" });
      if (req.url === "/gw/endpoints/my-endpoint/score" && req.method === "POST") {
        const d = (req.headers["azureml-model-deployment"] as string | undefined) ?? "blue";
        scored.push({ auth: req.headers.authorization, deployment: req.headers["azureml-model-deployment"] as string | undefined, body });
        return json(200, answers[d], { "azureml-model-deployment": d });
      }
      json(404, { error: { code: "not_found", message: req.url } });
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  root = mkdtempSync(path.join(tmpdir(), "mp-verify-"));
  mkdirSync(path.join(root, "stacks/dev/verify"), { recursive: true });
  writeFileSync(path.join(root, "stacks/dev/request.json"), '{"data": [[1,2,3,4,5,6,7,8,9,10],[10,9,8,7,6,5,4,3,2,1]]}');
  writeFileSync(
    path.join(root, "stacks/dev/verify/my-endpoint.yml"),
    "endpoint: my-endpoint\nrequests:\n  - name: sample\n    request_file: ../request.json\n    deployments: [blue, green]\n    expect: [11055.977245525679, 4503.079536107787]\n    tolerance: 1.0e-6\n",
  );
});
after(() => new Promise<void>((r) => server.close(() => r())));

function io(): CommandIo & { lines: string[]; errors: string[] } {
  const lines: string[] = [];
  const errors: string[] = [];
  const env = { MODELPLANE_MANAGEMENT_URL: url, MODELPLANE_MANAGEMENT_TOKEN: "mt", MODELPLANE_GATEWAY_URL: `${url}/gw` };
  return { out: (l) => lines.push(l), write: (t) => lines.push(t), err: (l) => errors.push(l), env, lines, errors };
}

test("every request passes: each deployment scored pinned, with the endpoint's key", async () => {
  scored.length = 0;
  const c = io();
  assert.equal(await runVerify({ stack: "dev" }, c, root), 0, c.errors.join("\n"));
  assert.deepEqual(scored.map((s) => [s.auth, s.deployment]), [["Bearer k1", "blue"], ["Bearer k1", "green"]]);
  assert.match(scored[0]!.body, /"data"/);
  assert.match(c.lines[0]!, /^ok {4}my-endpoint\/blue "sample" \(\d+ ms, served by blue\)$/);
  assert.equal(c.lines.at(-1), "verified stack dev: 2 request(s) passed");
});

test("a wrong answer exits 1 naming the request, where it is written, and the difference", async () => {
  answers.green = [11055.977245525679, 4600];
  try {
    const c = io();
    assert.equal(await runVerify({ stack: "dev" }, c, root), 1);
    assert.match(c.lines[1]!, /^FAIL {2}my-endpoint\/green "sample"/);
    assert.match(c.errors[0]!, /verification of stack "dev" failed: my-endpoint\/green "sample" \(.*stacks\/dev\/verify\/my-endpoint\.yml:3:5\): the answer differs at \$\[1\]: got 4600, expected 4503\.079536107787/);
  } finally {
    answers.green = answers.blue;
  }
});

test("a stack without verify requests is refused with the file to add", async () => {
  const c = io();
  assert.equal(await runVerify({ stack: "stage" }, c, root), 1);
  assert.match(c.errors[0]!, /stack "stage" has no verification requests: add stacks\/stage\/verify\/<endpoint>\.yml/);
});
