import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import os from "node:os";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { resolveAccess, type CommandIo } from "../../../src/cli/commands/access";
import { doctorChecks, runDoctor, type DoctorDeps, type RunResult } from "../../../src/cli/commands/doctor";
import { runEndpoints } from "../../../src/cli/commands/endpoints";
import { runInvoke } from "../../../src/cli/commands/invoke";
import { runKeys } from "../../../src/cli/commands/keys";
import { runToken } from "../../../src/cli/commands/token";
import { readVersionsEnv, toolchainEnv } from "../../../src/cli/commands/toolchain-env";
import { readStackFiles } from "../../../src/cli/commands/torn-state";
import { buildProgram, runCli } from "../../../src/cli/main";
import { startServer, type RunningServer } from "../../../src/server/main";

const TOKEN = "cli-test-management-token";
const PROBE = { initial_delay: 0, period: 0.05, timeout: 1, success_threshold: 1, failure_threshold: 3 };

interface Captured extends CommandIo {
  lines: string[];
  errors: string[];
  /** Pieces given to write(), with when they came (ms since the epoch). */
  written: { text: string; at: number }[];
}
function io(env: NodeJS.ProcessEnv = {}, stackOutputs?: CommandIo["stackOutputs"]): Captured {
  const lines: string[] = [];
  const errors: string[] = [];
  const written: Captured["written"] = [];
  return { lines, errors, written, out: (l) => lines.push(l), write: (text) => written.push({ text, at: Date.now() }), err: (l) => errors.push(l), env, ...(stackOutputs ? { stackOutputs } : {}) };
}

