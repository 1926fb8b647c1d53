import assert from "node:assert/strict";
import * as path from "node:path";
import { describe, test } from "node:test";
import { ensureTritonServerImage } from "../../../src/images/triton-server";
import { planServer } from "../../../src/servers/plan";
import type { OnlineDeploymentSpec } from "../../../src/spec";
import { assertClose, BASE_IMAGE, imageSizeMb, request, runContainer, stopAndRemove, waitReady } from "./harness";

// Needs the local Docker engine, modelplane/base:bookworm, Debian apt (libpython3.11) and PyPI
// (the nvidia-pytriton wheel, ~55 MB) for the first build; later runs reuse the image.
const REPO = path.resolve(__dirname, "../../../examples/triton/models");

describe("Triton server (CPU, Python backend, examples/triton add_sub)", () => {
  test("builds, reports ready, answers the Open Inference Protocol with the model's deterministic result", { timeout: 900_000 }, async () => {
    const spec = { kind: "online-deployment", name: "triton", endpoint_name: "ep", instance_count: 1, model: { type: "triton_model", name: "add-sub", version: "1", path: REPO } } as OnlineDeploymentSpec;
    const planned = planServer(spec);
    assert.ok(planned.ok);
    const plan = planned.plan;
    const cold = await ensureTritonServerImage({ baseImage: BASE_IMAGE });
    const warm = await ensureTritonServerImage({ baseImage: BASE_IMAGE });
    assert.equal(warm.tag, cold.tag);
    assert.equal(warm.built, false);
    const c = await runContainer(cold.tag, plan.port, plan.binds, plan.env);
    try {
      const readyAfter = await waitReady(c, plan.routes.readiness);
      assert.equal((await request(c.port, "GET", plan.routes.liveness)).status, 200);
      const meta = JSON.parse((await request(c.port, "GET", "/v2/models/add_sub")).text) as { name: string; platform: string; inputs: { name: string }[] };
      assert.equal(meta.name, "add_sub");
      assert.equal(meta.platform, "python");
      assert.deepEqual(meta.inputs.map((i) => i.name), ["INPUT0", "INPUT1"]);
      const body = {
        inputs: [
          { name: "INPUT0", shape: [4], datatype: "FP32", data: [1, 2, 3, 4] },
          { name: "INPUT1", shape: [4], datatype: "FP32", data: [10, 20, 30, 40.5] },
        ],
      };
      const r = await request(c.port, "POST", plan.routes.scoring, JSON.stringify(body));
      assert.equal(r.status, 200, r.text);
      const out = JSON.parse(r.text) as { model_name: string; outputs: { name: string; data: number[] }[] };
      assert.equal(out.model_name, "add_sub");
      // model.py: OUTPUT0 = INPUT0 + INPUT1, OUTPUT1 = INPUT0 - INPUT1 (exact in float32 for these values).
      assertClose(out.outputs.find((o) => o.name === "OUTPUT0")?.data, [11, 22, 33, 44.5]);
      assertClose(out.outputs.find((o) => o.name === "OUTPUT1")?.data, [-9, -18, -27, -36.5]);
      // The generate extension's streaming route answers server-sent events (one per response of the model).
      const gen = await request(c.port, "POST", "/v2/models/add_sub/generate_stream", JSON.stringify({ INPUT0: [1, 2, 3, 4], INPUT1: [10, 20, 30, 40.5] }));
      assert.equal(gen.status, 200, gen.text);
      const event = /^data: (.*)\n\n$/.exec(gen.text);
      assert.ok(event, `one server-sent event: ${JSON.stringify(gen.text)}`);
      const generated = JSON.parse(event[1]!) as { model_name: string; OUTPUT0: number[]; OUTPUT1: number[] };
      assert.equal(generated.model_name, "add_sub");
      assertClose(generated.OUTPUT0, [11, 22, 33, 44.5]);
      assertClose(generated.OUTPUT1, [-9, -18, -27, -36.5]);
      const bad = await request(c.port, "POST", plan.routes.scoring, JSON.stringify({ inputs: [] }));
      assert.equal(bad.status, 400, bad.text);
      const stop = await stopAndRemove(c.id);
      assert.equal(stop.exitCode, 0, "SIGTERM is a clean stop");
      console.log(`triton-server ${cold.tag}: ${await imageSizeMb(cold.tag)} MB, build ${cold.seconds.toFixed(1)} s (built=${cold.built}), ready after ${readyAfter.toFixed(1)} s, stop ${stop.seconds.toFixed(1)} s`);
    } finally {
      await stopAndRemove(c.id).catch(() => undefined);
    }
  });
});
