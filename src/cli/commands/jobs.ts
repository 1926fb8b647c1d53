// `modelplane jobs list|show|logs|download|cancel`: a batch endpoint's jobs through the gateway,
// as `az ml job list|show|stream|download|cancel` does for Azure's batch jobs.
import { mkdirSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import type { Command } from "commander";
import { accessOptions, api, CliError, processIo, resolveAccess, runCommand, type CommandIo } from "./access";
import { jobsClient, type EndpointAccessOptions } from "./batch-client";
import { formatBytes, type JobView } from "./job-view";

export interface JobsOptions extends EndpointAccessOptions {
  json?: boolean;
  /** logs: only this worker's log. */
  worker?: string;
  /** download: where the outputs go. @default ./<job id> */
  outputDir?: string;
}

function encode(id: string): string {
  return encodeURIComponent(id);
}

/** The table of `jobs list`: one row per job, newest first as the gateway lists them. */
export function jobRows(endpoint: string, jobs: JobView[]): string[][] {
  return jobs.map((j) => [
    endpoint,
    j.id,
    j.status,
    j.deployment ?? "-",
    j.mini_batches ? `${j.mini_batches.done}/${j.mini_batches.total}${j.mini_batches.failed ? ` (${j.mini_batches.failed} failed)` : ""}` : "-",
    String(j.rows ?? 0),
    j.created_at ?? "-",
  ]);
}

export function formatTable(header: string[], rows: string[][]): string[] {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!))).join("  ");
  return [line(header), ...rows.map(line)];
}

/** `jobs list [endpoint]`: one endpoint's jobs, or every batch endpoint's (names from the management API). */
export async function runJobsList(endpoint: string | undefined, opts: JobsOptions, io: CommandIo): Promise<number> {
  return runCommand(io, async () => {
    let names: string[];
    if (endpoint) names = [endpoint];
    else {
      const access = await resolveAccess(opts, io);
      const all = await api<{ value: { name: string; kind?: string }[] }>(access, "GET", "/endpoints");
      names = all.value.filter((e) => e.kind === "batch").map((e) => e.name);
      if (names.length === 0) throw new CliError("the control plane has no batch endpoint: add a batchEndpoint spec to the stack and run `pulumi up`");
    }
    const rows: string[][] = [];
    for (const name of names) {
      const client = await jobsClient(name, opts, io);
      const jobs = (await client.json<{ value: JobView[] }>("GET", "/jobs")).value;
      if (opts.json) for (const j of jobs) io.out(JSON.stringify({ endpoint: name, ...j }));
      rows.push(...jobRows(name, jobs));
    }
    if (!opts.json) for (const l of formatTable(["ENDPOINT", "JOB", "STATUS", "DEPLOYMENT", "MINI_BATCHES", "ROWS", "CREATED"], rows)) io.out(l);
    return 0;
  });
}

export async function runJobsShow(endpoint: string, id: string, opts: JobsOptions, io: CommandIo): Promise<number> {
  return runCommand(io, async () => {
    const client = await jobsClient(endpoint, opts, io);
    io.out(JSON.stringify(await client.json<JobView>("GET", `/jobs/${encode(id)}`), null, 2));
    return 0;
  });
}

/** `jobs logs`: the job's summary (failed files with their error) and each worker's log. */
export async function runJobsLogs(endpoint: string, id: string, opts: JobsOptions, io: CommandIo): Promise<number> {
  return runCommand(io, async () => {
    const client = await jobsClient(endpoint, opts, io);
    const job = await client.json<JobView>("GET", `/jobs/${encode(id)}`);
    let logs = (job.outputs ?? []).filter((o) => o.startsWith("logs/"));
    if (opts.worker !== undefined) {
      const wanted = logs.filter((l) => l === `logs/worker-${opts.worker}.log` || path.basename(l) === opts.worker);
      if (wanted.length === 0) throw new CliError(`job ${id} has no log of worker ${opts.worker} (logs: ${logs.join(", ") || "none yet"})`);
      logs = wanted;
    }
    io.out(`job ${id}: ${job.status}${job.failure_reason ? ` (${job.failure_reason})` : ""}`);
    if (opts.worker === undefined && (job.outputs ?? []).includes("summary.json")) {
      const summary = JSON.parse(await (await client.get(`/jobs/${encode(id)}/outputs/summary.json`)).text()) as { failed_files?: { file: string; error: string }[] };
      for (const f of summary.failed_files ?? []) io.out(`failed: ${f.file}: ${f.error}`);
    }
    if (logs.length === 0) io.out("(no worker log yet)");
    for (const l of logs) {
      io.out(`--- ${l} ---`);
      io.write(await (await client.get(`/jobs/${encode(id)}/outputs/${l.split("/").map(encode).join("/")}`)).text());
    }
    return 0;
  });
}

