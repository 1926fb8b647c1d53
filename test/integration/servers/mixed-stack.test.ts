/**
 * Issue 6 acceptance: `pulumi up` of stacks/mixed (one endpoint, a custom-scoring, an MLflow and a
 * Triton deployment) on the local Docker engine; each deployment, pinned with
 * azureml-model-deployment, answers correct predictions through the gateway. Everything is
 * destroyed in `after`, even on failure.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import * as path from "node:path";
import { after, before, test } from "node:test";
import execa from "execa";
import { REPO_ROOT, TestStack } from "../harness/pulumi";
import { freePort, removeByLabel } from "../harness/docker";
import { assertClose, BASE_IMAGE } from "./harness";

const STACK = `itmixed${process.pid}`;
let stack: TestStack | undefined;

before(async () => {
  const [g, m] = [await freePort(), await freePort()];
  stack = await TestStack.create(REPO_ROOT, STACK, {
    "modelplane:gatewayPort": String(g),
    "modelplane:managementPort": String(m),
    "modelplane:baseImage": BASE_IMAGE,
    "modelplane:specDir": "stacks/mixed",
  });
});

after(async () => {
  await stack?.cleanup();
  await removeByLabel("modelplane.stack", STACK);
});

test("pulumi up of stacks/mixed: custom, MLflow, Triton and bring-your-own-container deployments each answer when pinned", { timeout: 1_800_000 }, async (t) => {
  assert.ok(stack);
  const started = Date.now();
  const up = await stack.pulumi(["up", "--yes", "--skip-preview"], { timeoutMs: 1_500_000 });
  t.diagnostic(`pulumi up: ${((Date.now() - started) / 1000).toFixed(1)} s`);
  // modelplane:tritonImage unset = auto: the up says which Triton image it chose and why (here, without nvcr.io, the local CPU build).
  const choice = String(up.all).split("\n").find((l) => l.includes("Triton deployments run the"));
  assert.match(choice ?? "", /Triton deployments run the (official-layout image nvcr\.io\/nvidia\/tritonserver:24\.10-py3 .*modelplane:tritonImage is auto and|local CPU build modelplane\/triton-server: modelplane:tritonImage is auto and nvcr\.io\/nvidia\/tritonserver:24\.10-py3 is not in the local engine nor pullable \()/, String(up.all).slice(-2000));
  t.diagnostic(choice!.trim());
  const outs = await stack.outputs();
  const scoringUri = (outs.endpoints as Record<string, { scoringUri: string }>)["mixed-endpoint"]!.scoringUri;
  const key = (outs.keys as Record<string, { primaryKey: string }>)["mixed-endpoint"]!.primaryKey;
  const score = async (deployment: string, body: string): Promise<unknown> => {
    const res = await fetch(scoringUri, { method: "POST", headers: { "content-type": "application/json", authorization: `Bearer ${key}`, "azureml-model-deployment": deployment }, body });
    const text = await res.text();
    assert.equal(res.status, 200, `${deployment}: ${text}`);
    assert.equal(res.headers.get("azureml-model-deployment"), deployment);
    return JSON.parse(text);
  };
  // examples/model-1 (see test/integration/images/custom-server.test.ts for how these were computed).
  assertClose(await score("custom", readFileSync(path.join(REPO_ROOT, "examples/model-1/sample-request.json"), "utf8")), [11055.977245525679, 4503.079536107787]);
  // sklearn-diabetes (see test/integration/servers/mlflow.test.ts).
  const mlflow = (await score("mlflow", readFileSync(path.join(REPO_ROOT, "stacks/mixed/models/sklearn-diabetes/sample-request-sklearn.json"), "utf8"))) as { predictions: number[] };
  assertClose(mlflow.predictions, [11633.100167144927, 8522.117402885002]);
  const triton = (await score("triton", JSON.stringify({ inputs: [{ name: "INPUT0", shape: [4], datatype: "FP32", data: [1, 2, 3, 4] }, { name: "INPUT1", shape: [4], datatype: "FP32", data: [10, 20, 30, 40] }] }))) as { outputs: { name: string; data: number[] }[] };
  assertClose(triton.outputs.find((o) => o.name === "OUTPUT0")?.data, [11, 22, 33, 44]);
  assertClose(triton.outputs.find((o) => o.name === "OUTPUT1")?.data, [-9, -18, -27, -36]);
  // examples/byoc: sum(row) * 2 + 0.5 with model/weights.json.
  const byoc = (await score("byoc", readFileSync(path.join(REPO_ROOT, "examples/byoc/sample-request.json"), "utf8"))) as { predictions: number[] };
  assertClose(byoc.predictions, [12.5, 121.5]);

  // Open Inference Protocol through the gateway: /endpoints/{e}/v2/... reaches Triton as-is.
  const v2 = scoringUri.replace(/\/score$/, "/v2/models/add_sub");
  const auth = { authorization: `Bearer ${key}`, "azureml-model-deployment": "triton" };
  const meta = await fetch(v2, { headers: auth });
  assert.equal(meta.status, 200);
  assert.equal(((await meta.json()) as { name: string }).name, "add_sub");
  const infer = await fetch(`${v2}/infer`, {
    method: "POST",
    headers: { ...auth, "content-type": "application/json" },
    body: JSON.stringify({ inputs: [{ name: "INPUT0", shape: [4], datatype: "FP32", data: [1, 2, 3, 4] }, { name: "INPUT1", shape: [4], datatype: "FP32", data: [3, 4, 5, 6] }] }),
  });
  assert.equal(infer.status, 200);
  assertClose(((await infer.json()) as { outputs: { name: string; data: number[] }[] }).outputs.find((o) => o.name === "OUTPUT0")?.data, [4, 6, 8, 10]);
  // Triton's streaming generate route: its server-sent event reaches the client through the gateway.
  const generated = await fetch(`${v2}/generate_stream`, { method: "POST", headers: { ...auth, "content-type": "application/json" }, body: JSON.stringify({ INPUT0: [1, 2, 3, 4], INPUT1: [3, 4, 5, 6] }) });
  assert.equal(generated.status, 200);
  assert.match(generated.headers.get("content-type") ?? "", /^text\/event-stream/);
  const event = /^data: (.*)\n\n$/.exec(await generated.text());
  assert.ok(event, "one server-sent event");
  assertClose((JSON.parse(event[1]!) as { OUTPUT0: number[] }).OUTPUT0, [4, 6, 8, 10]);
  const notOip = await fetch(v2, { headers: { ...auth, "azureml-model-deployment": "custom" } });
  assert.equal(notOip.status, 404, "a deployment that does not speak the protocol answers 404");
  assert.equal((await fetch(v2, { headers: { "azureml-model-deployment": "triton" } })).status, 401, "the /v2 routes need the key too");
  // The endpoint's swagger describes each deployment, also those whose server has none of its own.
  const swaggerOf = async (d: string) => (await (await fetch(scoringUri.replace(/\/score$/, "/swagger.json"), { headers: { ...auth, "azureml-model-deployment": d } })).json()) as { paths?: Record<string, unknown>; swagger?: string };
  assert.ok(Object.keys((await swaggerOf("triton")).paths ?? {}).some((p) => p.endsWith("/v2/models/{model}/infer")));
  assert.ok(Object.keys((await swaggerOf("mlflow")).paths ?? {}).some((p) => p.endsWith("/score")));
  assert.equal((await swaggerOf("custom")).swagger, "2.0", "azureml-inference-server-http serves its own");

  // Liveness: every server's liveness route answers the probe the engine runs (docs/architecture.md "Probes").
  const routes: Record<string, RegExp> = { custom: /:5001\/: 200 OK/, mlflow: /\/health: 200 OK/, triton: /\/v2\/health\/live: 200 OK/, byoc: /:8080\/healthz: 200 OK/ };
  const ids = (await execa("docker", ["ps", "-q", "--filter", `label=modelplane.stack=${STACK}`, "--filter", "label=modelplane.role=instance"])).stdout.split("\n").filter(Boolean);
  assert.equal(ids.length, 4);
  const deadline = Date.now() + 60_000;
  for (const id of ids) {
    for (;;) {
      const [dep, json] = (await execa("docker", ["inspect", "-f", '{{index .Config.Labels "modelplane.deployment"}} {{json .State.Health}}', id])).stdout.split(/ (.*)/s);
      const h = JSON.parse(json!) as { Status: string; Log: { Output: string }[] };
      if (h.Status === "healthy") {
        assert.match(h.Log.at(-1)!.Output, routes[dep!]!, `${dep}: ${JSON.stringify(h)}`);
        t.diagnostic(`${dep}: ${h.Log.at(-1)!.Output.trim()}`);
        break;
      }
      assert.ok(Date.now() < deadline && h.Status === "starting", `${dep}: ${JSON.stringify(h)}`);
      await new Promise((r) => setTimeout(r, 1000));
    }
  }
});
