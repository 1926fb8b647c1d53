// `modelplane doctor [--json]`: what set-up found, where from, and which versions. Exit 1 when a
// required piece is missing; each problem names its fix (`bash scripts/setup.sh`).
import type { Command } from "commander";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import execa from "execa";
import { toolchainEnv, which } from "./toolchain-env";
import { readStackFiles, tornStateFiles, type StateFile } from "./torn-state";

export interface Check {
  name: string;
  ok: boolean;
  /** A missing required piece makes doctor exit 1; an optional one only warns. */
  required: boolean;
  /** What was found (version, path, size) or what is wrong. */
  detail: string;
  /** Where it was found / came from. */
  source?: string;
  /** How to fix it, when not ok. */
  fix?: string;
}

export interface RunResult {
  exitCode: number;
  stdout: string;
  stderr: string;
  /** The program is not on PATH. */
  notFound?: boolean;
}

export interface DoctorDeps {
  env: NodeJS.ProcessEnv;
  run: (cmd: string, args: string[], env: NodeJS.ProcessEnv) => Promise<RunResult>;
  exists: (p: string) => boolean;
  /** Loads better-sqlite3 and opens an in-memory database; returns its SQLite version. */
  sqlite: () => string;
  nodeVersion: string;
  /** The file backend's stack files (checkpoints, backups, sidecars). @default readStackFiles */
  stackFiles?: (backendDir: string) => StateFile[];
}

const SETUP = "run `bash scripts/setup.sh` (it installs or builds what is missing)";

export function defaultDoctorDeps(): DoctorDeps {
  return {
    env: process.env,
    run: async (cmd, args, env) => {
      const r = await execa(cmd, args, { env, extendEnv: false, reject: false, timeout: 30_000 });
      const notFound = (r as { code?: string }).code === "ENOENT";
      return { exitCode: notFound ? 127 : (r.exitCode ?? 1), stdout: String(r.stdout ?? "").trim(), stderr: String(r.stderr ?? "").trim(), notFound };
    },
    exists: existsSync,
    sqlite: () => {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const Database = require("better-sqlite3") as typeof import("better-sqlite3");
      const db = new Database(":memory:");
      try {
        return (db.prepare("select sqlite_version() as v").get() as { v: string }).v;
      } finally {
        db.close();
      }
    },
    nodeVersion: process.version,
  };
}

