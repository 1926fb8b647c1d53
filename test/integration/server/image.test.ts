import { after, describe, it } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { execFile } from "node:child_process";
import { httpCall } from "../../../src/api-client/http-call";
import { buildServerImage } from "../../../src/server/image";
import { mgmtCall, sleep } from "./harness";

/** Runs docker; resolves with stdout and the exit code (never rejects, like execa's reject: false). */
function docker(args: string[]): Promise<{ stdout: string; all: string; exitCode: number }> {
  return new Promise((resolve) => {
    execFile("docker", args, { maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === "number" ? ((err as { code: number }).code) : 1) : 0;
      resolve({ stdout: String(stdout), all: `${String(stdout)}${String(stderr)}`, exitCode: code });
    });
  });
}

async function dockerOk(args: string[]): Promise<{ stdout: string }> {
  const r = await docker(args);
  if (r.exitCode !== 0) throw new Error(`docker ${args.join(" ")} failed: ${r.all}`);
  return r;
}

describe("server image", () => {
  const suffix = randomBytes(4).toString("hex");
  const network = `mp-test-server-${suffix}`;
  const container = `mp-test-server-${suffix}`;
  const offline = `mp-test-server-offline-${suffix}`;
  const staging = mkdtempSync(path.join(tmpdir(), "mp-server-image-"));
  let tag: string | undefined;
  after(async () => {
    await docker(["rm", "-f", "-v", container]);
    await docker(["rm", "-f", "-v", offline]);
    await docker(["network", "rm", network]);
    if (tag) await docker(["image", "rm", tag]);
    rmSync(staging, { recursive: true, force: true });
  });

  it("builds offline from the base image, runs as non-root on a fresh network, serves healthz and the management API, stops cleanly", { timeout: 600_000 }, async () => {
    const built = await buildServerImage(staging);
    tag = built.tag;
    const user = (await dockerOk(["image", "inspect", "--format", "{{.Config.User}}", tag])).stdout.trim();
    assert.equal(user, "10001:10001");
    await dockerOk(["network", "create", network]);
    const token = randomBytes(16).toString("hex");
    await dockerOk(["run", "-d", "--name", container, "--network", network, "-p", "127.0.0.1::8080", "-p", "127.0.0.1::8081", "-e", `MODELPLANE_MANAGEMENT_TOKEN=${token}`, tag]);
    const port = async (p: number): Promise<string> => (await docker(["port", container, `${p}/tcp`])).stdout.split("\n")[0]!.trim();
    const gw = `http://${await port(8080)}`;
    const mg = `http://${await port(8081)}`;
    const until = Date.now() + 30_000;
    for (;;) {
      try {
        // Not fetch: Docker's port proxy accepts and closes while the server is starting, and fetch never settles on that.
        if ((await httpCall(`${gw}/healthz`, { method: "GET", timeoutMs: 2000 })).status === 200) break;
      } catch {
        /* starting */
      }
      if (Date.now() > until) {
        const logs = await docker(["logs", container]);
        assert.fail(`server did not answer /healthz: ${logs.all}`);
      }
      await sleep(200);
    }
    const put = await mgmtCall(mg, "PUT", "/endpoints/in-image", { auth_mode: "key" }, token);
    assert.equal(put.status, 201);
    assert.equal((await mgmtCall(mg, "GET", "/endpoints/in-image", undefined, "wrong")).status, 401);
    const stopped = await docker(["stop", "-t", "20", container]);
    assert.equal(stopped.exitCode, 0);
    const exit = (await docker(["inspect", "--format", "{{.State.ExitCode}}", container])).stdout.trim();
    assert.equal(exit, "0", "graceful SIGTERM exit");

    // With no network at all the server still starts (nothing is fetched at start).
    await dockerOk(["run", "-d", "--name", offline, "--network", "none", "-e", `MODELPLANE_MANAGEMENT_TOKEN=${token}`, tag]);
    const check = ["exec", offline, "/usr/local/bin/node", "-e", "fetch('http://127.0.0.1:8080/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"];
    const offlineUntil = Date.now() + 30_000;
    while ((await docker(check)).exitCode !== 0) {
      assert.ok(Date.now() < offlineUntil, `offline server did not start: ${(await docker(["logs", offline])).all}`);
      await sleep(200);
    }
  });
});
