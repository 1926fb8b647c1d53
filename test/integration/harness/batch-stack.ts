/**
 * What the batch stack tests share: a throwaway stack on the local Docker engine whose specs sit
 * in stacks/.it-<stack>, the management API and gateway it outputs, `modelplane batch invoke`
 * run in-process, and the checks that its workers and, after destroy, all its objects are gone.
 */
import assert from "node:assert/strict";
import { mkdir, rm } from "node:fs/promises";
import * as path from "node:path";
import execa from "execa";
import type { CommandIo } from "../../../src/cli/commands/access";
import { runBatchInvoke } from "../../../src/cli/commands/batch";
import { containersByLabel, removeByLabel } from "./docker";
import { REPO_ROOT, TestStack } from "./pulumi";

const BASE_IMAGE = process.env.MODELPLANE_BASE_IMAGE ?? "modelplane/base:bookworm";

/** The node:test context's part the helpers use. */
export interface Diagnostics {
  diagnostic(message: string): void;
}

/** A batch job as the gateway reports it. */
export interface Job {
  id: string;
  deployment: string;
  status: string;
  mini_batches: { total: number; done: number; failed: number };
  files: { total: number; failed: number };
  rows: number;
  outputs: string[];
  failure_reason?: string | null;
}

/** A step of `pulumi preview --json`. */
export interface PreviewStep {
  op: string;
  urn: string;
  oldState?: { inputs?: Record<string, unknown> };
  newState?: { inputs?: Record<string, unknown> };
}

export type CapturedIo = CommandIo & { lines: string[]; errors: string[]; written: string[] };

/** A CLI command's I/O that keeps what it printed: `out` lines, `err` lines and progress `write`s. */
export function capture(): CapturedIo {
  const lines: string[] = [];
  const errors: string[] = [];
  const written: string[] = [];
  return { lines, errors, written, out: (l) => lines.push(l), write: (t) => written.push(t), err: (l) => errors.push(l), env: {} };
}

/** A compute cluster's spec: 0 to 2 instances, scaled down after 5 s idle. */
export function clusterSpec(name: string): string {
  return `$schema: https://azuremlschemas.azureedge.net/latest/amlCompute.schema.json\nname: ${name}\ntype: amlcompute\nmin_instances: 0\nmax_instances: 2\nidle_time_before_scale_down: 5\n`;
}

/** Where the CLI and the tests reach the stack's control plane. */
export interface Access {
  managementUrl: string;
  token: string;
  gatewayUrl: string;
}

/** One stack holding one batch endpoint; `create` after its specs are written, `cleanup` in `after`. */
export class BatchStack {
  /** The stack's spec dir, relative to the repo (the stack's modelplane:specDir) and absolute. */
  readonly specDirRel: string;
  readonly specDir: string;
  private testStack: TestStack | undefined;
  private reached: Access | undefined;

  constructor(
    readonly name: string,
    readonly endpoint: string,
  ) {
    this.specDirRel = `stacks/.it-${name}`;
    this.specDir = path.join(REPO_ROOT, this.specDirRel);
  }

  /** Empties the spec dir (creating it) for a new set of specs. */
  async freshSpecDir(): Promise<void> {
    await rm(this.specDir, { recursive: true, force: true });
    await mkdir(this.specDir, { recursive: true });
  }

  async create(): Promise<void> {
    this.testStack = await TestStack.create(REPO_ROOT, this.name, { "modelplane:baseImage": BASE_IMAGE, "modelplane:specDir": this.specDirRel });
  }

  private get stack(): TestStack {
    if (!this.testStack) throw new Error(`stack ${this.name} was not created: see the failure in before()`);
    return this.testStack;
  }

  pulumi(...args: Parameters<TestStack["pulumi"]>): ReturnType<TestStack["pulumi"]> {
    return this.stack.pulumi(...args);
  }

  outputs(): Promise<Record<string, unknown>> {
    return this.stack.outputs();
  }

  /** `pulumi up` without preview; its time as a diagnostic; its output. */
  async up(t: Diagnostics, label: string): Promise<string> {
    const started = Date.now();
    const r = await this.stack.pulumi(["up", "--yes", "--skip-preview"], { timeoutMs: 1_800_000 });
    t.diagnostic(`${label}: pulumi up took ${((Date.now() - started) / 1000).toFixed(1)} s`);
    return String(r.stdout);
  }

