// `modelplane batch invoke <endpoint> --input <path|url|azureml:name@latest> [--deployment D]
// [--mini-batch-size N] [--instance-count N] [--output-file-name F] [--wait]`: starts a job on a
// batch endpoint, as `az ml batch-endpoint invoke` does. A local folder or file is first uploaded
// to the stack's datastore (content-addressed: files already there are not sent again); with
// --wait a live line shows the job's progress until it ends (exit 1 when it fails).
import { existsSync, statSync } from "node:fs";
import * as path from "node:path";
import { InvalidArgumentError, type Command } from "commander";
import { localManifest } from "../../datastore/manifest";
import { DatastoreError, uploadFolder, type UploadProgress } from "../../datastore/upload";
import { accessOptions, CliError, processIo, runCommand, type CommandIo } from "./access";
import { jobsClient, type EndpointAccessOptions } from "./batch-client";
import { FINAL_STATES, formatBytes, formatDuration, ProgressLine, progressLine, type JobView } from "./job-view";

export interface BatchInvokeOptions extends EndpointAccessOptions {
  input: string;
  deployment?: string;
  miniBatchSize?: number;
  instanceCount?: number;
  outputFileName?: string;
  wait?: boolean;
  /** Pass a local path as it is (a host folder under the stack's modelplane:batchInputRoots) instead of uploading it. */
  upload?: boolean;
}

/** Clock, sleep and terminal of a run; tests pass their own. */
export interface RunDeps {
  now: () => number;
  sleep: (ms: number) => Promise<void>;
  /** How often --wait asks for the job. @default 1000 */
  pollMs: number;
  /** Whether the progress line may be rewritten in place. @default process.stdout.isTTY */
  tty: boolean;
}

const defaultDeps = (): RunDeps => ({ now: Date.now, sleep: (ms) => new Promise((r) => setTimeout(r, ms)), pollMs: 1000, tty: Boolean(process.stdout.isTTY) });

