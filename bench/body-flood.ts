/**
 * `npm run bench:bodies`: many clients send large scoring bodies at once; prints the server's peak
 * RSS with the body budget (the default, 1 GiB) side by side with a baseline run without one (a
 * budget of 100 GiB), same machine, same process. Not a test: figures for the README and notes.
 *
 *   npm run bench:bodies -- [--clients 24] [--body-mib 90] [--answer-mib N] [--root DIR]
 *
 * The model answers each request 2 s after its body is in, so bodies pile up in the gateway. With
 * --answer-mib it answers N MiB (with a content-length) at once instead: what answers cost. --root
 * runs the server of another checkout (e.g. an older build, to compare).
 */
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createServer, request } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { parseArgs } from "node:util";
import { freePort } from "../test/integration/harness/docker";
import { TOKEN, mgmtCall, setupEndpoint } from "../test/integration/server/harness";

const { values } = parseArgs({
  options: { clients: { type: "string", default: "24" }, "body-mib": { type: "string", default: "90" }, "answer-mib": { type: "string", default: "0" }, root: { type: "string" } },
});
const CLIENTS = Number(values.clients);
const BODY_MIB = Number(values["body-mib"]);
const ANSWER_MIB = Number(values["answer-mib"]);
if (!(CLIENTS >= 1 && BODY_MIB >= 1 && ANSWER_MIB >= 0)) throw new Error("--clients and --body-mib take whole numbers of at least 1, --answer-mib of at least 0");
const ROOT = path.resolve(values.root ?? path.join(__dirname, ".."));
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

interface Outcome {
  label: string;
  ms: number;
  ok: number;
  busy: number;
  failed: number;
  peakMb: number;
}

async function flood(label: string, budgetFlag: string[], upstream: string, body: Buffer): Promise<Outcome> {
  const dir = mkdtempSync(path.join(tmpdir(), "mp-bench-bodies-"));
  const gp = await freePort();
  const mp = await freePort();
  const args = ["--import", "tsx", path.join(ROOT, "src/server/run.ts"), "--state-dir", dir, "--gateway-host", "127.0.0.1", "--gateway-port", String(gp), "--management-port", String(mp), ...budgetFlag];
  const server = spawn(process.execPath, args, { cwd: ROOT, env: { ...process.env, MODELPLANE_MANAGEMENT_TOKEN: TOKEN }, stdio: ["ignore", "ignore", "inherit"] });
  // Interrupted (Ctrl-C, a timeout's SIGTERM): the server goes too, and its state folder.
  const interrupted = (): void => {
    server.kill("SIGKILL");
    rmSync(dir, { recursive: true, force: true });
    process.exit(130);
  };
  process.once("SIGINT", interrupted).once("SIGTERM", interrupted);
  try {
    const mg = `http://127.0.0.1:${mp}`;
    for (let i = 0; ; i++) {
      try {
        await fetch(`${mg}/endpoints`, { headers: { authorization: `Bearer ${TOKEN}` } });
        break;
      } catch (err) {
        if (i > 100) throw err;
        await sleep(100);
      }
    }
    const h = { mgmt: (m: string, p: string, b?: unknown) => mgmtCall(mg, m, p, b) };
    const key = await setupEndpoint(h, "bodies", { blue: [upstream] }, { blue: 100 }, {}, { request_timeout_ms: 60_000, max_concurrent_requests_per_instance: 1000, max_queue_wait_ms: 60_000 });
    let peakMb = 0;
    const sampler = setInterval(() => {
      const m = /VmHWM:\s+(\d+)/.exec(readFileSync(`/proc/${server.pid}/status`, "utf8"));
      if (m) peakMb = Number(m[1]) / 1024;
    }, 50);
    const t0 = Date.now();
    const statuses = await Promise.all(Array.from({ length: CLIENTS }, () => post(gp, key, body)));
    clearInterval(sampler);
    const n = (s: number): number => statuses.filter((x) => x === s).length;
    return { label, ms: Date.now() - t0, ok: n(200), busy: n(429), failed: statuses.length - n(200) - n(429), peakMb };
  } finally {
    process.off("SIGINT", interrupted).off("SIGTERM", interrupted);
    server.kill("SIGTERM");
    await new Promise((r) => server.once("exit", r));
    rmSync(dir, { recursive: true, force: true });
  }
}

function post(port: number, key: string, body: Buffer): Promise<number> {
  return new Promise((resolve) => {
    const req = request({ host: "127.0.0.1", port, method: "POST", path: "/endpoints/bodies/score", headers: { authorization: `Bearer ${key}`, "content-type": "application/json", "content-length": body.length } }, (res) => {
      res.resume();
      res.on("end", () => resolve(res.statusCode ?? 0));
    });
    req.on("error", () => resolve(-1));
    req.end(body);
  });
}

async function main(): Promise<void> {
  const answer = Buffer.alloc(ANSWER_MIB * 1024 * 1024, 0x61);
  const model = createServer((req, res) => {
    req.resume();
    if (ANSWER_MIB > 0) req.on("end", () => res.end(req.method === "POST" ? answer : ""));
    else req.on("end", () => setTimeout(() => res.end("{}"), req.method === "POST" ? 2000 : 0));
  });
  await new Promise<void>((r) => model.listen(0, "127.0.0.1", r));
  const upstream = `http://127.0.0.1:${(model.address() as AddressInfo).port}`;
  const body = Buffer.alloc(BODY_MIB * 1024 * 1024, 0x61);
  const answers = ANSWER_MIB > 0 ? `answers ${ANSWER_MIB} MiB at once` : "answers 2 s after a body is in";
  console.log(`${CLIENTS} clients each POST ${BODY_MIB} MiB at once to the server of ${ROOT}; the model ${answers}; server peak RSS from /proc VmHWM`);
  try {
    const rows = [await flood("no budget (baseline, 100 GiB)", ["--body-budget-bytes", String(100 * 1024 ** 3)], upstream, body), await flood("body budget 1 GiB (default)", [], upstream, body)];
    console.log(`\n${"run".padEnd(32)}${"time s".padStart(8)}${"200".padStart(6)}${"429".padStart(6)}${"failed".padStart(8)}${"peak RSS MB".padStart(13)}`);
    for (const r of rows) console.log(`${r.label.padEnd(32)}${(r.ms / 1000).toFixed(1).padStart(8)}${String(r.ok).padStart(6)}${String(r.busy).padStart(6)}${String(r.failed).padStart(8)}${r.peakMb.toFixed(0).padStart(13)}`);
    const [base, budget] = rows as [Outcome, Outcome];
    console.log(`\nwith the budget the server peaked at ${((100 * budget.peakMb) / base.peakMb).toFixed(0)} % of the baseline's RSS`);
  } finally {
    model.close();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
