import "uplot/dist/uPlot.min.css";
import "./studio.css";
import { render } from "preact";
import { useEffect, useState } from "preact/hooks";
import { Unauthorized, get, post, setCsrf } from "./api";
import { Chart } from "./chart";
import type { DeploymentRow, Detail, EndpointRow, Job, Series } from "./types";

const REFRESH_MS = 2000;

function useHash(): string {
  const [hash, setHash] = useState(location.hash);
  useEffect(() => {
    const on = () => setHash(location.hash);
    addEventListener("hashchange", on);
    return () => removeEventListener("hashchange", on);
  }, []);
  return hash;
}

/** Polls `load` every 2 s while mounted; keeps the last good value, reports the last error. */
function usePoll<T>(load: () => Promise<T>, deps: unknown[], everyMs = REFRESH_MS): { data: T | undefined; error: string | undefined } {
  const [data, setData] = useState<T | undefined>(undefined);
  const [error, setError] = useState<string | undefined>(undefined);
  useEffect(() => {
    let live = true;
    let timer: number | undefined;
    const tick = async () => {
      try {
        const v = await load();
        if (!live) return;
        setData(v);
        setError(undefined);
      } catch (err) {
        if (!live) return;
        if (err instanceof Unauthorized) location.hash = "#/sign-in";
        else setError((err as Error).message);
      }
      if (live && everyMs > 0) timer = window.setTimeout(() => void tick(), everyMs);
    };
    setData(undefined);
    void tick();
    return () => {
      live = false;
      if (timer !== undefined) clearTimeout(timer);
    };
  }, deps);
  return { data, error };
}

function Err({ text }: { text: string | undefined }) {
  return text ? <p class="error" role="alert">{text}</p> : null;
}

function TrafficBar({ traffic, label }: { traffic: Record<string, number>; label: string }) {
  const parts = Object.entries(traffic).filter(([, v]) => v > 0);
  if (!parts.length) return <span class="muted">none</span>;
  return (
    <div class="bar" role="img" aria-label={`${label}: ${parts.map(([k, v]) => `${k} ${v}%`).join(", ")}`}>
      {parts.map(([k, v], i) => (
        <span class={`seg c${i % 6}`} style={{ width: `${v}%` }} title={`${k} ${v}%`}>
          {k} {v}%
        </span>
      ))}
    </div>
  );
}

function CopyButton({ text, label }: { text: string; label: string }) {
  const [done, setDone] = useState(false);
  return (
    <button
      type="button"
      class="small"
      aria-label={label}
      onClick={() => {
        void navigator.clipboard?.writeText(text).then(() => setDone(true), () => setDone(false));
      }}
    >
      {done ? "Copied" : "Copy"}
    </button>
  );
}

function State({ s }: { s: string }) {
  return <span class={`state ${s.toLowerCase()}`}>{s}</span>;
}

