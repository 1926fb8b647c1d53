import { existsSync, promises as fs } from "node:fs";
import * as path from "node:path";

/** The studio page's files, by name under /studio/. */
export type StudioAssets = ReadonlyMap<string, { body: Buffer; type: string }>;

/** Where the image keeps the prebuilt page: next to server.js (stageServerImageContext). */
export const PREBUILT_DIR_NAME = "studio-assets";

const ENTRY = path.join(__dirname, "ui", "main.tsx");

const TYPES: Record<string, string> = { ".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8" };

interface EsbuildModule {
  build(o: Record<string, unknown>): Promise<{ outputFiles?: { path: string; contents: Uint8Array }[] }>;
}

/**
 * Bundles the page (Preact + uPlot, src/server/studio/ui) into app.js and app.css with esbuild,
 * which comes with tsx. Used at image build time and, from a checkout, at the first request.
 */
export async function buildStudioAssets(entry = ENTRY): Promise<Map<string, Buffer>> {
  const root = path.resolve(__dirname, "../../..");
  // A path resolved at run time: the server bundle must not try to bundle esbuild itself.
  const esbuildPath = require.resolve("esbuild", { paths: [path.dirname(require.resolve("tsx/package.json", { paths: [root] })), root] });
  const mod = (await import(esbuildPath)) as EsbuildModule & { default?: EsbuildModule };
  const esbuild = mod.default ?? mod;
  const out = await esbuild.build({
    entryPoints: { app: entry },
    bundle: true,
    platform: "browser",
    target: "es2020",
    format: "iife",
    jsx: "automatic",
    jsxImportSource: "preact",
    minify: true,
    write: false,
    outdir: "/studio-out",
    logLevel: "warning",
    define: { "process.env.NODE_ENV": '"production"' },
  });
  const files = new Map<string, Buffer>();
  for (const f of out.outputFiles ?? []) files.set(path.basename(f.path), Buffer.from(f.contents));
  if (!files.has("app.js") || !files.has("app.css")) throw new Error(`the studio bundle lacks app.js or app.css (got ${[...files.keys()].join(", ")})`);
  return files;
}

/** Writes the bundled page into `dir` (the image's app/studio-assets). */
export async function writeStudioAssets(dir: string): Promise<void> {
  await fs.mkdir(dir, { recursive: true });
  for (const [name, body] of await buildStudioAssets()) await fs.writeFile(path.join(dir, name), body);
}

function typed(files: Map<string, Buffer>): StudioAssets {
  return new Map([...files].map(([name, body]) => [name, { body, type: TYPES[path.extname(name)] ?? "application/octet-stream" }]));
}

/** The prebuilt page when the image has it, else a fresh bundle from the sources (a checkout). */
export async function loadStudioAssets(): Promise<StudioAssets> {
  const prebuilt = path.join(__dirname, PREBUILT_DIR_NAME);
  if (existsSync(path.join(prebuilt, "app.js"))) {
    const files = new Map<string, Buffer>();
    for (const name of await fs.readdir(prebuilt)) files.set(name, await fs.readFile(path.join(prebuilt, name)));
    return typed(files);
  }
  return typed(await buildStudioAssets());
}
