// Scores each verify request and compares its answer; the scoring call is passed in (the CLI's
// goes through the stack's gateway), so this part has no I/O of its own.
import { answerDifference } from "./compare";
import type { VerifyCheck } from "./checks";

export interface ScoreAnswer {
  status: number;
  text: string;
  /** The azureml-model-deployment header of the answer. */
  deployment?: string;
}

export interface CheckResult {
  check: VerifyCheck;
  ok: boolean;
  /** Why it failed (undefined when ok). */
  reason?: string;
  servedBy?: string;
  ms: number;
}

/** `my-endpoint/blue "sample"` or `my-endpoint "sample"`. */
export function checkLabel(c: VerifyCheck): string {
  return `${c.endpoint}${c.deployment ? `/${c.deployment}` : ""} "${c.name}"`;
}

/**
 * What a request's answer is compared with. A request through the split may be answered by any
 * deployment with traffic; when that deployment has a request of its own pinned to it with the same
 * endpoint and body (e.g. a candidate a pipeline shifted 10 % to, with its own answer), its answer
 * is compared with that request's expectation, so the check does not fail at random on the split.
 */
export function expectationOf(check: VerifyCheck, servedBy: string | undefined, all: VerifyCheck[]): VerifyCheck {
  if (check.deployment || !servedBy) return check;
  return all.find((c) => c.deployment === servedBy && c.endpoint === check.endpoint && c.body === check.body) ?? check;
}

export async function runChecks(checks: VerifyCheck[], score: (c: VerifyCheck) => Promise<ScoreAnswer>, onResult?: (r: CheckResult) => void): Promise<CheckResult[]> {
  const results: CheckResult[] = [];
  for (const check of checks) {
    const t0 = Date.now();
    let result: CheckResult;
    try {
      const a = await score(check);
      const ms = Date.now() - t0;
      if (a.status !== check.status) result = { check, ok: false, ms, servedBy: a.deployment, reason: `status ${a.status}, expected ${check.status}: ${a.text.slice(0, 300)}` };
      else if (check.deployment && a.deployment && a.deployment !== check.deployment) result = { check, ok: false, ms, servedBy: a.deployment, reason: `answered by deployment ${a.deployment}, not ${check.deployment}` };
      else {
        let got: unknown;
        try {
          got = JSON.parse(a.text);
        } catch {
          got = a.text;
        }
        const own = expectationOf(check, a.deployment, checks);
        const diff = answerDifference(own.expect, got, own.tolerance);
        result = diff ? { check, ok: false, ms, servedBy: a.deployment, reason: `the answer differs ${diff}${own === check ? "" : ` (compared with ${checkLabel(own)}, the request pinned to ${a.deployment})`}` } : { check, ok: true, ms, servedBy: a.deployment };
      }
    } catch (err) {
      result = { check, ok: false, ms: Date.now() - t0, reason: (err as Error).message };
    }
    results.push(result);
    onResult?.(result);
  }
  return results;
}