/** What --input names: something the server resolves itself, or a local path to upload (or pass). */
export function classifyInput(input: string): { kind: "remote"; value: string } | { kind: "local"; path: string } {
  if (/^(https?|datastore):\/\//i.test(input) || /^azureml:/i.test(input)) return { kind: "remote", value: input };
  return { kind: "local", path: path.resolve(input) };
}

export function uploadLine(label: string, p: UploadProgress): string {
  return `uploading ${label}: ${p.files}/${p.totalFiles} files, ${formatBytes(p.bytes)}/${formatBytes(p.totalBytes)} (${p.skipped} already in the datastore)`;
}

export async function runBatchInvoke(endpoint: string, opts: BatchInvokeOptions, io: CommandIo, deps: Partial<RunDeps> = {}): Promise<number> {
  const d = { ...defaultDeps(), ...deps };
  return runCommand(io, async () => {
    const input = classifyInput(opts.input);
    const upload = input.kind === "local" && opts.upload !== false;
    // With --no-upload the server judges the host path (under its input roots).
    if (upload && !existsSync(input.path)) {
      throw new CliError(`--input ${opts.input}: no such file or folder (looked for ${input.path}); give a local folder or file, an http(s) URL, datastore://..., or azureml:<data asset>@latest`);
    }
    const client = await jobsClient(endpoint, opts, io, upload);
    let jobInput = input.kind === "remote" ? input.value : input.path;
    if (upload && input.kind === "local") {
      const files = await localManifest(input.path).catch((err: Error) => {
        throw new CliError(`--input ${opts.input}: ${err.message}`);
      });
      const line = new ProgressLine(io.write, d.tty, d.now, 2000);
      const label = opts.input;
      let result;
      try {
        result = await uploadFolder(client.access!, files, (p) => line.update(uploadLine(label, p)));
      } catch (err) {
        if (err instanceof DatastoreError) throw new CliError(`uploading ${label} failed: ${err.message}`);
        throw err;
      }
      line.done(`uploaded ${label}: ${files.length} files, ${result.uploaded} sent (${formatBytes(result.bytesSent)}), ${result.skipped} already in the datastore -> ${result.uri}`);
      // A single file is a folder of one in the datastore; the job reads that file.
      jobInput = statSync(input.path).isDirectory() ? result.uri : `${result.uri}/${files[0]!.path}`;
    }
    const body: Record<string, unknown> = { input: jobInput };
    if (opts.deployment) body.deployment = opts.deployment;
    if (opts.miniBatchSize !== undefined) body.mini_batch_size = opts.miniBatchSize;
    if (opts.instanceCount !== undefined) body.instance_count = opts.instanceCount;
    if (opts.outputFileName) body.output_file_name = opts.outputFileName;
    const job = await client.json<JobView>("POST", "/jobs", body);
    io.out(`job ${job.id}: ${job.status} on deployment ${job.deployment ?? "(default)"} of endpoint ${endpoint}`);
    io.out(`url: ${client.base}/jobs/${job.id}`);
    if (!opts.wait) {
      io.out(`follow it with: modelplane jobs show ${endpoint} ${job.id}`);
      return 0;
    }
    return waitForJob(endpoint, job.id, client, io, d);
  });
}

/** Polls the job until it ends, rewriting one progress line; exit 0 when it completed, 1 otherwise. */
export async function waitForJob(endpoint: string, id: string, client: Awaited<ReturnType<typeof jobsClient>>, io: CommandIo, d: RunDeps): Promise<number> {
  const start = d.now();
  const line = new ProgressLine(io.write, d.tty, d.now);
  const route = `/jobs/${encodeURIComponent(id)}`;
  for (;;) {
    const job = await client.json<JobView>("GET", route);
    const elapsed = d.now() - start;
    if (FINAL_STATES.has(job.status)) {
      line.done(progressLine(job, elapsed));
      if (job.status === "Completed") {
        io.out(`job ${id} completed in ${formatDuration(elapsed)}; outputs: ${(job.outputs ?? []).join(", ") || "-"}`);
        io.out(`download them with: modelplane jobs download ${endpoint} ${id}`);
        return 0;
      }
      io.err(`modelplane: job ${id} ${job.status.toLowerCase()}${job.failure_reason ? `: ${job.failure_reason}` : ""}`);
      io.err(`see its summary and worker logs with: modelplane jobs logs ${endpoint} ${id}`);
      return 1;
    }
    line.update(progressLine(job, elapsed));
    await d.sleep(d.pollMs);
  }
}

export function positiveInt(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError(`expected a whole number of at least 1, got "${v}"`);
  return n;
}

export function registerBatch(program: Command): void {
  const batch = program.command("batch").description("batch endpoints: start jobs over many files");
  accessOptions(batch.command("invoke").description("start a job on a batch endpoint over a folder, file, URL or data asset; --wait follows it to the end"), true)
    .argument("<endpoint>", "batch endpoint name")
    .requiredOption("--input <path|url|azureml:name@latest>", "a local folder or file (uploaded to the stack's datastore first), an http(s) URL, datastore://..., or a data asset")
    .option("--deployment <name>", "run on this deployment instead of the endpoint's default")
    .option("--mini-batch-size <n>", "files per mini-batch (overrides the deployment's settings.mini_batch_size)", positiveInt)
    .option("--instance-count <n>", "instances for this job (overrides resources.instance_count)", positiveInt)
    .option("--output-file-name <name>", "the predictions file (overrides settings.output_file_name)")
    .option("--no-upload", "pass a local path as it is: a host folder under the stack's modelplane:batchInputRoots")
    .option("--key <key>", "the endpoint's key or token (default: a new token from the management API)")
    .option("--wait", "follow the job with a live progress line until it ends; exit 1 when it fails", false)
    .action(async (endpoint: string, opts: BatchInvokeOptions) => {
      process.exitCode = await runBatchInvoke(endpoint, opts, processIo());
    });
  for (const cmd of batch.commands) cmd.exitOverride();
}
