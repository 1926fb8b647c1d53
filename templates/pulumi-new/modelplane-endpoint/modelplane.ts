// Where this project gets the modelplane library: the checkout named by MODELPLANE_ROOT, which
// `. <checkout>/scripts/env.sh` exports (modelplane is not on a registry; its dynamic providers
// load their modules from that same checkout when they run, so the program must use it too).
import { chmodSync, existsSync, readdirSync, statSync } from "node:fs";
import * as path from "node:path";
import type * as pulumi from "@pulumi/pulumi";

/** The parts of modelplane this program uses (components/ and src/spec of the checkout). */
export interface Modelplane {
  root: string;
  ControlPlane: new (name: string, args: { stack?: string; gatewayPort?: number | "auto"; managementPort?: number | "auto"; baseImage?: string }, opts?: pulumi.ComponentResourceOptions) => {
    gatewayUrl: pulumi.Output<string>;
    managementUrl: pulumi.Output<string>;
    managementToken: pulumi.Output<string>;
    stackId: pulumi.Output<string>;
  };
  OnlineEndpoint: new (name: string, args: { controlPlane: unknown; spec: EndpointSpec; deployments: DeploymentSpec[]; baseImage?: string }, opts?: pulumi.ComponentResourceOptions) => {
    scoringUri: pulumi.Output<string>;
    swaggerUri: pulumi.Output<string>;
    authMode: string;
    primaryKey: pulumi.Output<string>;
    secondaryKey: pulumi.Output<string>;
  };
  loadStack: (dir: string) => Promise<{ endpoints: EndpointSpec[]; deployments: DeploymentSpec[]; batchEndpoints: unknown[]; diagnostics: Diagnostic[] }>;
  formatDiagnostic: (d: Diagnostic) => string;
}
export interface EndpointSpec {
  name: string;
}
export interface DeploymentSpec {
  name: string;
  endpoint_name: string;
  model?: { path?: string };
  code_configuration?: { code: string };
}
export interface Diagnostic {
  severity: string;
}

/** Loads modelplane from $MODELPLANE_ROOT; the error says how to set it. */
export function loadModelplane(env: NodeJS.ProcessEnv = process.env): Modelplane {
  const root = env.MODELPLANE_ROOT;
  const fix = "clone modelplane, run `bash scripts/setup.sh` there, then `. <checkout>/scripts/env.sh` in this shell (it exports MODELPLANE_ROOT)";
  if (!root) throw new Error(`MODELPLANE_ROOT is not set: ${fix}`);
  if (!existsSync(path.join(root, "components", "index.ts")) || !existsSync(path.join(root, "node_modules"))) {
    throw new Error(`MODELPLANE_ROOT is ${root}, which is not a set-up modelplane checkout (no components/index.ts or node_modules/): ${fix}`);
  }
  /* eslint-disable @typescript-eslint/no-require-imports */
  const components = require(path.join(root, "components")) as Pick<Modelplane, "ControlPlane" | "OnlineEndpoint">;
  const spec = require(path.join(root, "src", "spec")) as Pick<Modelplane, "loadStack" | "formatDiagnostic">;
  /* eslint-enable @typescript-eslint/no-require-imports */
  return { root, ControlPlane: components.ControlPlane, OnlineEndpoint: components.OnlineEndpoint, loadStack: spec.loadStack, formatDiagnostic: spec.formatDiagnostic };
}

/**
 * Makes the folders of `paths` that lie inside `projectDir` (and the folders between) readable by
 * everyone: `pulumi new` writes the template's folders with mode 0700, and the instances run as a
 * non-root user that must read the mounted code and model. Files and folders outside the project
 * are left alone. Returns the folders it changed.
 */
export function openForInstances(paths: string[], projectDir: string): string[] {
  const changed: string[] = [];
  const open = (dir: string) => {
    const mode = statSync(dir).mode & 0o777;
    if ((mode & 0o055) !== 0o055) {
      chmodSync(dir, mode | 0o055);
      changed.push(dir);
    }
  };
  const walk = (dir: string) => {
    open(dir);
    for (const e of readdirSync(dir, { withFileTypes: true })) if (e.isDirectory()) walk(path.join(dir, e.name));
  };
  for (const p of paths) {
    const rel = path.relative(projectDir, p);
    if (rel.startsWith("..") || path.isAbsolute(rel) || !existsSync(p)) continue;
    for (let d = path.dirname(p); d.startsWith(projectDir) && d !== projectDir; d = path.dirname(d)) open(d);
    if (statSync(p).isDirectory()) walk(p);
  }
  return changed;
}