/** `jobs download`: every output (predictions, summary, logs) into a folder. */
export async function runJobsDownload(endpoint: string, id: string, opts: JobsOptions, io: CommandIo): Promise<number> {
  return runCommand(io, async () => {
    const client = await jobsClient(endpoint, opts, io);
    const job = await client.json<JobView>("GET", `/jobs/${encode(id)}`);
    const outputs = job.outputs ?? [];
    if (outputs.length === 0) throw new CliError(`job ${id} is ${job.status} and has no outputs yet: wait for it (modelplane jobs show ${endpoint} ${id})`);
    const dir = path.resolve(opts.outputDir ?? id);
    for (const o of outputs) {
      const rel = path.normalize(o);
      if (rel.startsWith("..") || path.isAbsolute(rel)) throw new CliError(`job ${id} names an output outside its folder (${o}); not written`);
      const res = await client.get(`/jobs/${encode(id)}/outputs/${o.split("/").map(encode).join("/")}`);
      const pieces: Buffer[] = [];
      for await (const p of res.body) pieces.push(p);
      const bytes = Buffer.concat(pieces);
      const target = path.join(dir, rel);
      mkdirSync(path.dirname(target), { recursive: true });
      writeFileSync(target, bytes);
      io.out(`${target}  ${formatBytes(bytes.length)}`);
    }
    return 0;
  });
}

export async function runJobsCancel(endpoint: string, id: string, opts: JobsOptions, io: CommandIo): Promise<number> {
  return runCommand(io, async () => {
    const client = await jobsClient(endpoint, opts, io);
    const job = await client.json<JobView>("POST", `/jobs/${encode(id)}/cancel`);
    io.out(`job ${id}: ${job.status}`);
    return 0;
  });
}

export function registerJobs(program: Command): void {
  const jobs = program.command("jobs").description("a batch endpoint's jobs: list, show, logs, download, cancel");
  const common = (cmd: Command): Command => accessOptions(cmd, true).option("--key <key>", "the endpoint's key or token (default: a new token from the management API)");
  common(jobs.command("list").description("list the jobs of a batch endpoint (or of every batch endpoint)"))
    .argument("[endpoint]", "batch endpoint name (default: all)")
    .option("--json", "one JSON object per job", false)
    .action(async (endpoint: string | undefined, opts: JobsOptions) => {
      process.exitCode = await runJobsList(endpoint, opts, processIo());
    });
  common(jobs.command("show").description("a job's status, mini-batch counts, times, failure reason and outputs (JSON)"))
    .argument("<endpoint>", "batch endpoint name")
    .argument("<job>", "job id")
    .action(async (endpoint: string, id: string, opts: JobsOptions) => {
      process.exitCode = await runJobsShow(endpoint, id, opts, processIo());
    });
  common(jobs.command("logs").description("a job's failed files and its workers' logs"))
    .argument("<endpoint>", "batch endpoint name")
    .argument("<job>", "job id")
    .option("--worker <n>", "only worker n's log")
    .action(async (endpoint: string, id: string, opts: JobsOptions) => {
      process.exitCode = await runJobsLogs(endpoint, id, opts, processIo());
    });
  common(jobs.command("download").description("download a job's outputs (predictions, summary.json, logs) into a folder"))
    .argument("<endpoint>", "batch endpoint name")
    .argument("<job>", "job id")
    .option("--output-dir <dir>", "where to write them (default: ./<job id>)")
    .action(async (endpoint: string, id: string, opts: JobsOptions) => {
      process.exitCode = await runJobsDownload(endpoint, id, opts, processIo());
    });
  common(jobs.command("cancel").description("cancel a queued or running job"))
    .argument("<endpoint>", "batch endpoint name")
    .argument("<job>", "job id")
    .action(async (endpoint: string, id: string, opts: JobsOptions) => {
      process.exitCode = await runJobsCancel(endpoint, id, opts, processIo());
    });
  for (const cmd of jobs.commands) cmd.exitOverride();
}
