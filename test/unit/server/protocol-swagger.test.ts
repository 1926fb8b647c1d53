import { test } from "node:test";
import assert from "node:assert/strict";
import { protocolSwagger } from "../../../src/server/gateway/protocol-swagger";

test("Triton deployments get an Open Inference Protocol document under the endpoint's routes", () => {
  const doc = protocolSwagger("tritonserver", "mixed-endpoint", "triton") as { openapi: string; paths: Record<string, unknown> };
  assert.equal(doc.openapi, "3.0.3");
  assert.deepEqual(Object.keys(doc.paths), [
    "/endpoints/mixed-endpoint/score",
    "/endpoints/mixed-endpoint/v2/models/{model}/infer",
    "/endpoints/mixed-endpoint/v2/models/{model}",
    "/endpoints/mixed-endpoint/v2/health/ready",
  ]);
});

test("MLflow deployments get a /score document listing MLflow's input formats", () => {
  const doc = protocolSwagger("mlflow", "e1x", "mlflow") as { paths: Record<string, { post: { summary: string } }> };
  assert.deepEqual(Object.keys(doc.paths), ["/endpoints/e1x/score"]);
  assert.match(doc.paths["/endpoints/e1x/score"]!.post.summary, /dataframe_split, dataframe_records, instances, inputs/);
});

test("servers that serve their own swagger (or unknown ones) get none", () => {
  assert.equal(protocolSwagger("azureml-inference-server-http", "e1x", "blue"), undefined);
  assert.equal(protocolSwagger(undefined, "e1x", "blue"), undefined);
});
