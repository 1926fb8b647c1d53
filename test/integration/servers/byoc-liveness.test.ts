// Liveness enforcement on the real engine: the container the provider creates for an instance
// (same inputs OnlineDeployment gives it: the probe bind and livenessHealthcheck) is reported
// healthy while the liveness route answers, is restarted by its restart policy once the route has
// failed failure_threshold times in a row, and starts over (serving, counter reset) afterwards.
import assert from "node:assert/strict";
import * as path from "node:path";
import { describe, test } from "node:test";
import { decodeByocSource, ensureByocImage } from "../../../src/images/byoc";
import { containerProvider, type ContainerInputs } from "../../../src/providers/docker/container";
import { livenessHealthcheck, PROBE_STATE, PROBE_TARGET, probeBind, probeBinaryPath } from "../../../src/providers/docker/probe";
import { planServer } from "../../../src/servers/plan";
import type { OnlineDeploymentSpec } from "../../../src/spec";
import { freePort, removeByLabel } from "../harness/docker";
import { BASE_IMAGE, docker, request } from "./harness";

const BYOC = path.resolve(__dirname, "../../../examples/byoc");
const TEST_LABEL = "modelplane.test";
const TEST_VALUE = "liveness"; // its own value: never removes containers of other tests running on the engine
const ic = { liveness_route: { port: 8080, path: "/healthz" }, readiness_route: { port: 8080, path: "/ready" }, scoring_route: { port: 8080, path: "/predict" } };
const probe = { initial_delay: 0, period: 1, timeout: 1, success_threshold: 1, failure_threshold: 3 };

interface Inspect {
  RestartCount: number;
  State: { Running: boolean; StartedAt: string; Pid: number; Health?: { Status: string; FailingStreak: number; Log: { ExitCode: number; Output: string; Start: string }[] } };
}
async function inspect(id: string): Promise<Inspect> {
  const r = await docker(["inspect", id]);
  assert.equal(r.exitCode, 0, r.all);
  return (JSON.parse(r.stdout) as Inspect[])[0]!;
}

/** Polls until `ok` holds; fails with the last state and the health log. */
async function until(id: string, what: string, timeoutMs: number, ok: (i: Inspect) => boolean | Promise<boolean>): Promise<{ info: Inspect; seconds: number; outputs: string[] }> {
  const started = Date.now();
  const outputs: string[] = [];
  let info = await inspect(id);
  while (Date.now() - started < timeoutMs) {
    info = await inspect(id);
    for (const l of info.State.Health?.Log ?? []) if (!outputs.includes(`${l.Start} ${l.Output.trim()}`)) outputs.push(`${l.Start} ${l.Output.trim()}`);
    if (await ok(info)) return { info, seconds: (Date.now() - started) / 1000, outputs };
    await new Promise((r) => setTimeout(r, 200));
  }
  const logs = await docker(["logs", "--tail", "20", id]);
  assert.fail(`${what}: not within ${timeoutMs} ms; RestartCount ${info.RestartCount}, health ${JSON.stringify(info.State.Health?.Status)}\nhealth log:\n${outputs.join("\n")}\ncontainer log:\n${logs.all}`);
}

async function answers(port: number, route: string): Promise<number | undefined> {
  return (await request(port, "GET", route, undefined, 2000).catch(() => undefined))?.status;
}

