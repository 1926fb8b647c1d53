/**
 * Turns a job's input into files workers can open: datastore paths (read-only at /datastore),
 * host folders or files under the allowed roots (bind-mounted read-only at /mnt/input), http(s)
 * URLs (downloaded into the datastore first) and data assets (resolved to one of those).
 */
import { promises as fs } from "node:fs";
import * as path from "node:path";
import { ApiError } from "../management/errors";
import type { Datastore } from "./datastore";
import { listFiles } from "./datastore";
import { classifyInput, latestVersion, notAllowed, underRoots } from "./inputs";
import type { BatchTables } from "./tables";
import type { DataAssetType, ResolvedInput } from "./types";

/** Where workers see a host input. */
export const WORKER_INPUT = "/mnt/input";

export interface InputContext {
  tables: BatchTables;
  datastore: Datastore;
  inputRoots: readonly string[];
  downloadLimitBytes: number;
}

function notFound(p: string, what: string): ApiError {
  return new ApiError(400, "input_not_found", `input ${p} ${what}; check the path (jobs read datastore://..., host folders under the allowed roots, http(s) URLs and azureml:<data>@latest)`, "input");
}

async function statOf(p: string): Promise<import("node:fs").Stats | undefined> {
  return fs.stat(p).catch(() => undefined);
}

async function fromDatastore(ctx: InputContext, uri: string, rel: string, want: DataAssetType | undefined): Promise<ResolvedInput> {
  const local = ctx.datastore.local(rel);
  const st = await statOf(local);
  if (!st) throw notFound(uri, "does not exist in the stack's datastore");
  if (st.isFile()) return { uri, type: "uri_file", files: [ctx.datastore.worker(rel)] };
  if (want === "uri_file") throw notFound(uri, "is a folder, but the input type is uri_file");
  const files = await listFiles(local);
  return { uri, type: "uri_folder", files: files.map((f) => ctx.datastore.worker(rel === "" ? f : `${rel}/${f}`)) };
}

async function fromHost(ctx: InputContext, uri: string, p: string, want: DataAssetType | undefined): Promise<ResolvedInput> {
  // The roots are checked before the path is looked at, so nothing outside them is probed.
  if (!underRoots(p, ctx.inputRoots)) throw notAllowed(p, ctx.inputRoots);
  const st = await statOf(p);
  if (!st) throw notFound(p, "does not exist");
  // A link inside a root must not lead out of it.
  const real = await fs.realpath(p);
  const realRoots = await Promise.all(ctx.inputRoots.map((r) => fs.realpath(r).catch(() => r)));
  if (!underRoots(real, realRoots)) throw notAllowed(`${p} (-> ${real})`, ctx.inputRoots);
  if (st.isFile()) {
    const name = path.basename(real);
    return { uri, type: "uri_file", hostMount: { source: real, target: `${WORKER_INPUT}/${name}` }, files: [`${WORKER_INPUT}/${name}`] };
  }
  if (want === "uri_file") throw notFound(p, "is a folder, but the input type is uri_file");
  const files = await listFiles(real);
  return { uri, type: "uri_folder", hostMount: { source: real, target: WORKER_INPUT }, files: files.map((f) => `${WORKER_INPUT}/${f}`) };
}

/** Resolves an input; the answer lists every file in the order mini-batches take them. */
export async function resolveInput(ctx: InputContext, input: { uri: string; type?: DataAssetType }, depth = 0): Promise<ResolvedInput> {
  const ref = classifyInput(input.uri);
  switch (ref.kind) {
    case "datastore":
      return fromDatastore(ctx, input.uri, ref.rel, input.type);
    case "host":
      return fromHost(ctx, input.uri, ref.path, input.type);
    case "url": {
      const rel = await ctx.datastore.download(ref.url, ctx.downloadLimitBytes);
      return { ...(await fromDatastore(ctx, `datastore://${rel}`, rel, "uri_file")), uri: input.uri };
    }
    case "asset": {
      const version = ref.version === "latest" ? latestVersion(ctx.tables.dataAssetVersions(ref.name)) : ref.version;
      const asset = version === undefined ? undefined : ctx.tables.getDataAsset(ref.name, version);
      if (!asset) {
        const have = ctx.tables.dataAssetVersions(ref.name);
        throw new ApiError(400, "input_not_found", `data asset ${input.uri} does not exist${have.length ? ` (versions: ${have.join(", ")})` : ""}; register it (PUT /data/${ref.name}/versions/<v>) or fix the reference`, "input");
      }
      if (depth > 0 || asset.path.startsWith("azureml:")) throw new ApiError(400, "invalid_data_asset", `data asset ${asset.name}:${asset.version} points at another asset (${asset.path}); give it a datastore or host path`, "input");
      const resolved = await resolveInput(ctx, { uri: asset.path, type: asset.type }, depth + 1);
      return { ...resolved, uri: input.uri };
    }
  }
}