describe("CLI commands against an in-process modelplane server", () => {
  const tmp = mkdtempSync(path.join(os.tmpdir(), "mp-cli-cmd-"));
  let server: RunningServer;
  let upstream: Server;
  let upstreamUrl = "";
  let env: NodeJS.ProcessEnv;
  const request = path.join(tmp, "request.json");

  const mg = async (method: string, p: string, body?: unknown): Promise<Record<string, unknown>> => {
    const res = await fetch(`${server.managementUrl}${p}`, { method, headers: { authorization: `Bearer ${TOKEN}`, "content-type": "application/json" }, body: body === undefined ? undefined : JSON.stringify(body) });
    const text = await res.text();
    if (!res.ok) throw new Error(`${method} ${p}: ${res.status} ${text}`);
    return text ? (JSON.parse(text) as Record<string, unknown>) : {};
  };

  before(async () => {
    writeFileSync(request, JSON.stringify({ data: [[1, 2, 3]] }));
    // One upstream serves both deployments: /<name>/score answers with its name and the body.
    upstream = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () => {
        const m = /^\/(\w+)\/score$/.exec(req.url ?? "");
        if (req.method === "POST" && (m?.[1] === "sse" || m?.[1] === "ssebroken")) {
          // A token stream: two events 200 ms apart (the broken one dies after the first).
          res.writeHead(200, { "content-type": "text/event-stream" });
          res.write("data: one\n\n");
          setTimeout(() => (m[1] === "sse" ? res.end("data: two\n\n") : res.destroy()), 200);
        } else if (req.method === "POST" && m) {
          res.writeHead(200, { "content-type": "application/json" });
          res.end(JSON.stringify({ from: m[1], got: JSON.parse(Buffer.concat(chunks).toString("utf8")) as unknown }));
        } else {
          res.writeHead(200);
          res.end("ok");
        }
      });
    });
    await new Promise<void>((r) => upstream.listen(0, "127.0.0.1", () => r()));
    upstreamUrl = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`;
    server = await startServer({ stateDir: path.join(tmp, "state"), gatewayPort: 0, gatewayHost: "127.0.0.1", managementPort: 0, managementToken: TOKEN, accessLog: false });
    env = { MODELPLANE_MANAGEMENT_URL: server.managementUrl, MODELPLANE_MANAGEMENT_TOKEN: TOKEN };

    await mg("PUT", "/endpoints/my-endpoint", { auth_mode: "key", keys: { primary: "primary-key-0123456789", secondary: "secondary-key-0123456789" } });
    await mg("PUT", "/endpoints/tok-endpoint", { auth_mode: "aml_token" });
    for (const d of ["blue", "green", "sse", "ssebroken"]) {
      await mg("PUT", `/endpoints/my-endpoint/deployments/${d}`, {
        instances: [{ id: `${d}-0`, url: `${upstreamUrl}/${d}` }],
        routes: { scoring: "/score", readiness: "/", liveness: "/" },
        request_settings: { request_timeout_ms: 5000, max_concurrent_requests_per_instance: 4, max_queue_wait_ms: 500 },
        readiness_probe: PROBE,
        liveness_probe: PROBE,
      });
    }
    for (let i = 0; ; i++) {
      const states = await Promise.all(["blue", "green", "sse", "ssebroken"].map(async (d) => (await mg("GET", `/endpoints/my-endpoint/deployments/${d}`)).provisioningState));
      if (states.every((s) => s === "Succeeded")) break;
      if (i > 100) throw new Error(`deployments not ready: ${states.join(", ")}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    await mg("PUT", "/endpoints/my-endpoint/traffic", { traffic: { blue: 100, green: 0 }, mirror_traffic: {} });
  });
  after(async () => {
    await server?.close();
    await new Promise<void>((r) => (upstream ? upstream.close(() => r()) : r()));
    rmSync(tmp, { recursive: true, force: true });
  });

  it("registers every subcommand", () => {
    assert.deepEqual(buildProgram().commands.map((c) => c.name()).sort(), ["batch", "doctor", "endpoints", "invoke", "jobs", "keys", "logs", "preview", "promote", "server", "stack", "studio", "token", "traffic", "validate", "verify"]);
  });

  describe("endpoints", () => {
    it("lists name, auth mode, provisioningState, traffic and mirror, scoring URI", async () => {
      const c = io(env);
      assert.equal(await runEndpoints({}, c), 0, c.errors.join("\n"));
      assert.equal(c.lines.length, 3);
      assert.match(c.lines[0]!, /^NAME +AUTH_MODE +PROVISIONING_STATE +TRAFFIC +MIRROR_TRAFFIC +SCORING_URI$/);
      assert.deepEqual(c.lines[1]!.split(/ +/), ["my-endpoint", "key", "Succeeded", "blue=100,green=0", "-", `${server.gatewayUrl}/endpoints/my-endpoint/score`]);
      assert.deepEqual(c.lines[2]!.split(/ +/), ["tok-endpoint", "aml_token", "Succeeded", "-", "-", `${server.gatewayUrl}/endpoints/tok-endpoint/score`]);
    });
    it("--json prints one object per endpoint", async () => {
      const c = io(env);
      assert.equal(await runEndpoints({ json: true }, c), 0);
      const rows = c.lines.map((l) => JSON.parse(l) as { name: string; traffic: Record<string, number> });
      assert.deepEqual(rows.map((r) => [r.name, r.traffic]), [["my-endpoint", { blue: 100, green: 0 }], ["tok-endpoint", {}]]);
    });
  });

  describe("keys", () => {
    it("prints both keys as JSON", async () => {
      const c = io(env);
      assert.equal(await runKeys("my-endpoint", {}, c), 0);
      assert.deepEqual(JSON.parse(c.lines.join("\n")), { primaryKey: "primary-key-0123456789", secondaryKey: "secondary-key-0123456789" });
    });
    it("--regenerate secondary replaces only the secondary key", async () => {
      const c = io(env);
      assert.equal(await runKeys("my-endpoint", { regenerate: "secondary" }, c), 0);
      const k = JSON.parse(c.lines.join("\n")) as { primaryKey: string; secondaryKey: string };
      assert.equal(k.primaryKey, "primary-key-0123456789");
      assert.notEqual(k.secondaryKey, "secondary-key-0123456789");
      assert.match(c.errors[0]!, /regenerated the secondary key of endpoint "my-endpoint"/);
    });
    it("an unknown endpoint exits 1 with the API's code", async () => {
      const c = io(env);
      assert.equal(await runKeys("nope-endpoint", {}, c), 1);
      assert.deepEqual(c.errors, ["modelplane: POST /endpoints/nope-endpoint/keys: 404 endpoint_not_found: endpoint 'nope-endpoint' not found"]);
    });
    it("a bad --regenerate value is a usage error (2)", async () => {
      const orig = process.stderr.write;
      process.stderr.write = (() => true) as typeof process.stderr.write;
      try {
        assert.equal(await runCli(["keys", "my-endpoint", "--regenerate", "tertiary", "--management-url", server.managementUrl, "--token", TOKEN]), 2);
        assert.equal(await runCli(["keys"]), 2);
      } finally {
        process.stderr.write = orig;
      }
    });
  });

  describe("token", () => {
    it("issues a token for an aml_token endpoint", async () => {
      const c = io(env);
      assert.equal(await runToken("tok-endpoint", { expiresIn: 120 }, c), 0, c.errors.join("\n"));
      const t = JSON.parse(c.lines.join("\n")) as { accessToken: string; expiryTimeUtc: string; refreshAfterTimeUtc: string };
      assert.match(t.accessToken, /^[\w-]+\.[\w-]+\.[\w-]+$/);
      const ttl = Date.parse(t.expiryTimeUtc) - Date.now();
      assert.ok(ttl > 100_000 && ttl <= 121_000, `ttl ${ttl}`);
    });
    it("refuses a key endpoint, saying why", async () => {
      const c = io(env);
      assert.equal(await runToken("my-endpoint", {}, c), 1);
      assert.match(c.errors[0]!, /^modelplane: POST \/endpoints\/my-endpoint\/token: 400 token_auth_not_enabled: endpoint 'my-endpoint' uses auth_mode key; tokens need aml_token$/);
    });
  });

  describe("invoke", () => {
    it("scores through the gateway with the primary key; prints status, deployment and body", async () => {
      const c = io(env);
      assert.equal(await runInvoke("my-endpoint", { file: request }, c), 0, c.errors.join("\n"));
      assert.deepEqual(c.lines.slice(0, 2), ["status: 200", "azureml-model-deployment: blue"]);
      assert.deepEqual(JSON.parse(c.lines[2]!), { from: "blue", got: { data: [[1, 2, 3]] } });
    });
    it("--deployment pins a deployment (even at 0% traffic)", async () => {
      const c = io(env);
      assert.equal(await runInvoke("my-endpoint", { file: request, deployment: "green" }, c), 0);
      assert.deepEqual(c.lines.slice(0, 2), ["status: 200", "azureml-model-deployment: green"]);
    });
    it("--key with --gateway-url needs no management access; a wrong key is a 401 and exit 1", async () => {
      const c = io({});
      assert.equal(await runInvoke("my-endpoint", { file: request, key: "wrong-key-0123456789", gatewayUrl: server.gatewayUrl }, c), 1);
      assert.equal(c.lines[0], "status: 401");
      const ok = io({});
      assert.equal(await runInvoke("my-endpoint", { file: request, key: "primary-key-0123456789", gatewayUrl: server.gatewayUrl }, ok), 0);
    });
    it("uses a fresh token for an aml_token endpoint (no deployment there: the gateway's error, exit 1)", async () => {
      const c = io(env);
      assert.equal(await runInvoke("tok-endpoint", { file: request }, c), 1);
      assert.notEqual(c.lines[0], "status: 401", c.lines.join("\n"));
      assert.match(c.lines[0]!, /^status: [45]\d\d$/);
    });
    it("prints a streamed answer (server-sent events) as it arrives; one that breaks off is an error, exit 1", async () => {
      const c = io(env);
      assert.equal(await runInvoke("my-endpoint", { file: request, deployment: "sse" }, c), 0, c.errors.join("\n"));
      assert.deepEqual(c.lines, ["status: 200", "azureml-model-deployment: sse"]);
      assert.equal(c.written.map((w) => w.text).join(""), "data: one\n\ndata: two\n\n");
      const first = c.written.find((w) => w.text.includes("one"))!;
      const second = c.written.find((w) => w.text.includes("two"))!;
      assert.ok(second.at - first.at >= 150, "the first event is printed before the second exists");
      const broken = io(env);
      assert.equal(await runInvoke("my-endpoint", { file: request, deployment: "ssebroken" }, broken), 1);
      assert.equal(broken.written.map((w) => w.text).join(""), "data: one\n\n");
      assert.match(broken.errors[0]!, /^modelplane: the streamed answer broke off after 11 bytes \(.+\): the model stopped or went quiet/);
    });
    it("a missing request file is a clear error", async () => {
      const c = io(env);
      assert.equal(await runInvoke("my-endpoint", { file: path.join(tmp, "missing.json") }, c), 1);
      assert.deepEqual(c.errors, [`modelplane: cannot read --file ${path.join(tmp, "missing.json")}: ENOENT`]);
    });
  });

  describe("where URL and token come from", () => {
    it("flags win over the environment", async () => {
      const a = await resolveAccess({ managementUrl: "http://127.0.0.1:1/", token: "flag" }, io(env));
      assert.equal(a.managementUrl, "http://127.0.0.1:1");
      assert.deepEqual(a.sources, { managementUrl: "--management-url", managementToken: "--token" });
      const b = await resolveAccess({}, io(env));
      assert.deepEqual(b.sources, { managementUrl: "MODELPLANE_MANAGEMENT_URL", managementToken: "MODELPLANE_MANAGEMENT_TOKEN" });
    });
    it("--stack reads the stack outputs (pulumi stack output --json --show-secrets)", async () => {
      const asked: string[] = [];
      const c = io({}, async (s) => {
        asked.push(s);
        return { managementUrl: server.managementUrl, managementToken: TOKEN, gatewayUrl: server.gatewayUrl, endpoints: {} };
      });
      assert.equal(await runEndpoints({ stack: "dev", json: true }, c), 0, c.errors.join("\n"));
      assert.deepEqual(asked, ["dev"]);
      const a = await resolveAccess({ stack: "dev" }, c);
      assert.deepEqual(a.sources, { managementUrl: "stack dev", managementToken: "stack dev" });
      assert.equal(await a.gatewayUrl(), server.gatewayUrl);
    });
    it("names what is missing and how to give it", async () => {
      const none = io({});
      assert.equal(await runEndpoints({}, none), 1);
      assert.match(none.errors[0]!, /^modelplane: no management API URL: pass --management-url .*MODELPLANE_MANAGEMENT_URL.*--stack <stack>/);
      const noToken = io({ MODELPLANE_MANAGEMENT_URL: server.managementUrl });
      assert.equal(await runKeys("my-endpoint", {}, noToken), 1);
      assert.match(noToken.errors[0]!, /^modelplane: no management token: pass --token, set MODELPLANE_MANAGEMENT_TOKEN, or pass --stack <stack>/);
      const emptyStack = io({}, async () => ({ gatewayUrl: "http://x" }));
      assert.equal(await runEndpoints({ stack: "dev" }, emptyStack), 1);
      assert.equal(emptyStack.errors[0], 'modelplane: stack "dev" has no managementUrl and managementToken output: run `pulumi up --stack dev` first (outputs found: gatewayUrl)');
    });
    it("a refused token says where it came from; an unreachable API says so", async () => {
      const c = io({ ...env, MODELPLANE_MANAGEMENT_TOKEN: "wrong" });
      assert.equal(await runEndpoints({}, c), 1);
      assert.equal(c.errors[0], "modelplane: GET /endpoints: 401 unauthorized: missing or invalid management token (the management token from MODELPLANE_MANAGEMENT_TOKEN was refused)");
      // A port that was free a moment ago: nothing listens there.
      const probe = createServer();
      await new Promise<void>((r) => probe.listen(0, "127.0.0.1", () => r()));
      const closed = `http://127.0.0.1:${(probe.address() as AddressInfo).port}`;
      await new Promise<void>((r) => probe.close(() => r()));
      const down = io({ MODELPLANE_MANAGEMENT_URL: closed, MODELPLANE_MANAGEMENT_TOKEN: TOKEN });
      assert.equal(await runEndpoints({}, down), 1);
      assert.equal(down.errors[0], `modelplane: management API at ${closed} (from MODELPLANE_MANAGEMENT_URL) did not answer: ECONNREFUSED; is the stack up (\`pulumi up\`) and the URL right?`);
    });
  });
});

