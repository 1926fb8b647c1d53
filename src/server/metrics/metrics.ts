import { Counter, Gauge, Registry, collectDefaultMetrics, type Metric } from "prom-client";

/** What /metrics reads of the HTTP layer's body budget. */
export interface BodyBudgetSource {
  readonly held: number;
  readonly refusals: number;
  readonly limitBytes: number;
}

/** What /metrics reads of the HTTP layer's server: its body budget and its client connections. */
export interface HttpServerSource {
  readonly bodyBudget: BodyBudgetSource;
  readonly openConnections: number;
  readonly maxConnections: number;
  readonly refusedConnections: number;
}

/** What the gauges read at scrape time: the live state of each deployment's runtime. */
export interface DeploymentGaugeSource {
  readonly endpoint: string;
  readonly name: string;
  /** Requests (scoring and mirrored copies) on the deployment's instances now. */
  inflight(): number;
  /** Requests waiting for a free slot now. */
  queued(): number;
  healthyCount(): number;
}

/** Upper bounds (seconds) of the request latency histogram's buckets. */
export const LATENCY_BUCKETS: readonly number[] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 180];

/**
 * The request counts (by status) and latency histogram of one endpoint/deployment pair as plain
 * numbers: the hot path adds to them, /metrics reads them. (prom-client's own `inc`/`observe` hash
 * the labels on every call: about 8 us per request in CPU profiles.)
 */
export class RequestSeries {
  /** Requests answered, by HTTP status. */
  readonly byStatus = new Map<number, number>();
  /** Requests per latency bucket (not cumulative); LATENCY_BUCKETS order, then one past the last bound. */
  readonly buckets = new Float64Array(LATENCY_BUCKETS.length + 1);
  sumSeconds = 0;
  count = 0;

  constructor(
    readonly endpoint: string,
    readonly deployment: string,
  ) {}

  record(status: number, seconds: number): void {
    this.byStatus.set(status, (this.byStatus.get(status) ?? 0) + 1);
    let i = 0;
    while (i < LATENCY_BUCKETS.length && seconds > LATENCY_BUCKETS[i]!) i++;
    this.buckets[i]!++;
    this.sumSeconds += seconds;
    this.count++;
  }
}

/** One exposed sample, in the shape prom-client's registry formats. */
interface Sample {
  value: number;
  labels: Record<string, string | number>;
  sharedLabels: Record<string, string>;
  metricName: string;
}

/**
 * The latency histogram, read from the RequestSeries at scrape time. prom-client's registry takes
 * any metric that reports its samples through get()/getForPromString(); the text it writes is the
 * same as for a prom-client Histogram with the same observations (test/unit/server/metrics.test.ts).
 */
class SeriesHistogram {
  readonly type = "histogram";
  readonly aggregator = "sum";

  constructor(
    readonly name: string,
    readonly help: string,
    private readonly series: () => Iterable<RequestSeries>,
  ) {}

  getForPromString(): Promise<{ name: string; help: string; type: string; aggregator: string; values: Sample[] }> {
    const values: Sample[] = [];
    for (const s of this.series()) {
      const shared = { endpoint: s.endpoint, deployment: s.deployment };
      let acc = 0;
      LATENCY_BUCKETS.forEach((le, i) => {
        acc += s.buckets[i]!;
        values.push({ labels: { le }, sharedLabels: shared, value: acc, metricName: `${this.name}_bucket` });
      });
      values.push(
        { labels: { le: "+Inf" }, sharedLabels: shared, value: s.count, metricName: `${this.name}_bucket` },
        { labels: {}, sharedLabels: shared, value: s.sumSeconds, metricName: `${this.name}_sum` },
        { labels: {}, sharedLabels: shared, value: s.count, metricName: `${this.name}_count` },
      );
    }
    return Promise.resolve({ name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values });
  }

  /** The JSON form (Registry.getMetricsAsJSON): shared labels merged into each sample's labels. */
  async get(): Promise<{ name: string; help: string; type: string; aggregator: string; values: { value: number; labels: Record<string, string | number>; metricName: string }[] }> {
    const data = await this.getForPromString();
    return { ...data, values: data.values.map((v) => ({ value: v.value, labels: { ...v.sharedLabels, ...v.labels }, metricName: v.metricName })) };
  }

  /** The series are cumulative for the life of the server: nothing to reset. */
  reset(): void {}
}

/**
 * The gateway's Prometheus metrics, in a registry per server (tests run several servers in one process).
 * Request counts and latencies are plain numbers per endpoint/deployment (RequestSeries) read at
 * scrape time; the gauges are read from the live runtimes at scrape time too, so the hot path does
 * no label hashing or gauge bookkeeping and a removed deployment's gauges disappear with it.
 */
