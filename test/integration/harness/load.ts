import { Agent, request } from "undici";

export interface LoadResult {
  sent: number;
  ok: number;
  failed: number;
  byStatus: Record<string, number>;
  byDeployment: Record<string, number>;
  errors: string[];
}

/**
 * A bounded load generator for loopback endpoints: `concurrency` workers send the same request
 * back to back until `stop()` (or `maxSeconds`), recording every status. Used to prove that
 * changes apply with zero failed requests.
 */
export function startLoad(opts: { url: string; key: string; body: string; concurrency?: number; maxSeconds?: number; headers?: Record<string, string> }) {
  const agent = new Agent({ keepAliveTimeout: 10_000, connections: opts.concurrency ?? 4 });
  const result: LoadResult = { sent: 0, ok: 0, failed: 0, byStatus: {}, byDeployment: {}, errors: [] };
  const deadline = Date.now() + (opts.maxSeconds ?? 300) * 1000;
  let stopped = false;
  const worker = async () => {
    while (!stopped && Date.now() < deadline) {
      result.sent++;
      try {
        const res = await request(opts.url, {
          method: "POST",
          dispatcher: agent,
          headers: { authorization: `Bearer ${opts.key}`, "content-type": "application/json", ...opts.headers },
          body: opts.body,
          headersTimeout: 30_000,
          bodyTimeout: 30_000,
        });
        const text = await res.body.text();
        result.byStatus[res.statusCode] = (result.byStatus[res.statusCode] ?? 0) + 1;
        const dep = String(res.headers["azureml-model-deployment"] ?? "?");
        if (res.statusCode === 200) {
          result.ok++;
          result.byDeployment[dep] = (result.byDeployment[dep] ?? 0) + 1;
        } else {
          result.failed++;
          if (result.errors.length < 10) result.errors.push(`${res.statusCode} from ${dep}: ${text.slice(0, 200)}`);
        }
      } catch (err) {
        result.failed++;
        result.byStatus.error = (result.byStatus.error ?? 0) + 1;
        if (result.errors.length < 10) result.errors.push((err as Error).message);
      }
    }
  };
  const workers = Array.from({ length: opts.concurrency ?? 4 }, () => worker());
  return {
    result,
    async stop(): Promise<LoadResult> {
      stopped = true;
      await Promise.all(workers);
      await agent.close();
      return result;
    },
  };
}

/** Sends `n` requests one by one and counts the serving deployments. */
export async function sample(url: string, key: string, body: string, n: number, headers: Record<string, string> = {}): Promise<LoadResult> {
  const load = startLoad({ url, key, body, concurrency: 1, maxSeconds: 120, headers });
  while (load.result.sent < n) await new Promise((r) => setTimeout(r, 20));
  return load.stop();
}
