import { promises as fs } from "node:fs";
import * as path from "node:path";
import { ensureImage, type ImageBuildResult } from "../images/build";
import { PREBUILT_DIR_NAME, writeStudioAssets } from "./studio/assets";

const REPO_ROOT = path.resolve(__dirname, "../..");
/**
 * Packages the server loads at run time; their dependencies follow. Everything else (the server, the
 * spec module, commander, http-parser-js, jose, prom-client, yaml, zod) is in the esbuild bundle app/server.js;
 * better-sqlite3 stays outside it for its native addon, and dockerode (batch workers) for the
 * optional native addons of its ssh transport (ssh2, cpu-features), which esbuild cannot bundle.
 */
const RUNTIME_PACKAGES = ["better-sqlite3", "dockerode"];

interface EsbuildModule {
  build(o: Record<string, unknown>): Promise<unknown>;
}

/**
 * Bundles src/server/run.ts into one CommonJS file: no TypeScript compiler at run time, less code to
 * load, less memory. esbuild comes with tsx (a dependency of the repo), so nothing new is installed.
 */
export async function bundleServer(outfile: string): Promise<void> {
  const mod = (await import(require.resolve("esbuild", { paths: [path.dirname(require.resolve("tsx/package.json")), REPO_ROOT] }))) as EsbuildModule & { default?: EsbuildModule };
  const esbuild = mod.default ?? mod;
  await esbuild.build({
    entryPoints: [path.join(REPO_ROOT, "src/server/run.ts")],
    bundle: true,
    platform: "node",
    target: "node20",
    format: "cjs",
    external: RUNTIME_PACKAGES,
    outfile,
    logLevel: "warning",
  });
}
export const SERVER_IMAGE_REPOSITORY = "modelplane/server";

async function readPkg(dir: string): Promise<{ dependencies?: Record<string, string>; optionalDependencies?: Record<string, string> } | undefined> {
  try {
    return JSON.parse(await fs.readFile(path.join(dir, "package.json"), "utf8")) as { dependencies?: Record<string, string> };
  } catch {
    return undefined;
  }
}

/** Resolves a package folder the way Node does from `fromDir` (nested node_modules first). */
async function resolvePackageDir(name: string, fromDir: string): Promise<string | undefined> {
  let dir = fromDir;
  for (;;) {
    const candidate = path.join(dir, "node_modules", name);
    if (await readPkg(candidate)) return candidate;
    const parent = path.dirname(dir);
    if (parent === dir || !parent.startsWith(REPO_ROOT)) return undefined;
    dir = parent;
  }
}

/** Folders of the runtime packages and everything they depend on (optional ones when installed). */
async function runtimeClosure(): Promise<string[]> {
  const seen = new Set<string>();
  const queue: { name: string; from: string }[] = RUNTIME_PACKAGES.map((name) => ({ name, from: REPO_ROOT }));
  while (queue.length > 0) {
    const { name, from } = queue.shift()!;
    const dir = await resolvePackageDir(name, from);
    if (!dir) {
      if (RUNTIME_PACKAGES.includes(name)) throw new Error(`runtime package ${name} is not installed; run npm ci`);
      continue; // an optional dependency for another platform
    }
    if (seen.has(dir)) continue;
    seen.add(dir);
    const pkg = await readPkg(dir);
    for (const dep of Object.keys({ ...pkg?.dependencies, ...pkg?.optionalDependencies })) queue.push({ name: dep, from: dir });
  }
  return [...seen].sort();
}

/** better-sqlite3 needs only its JS and the built addon at run time (not the SQLite sources or objects). */
function keepFile(pkgRel: string, fileRel: string): boolean {
  if (!pkgRel.endsWith("better-sqlite3") || fileRel === "") return true;
  const parts = fileRel.split(path.sep);
  if (parts[0] === "package.json" || parts[0] === "lib") return true;
  if (parts[0] !== "build") return false;
  return parts.length <= 2 ? parts.length === 1 || parts[1] === "Release" : parts[1] === "Release" && parts[2] === "better_sqlite3.node";
}

/**
 * Writes a self-contained build context for templates/server/Dockerfile into `dir`: the running
 * Node binary, package.json, the server bundle (server.js) and better-sqlite3 with its dependencies
 * (its native addon was built for this very Node, so it matches). Returns `dir`.
 */
export async function stageServerImageContext(dir: string): Promise<string> {
  await fs.rm(dir, { recursive: true, force: true });
  const app = path.join(dir, "app");
  await fs.mkdir(app, { recursive: true });
  await fs.copyFile(path.join(REPO_ROOT, "templates/server/Dockerfile"), path.join(dir, "Dockerfile"));
  await fs.copyFile(process.execPath, path.join(dir, "node"));
  await fs.chmod(path.join(dir, "node"), 0o755);
  await fs.copyFile(path.join(REPO_ROOT, "package.json"), path.join(app, "package.json"));
  await bundleServer(path.join(app, "server.js"));
  // The studio page is bundled here too: the image has no esbuild and never fetches anything.
  await writeStudioAssets(path.join(app, PREBUILT_DIR_NAME));
  for (const pkgDir of await runtimeClosure()) {
    const rel = path.relative(REPO_ROOT, pkgDir);
    await fs.cp(pkgDir, path.join(app, rel), { recursive: true, filter: (src) => keepFile(rel, path.relative(pkgDir, src)) });
  }
  return dir;
}

/** Stages the context in `stagingDir` and builds (or reuses) the server image. */
export async function buildServerImage(stagingDir: string, opts: { baseImage?: string; log?: (line: string) => void } = {}): Promise<ImageBuildResult> {
  await stageServerImageContext(stagingDir);
  return ensureImage({
    repository: SERVER_IMAGE_REPOSITORY,
    contextDir: stagingDir,
    buildArgs: { BASE_IMAGE: opts.baseImage ?? "modelplane/base:bookworm" },
    labels: { "modelplane.component": "server" },
    log: opts.log,
  });
}