export class GatewayMetrics {
  /** Live deployment runtimes, set by the routing-table builder. */
  private sources: () => Iterable<DeploymentGaugeSource> = () => [];
  readonly registry = new Registry();
  /** endpoint + "\n" + deployment (names never contain a newline) -> its series. */
  private readonly requestSeries = new Map<string, RequestSeries>();
  // Fields are created in /metrics order: requests, latency, then the gauges and mirror counters.
  private readonly requests = this.requestCounter();
  private readonly latency = this.latencyHistogram();
  readonly inflight = this.deploymentGauge("modelplane_gateway_inflight_requests", "Requests (mirrored copies included) being served by a deployment's instances", (d) => d.inflight());
  readonly queued = this.deploymentGauge("modelplane_gateway_queued_requests", "Requests waiting for a free slot", (d) => d.queued());
  readonly mirrorCopies = new Counter({
    name: "modelplane_gateway_mirror_copies_total",
    help: "Mirrored copies sent, by endpoint, deployment and outcome (ok|error)",
    labelNames: ["endpoint", "deployment", "outcome"] as const,
    registers: [this.registry],
  });
  readonly mirrorDrops = new Counter({
    name: "modelplane_gateway_mirror_drops_total",
    help: "Mirrored copies dropped because the mirror was saturated",
    labelNames: ["endpoint", "deployment"] as const,
    registers: [this.registry],
  });
  readonly streamedAnswers = new Counter({
    name: "modelplane_gateway_streamed_answers_total",
    help: "Answers relayed as streams (no content-length and still open after their head, or announcing over 1 MiB; a non-2xx one as 424), by endpoint, deployment and how they ended (complete|client_closed|idle_timeout|upstream_failed)",
    labelNames: ["endpoint", "deployment", "outcome"] as const,
    registers: [this.registry],
  });
  readonly healthyInstances = this.deploymentGauge("modelplane_gateway_healthy_instances", "Healthy instances per deployment", (d) => d.healthyCount());
  /** Where the body-budget and connection figures are read from at scrape time (the HTTP layer's server). */
  private http: HttpServerSource = { bodyBudget: { held: 0, refusals: 0, limitBytes: 0 }, openConnections: 0, maxConnections: 0, refusedConnections: 0 };
  readonly bufferedBodyBytes = this.scrapedMetric(Gauge, "modelplane_gateway_buffered_body_bytes", "Bytes of request bodies buffered now, across all requests", () => this.http.bodyBudget.held);
  readonly bodyBudgetBytes = this.scrapedMetric(Gauge, "modelplane_gateway_body_budget_bytes", "Bytes of request bodies the gateway may buffer at once (--body-budget-bytes)", () => this.http.bodyBudget.limitBytes);
  readonly bodyBudgetRefusals = this.scrapedMetric(Counter, "modelplane_gateway_body_budget_refusals_total", "Requests answered 429 because their body would have gone past the body budget", () => this.http.bodyBudget.refusals);
  readonly clientConnections = this.scrapedMetric(Gauge, "modelplane_gateway_client_connections", "Client connections open now", () => this.http.openConnections);
  readonly maxClientConnections = this.scrapedMetric(Gauge, "modelplane_gateway_max_client_connections", "Client connections the gateway keeps open at once (--max-connections)", () => this.http.maxConnections);
  readonly refusedConnections = this.scrapedMetric(Counter, "modelplane_gateway_refused_connections_total", "Client connections answered 503 too_many_connections and closed, past --max-connections", () => this.http.refusedConnections);

  constructor(withProcessMetrics = false) {
    if (withProcessMetrics) collectDefaultMetrics({ register: this.registry });
  }

  /** The request counts and latencies of an endpoint/deployment pair ("" when none was chosen). */
  series(endpoint: string, deployment: string): RequestSeries {
    const key = `${endpoint}\n${deployment}`;
    let s = this.requestSeries.get(key);
    if (s === undefined) this.requestSeries.set(key, (s = new RequestSeries(endpoint, deployment)));
    return s;
  }

  /** Every endpoint/deployment pair's series (the studio's history samples them every 2 s). */
  allSeries(): Iterable<RequestSeries> {
    return this.requestSeries.values();
  }

  /** modelplane_gateway_request_duration_seconds, read from the RequestSeries at scrape time. */
  private latencyHistogram(): SeriesHistogram {
    const h = new SeriesHistogram("modelplane_gateway_request_duration_seconds", "Time from request received to response sent", () => this.requestSeries.values());
    // The registry's type names prom-client's own classes; it uses only what SeriesHistogram has.
    this.registry.registerMetric(h as unknown as Metric);
    return h;
  }

  /** modelplane_gateway_requests_total, set from the RequestSeries at scrape time. */
  private requestCounter(): Counter<"endpoint" | "deployment" | "status"> {
    const all = (): Iterable<RequestSeries> => this.requestSeries.values();
    return new Counter({
      name: "modelplane_gateway_requests_total",
      help: "Scoring requests by endpoint, deployment and HTTP status",
      labelNames: ["endpoint", "deployment", "status"] as const,
      registers: [this.registry],
      collect(this: Counter<"endpoint" | "deployment" | "status">) {
        this.reset();
        for (const s of all()) for (const [status, n] of s.byStatus) this.inc({ endpoint: s.endpoint, deployment: s.deployment, status: String(status) }, n);
      },
    });
  }

  /** Sets the HTTP layer's server the body-budget and connection metrics are read from. */
  observeHttpServer(source: HttpServerSource): void {
    this.http = source;
  }

  /** A gauge or counter without labels, set from `read` at scrape time (a gauge's inc after reset is a set). */
  private scrapedMetric<M extends Gauge | Counter>(Kind: new (config: { name: string; help: string; registers: Registry[]; collect: (this: M) => void }) => M, name: string, help: string, read: () => number): M {
    return new Kind({
      name,
      help,
      registers: [this.registry],
      collect(this: M) {
        this.reset();
        this.inc(read());
      },
    });
  }

  /** Sets where the gauges read live deployment state from. */
  observeDeployments(sources: () => Iterable<DeploymentGaugeSource>): void {
    this.sources = sources;
  }

  /** A gauge per endpoint/deployment whose values are read from the live runtimes at scrape time. */
  private deploymentGauge(name: string, help: string, read: (d: DeploymentGaugeSource) => number): Gauge<"endpoint" | "deployment"> {
    const sources = (): Iterable<DeploymentGaugeSource> => this.sources();
    return new Gauge({
      name,
      help,
      labelNames: ["endpoint", "deployment"] as const,
      registers: [this.registry],
      collect(this: Gauge<"endpoint" | "deployment">) {
        this.reset();
        for (const d of sources()) this.set({ endpoint: d.endpoint, deployment: d.name }, read(d));
      },
    });
  }
}
