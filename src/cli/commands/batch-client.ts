// How `modelplane batch` and `modelplane jobs` reach a batch endpoint's jobs on the gateway: its
// base URL (--gateway-url, MODELPLANE_GATEWAY_URL, the stack output gatewayUrl, else the endpoint's
// invocation_uri) and a credential (--key, else a fresh token of the endpoint from the management
// API, renewed once when the gateway refuses it).
import { httpCall, type HttpAnswer, type HttpCallError } from "../../api-client/http-call";
import { api, CliError, resolveAccess, type Access, type AccessOptions, type CommandIo } from "./access";

export interface EndpointAccessOptions extends AccessOptions {
  /** The endpoint's key or token (else a token from the management API). */
  key?: string;
}

interface EndpointView {
  kind?: string;
  auth_mode: string;
  invocation_uri?: string;
}

/** A gateway answer that is not 2xx, with its status and the API's code. */
export class GatewayCallError extends CliError {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export interface JobsClient {
  /** `<gateway>/endpoints/<endpoint>`. */
  base: string;
  /** The management API (for uploads), when it was resolved. */
  access?: Access;
  /** A JSON call to `${base}${path}`. */
  json<T>(method: string, path: string, body?: unknown): Promise<T>;
  /** The raw answer of a GET (downloads). */
  get(path: string): Promise<HttpAnswer>;
}

function gatewayFrom(opts: EndpointAccessOptions, io: CommandIo): string | undefined {
  const g = opts.gatewayUrl || io.env.MODELPLANE_GATEWAY_URL;
  return g ? g.replace(/\/+$/, "") : undefined;
}

/** Resolves where the endpoint's jobs are and how to authenticate; `needManagement` forces the management API (uploads). */
export async function jobsClient(endpoint: string, opts: EndpointAccessOptions, io: CommandIo, needManagement = false): Promise<JobsClient> {
  const e = encodeURIComponent(endpoint);
  let gateway = gatewayFrom(opts, io);
  let access: Access | undefined;
  let credential = opts.key;
  let renew: (() => Promise<string>) | undefined;
  if (needManagement || credential === undefined || gateway === undefined) {
    access = await resolveAccess(opts, io);
    const view = await api<EndpointView>(access, "GET", `/endpoints/${e}`);
    if (view.kind !== undefined && view.kind !== "batch") throw new CliError(`endpoint "${endpoint}" is an ${view.kind} endpoint, not a batch endpoint: score it with \`modelplane invoke ${endpoint} --file request.json\``);
    gateway ??= (await access.gatewayUrl()) ?? view.invocation_uri?.replace(/\/endpoints\/[^/]+\/jobs\/?$/, "");
    if (!gateway) throw new CliError(`no gateway URL for endpoint "${endpoint}": pass --gateway-url, set MODELPLANE_GATEWAY_URL, or pass --stack <stack>`);
    if (credential === undefined) {
      const a = access;
      renew = async () =>
        view.auth_mode === "key"
          ? (await api<{ primaryKey: string }>(a, "POST", `/endpoints/${e}/keys`)).primaryKey
          : (await api<{ accessToken: string }>(a, "POST", `/endpoints/${e}/token`)).accessToken;
      credential = await renew();
    }
  }
  const base = `${gateway}/endpoints/${e}`;
  const send = async (method: string, path: string, body?: unknown): Promise<HttpAnswer> => {
    const call = async (): Promise<HttpAnswer> => {
      try {
        return await httpCall(`${base}${path}`, {
          method,
          headers: { authorization: `Bearer ${credential}`, ...(body !== undefined ? { "content-type": "application/json" } : {}) },
          body: body === undefined ? undefined : JSON.stringify(body),
          timeoutMs: 60_000,
        });
      } catch (err) {
        throw new CliError(`gateway at ${gateway} did not answer ${method} ${path || "/"}: ${(err as HttpCallError).code ?? (err as Error).message}; is the stack up and the gateway URL right (--gateway-url)?`);
      }
    };
    let res = await call();
    // A token expires after an hour: a long --wait gets a new one once.
    if (res.status === 401 && renew) {
      await res.text();
      credential = await renew();
      res = await call();
    }
    return res;
  };
  const fail = async (method: string, path: string, res: HttpAnswer): Promise<never> => {
    const text = await res.text();
    let code = `http_${res.status}`;
    let message = text.slice(0, 300);
    try {
      const err = (JSON.parse(text) as { error?: { code?: string; message?: string } }).error;
      if (err?.code) code = err.code;
      if (err?.message) message = err.message;
    } catch {
      // not JSON
    }
    const hint = res.status === 401 ? (opts.key !== undefined ? " (the --key was refused)" : " (the endpoint's token was refused)") : "";
    throw new GatewayCallError(res.status, code, `${method} /endpoints/${endpoint}${path}: ${res.status} ${code}: ${message}${hint}`);
  };
  return {
    base,
    ...(access ? { access } : {}),
    async json<T>(method: string, path: string, body?: unknown): Promise<T> {
      const res = await send(method, path, body);
      if (!res.ok) return fail(method, path, res);
      const text = await res.text();
      return (text ? JSON.parse(text) : undefined) as T;
    },
    async get(path: string): Promise<HttpAnswer> {
      const res = await send("GET", path);
      if (!res.ok) return fail("GET", path, res);
      return res;
    },
  };
}
