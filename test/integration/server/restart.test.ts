import { after, describe, it } from "node:test";
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { freePort } from "../harness/docker";
import { TOKEN, deploymentBody, mgmtCall, score, sleep, startUpstream, waitProvisioned, type Upstream } from "./harness";

const ROOT = path.resolve(__dirname, "../../..");

interface Child {
  proc: ChildProcess;
  gw: string;
  mg: string;
}

async function spawnServer(stateDir: string, gwPort: number, mgPort: number): Promise<Child> {
  const proc = spawn(process.execPath, ["--import", "tsx", "src/server/run.ts", "--state-dir", stateDir, "--gateway-port", String(gwPort), "--gateway-host", "127.0.0.1", "--management-port", String(mgPort)], {
    cwd: ROOT,
    env: { ...process.env, MODELPLANE_MANAGEMENT_TOKEN: TOKEN },
    stdio: ["ignore", "ignore", "pipe"],
  });
  let stderr = "";
  proc.stderr?.on("data", (d: Buffer) => (stderr += d.toString()));
  const mg = `http://127.0.0.1:${mgPort}`;
  const until = Date.now() + 20_000;
  for (;;) {
    if (proc.exitCode !== null) throw new Error(`server exited: ${stderr}`);
    try {
      if ((await fetch(`${mg}/healthz`)).status === 200) break;
    } catch {
      /* not up yet */
    }
    if (Date.now() > until) throw new Error(`server did not start: ${stderr}`);
    await sleep(100);
  }
  return { proc, gw: `http://127.0.0.1:${gwPort}`, mg };
}

function kill9(c: Child): Promise<void> {
  return new Promise((resolve) => {
    if (c.proc.exitCode !== null || c.proc.signalCode !== null) return resolve();
    c.proc.once("exit", () => resolve());
    c.proc.kill("SIGKILL");
  });
}

describe("durability", () => {
  const children: Child[] = [];
  const dir = mkdtempSync(path.join(tmpdir(), "mp-restart-"));
  let upstream: Upstream | undefined;
  after(async () => {
    for (const c of children) await kill9(c);
    await upstream?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("kill -9 during writes loses nothing acknowledged; the gateway serves at once after restart", async () => {
    upstream = await startUpstream("blue");
    const [gwPort, mgPort] = [await freePort(), await freePort()];
    const first = await spawnServer(dir, gwPort, mgPort);
    children.push(first);
    const m = (method: string, p: string, body?: unknown) => mgmtCall(first.mg, method, p, body);
    assert.equal((await m("PUT", "/endpoints/durable", { auth_mode: "key" })).status, 201);
    assert.equal((await m("PUT", "/endpoints/durable/deployments/blue", deploymentBody([upstream.url]))).status, 201);
    assert.equal((await waitProvisioned({ mgmt: m }, "durable", "blue")).provisioningState, "Succeeded");
    assert.equal((await m("PUT", "/endpoints/durable/traffic", { traffic: { blue: 100 } })).status, 200);
    const key = (await m("POST", "/endpoints/durable/keys")).body.primaryKey as string;
    assert.equal((await score(first.gw, "durable", key)).status, 200);

    // Writers create endpoints as fast as they can; the server is killed in the middle.
    const acked: string[] = [];
    let n = 0;
    const writers = Array.from({ length: 4 }, async () => {
      for (;;) {
        const name = `ep-${String(n++).padStart(4, "0")}`;
        try {
          const r = await m("PUT", `/endpoints/${name}`, { auth_mode: "key", tags: { n: name } });
          if (r.status === 201) acked.push(name);
        } catch {
          return;
        }
      }
    });
    await sleep(400);
    await kill9(first);
    await Promise.all(writers);
    assert.ok(acked.length > 5, `${acked.length} writes acknowledged before the kill`);

    const second = await spawnServer(dir, gwPort, mgPort);
    children.push(second);
    const s = await score(second.gw, "durable", key);
    assert.equal(s.status, 200, "served right after restart with the old key");
    assert.equal(s.headers.get("azureml-model-deployment"), "blue");
    const list = await mgmtCall(second.mg, "GET", "/endpoints");
    const names = new Set((list.body.value as { name: string }[]).map((e) => e.name));
    const lost = acked.filter((a) => !names.has(a));
    assert.deepEqual(lost, [], "no acknowledged endpoint lost");
    assert.deepEqual((await mgmtCall(second.mg, "GET", "/endpoints/durable/traffic")).body.traffic, { blue: 100 });
    await kill9(second);
  });
});
