import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import * as path from "node:path";
import { describe, test } from "node:test";
import { ensureMlflowServerImage } from "../../../src/images/mlflow-server";
import { planServer } from "../../../src/servers/plan";
import type { OnlineDeploymentSpec } from "../../../src/spec";
import { corpusRoot } from "../../conformance-corpus";
import { assertClose, BASE_IMAGE, imageSizeMb, request, runContainer, stopAndRemove, waitReady } from "./harness";

// Needs the local Docker engine, modelplane/base:bookworm and PyPI for the first build (~2.5 min
// cold; then the content-hashed image is reused). The conformance corpus is mounted read-only.
const NCD = path.join(corpusRoot(), "cli/endpoints/online/ncd");
const MODEL = path.join(NCD, "sklearn-diabetes/model");
const SAMPLE = readFileSync(path.join(NCD, "sample-request-sklearn.json"), "utf8");

// Expected predictions, computed on the host, not by the server under test: a venv with
// scikit-learn==1.7.0, numpy==2.3.1, cloudpickle==3.1.1, pandas (the model's conda.yaml pins) ran
//   m = pickle.load(open("sklearn-diabetes/model/model.pkl", "rb"))   # a LinearRegression
//   m.predict(pd.DataFrame(req["data"], columns=req["columns"], index=req["index"])).tolist()
// on sample-request-sklearn.json's input_data -> [11633.100167144927, 8522.117402885002];
// np.array(data) @ m.coef_ + m.intercept_ gives the same two numbers.
const EXPECTED = [11633.100167144927, 8522.117402885002];
const COLUMNS = ["age", "sex", "bmi", "bp", "s1", "s2", "s3", "s4", "s5", "s6"];
const ROWS = [
  [1, 2, 3, 4, 5, 6, 7, 8, 9, 10],
  [10, 2, 9, 8, 7, 6, 5, 4, 3, 2],
];

describe("MLflow no-code server (sklearn-diabetes)", () => {
  test("builds, serves /score and /invocations in every MLflow input format, stops gracefully", { timeout: 900_000 }, async () => {
    const spec = { kind: "online-deployment", name: "mlflow", endpoint_name: "ep", instance_count: 1, model: { type: "mlflow_model", name: "sklearn-diabetes", version: "1", path: MODEL } } as OnlineDeploymentSpec;
    const planned = planServer(spec);
    assert.ok(planned.ok);
    const plan = planned.plan;
    const cold = await ensureMlflowServerImage({ requirementsFile: plan.image.condaFile, baseImage: BASE_IMAGE });
    const warm = await ensureMlflowServerImage({ requirementsFile: plan.image.condaFile, baseImage: BASE_IMAGE });
    assert.equal(warm.tag, cold.tag);
    assert.equal(warm.built, false, "unchanged inputs must not rebuild");
    const c = await runContainer(cold.tag, plan.port, plan.binds, plan.env);
    try {
      const readyAfter = await waitReady(c, plan.routes.readiness);
      assert.equal((await request(c.port, "GET", plan.routes.liveness)).status, 200);
      const score = async (route: string, body: unknown) => {
        const r = await request(c.port, "POST", route, typeof body === "string" ? body : JSON.stringify(body));
        assert.equal(r.status, 200, `${route}: ${r.text}`);
        return (JSON.parse(r.text) as { predictions: unknown }).predictions;
      };
      assertClose(await score(plan.routes.scoring, SAMPLE), EXPECTED); // Azure's {"input_data": {columns, index, data}}
      const split = { columns: COLUMNS, data: ROWS };
      const records = ROWS.map((r) => Object.fromEntries(COLUMNS.map((k, i) => [k, r[i]])));
      const columnar = Object.fromEntries(COLUMNS.map((k, i) => [k, ROWS.map((r) => r[i])]));
      for (const route of ["/invocations", "/score"]) {
        assertClose(await score(route, { dataframe_split: split }), EXPECTED);
        assertClose(await score(route, { dataframe_records: records }), EXPECTED);
        assertClose(await score(route, { instances: records }), EXPECTED);
        assertClose(await score(route, { inputs: columnar }), EXPECTED);
      }
      const bad = await request(c.port, "POST", "/invocations", JSON.stringify({ nope: 1 }));
      assert.equal(bad.status, 400, bad.text);
      const stop = await stopAndRemove(c.id);
      assert.equal(stop.exitCode, 0, "SIGTERM is a clean stop");
      console.log(`mlflow-server ${cold.tag}: ${await imageSizeMb(cold.tag)} MB, build ${cold.seconds.toFixed(1)} s (built=${cold.built}), warm ${warm.seconds.toFixed(2)} s, ready after ${readyAfter.toFixed(1)} s, stop ${stop.seconds.toFixed(1)} s`);
    } finally {
      await stopAndRemove(c.id).catch(() => undefined);
    }
  });
});