/** Runs every check; never throws. */
export async function doctorChecks(deps: DoctorDeps): Promise<Check[]> {
  const { vars, sources } = toolchainEnv(deps.env);
  const env: NodeJS.ProcessEnv = { ...deps.env, ...vars };
  const checks: Check[] = [];
  const envSource = (k: string) => `${k}=${vars[k]} (${sources[k]})`;

  const major = Number(/^v(\d+)/.exec(deps.nodeVersion)?.[1] ?? 0);
  checks.push({ name: "node", ok: major >= 20, required: true, detail: deps.nodeVersion, source: process.execPath, ...(major >= 20 ? {} : { fix: "install Node.js 20 or newer" }) });

  const pulumiPath = which("pulumi", vars.PATH!, deps.exists);
  if (!pulumiPath) {
    checks.push({ name: "pulumi", ok: false, required: true, detail: `not found in ${vars.MODELPLANE_PULUMI_BIN} or PATH`, fix: SETUP });
  } else {
    const v = await deps.run(pulumiPath, ["version"], env);
    const version = v.stdout.replace(/^v/, "");
    const pinned = vars.PULUMI_VERSION;
    const ok = v.exitCode === 0;
    checks.push({
      name: "pulumi",
      ok,
      required: true,
      detail: ok ? `v${version}${pinned && version !== pinned ? ` (pinned ${pinned}: scripts/toolchain/versions.env)` : ""}` : `\`pulumi version\` failed: ${v.stderr || v.stdout}`,
      source: pulumiPath,
      ...(ok ? {} : { fix: SETUP }),
    });
  }
  for (const bin of ["pulumi-language-nodejs", "pulumi-resource-pulumi-nodejs"]) {
    const p = which(bin, vars.PATH!, deps.exists);
    checks.push({ name: bin, ok: p !== undefined, required: true, detail: p ?? `not found in ${vars.MODELPLANE_PULUMI_BIN} or PATH`, ...(p ? { source: "PATH" } : { fix: SETUP }) });
  }

  const dv = await deps.run("docker", ["version", "--format", "{{.Client.Version}}|{{.Server.Version}}"], env);
  const [client, server] = dv.stdout.split("|");
  const dockerSource = env.DOCKER_HOST ? `DOCKER_HOST=${env.DOCKER_HOST}` : "unix:///var/run/docker.sock";
  if (dv.notFound) {
    checks.push({ name: "docker client", ok: false, required: true, detail: "docker is not on PATH", fix: SETUP });
    checks.push({ name: "docker engine", ok: false, required: true, detail: "not checked (no docker client)", fix: SETUP });
  } else {
    checks.push({ name: "docker client", ok: Boolean(client), required: true, detail: client ? `v${client}` : dv.stderr || "no version", source: which("docker", vars.PATH!, deps.exists) ?? "PATH", ...(client ? {} : { fix: SETUP }) });
    const engineOk = dv.exitCode === 0 && Boolean(server);
    checks.push({
      name: "docker engine",
      ok: engineOk,
      required: true,
      detail: engineOk ? `v${server}` : `no engine answers: ${(dv.stderr.split("\n")[0] ?? "").trim() || "unknown error"}`,
      source: dockerSource,
      ...(engineOk ? {} : { fix: `start the engine or ${SETUP}` }),
    });
  }

  const base = vars.MODELPLANE_BASE_IMAGE!;
  if (dv.exitCode === 0 && !dv.notFound) {
    const img = await deps.run("docker", ["image", "inspect", base, "--format", "{{.Size}}"], env);
    const size = Number(img.stdout);
    checks.push({
      name: "base image",
      ok: img.exitCode === 0,
      required: true,
      detail: img.exitCode === 0 ? `${base}, ${(size / 1024 / 1024).toFixed(0)} MiB` : `${base} is not in the engine's image store`,
      source: envSource("MODELPLANE_BASE_IMAGE"),
      ...(img.exitCode === 0 ? {} : { fix: SETUP }),
    });
  } else {
    checks.push({ name: "base image", ok: false, required: true, detail: `${base}: not checked (no Docker engine)`, source: envSource("MODELPLANE_BASE_IMAGE"), fix: SETUP });
  }

  const backend = vars.PULUMI_BACKEND_URL!;
  if (backend.startsWith("file://")) {
    const dir = fileURLToPath(backend.replace(/^file:\/\/(?!\/)/, "file:///"));
    const ok = deps.exists(dir);
    checks.push({ name: "pulumi backend", ok, required: true, detail: ok ? backend : `${backend}: ${dir} does not exist`, source: envSource("PULUMI_BACKEND_URL"), ...(ok ? {} : { fix: SETUP }) });
    if (ok) {
      const torn = tornStateFiles((deps.stackFiles ?? readStackFiles)(dir));
      checks.push({
        name: "stack state files",
        ok: torn.length === 0,
        required: true,
        detail: torn.length === 0 ? "every checkpoint and sidecar parses" : `torn by an interrupted write (pulumi then fails "failed to load checkpoint: EOF"): ${torn.map((t) => t.file).join(", ")}`,
        source: dir,
        ...(torn.length === 0 ? {} : { fix: torn.map((t) => t.fix).join("; ") }),
      });
    }
  } else {
    checks.push({ name: "pulumi backend", ok: true, required: true, detail: backend, source: envSource("PULUMI_BACKEND_URL") });
  }
  if (vars.PULUMI_CONFIG_PASSPHRASE_FILE) {
    const ok = deps.exists(vars.PULUMI_CONFIG_PASSPHRASE_FILE);
    checks.push({ name: "passphrase file", ok, required: false, detail: ok ? vars.PULUMI_CONFIG_PASSPHRASE_FILE : `${vars.PULUMI_CONFIG_PASSPHRASE_FILE} does not exist`, source: envSource("PULUMI_CONFIG_PASSPHRASE_FILE"), ...(ok ? {} : { fix: SETUP }) });
  }

  try {
    const v = deps.sqlite();
    checks.push({ name: "better-sqlite3", ok: true, required: true, detail: `loads (SQLite ${v})`, source: "node_modules/better-sqlite3" });
  } catch (err) {
    checks.push({ name: "better-sqlite3", ok: false, required: true, detail: `does not load: ${(err as Error).message.split("\n")[0]}`, fix: "run `npm ci` (or `bash scripts/setup.sh`) to build it for this Node version" });
  }
  return checks;
}

export function formatChecks(checks: Check[]): string[] {
  const width = Math.max(...checks.map((c) => c.name.length));
  const lines: string[] = [];
  for (const c of checks) {
    const status = c.ok ? "ok  " : c.required ? "FAIL" : "warn";
    lines.push(`${status}  ${c.name.padEnd(width)}  ${c.detail}${c.source ? `  [${c.source}]` : ""}`);
    if (!c.ok && c.fix) lines.push(`      ${" ".repeat(width)}  fix: ${c.fix}`);
  }
  const failed = checks.filter((c) => !c.ok && c.required).length;
  lines.push(failed ? `${failed} required piece(s) missing` : "everything modelplane needs is here");
  return lines;
}

export async function runDoctor(opts: { json?: boolean }, deps: DoctorDeps, out: (line: string) => void): Promise<number> {
  const checks = await doctorChecks(deps);
  if (opts.json) for (const c of checks) out(JSON.stringify(c));
  else for (const l of formatChecks(checks)) out(l);
  return checks.some((c) => !c.ok && c.required) ? 1 : 0;
}

export function registerDoctor(program: Command): void {
  program
    .command("doctor")
    .description("check the toolchain (node, pulumi and its plugins, docker, base image, backend, better-sqlite3): what was found, where, which version")
    .option("--json", "print one JSON object per check", false)
    .action(async (opts: { json?: boolean }) => {
      process.exitCode = await runDoctor(opts, defaultDoctorDeps(), (l) => process.stdout.write(`${l}\n`));
    });
}
