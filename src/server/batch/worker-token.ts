/**
 * Each job's worker token: an HMAC of the job id under a secret of the store, so it is never
 * stored and is the same after a restart (a relaunched worker gets the token its job always had).
 * It admits only that job's worker routes.
 */
import { createHmac } from "node:crypto";
import { secretEquals } from "../auth/keys";

export function workerToken(secret: Buffer, jobId: string): string {
  return createHmac("sha256", secret).update(`batch-worker:${jobId}`).digest("base64url");
}

export function workerTokenMatches(secret: Buffer, jobId: string, presented: string | undefined): boolean {
  return presented !== undefined && secretEquals(presented, workerToken(secret, jobId));
}

/** A worker container's instance token: admits only POST /batch/instances/{id}/next (warm instances). */
export function instanceToken(secret: Buffer, instanceId: string): string {
  return createHmac("sha256", secret).update(`batch-instance:${instanceId}`).digest("base64url");
}

export function instanceTokenMatches(secret: Buffer, instanceId: string, presented: string | undefined): boolean {
  return presented !== undefined && secretEquals(presented, instanceToken(secret, instanceId));
}