  /** The stack's outputs; keeps from them where the management API and the gateway are, for the calls below. */
  async connect(): Promise<Record<string, unknown>> {
    const outs = await this.outputs();
    this.reached = { managementUrl: outs.managementUrl as string, token: outs.managementToken as string, gatewayUrl: outs.gatewayUrl as string };
    return outs;
  }

  get access(): Access {
    if (!this.reached) throw new Error(`stack ${this.name}: no management URL yet; the first test (the first up, then connect()) did not pass`);
    return this.reached;
  }

  /** The steps of `pulumi preview --json` that change something. */
  async previewChanges(): Promise<PreviewStep[]> {
    const preview = await this.stack.pulumi(["preview", "--json"]);
    return (JSON.parse(String(preview.stdout)) as { steps: PreviewStep[] }).steps.filter((s) => s.op !== "same");
  }

  /** A management API call that must succeed; its JSON answer. */
  async management<T>(method: string, p: string, body?: unknown): Promise<T> {
    const res = await fetch(`${this.access.managementUrl}${p}`, { method, headers: { authorization: `Bearer ${this.access.token}`, "content-type": "application/json" }, body: body === undefined ? undefined : JSON.stringify(body) });
    const text = await res.text();
    assert.ok(res.ok, `${method} ${p}: ${res.status} ${text}`);
    return JSON.parse(text) as T;
  }

  /** GET of a gateway route of the endpoint, with a fresh token; the body as text. */
  async gatewayText(p: string): Promise<string> {
    const { accessToken } = await this.management<{ accessToken: string }>("POST", `/endpoints/${this.endpoint}/token`);
    const res = await fetch(`${this.access.gatewayUrl}/endpoints/${this.endpoint}${p}`, { headers: { authorization: `Bearer ${accessToken}` } });
    const text = await res.text();
    assert.ok(res.ok, `GET ${p}: ${res.status} ${text}`);
    return text;
  }

  async gateway<T>(p: string): Promise<T> {
    return JSON.parse(await this.gatewayText(p)) as T;
  }

  /** `modelplane batch invoke --wait` in-process; the CLI's exit code, what it printed, and the job as the gateway reports it at the end. */
  async invoke(t: Diagnostics, opts: { input: string; deployment?: string; miniBatchSize?: number }): Promise<{ code: number; job: Job; io: CapturedIo }> {
    const io = capture();
    const started = Date.now();
    const code = await runBatchInvoke(this.endpoint, { ...this.access, wait: true, ...opts }, io, { pollMs: 500, tty: false });
    t.diagnostic(`job on ${opts.deployment ?? "the default"}: ${((Date.now() - started) / 1000).toFixed(1)} s; ${io.written.join("").trim().split("\n").at(-1)}`);
    const id = /^job (\S+):/.exec(io.lines[0] ?? "")?.[1];
    assert.ok(id, [...io.lines, ...io.errors, ...io.written].join("\n"));
    return { code, job: await this.gateway<Job>(`/jobs/${id}`), io };
  }

  /** The stack's containers other than the control plane's: batch workers. */
  async workers(): Promise<string[]> {
    const all = await containersByLabel({ "modelplane.stack": this.name });
    const servers = await containersByLabel({ "modelplane.stack": this.name, "modelplane.role": "control-plane" });
    return all.filter((n) => !servers.includes(n));
  }

  async eventuallyNoWorker(seconds: number): Promise<void> {
    const deadline = Date.now() + seconds * 1000;
    let left = await this.workers();
    while (left.length > 0 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 1000));
      left = await this.workers();
    }
    assert.deepEqual(left, [], `worker containers still there after ${seconds} s`);
  }

  /** `pulumi destroy`, then no container, volume or network labelled with the stack is left. */
  async destroyLeavesNothing(): Promise<void> {
    await this.stack.pulumi(["destroy", "--yes", "--skip-preview"]);
    const f = `label=modelplane.stack=${this.name}`;
    const list = async (args: string[]) => (await execa("docker", [...args, "--filter", f])).stdout.split("\n").filter(Boolean);
    assert.deepEqual(await list(["ps", "-aq"]), []);
    assert.deepEqual(await list(["volume", "ls", "-q"]), []);
    assert.deepEqual(await list(["network", "ls", "-q"]), []);
  }

  /** Removes the stack, everything labelled with it and the spec dir; for `after`, even when `create` failed. */
  async cleanup(): Promise<void> {
    await this.testStack?.cleanup();
    await removeByLabel("modelplane.stack", this.name);
    await rm(this.specDir, { recursive: true, force: true });
  }
}
