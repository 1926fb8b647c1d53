// The environment scripts/env.sh sets up, computed in TypeScript for commands run without it
// (bin/modelplane straight from a shell): same variables, same defaults.
import { existsSync, readFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";

/** The repository root (this file is src/cli/commands/toolchain-env.ts). */
export const REPO_ROOT = path.resolve(__dirname, "../../..");

/** KEY=VALUE lines of scripts/toolchain/versions.env (comments and blanks skipped). */
export function readVersionsEnv(root = REPO_ROOT): Record<string, string> {
  const file = path.join(root, "scripts/toolchain/versions.env");
  const out: Record<string, string> = {};
  if (!existsSync(file)) return out;
  for (const line of readFileSync(file, "utf8").split("\n")) {
    const m = /^\s*([A-Z_][A-Z0-9_]*)=(.*)$/.exec(line);
    if (m) out[m[1]!] = m[2]!.trim().replace(/^["']|["']$/g, "");
  }
  return out;
}

export interface ToolchainEnv {
  /** The variables env.sh would export (values already in `env` win, as in env.sh). */
  vars: Record<string, string>;
  /** Per variable: "environment" when it was already set, else "default (scripts/env.sh rules)". */
  sources: Record<string, string>;
}

/** The env.sh variables for `env` (usually process.env). */
export function toolchainEnv(env: NodeJS.ProcessEnv = process.env, root = REPO_ROOT): ToolchainEnv {
  const vars: Record<string, string> = {};
  const sources: Record<string, string> = {};
  const set = (k: string, dflt: () => string) => {
    const v = env[k];
    if (v !== undefined && v !== "") {
      vars[k] = v;
      sources[k] = "environment";
    } else {
      vars[k] = dflt();
      sources[k] = "default (scripts/env.sh rules)";
    }
  };
  const versions = readVersionsEnv(root);
  set("MODELPLANE_ROOT", () => root);
  set("PULUMI_VERSION", () => versions.PULUMI_VERSION ?? "");
  set("MODELPLANE_CACHE", () => path.join(env.HOME ?? os.homedir(), ".cache/modelplane"));
  set("MODELPLANE_STATE", () => path.join(vars.MODELPLANE_ROOT!, ".state"));
  // env.sh always derives the bin dir from the pinned version.
  vars.MODELPLANE_PULUMI_BIN = path.join(vars.MODELPLANE_CACHE!, "toolchain", `pulumi-${vars.PULUMI_VERSION}`, "bin");
  sources.MODELPLANE_PULUMI_BIN = "derived from MODELPLANE_CACHE and PULUMI_VERSION";
  set("MODELPLANE_BASE_IMAGE", () => "modelplane/base:bookworm");
  set("PULUMI_HOME", () => path.join(vars.MODELPLANE_CACHE!, "pulumi-home"));
  set("PULUMI_BACKEND_URL", () => `file://${path.join(vars.MODELPLANE_STATE!, "backend")}`);
  if (!env.PULUMI_CONFIG_PASSPHRASE) set("PULUMI_CONFIG_PASSPHRASE_FILE", () => path.join(vars.MODELPLANE_STATE!, "passphrase"));
  const pathParts = (env.PATH ?? "").split(":").filter(Boolean);
  vars.PATH = pathParts.includes(vars.MODELPLANE_PULUMI_BIN) ? pathParts.join(":") : [vars.MODELPLANE_PULUMI_BIN, path.join(root, "bin"), ...pathParts].join(":");
  sources.PATH = pathParts.includes(vars.MODELPLANE_PULUMI_BIN) ? "environment" : "environment, with the Pulumi bin dir and bin/ in front";
  for (const k of ["PULUMI_SKIP_UPDATE_CHECK", "PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION", "PULUMI_AUTOMATION_API_SKIP_VERSION_CHECK", "PULUMI_SKIP_CONFIRMATIONS"]) {
    vars[k] = "true";
    sources[k] = "scripts/env.sh";
  }
  return { vars, sources };
}

/** First executable `name` on a PATH string, or undefined. */
export function which(name: string, pathValue: string, exists: (p: string) => boolean = existsSync): string | undefined {
  for (const dir of pathValue.split(":")) {
    if (!dir) continue;
    const p = path.join(dir, name);
    if (exists(p)) return p;
  }
  return undefined;
}