describe("liveness probe (examples/byoc, real engine)", () => {
  test("healthy while the route answers; failure_threshold failures restart the container; it serves again with the count reset", { timeout: 240_000 }, async () => {
    const planned = planServer({ kind: "online-deployment", name: "byoc", endpoint_name: "ep", instance_count: 1, model: { type: "custom_model", name: "weights", version: "1", path: path.join(BYOC, "model") }, environment: { build: { path: path.join(BYOC, "container") }, inference_config: ic }, liveness_probe: probe } as OnlineDeploymentSpec);
    assert.ok(planned.ok);
    const plan = planned.plan;
    const image = await ensureByocImage({ source: decodeByocSource(plan.image.source!), baseImage: BASE_IMAGE });
    const hostPort = await freePort();
    const checked = await containerProvider.check!({} as ContainerInputs, {
      name: "modelplane-test-liveness",
      image: image.tag,
      env: { ...plan.env, BYOC_TEST_HOOKS: "1" },
      labels: { [TEST_LABEL]: TEST_VALUE },
      binds: [...plan.binds, probeBind(probeBinaryPath())],
      ports: [{ container: plan.port, host: hostPort }],
      healthcheck: livenessHealthcheck(probe, plan.routes.liveness, plan.port),
    });
    assert.deepEqual(checked.failures, []);
    const inputs = checked.inputs as ContainerInputs;
    assert.equal(inputs.restart, "unless-stopped");
    let id: string | undefined;
    try {
      id = (await containerProvider.create!(inputs)).id;
      const cid = id;
      // Healthy: the engine runs the probe every second and it answers 200.
      const healthy = await until(cid, "health status healthy", 20_000, (i) => i.State.Health?.Status === "healthy");
      assert.equal(healthy.info.RestartCount, 0);
      assert.match(healthy.outputs.at(-1) ?? "", /liveness GET http:\/\/127\.0\.0\.1:8080\/healthz: 200 OK$/);
      const firstPid1 = (await docker(["exec", cid, "cat", PROBE_STATE])).stdout.trim();
      assert.match(firstPid1, /^v1 \d+ 0$/);

      // Failing: 3 failures in a row (1 s apart), then SIGTERM to PID 1 and the restart policy.
      assert.equal((await request(hostPort, "POST", "/admin/fail-liveness", "{}")).status, 200);
      assert.equal(await answers(hostPort, "/healthz"), 500);
      const restarted = await until(cid, "restart after 3 failed liveness checks", 20_000, (i) => i.RestartCount >= 1 && i.State.Running);
      console.log(`liveness failing -> container restarted after ${restarted.seconds.toFixed(1)} s (period 1 s, failure_threshold 3)`);
      const failures = restarted.outputs.filter((o) => /failure \d of 3/.test(o));
      assert.ok(failures.some((o) => /: 500 Internal Server Error \(failure 3 of 3\): restarting the container \(SIGTERM to PID 1\)$/.test(o)), restarted.outputs.join("\n"));
      assert.ok(restarted.seconds < 12, `restart took ${restarted.seconds} s`);

      // After the restart: same container, serving, healthy again, the count starts from zero.
      const back = await until(cid, "liveness answering again", 30_000, async (i) => i.State.Health?.Status === "healthy" && (await answers(hostPort, "/healthz")) === 200);
      assert.equal(back.info.RestartCount, 1);
      const state = (await docker(["exec", cid, "cat", PROBE_STATE])).stdout.trim();
      assert.match(state, /^v1 \d+ 0$/);
      assert.notEqual(state, firstPid1, "the state belongs to the new PID 1");
      const score = await request(hostPort, "POST", "/predict", JSON.stringify({ data: [[1, 2, 3]] }));
      assert.equal(score.status, 200, score.text);

      // Failing again: counted from 1 (the first incarnation's 3 failures did not carry over).
      assert.equal((await request(hostPort, "POST", "/admin/fail-liveness", "{}")).status, 200);
      const again = await until(cid, "second restart", 20_000, (i) => i.RestartCount >= 2);
      const second = again.outputs.filter((o) => !restarted.outputs.includes(o) && /failure \d of 3/.test(o));
      assert.match(second[0] ?? "", /\(failure 1 of 3\)$/, again.outputs.join("\n"));
    } finally {
      if (id) await containerProvider.delete!(id, { ...inputs, containerName: "", containerId: id });
      await removeByLabel(TEST_LABEL, TEST_VALUE);
    }
    assert.equal((await docker(["ps", "-aq", "--filter", `label=${TEST_LABEL}=${TEST_VALUE}`])).stdout.trim(), "");
  });

  test("read-only root filesystem: the count goes to /dev/shm; nowhere to write: unhealthy, nothing killed", { timeout: 120_000 }, async () => {
    const planned = planServer({ kind: "online-deployment", name: "byoc", endpoint_name: "ep", instance_count: 1, model: { type: "custom_model", name: "weights", version: "1", path: path.join(BYOC, "model") }, environment: { build: { path: path.join(BYOC, "container") }, inference_config: ic } } as OnlineDeploymentSpec);
    assert.ok(planned.ok);
    const image = await ensureByocImage({ source: decodeByocSource(planned.plan.image.source!), baseImage: BASE_IMAGE });
    const bin = probeBinaryPath();
    const run = async (extra: string[]) => {
      const r = await docker(["run", "-d", "--label", `${TEST_LABEL}=${TEST_VALUE}`, "--read-only", ...extra, "-v", `${bin}:${PROBE_TARGET}:ro`, image.tag]);
      assert.equal(r.exitCode, 0, r.all);
      return r.stdout.trim();
    };
    const probeArgs = [PROBE_TARGET, "--url", "http://127.0.0.1:8080/nope", "--timeout", "1s", "--failures", "3", "--state", PROBE_STATE];
    try {
      const ro = await run([]);
      for (let i = 0; i < 30 && (await docker(["exec", ro, PROBE_TARGET, "--url", "http://127.0.0.1:8080/healthz"])).exitCode !== 0; i++) await new Promise((r) => setTimeout(r, 200));
      const r = await docker(["exec", ro, ...probeArgs]);
      assert.equal(r.exitCode, 1);
      assert.match(r.all, /404 Not Found \(failure 1 of 3\)$/);
      assert.equal((await docker(["exec", ro, "cat", "/dev/shm/.modelplane-liveness"])).stdout.trim().split(" ")[2], "1");

      const none = await run(["--tmpfs", "/dev/shm:ro"]);
      for (let i = 0; i < 30 && (await docker(["exec", none, "true"])).exitCode !== 0; i++) await new Promise((r) => setTimeout(r, 200));
      for (let i = 0; i < 4; i++) {
        const n = await docker(["exec", none, ...probeArgs]);
        assert.equal(n.exitCode, 1);
        assert.match(n.all, /cannot keep the failure count: .*read-only file system.*read-only file system/);
      }
      assert.equal((await inspect(none)).State.Running, true, "nothing killed");
    } finally {
      await removeByLabel(TEST_LABEL, TEST_VALUE);
    }
  });
});
