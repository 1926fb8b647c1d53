/**
 * The gateway's job routes of a batch endpoint (auth is the gateway's: the endpoint's key or
 * token): POST/GET /endpoints/{e}/jobs, GET .../jobs/{id}, POST .../jobs/{id}/cancel and
 * GET .../jobs/{id}/outputs[/{path}]. Answers are whole JSON documents or files.
 */
import { promises as fs } from "node:fs";
import * as path from "node:path";
import { ApiError } from "../management/errors";
import type { Datastore } from "./datastore";
import { contentType, listOutputs } from "./outputs";
import type { BatchService } from "./service";
import type { BatchTables } from "./tables";

export interface JobAnswer {
  status: number;
  contentType: string;
  body: Buffer;
}

/** Largest output file the gateway hands out in one answer. */
const OUTPUT_LIMIT_BYTES = 512 * 1024 * 1024;

function json(status: number, value: unknown): JobAnswer {
  return { status, contentType: "application/json; charset=utf-8", body: Buffer.from(JSON.stringify(value)) };
}

export class GatewayJobs {
  constructor(
    private readonly service: BatchService,
    private readonly tables: BatchTables,
    private readonly datastore: Datastore,
  ) {}

  /**
   * One job request: `rest` are the path segments after /endpoints/{e}/jobs (already decoded, no
   * traversal). `deployment` is the azureml-model-deployment header, if any.
   */
  async handle(endpoint: string, method: string, rest: readonly string[], body: () => Promise<Buffer>, deployment?: string): Promise<JobAnswer> {
    try {
      return await this.route(endpoint, method, rest, body, deployment);
    } catch (err) {
      if (err instanceof ApiError) return json(err.status, { error: { code: err.code, message: err.message, ...(err.field ? { field: err.field } : {}) } });
      console.error(`batch job route error: ${(err as Error)?.stack ?? String(err)}`);
      return json(500, { error: { code: "internal_error", message: "the server failed to handle the job request" } });
    }
  }

  private async route(endpoint: string, method: string, rest: readonly string[], body: () => Promise<Buffer>, deployment?: string): Promise<JobAnswer> {
    const allow = (m: string): void => {
      if (method !== m) throw new ApiError(405, "method_not_allowed", `use ${m} here`);
    };
    if (rest.length === 0) {
      if (method === "GET") {
        const jobs = this.tables.listJobs({ endpoint }).reverse();
        return json(200, { value: await Promise.all(jobs.map((j) => this.service.jobView(j))) });
      }
      allow("POST");
      const raw = await body();
      let parsed: unknown;
      try {
        parsed = raw.length === 0 ? null : (JSON.parse(raw.toString("utf8")) as unknown);
      } catch {
        throw new ApiError(400, "invalid_body", "body is not valid JSON", "(body)");
      }
      const job = await this.service.submit(endpoint, parsed, deployment);
      return json(202, await this.service.jobView(job));
    }
    const id = rest[0]!;
    const job = this.tables.getJob(id);
    if (!job || job.endpoint !== endpoint) throw new ApiError(404, "job_not_found", `job '${id}' not found on batch endpoint '${endpoint}'; GET /endpoints/${endpoint}/jobs lists its jobs`);
    if (rest.length === 1) {
      allow("GET");
      return json(200, await this.service.jobView(job));
    }
    if (rest.length === 2 && rest[1] === "cancel") {
      allow("POST");
      return json(200, await this.service.jobView(this.service.cancel(id) ?? job));
    }
    if (rest[1] === "outputs") {
      allow("GET");
      const dir = this.datastore.jobDir(id);
      if (rest.length === 2) return json(200, { value: await listOutputs(dir) });
      const rel = rest.slice(2).join("/");
      const file = path.join(dir, ...rest.slice(2));
      const st = await fs.stat(file).catch(() => undefined);
      if (!st?.isFile()) {
        const have = await listOutputs(dir);
        throw new ApiError(404, "output_not_found", `job '${id}' has no output ${rel}${have.length ? `; outputs: ${have.join(", ")}` : " yet"}`);
      }
      if (st.size > OUTPUT_LIMIT_BYTES) throw new ApiError(413, "output_too_large", `output ${rel} is ${st.size} bytes; read it from the stack's datastore (jobs/${id}/${rel})`);
      return { status: 200, contentType: contentType(file), body: await fs.readFile(file) };
    }
    throw new ApiError(404, "route_not_found", `no such job route; use GET /endpoints/${endpoint}/jobs/${id}, POST .../cancel or GET .../outputs/<file>`);
  }
}
