import assert from "node:assert/strict";
import execa from "execa";

/** Label on every container these tests start (cleanup: `docker rm -f $(docker ps -aq -f label=modelplane.test=servers)`). */
export const LABEL = "modelplane.test=servers";
export const BASE_IMAGE = process.env.MODELPLANE_BASE_IMAGE ?? "modelplane/base:bookworm";

export async function docker(args: string[]): Promise<{ exitCode: number; stdout: string; all: string }> {
  const r = await execa("docker", args, { reject: false, all: true });
  return { exitCode: r.exitCode, stdout: r.stdout, all: r.all ?? "" };
}

import { request } from "../harness/http";

export { request };

export interface Running {
  id: string;
  port: number;
}

/** `docker run -d` with the test label, the container port published on 127.0.0.1 only, and the given binds (read-only) and env. */
export async function runContainer(image: string, containerPort: number, binds: { source: string; target: string }[], env: Record<string, string>): Promise<Running> {
  const args = ["run", "-d", "--label", LABEL, "-p", `127.0.0.1::${containerPort}`];
  for (const b of binds) args.push("-v", `${b.source}:${b.target}:ro`);
  for (const [k, v] of Object.entries(env)) args.push("-e", `${k}=${v}`);
  const r = await docker([...args, image]);
  assert.equal(r.exitCode, 0, `docker run failed: ${r.all}`);
  const id = r.stdout.trim();
  const p = await docker(["port", id, `${containerPort}/tcp`]);
  const m = /^127\.0\.0\.1:(\d+)$/m.exec(p.stdout);
  if (!m) {
    await docker(["rm", "-f", "-v", id]);
    assert.fail(`no 127.0.0.1 port published for ${id}: ${p.all}`);
  }
  return { id, port: Number(m[1]) };
}

/** Polls a route until 200; fails with the container's logs when it exits or the time runs out. */
export async function waitReady(c: Running, route: string, timeoutMs = 120_000): Promise<number> {
  const started = Date.now();
  while (Date.now() - started < timeoutMs) {
    const r = await request(c.port, "GET", route).catch(() => undefined);
    if (r?.status === 200) return (Date.now() - started) / 1000;
    const s = await docker(["inspect", "-f", "{{.State.Running}}", c.id]);
    if (s.stdout.trim() !== "true") break;
    await new Promise((res) => setTimeout(res, 250));
  }
  const logs = await docker(["logs", "--tail", "40", c.id]);
  assert.fail(`${route} did not answer 200 within ${timeoutMs} ms; logs:\n${logs.all}`);
}

/** `docker stop` (SIGTERM, graceful) then remove; returns the exit code and how long the stop took. */
export async function stopAndRemove(id: string): Promise<{ exitCode: number; seconds: number }> {
  const started = Date.now();
  await docker(["stop", "-t", "20", id]);
  const seconds = (Date.now() - started) / 1000;
  const code = await docker(["inspect", "-f", "{{.State.ExitCode}}", id]);
  await docker(["rm", "-f", "-v", id]);
  return { exitCode: Number(code.stdout.trim()), seconds };
}

export async function imageSizeMb(tag: string): Promise<number> {
  const r = await docker(["image", "inspect", "-f", "{{.Size}}", tag]);
  return Math.round(Number(r.stdout.trim()) / 1e6);
}

/** Asserts numbers equal within a relative tolerance (float32/float64 and JSON round-trips). */
export function assertClose(actual: unknown, expected: number[], rel = 1e-9): void {
  assert.ok(Array.isArray(actual), `expected an array, got ${JSON.stringify(actual)}`);
  assert.equal(actual.length, expected.length, JSON.stringify(actual));
  expected.forEach((e, i) => assert.ok(Math.abs(Number(actual[i]) - e) <= rel * Math.max(1, Math.abs(e)), `[${i}]: ${actual[i]} != ${e}`));
}
