import { httpCall, type HttpAnswer } from "../../api-client/http-call";

/** Where a provider reaches the management API, and with what. Passed as inputs, read per call. */
export interface ManagementAccess {
  managementUrl: string;
  managementToken: string;
}

/** A non-2xx answer of the management API, with its stable error code. */
export class ManagementApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = "ManagementApiError";
  }
}

/**
 * One management API call. Connection failures are retried briefly (the server may be
 * restarting during a replacement); HTTP errors are not retried.
 */
export async function managementRequest<T>(access: ManagementAccess, method: string, path: string, body?: unknown): Promise<T> {
  const url = `${access.managementUrl.replace(/\/$/, "")}${path}`;
  let lastErr: unknown;
  for (let attempt = 0; attempt < 20; attempt++) {
    let res: HttpAnswer;
    try {
      res = await httpCall(url, {
        method,
        headers: { authorization: `Bearer ${access.managementToken}`, "content-type": "application/json" },
        body: body === undefined ? undefined : JSON.stringify(body),
        timeoutMs: 30_000,
      });
    } catch (err) {
      lastErr = err;
      await new Promise((r) => setTimeout(r, 500));
      continue;
    }
    const text = await res.text();
    const json = text ? (JSON.parse(text) as unknown) : undefined;
    if (!res.ok) {
      const e = (json as { error?: { code?: string; message?: string } } | undefined)?.error;
      throw new ManagementApiError(res.status, e?.code ?? `http_${res.status}`, `${method} ${path}: ${res.status} ${e?.code ?? ""} ${e?.message ?? text}`.trim());
    }
    return json as T;
  }
  throw new Error(
    `management API at ${access.managementUrl} unreachable for ${method} ${path} (20 attempts): ${(lastErr as Error)?.message}. ` +
      "The stack's control-plane server is down or listens elsewhere: check that its container (or pod) runs and answers at that URL (`pulumi stack output managementUrl`), then run `pulumi up` again.",
  );
}

/** True for the API's 404. */
export function isApiNotFound(err: unknown): boolean {
  return err instanceof ManagementApiError && err.status === 404;
}

/**
 * A management call whose 404 means the job is already done (a delete of something gone, an
 * un-set on an endpoint gone): resolves then; `alsoDone` names other answers that mean the same.
 */
export async function unlessGone(call: Promise<unknown>, alsoDone: (err: unknown) => boolean = () => false): Promise<void> {
  try {
    await call;
  } catch (err) {
    if (!isApiNotFound(err) && !alsoDone(err)) throw err;
  }
}

/** A provider read's GET: the answer, or undefined on the API's 404 (the resource is gone: read returns {}). */
export async function getUnlessGone<T>(access: ManagementAccess, path: string): Promise<T | undefined> {
  try {
    return await managementRequest<T>(access, "GET", path);
  } catch (err) {
    if (isApiNotFound(err)) return undefined;
    throw err;
  }
}
