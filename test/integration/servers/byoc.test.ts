import assert from "node:assert/strict";
import * as path from "node:path";
import { describe, test } from "node:test";
import { decodeByocSource, ensureByocImage } from "../../../src/images/byoc";
import { ImageBuildError } from "../../../src/images/build";
import { planServer } from "../../../src/servers/plan";
import type { OnlineDeploymentSpec } from "../../../src/spec";
import { assertClose, BASE_IMAGE, docker, imageSizeMb, request, runContainer, stopAndRemove, waitReady } from "./harness";

const BYOC = path.resolve(__dirname, "../../../examples/byoc");
const ic = { liveness_route: { port: 8080, path: "/healthz" }, readiness_route: { port: 8080, path: "/ready" }, scoring_route: { port: 8080, path: "/predict" } };

function byocSpec(environment: OnlineDeploymentSpec["environment"]): OnlineDeploymentSpec {
  return { kind: "online-deployment", name: "byoc", endpoint_name: "ep", instance_count: 1, model: { type: "custom_model", name: "weights", version: "1", path: path.join(BYOC, "model") }, environment } as OnlineDeploymentSpec;
}

describe("bring-your-own-container (examples/byoc)", () => {
  test("builds the Dockerfile context, serves the declared routes and port, then runs again from environment.image", { timeout: 300_000 }, async () => {
    const planned = planServer(byocSpec({ build: { path: path.join(BYOC, "container") }, inference_config: ic }));
    assert.ok(planned.ok);
    const plan = planned.plan;
    assert.ok(plan.image.source);
    const cold = await ensureByocImage({ source: decodeByocSource(plan.image.source), baseImage: BASE_IMAGE });
    const warm = await ensureByocImage({ source: decodeByocSource(plan.image.source), baseImage: BASE_IMAGE });
    assert.equal(warm.tag, cold.tag);
    assert.equal(warm.built, false);
    for (const image of [cold.tag, undefined]) {
      let tag = cold.tag;
      if (image === undefined) {
        // Same container by reference: environment.image instead of environment.build.
        const byRef = planServer(byocSpec({ image: cold.tag, inference_config: ic }));
        assert.ok(byRef.ok && byRef.plan.image.source === `image:${cold.tag}`);
        tag = (await ensureByocImage({ source: decodeByocSource(byRef.plan.image.source), baseImage: BASE_IMAGE })).tag;
        assert.equal(tag, cold.tag);
      }
      const c = await runContainer(tag, plan.port, plan.binds, plan.env);
      try {
        await waitReady(c, plan.routes.readiness, 30_000);
        assert.equal((await request(c.port, "GET", plan.routes.liveness)).status, 200);
        const r = await request(c.port, "POST", plan.routes.scoring, JSON.stringify({ data: [[1, 2, 3], [10, 20, 30.5]] }));
        assert.equal(r.status, 200, r.text);
        // app.py: sum(row) * scale + offset with examples/byoc/model/weights.json {scale: 2, offset: 0.5}.
        assertClose((JSON.parse(r.text) as { predictions: number[] }).predictions, [12.5, 121.5]);
        const stop = await stopAndRemove(c.id);
        assert.equal(stop.exitCode, 0);
      } finally {
        await stopAndRemove(c.id).catch(() => undefined);
      }
    }
    console.log(`byoc ${cold.tag}: ${await imageSizeMb(cold.tag)} MB, build ${cold.seconds.toFixed(1)} s (built=${cold.built})`);
  });

  test("a missing image or Dockerfile fails with the reason, not a bare error", { timeout: 120_000 }, async () => {
    await assert.rejects(ensureByocImage({ source: { image: "modelplane-test/does-not-exist:0" }, baseImage: BASE_IMAGE }), (e: unknown) => e instanceof ImageBuildError && /docker pull failed/.test(e.message));
    await assert.rejects(ensureByocImage({ source: { context: BYOC, dockerfile: "nope/Dockerfile" }, baseImage: BASE_IMAGE }), (e: unknown) => e instanceof ImageBuildError && /no nope\/Dockerfile/.test(e.message));
    assert.equal((await docker(["image", "inspect", "modelplane-test/does-not-exist:0"])).exitCode, 1);
  });
});