describe("doctor (fake toolchain: no Docker, no Pulumi)", () => {
  const BIN = "/home/u/.cache/modelplane/toolchain/pulumi-3.252.0/bin";
  const files = new Set([`${BIN}/pulumi`, `${BIN}/pulumi-language-nodejs`, `${BIN}/pulumi-resource-pulumi-nodejs`, "/usr/bin/docker", "/repo/.state/backend", "/repo/.state/passphrase"]);
  const answers = (over: Record<string, RunResult> = {}) => async (cmd: string, args: string[]): Promise<RunResult> => {
    const key = `${path.basename(cmd)} ${args[0]}`;
    const fallback: Record<string, RunResult> = {
      "pulumi version": { exitCode: 0, stdout: "v3.252.0", stderr: "" },
      "docker version": { exitCode: 0, stdout: "28.2.2|20.10.24", stderr: "" },
      "docker image": { exitCode: 0, stdout: String(187 * 1024 * 1024), stderr: "" },
    };
    return over[key] ?? fallback[key] ?? { exitCode: 127, stdout: "", stderr: "", notFound: true };
  };
  const deps = (over: Partial<DoctorDeps> = {}): DoctorDeps => ({
    env: { HOME: "/home/u", PATH: "/usr/bin", MODELPLANE_ROOT: "/repo", MODELPLANE_STATE: "/repo/.state" },
    run: answers(),
    exists: (p) => files.has(p),
    sqlite: () => "3.50.0",
    nodeVersion: "v20.19.0",
    stackFiles: () => [],
    ...over,
  });

  it("computes env.sh's defaults when run without it (versions.env pins the Pulumi version)", () => {
    const pinned = readVersionsEnv().PULUMI_VERSION;
    assert.match(pinned ?? "", /^\d+\.\d+\.\d+$/);
    const { vars, sources } = toolchainEnv({ HOME: "/home/u", PATH: "/usr/bin" }, "/repo");
    assert.equal(vars.MODELPLANE_CACHE, "/home/u/.cache/modelplane");
    assert.equal(vars.MODELPLANE_PULUMI_BIN, `/home/u/.cache/modelplane/toolchain/pulumi-${vars.PULUMI_VERSION}/bin`);
    assert.equal(vars.PULUMI_BACKEND_URL, "file:///repo/.state/backend");
    assert.equal(vars.PULUMI_HOME, "/home/u/.cache/modelplane/pulumi-home");
    assert.equal(vars.PULUMI_CONFIG_PASSPHRASE_FILE, "/repo/.state/passphrase");
    assert.equal(vars.PATH, `${vars.MODELPLANE_PULUMI_BIN}:/repo/bin:/usr/bin`);
    assert.equal(sources.PULUMI_BACKEND_URL, "default (scripts/env.sh rules)");
    const set = toolchainEnv({ HOME: "/home/u", PULUMI_BACKEND_URL: "file:///b", PULUMI_CONFIG_PASSPHRASE: "x" }, "/repo");
    assert.equal(set.vars.PULUMI_BACKEND_URL, "file:///b");
    assert.equal(set.sources.PULUMI_BACKEND_URL, "environment");
    assert.equal(set.vars.PULUMI_CONFIG_PASSPHRASE_FILE, undefined);
  });
  it("everything present: exit 0, each check with what, where and version", async () => {
    const lines: string[] = [];
    assert.equal(await runDoctor({}, deps(), (l) => lines.push(l)), 0, lines.join("\n"));
    const checks = await doctorChecks(deps());
    assert.deepEqual(
      checks.map((c) => [c.name, c.ok, c.detail]),
      [
        ["node", true, "v20.19.0"],
        ["pulumi", true, "v3.252.0"],
        ["pulumi-language-nodejs", true, `${BIN}/pulumi-language-nodejs`],
        ["pulumi-resource-pulumi-nodejs", true, `${BIN}/pulumi-resource-pulumi-nodejs`],
        ["docker client", true, "v28.2.2"],
        ["docker engine", true, "v20.10.24"],
        ["base image", true, "modelplane/base:bookworm, 187 MiB"],
        ["pulumi backend", true, "file:///repo/.state/backend"],
        ["stack state files", true, "every checkpoint and sidecar parses"],
        ["passphrase file", true, "/repo/.state/passphrase"],
        ["better-sqlite3", true, "loads (SQLite 3.50.0)"],
      ],
    );
    assert.equal(checks.find((c) => c.name === "pulumi")!.source, `${BIN}/pulumi`);
    assert.equal(lines.at(-1), "everything modelplane needs is here");
  });
  it("missing pieces: exit 1, each FAIL line followed by its fix", async () => {
    const lines: string[] = [];
    const broken = deps({
      exists: (p) => p === "/usr/bin/docker",
      run: answers({ "docker version": { exitCode: 1, stdout: "28.2.2|", stderr: "Cannot connect to the Docker daemon at unix:///var/run/docker.sock" } }),
      sqlite: () => {
        throw new Error("The module was compiled against a different Node.js version");
      },
    });
    assert.equal(await runDoctor({}, broken, (l) => lines.push(l)), 1);
    const failed = (await doctorChecks(broken)).filter((c) => !c.ok).map((c) => c.name);
    assert.deepEqual(failed, ["pulumi", "pulumi-language-nodejs", "pulumi-resource-pulumi-nodejs", "docker engine", "base image", "pulumi backend", "passphrase file", "better-sqlite3"]);
    assert.ok(lines.some((l) => /^FAIL {2}docker engine +no engine answers: Cannot connect to the Docker daemon/.test(l)), lines.join("\n"));
    assert.ok(lines.some((l) => /^ +fix: run `bash scripts\/setup.sh`/.test(l)));
    assert.ok(lines.some((l) => /^warn {2}passphrase file/.test(l)));
    assert.equal(lines.at(-1), "7 required piece(s) missing");
  });
  it("a checkpoint sidecar torn by a kill: FAIL naming the file, with the fix; a torn checkpoint: restore the .bak", async () => {
    const dir = "/repo/.state/backend/.pulumi/stacks/modelplane";
    const seen: string[] = [];
    const torn = deps({
      stackFiles: (backendDir) => {
        seen.push(backendDir);
        return [
          { path: `${dir}/dev.json`, text: "{}" },
          { path: `${dir}/dev.json.attrs`, text: "" },
          { path: `${dir}/stage.json`, text: "{\"version\": 3, \"check" },
          { path: `${dir}/stage.json.bak`, text: "{}" },
        ];
      },
    });
    const lines: string[] = [];
    assert.equal(await runDoctor({}, torn, (l) => lines.push(l)), 1);
    assert.deepEqual(seen, ["/repo/.state/backend"]);
    const c = (await doctorChecks(torn)).find((x) => x.name === "stack state files")!;
    assert.equal(c.ok, false);
    assert.equal(c.detail, `torn by an interrupted write (pulumi then fails "failed to load checkpoint: EOF"): ${dir}/dev.json.attrs, ${dir}/stage.json`);
    assert.equal(c.fix, `rm '${dir}/dev.json.attrs' (only metadata; the checkpoint beside it is read without it); cp '${dir}/stage.json.bak' '${dir}/stage.json' (the backend's previous checkpoint), then \`pulumi refresh\``);
  });
  it("readStackFiles reads checkpoints, backups and sidecars under .pulumi/stacks, and nothing else", () => {
    const root = mkdtempSync(path.join(os.tmpdir(), "mp-torn-"));
    try {
      const stacks = path.join(root, ".pulumi/stacks/proj");
      mkdirSync(stacks, { recursive: true });
      mkdirSync(path.join(root, ".pulumi/history"), { recursive: true });
      for (const f of ["dev.json", "dev.json.attrs", "dev.json.bak", "dev.json.bak.attrs", "notes.txt"]) writeFileSync(path.join(stacks, f), "{}");
      writeFileSync(path.join(root, ".pulumi/history/x.json"), "");
      assert.deepEqual(readStackFiles(root).map((f) => path.basename(f.path)).sort(), ["dev.json", "dev.json.attrs", "dev.json.bak", "dev.json.bak.attrs"]);
      assert.deepEqual(readStackFiles(path.join(root, "none")), []);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
  it("a different Pulumi version is shown next to the pin", async () => {
    const checks = await doctorChecks(deps({ run: answers({ "pulumi version": { exitCode: 0, stdout: "v3.100.0", stderr: "" } }) }));
    assert.equal(checks.find((c) => c.name === "pulumi")!.detail, "v3.100.0 (pinned 3.252.0: scripts/toolchain/versions.env)");
  });
});