function SignIn({ failed }: { failed: boolean }) {
  return (
    <main class="signin">
      <h1>modelplane studio</h1>
      <form method="post" action="/studio/sign-in">
        <label for="token">Management token</label>
        <input id="token" name="token" type="password" autocomplete="off" required autofocus />
        <p class="muted">`pulumi stack output managementToken --show-secrets` prints it. It is sent once; the studio keeps a session cookie.</p>
        {failed ? <p class="error" role="alert">That token is not this server's management token.</p> : null}
        <button type="submit">Sign in</button>
      </form>
    </main>
  );
}

function Endpoints() {
  const { data, error } = usePoll(() => get<{ value: EndpointRow[] }>("endpoints"), []);
  return (
    <section>
      <h1>Endpoints</h1>
      <Err text={error} />
      {data === undefined ? <p aria-busy="true">Loading…</p> : data.value.length === 0 ? <p>No endpoints yet: `pulumi up` a stack.</p> : null}
      {data && data.value.length > 0 ? (
        <div class="scroll">
          <table class="endpoints">
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Kind</th>
                <th scope="col">State</th>
                <th scope="col">Auth</th>
                <th scope="col">Scoring URI</th>
                <th scope="col">Traffic</th>
                <th scope="col">Mirror</th>
                <th scope="col">Requests/s</th>
              </tr>
            </thead>
            <tbody>
              {data.value.map((e) => (
                <tr key={e.name} data-endpoint={e.name}>
                  <td>
                    <a href={`#/endpoints/${e.name}`}>{e.name}</a>
                  </td>
                  <td>{e.kind}</td>
                  <td>
                    <State s={e.provisioningState} />
                  </td>
                  <td>{e.auth_mode}</td>
                  <td class="uri">
                    {e.scoring_uri ?? e.invocation_uri ? (
                      <>
                        <code>{e.scoring_uri ?? e.invocation_uri}</code> <CopyButton text={(e.scoring_uri ?? e.invocation_uri)!} label={`Copy the URI of ${e.name}`} />
                      </>
                    ) : null}
                  </td>
                  <td class="traffic">{e.kind === "online" ? <TrafficBar traffic={e.traffic} label={`Traffic of ${e.name}`} /> : <span class="muted">default deployment</span>}</td>
                  <td>{Object.entries(e.mirror_traffic).filter(([, v]) => v > 0).map(([k, v]) => `${k} ${v}%`).join(", ") || <span class="muted">off</span>}</td>
                  <td class="num" data-rate>{e.requestsPerSecond.toFixed(1)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : null}
    </section>
  );
}

function Yaml({ title, text, source }: { title: string; text: string; source: boolean }) {
  return (
    <details class="yaml">
      <summary>{title}</summary>
      <p class="muted">{source ? "The YAML that defines it:" : "Its properties as YAML (the server keeps no copy of the spec file):"}</p>
      <pre>{text}</pre>
    </details>
  );
}

function x(series: Series): number[] {
  const first = Object.values(series.deployments)[0];
  if (!first) return [];
  return first.rps.map((_, i) => (first.start + i * first.step) / 1000);
}

function Charts({ endpoint }: { endpoint: string }) {
  const { data, error } = usePoll(() => get<Series>(`endpoints/${endpoint}/series`), [endpoint]);
  if (!data) return <Err text={error} />;
  const xs = x(data);
  const names = Object.keys(data.deployments);
  const of = (pick: (v: Series["deployments"][string]) => (number | null)[], suffix = "") => names.map((d) => ({ label: `${d}${suffix}`, values: pick(data.deployments[d]!) }));
  // The newest requests/s drawn per deployment, for tests and screen readers' "now" figure.
  const latest = Object.fromEntries(names.map((d) => [d, data.deployments[d]!.rps[data.deployments[d]!.rps.length - 1] ?? 0]));
  return (
    <div class="charts" id="charts" data-latest-rps={JSON.stringify(latest)}>
      <Err text={error} />
      <Chart title="Requests per second" unit="req/s" x={xs} lines={of((v) => v.rps)} />
      <Chart title="Latency p50 and p99" unit="ms" x={xs} lines={[...of((v) => v.p50, " p50"), ...of((v) => v.p99, " p99")]} />
      <Chart title="Errors per second (4xx, 5xx)" unit="err/s" x={xs} lines={[...of((v) => v.e4xx, " 4xx"), ...of((v) => v.e5xx, " 5xx")]} />
      {data.mirror.length ? <Chart title="Mirror agreement (share of mirrored copies answered 2xx)" unit="share" x={xs} lines={data.mirror.map((d) => ({ label: d, values: data.deployments[d]?.mirror ?? [] }))} /> : null}
    </div>
  );
}

function RegenerateKey({ endpoint }: { endpoint: string }) {
  const [open, setOpen] = useState(false);
  const [confirm, setConfirm] = useState("");
  const [keyType, setKeyType] = useState<"primary" | "secondary">("secondary");
  const [msg, setMsg] = useState<string | undefined>(undefined);
  if (!open) {
    return (
      <button type="button" onClick={() => setOpen(true)}>
        Regenerate a key…
      </button>
    );
  }
  return (
    <form
      class="confirm"
      onSubmit={(ev) => {
        ev.preventDefault();
        post<{ regenerated: string }>(`endpoints/${endpoint}/keys`, { keyType, confirm }).then(
          (r) => setMsg(`The ${r.regenerated} key was regenerated; \`modelplane keys ${endpoint}\` shows it. Clients using the old one now get 401.`),
          (err: Error) => setMsg(err.message),
        );
      }}
    >
      <fieldset>
        <legend>Regenerate a key of {endpoint}</legend>
        <label>
          Key{" "}
          <select value={keyType} onChange={(e) => setKeyType((e.target as HTMLSelectElement).value as "primary" | "secondary")}>
            <option value="primary">primary</option>
            <option value="secondary">secondary</option>
          </select>
        </label>
        <label>
          Type the endpoint's name to confirm <input value={confirm} onInput={(e) => setConfirm((e.target as HTMLInputElement).value)} />
        </label>
        <button type="submit" disabled={confirm !== endpoint}>
          Regenerate
        </button>{" "}
        <button type="button" onClick={() => setOpen(false)}>
          Cancel
        </button>
        {msg ? <p role="status">{msg}</p> : null}
      </fieldset>
    </form>
  );
}

function DeploymentsTable({ endpoint, rows }: { endpoint: string; rows: DeploymentRow[] }) {
  return (
    <div class="scroll">
      <table class="deployments">
        <thead>
          <tr>
            <th scope="col">Deployment</th>
            <th scope="col">State</th>
            <th scope="col">Server</th>
            <th scope="col">Model</th>
            <th scope="col">Image</th>
            <th scope="col">Instances</th>
            <th scope="col">In flight</th>
            <th scope="col">Queued</th>
            <th scope="col">
              <span class="sr">Links</span>
            </th>
          </tr>
        </thead>
        <tbody>
          {rows.map((d) => (
            <tr key={d.name} data-deployment={d.name}>
              <th scope="row">{d.name}</th>
              <td>
                <State s={d.provisioningState} />
                {d.failureReason ? <div class="error small">{d.failureReason}</div> : null}
              </td>
              <td>{d.model_server ?? "—"}</td>
              <td>
                {d.model ?? "—"}
                {d.model_version ? `:${d.model_version}` : ""}
              </td>
              {/* The tag is the content hash: the part worth comparing between deployments. */}
              <td class="image">{d.image ? <code title={d.image}>{d.image.split(":").pop()}</code> : "—"}</td>
              <td class="num">
                {d.instances.healthy}/{d.instances.total}
              </td>
              <td class="num">{d.inflight}</td>
              <td class="num">{d.queued}</td>
              <td>
                <a href={`#/endpoints/${endpoint}/deployments/${d.name}/logs`}>Logs</a>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

function EndpointDetail({ name }: { name: string }) {
  const { data, error } = usePoll(() => get<Detail>(`endpoints/${name}`), [name]);
  return (
    <section>
      <p>
        <a href="#/">Endpoints</a> ›
      </p>
      <h1>{name}</h1>
      <Err text={error} />
      {!data ? (
        <p aria-busy="true">Loading…</p>
      ) : (
        <>
          <dl class="facts">
            <dt>Kind</dt>
            <dd>{data.endpoint.kind}</dd>
            <dt>State</dt>
            <dd>
              <State s={data.endpoint.provisioningState} />
            </dd>
            <dt>Auth</dt>
            <dd>{data.endpoint.auth_mode}</dd>
            <dt>URI</dt>
            <dd class="uri">
              <code>{data.endpoint.scoring_uri ?? data.endpoint.invocation_uri}</code>
            </dd>
          </dl>
          {data.endpoint.kind === "online" ? (
            <>
              <h2>Traffic</h2>
              <div id="traffic" data-traffic={JSON.stringify(data.endpoint.traffic)}>
                <TrafficBar traffic={data.endpoint.traffic} label="Live traffic" />
              </div>
              <p>
                Mirror: {Object.entries(data.endpoint.mirror_traffic).filter(([, v]) => v > 0).map(([k, v]) => `${k} ${v}%`).join(", ") || "off"}
              </p>
              <p>
                <a href={`#/endpoints/${name}/test`}>Test console</a>
              </p>
            </>
          ) : (
            <p>
              <a href={`#/endpoints/${name}/jobs`}>Jobs</a>
            </p>
          )}
          <p class="note">{data.howToChange}</p>
          <Yaml title="Endpoint YAML" text={data.endpoint.yaml} source={false} />
          <h2>Deployments</h2>
          <DeploymentsTable endpoint={name} rows={data.deployments} />
          {data.deployments.map((d) => (
            <Yaml key={d.name} title={`Deployment ${d.name} YAML`} text={d.yaml} source={d.yamlIsSource} />
          ))}
          {data.endpoint.kind === "online" ? (
            <>
              <h2>Last 15 minutes</h2>
              <Charts endpoint={name} />
            </>
          ) : null}
          {data.swagger ? (
            <details class="yaml">
              <summary>Swagger</summary>
              <pre>{JSON.stringify(data.swagger, null, 2)}</pre>
            </details>
          ) : null}
          <h2>Keys</h2>
          <RegenerateKey endpoint={name} />
        </>
      )}
    </section>
  );
}

interface LogsAnswer {
  provisioningState: string;
  failureReason: string | null;
  logs: { instance: string; state: string; text: string }[];
  note?: string;
}

function Logs({ endpoint, deployment }: { endpoint: string; deployment: string }) {
  const [follow, setFollow] = useState(true);
  const { data, error } = usePoll(() => get<LogsAnswer>(`endpoints/${endpoint}/deployments/${deployment}/logs`), [endpoint, deployment, follow], follow ? REFRESH_MS : 0);
  return (
    <section>
      <p>
        <a href="#/">Endpoints</a> › <a href={`#/endpoints/${endpoint}`}>{endpoint}</a> ›
      </p>
      <h1>Logs of {deployment}</h1>
      <label>
        <input type="checkbox" checked={follow} onChange={(e) => setFollow((e.target as HTMLInputElement).checked)} /> Follow (every 2 s)
      </label>
      <Err text={error} />
      {data ? (
        <>
          <p>
            State: <State s={data.provisioningState} />
          </p>
          {data.failureReason ? (
            <div class="failure" role="alert">
              <strong>Failure reason:</strong> <span id="failure-reason">{data.failureReason}</span>
            </div>
          ) : null}
          {data.note ? <p class="note">{data.note}</p> : null}
          {data.logs.map((l) => (
            <article key={l.instance} class="log">
              <h2>
                {l.instance} <span class="muted">({l.state})</span>
              </h2>
              <pre tabIndex={0} aria-label={`Log of ${l.instance}`}>{l.text || "(no output)"}</pre>
            </article>
          ))}
        </>
      ) : (
        <p aria-busy="true">Loading…</p>
      )}
    </section>
  );
}

/** The first `example` under the swagger's request bodies, as the console's starting text. */
function swaggerExample(swagger: unknown): string | undefined {
  const seen = new Set<unknown>();
  const walk = (v: unknown, inRequest: boolean): unknown => {
    if (typeof v !== "object" || v === null || seen.has(v)) return undefined;
    seen.add(v);
    const o = v as Record<string, unknown>;
    if (inRequest && "example" in o) return o.example;
    for (const [k, c] of Object.entries(o)) {
      const found = walk(c, inRequest || k === "requestBody" || k === "parameters" || k === "definitions");
      if (found !== undefined) return found;
    }
    return undefined;
  };
  const ex = walk(swagger, false);
  return ex === undefined ? undefined : JSON.stringify(ex, null, 2);
}

interface TestAnswer {
  status: number;
  latencyMs: number;
  deployment: string | null;
  requestId: string | null;
  body: string;
}

function Console({ endpoint }: { endpoint: string }) {
  const { data } = usePoll(() => get<Detail>(`endpoints/${endpoint}`), [endpoint], 0);
  const [body, setBody] = useState<string | undefined>(undefined);
  const [pinned, setPinned] = useState("");
  const [answer, setAnswer] = useState<TestAnswer | undefined>(undefined);
  const [error, setError] = useState<string | undefined>(undefined);
  const [busy, setBusy] = useState(false);
  const text = body ?? (data ? swaggerExample(data.swagger) ?? '{"data": [[1, 2, 3, 4, 5, 6, 7, 8, 9, 10]]}' : "");
  return (
    <section>
      <p>
        <a href="#/">Endpoints</a> › <a href={`#/endpoints/${endpoint}`}>{endpoint}</a> ›
      </p>
      <h1>Test {endpoint}</h1>
      {/* The form waits for the endpoint: its starting text arriving later would overwrite what was typed. */}
      {data === undefined ? (
        <p aria-busy="true">Loading…</p>
      ) : (
      <form
        onSubmit={(ev) => {
          ev.preventDefault();
          setBusy(true);
          setError(undefined);
          post<TestAnswer>(`endpoints/${endpoint}/test`, { body: text, deployment: pinned })
            .then(setAnswer, (err: Error) => setError(err.message))
            .finally(() => setBusy(false));
        }}
      >
        <label for="target">Send to</label>
        <select id="target" value={pinned} onChange={(e) => setPinned((e.target as HTMLSelectElement).value)}>
          <option value="">the endpoint (by traffic)</option>
          {data?.deployments.map((d) => (
            <option key={d.name} value={d.name}>
              deployment {d.name} (pinned)
            </option>
          ))}
        </select>
        <label for="body">Request body (JSON)</label>
        <textarea id="body" rows={8} value={text} onInput={(e) => setBody((e.target as HTMLTextAreaElement).value)} spellcheck={false} />
        <button type="submit" disabled={busy}>
          {busy ? "Sending…" : "Send"}
        </button>
      </form>
      )}
      <Err text={error} />
      {answer ? (
        <div class="answer" role="status">
          <dl class="facts">
            <dt>Status</dt>
            <dd id="answer-status">{answer.status}</dd>
            <dt>Latency</dt>
            <dd>{answer.latencyMs} ms</dd>
            <dt>Answered by</dt>
            <dd id="answer-deployment">{answer.deployment ?? "—"}</dd>
            <dt>Request id</dt>
            <dd>
              <code>{answer.requestId}</code>
            </dd>
          </dl>
          <pre id="answer-body">{answer.body}</pre>
        </div>
      ) : null}
    </section>
  );
}

function Progress({ j }: { j: Job }) {
  const total = j.mini_batches.total || 1;
  const done = j.mini_batches.done + j.mini_batches.failed;
  return <progress max={total} value={done} aria-label={`${done} of ${j.mini_batches.total} mini-batches`} />;
}

function JobsOf({ endpoint }: { endpoint: string }) {
  const { data, error } = usePoll(() => get<{ value: Job[] }>(`endpoints/${endpoint}/jobs`), [endpoint]);
  return (
    <div>
      <h2>
        <a href={`#/endpoints/${endpoint}`}>{endpoint}</a>
      </h2>
      <Err text={error} />
      {data && data.value.length === 0 ? <p class="muted">No jobs yet.</p> : null}
      {data && data.value.length > 0 ? (
        <div class="scroll">
          <table>
            <thead>
              <tr>
                <th scope="col">Job</th>
                <th scope="col">Deployment</th>
                <th scope="col">Status</th>
                <th scope="col">Progress</th>
                <th scope="col">Created</th>
              </tr>
            </thead>
            <tbody>
              {data.value.map((j) => (
                <tr key={j.id}>
                  <td>
                    <a href={`#/endpoints/${endpoint}/jobs/${j.id}`}>{j.id}</a>
                  </td>
                  <td>{j.deployment}</td>
                  <td>
                    <State s={j.status} />
                  </td>
                  <td>
                    <Progress j={j} />
                  </td>
                  <td>{j.created_at}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : null}
    </div>
  );
}

function Jobs({ only }: { only?: string }) {
  const { data, error } = usePoll(() => get<{ value: EndpointRow[] }>("endpoints"), [], 0);
  const batch = (data?.value ?? []).filter((e) => e.kind === "batch" && (!only || e.name === only));
  return (
    <section>
      <h1>Batch jobs</h1>
      <Err text={error} />
      {data && batch.length === 0 ? <p>No batch endpoints in this stack.</p> : null}
      {batch.map((e) => (
        <JobsOf key={e.name} endpoint={e.name} />
      ))}
    </section>
  );
}

function JobDetail({ endpoint, id }: { endpoint: string; id: string }) {
  const { data, error } = usePoll(() => get<Job>(`endpoints/${endpoint}/jobs/${encodeURIComponent(id)}`), [endpoint, id]);
  return (
    <section>
      <p>
        <a href="#/jobs">Batch jobs</a> ›
      </p>
      <h1>Job {id}</h1>
      <Err text={error} />
      {data ? (
        <>
          <dl class="facts">
            <dt>Status</dt>
            <dd>
              <State s={data.status} />
            </dd>
            <dt>Mini-batches</dt>
            <dd>
              {data.mini_batches.done} done, {data.mini_batches.failed} failed, {data.mini_batches.running} running, {data.mini_batches.pending} pending of {data.mini_batches.total}
            </dd>
            <dt>Files</dt>
            <dd>
              {data.files.total} ({data.files.failed} failed)
            </dd>
          </dl>
          <Progress j={data} />
          {data.failure_reason ? <p class="failure">{data.failure_reason}</p> : null}
          <h2>Outputs</h2>
          <ul>
            {data.outputs.map((o) => (
              <li key={o}>
                <a href={`/studio/api/endpoints/${endpoint}/jobs/${encodeURIComponent(id)}/outputs/${o.split("/").map(encodeURIComponent).join("/")}`} download>
                  {o}
                </a>
              </li>
            ))}
          </ul>
        </>
      ) : null}
    </section>
  );
}

function Page({ hash }: { hash: string }) {
  const parts = hash.replace(/^#\/?/, "").split("/").map(decodeURIComponent);
  if (parts[0] === "endpoints" && parts[1]) {
    if (parts[2] === "deployments" && parts[3] && parts[4] === "logs") return <Logs endpoint={parts[1]} deployment={parts[3]} />;
    if (parts[2] === "test") return <Console endpoint={parts[1]} />;
    if (parts[2] === "jobs" && parts[3]) return <JobDetail endpoint={parts[1]} id={parts[3]} />;
    if (parts[2] === "jobs") return <Jobs only={parts[1]} />;
    return <EndpointDetail name={parts[1]} />;
  }
  if (parts[0] === "jobs") return <Jobs />;
  return <Endpoints />;
}

function App() {
  const hash = useHash();
  const [signedIn, setSignedIn] = useState<boolean | undefined>(undefined);
  useEffect(() => {
    fetch("/studio/session", { credentials: "same-origin" })
      .then((r) => r.json() as Promise<{ signedIn: boolean; csrf?: string }>)
      .then(
        (s) => {
          if (s.csrf) setCsrf(s.csrf);
          setSignedIn(s.signedIn);
        },
        () => setSignedIn(false),
      );
  }, [hash.startsWith("#/sign-in")]);
  if (signedIn === undefined) return <p aria-busy="true">Loading…</p>;
  if (!signedIn || hash.startsWith("#/sign-in")) {
    if (signedIn && hash.startsWith("#/sign-in")) location.hash = "#/";
    else return <SignIn failed={hash === "#/sign-in/failed"} />;
  }
  return (
    <>
      <header>
        <a class="brand" href="#/">
          modelplane studio
        </a>
        <nav aria-label="Main">
          <a href="#/">Endpoints</a>
          <a href="#/jobs">Batch jobs</a>
          <button
            type="button"
            class="small"
            onClick={() => {
              void post("sign-out", {}).finally(() => {
                setSignedIn(false);
                location.hash = "#/sign-in";
              });
            }}
          >
            Sign out
          </button>
        </nav>
      </header>
      <main>
        <Page hash={hash} />
      </main>
    </>
  );
}

render(<App />, document.getElementById("app")!);
