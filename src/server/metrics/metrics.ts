import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";

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

/**
 * The gateway's Prometheus metrics, in a registry per server (tests run several servers in one process).
 * Counters and the latency histogram are updated per request; the gauges are read from the live
 * runtimes when /metrics is scraped, so the hot path does no gauge bookkeeping and a removed
 * deployment's series disappear with it.
 */
export class GatewayMetrics {
  /** Live deployment runtimes, set by the routing-table builder. */
  private sources: () => Iterable<DeploymentGaugeSource> = () => [];
  readonly registry = new Registry();
  readonly requests = new Counter({
    name: "modelplane_gateway_requests_total",
    help: "Scoring requests by endpoint, deployment and HTTP status",
    labelNames: ["endpoint", "deployment", "status"] as const,
    registers: [this.registry],
  });
  readonly latency = new Histogram({
    name: "modelplane_gateway_request_duration_seconds",
    help: "Time from request received to response sent",
    labelNames: ["endpoint", "deployment"] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 180],
    registers: [this.registry],
  });
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
  readonly healthyInstances = this.deploymentGauge("modelplane_gateway_healthy_instances", "Healthy instances per deployment", (d) => d.healthyCount());

  constructor(withProcessMetrics = false) {
    if (withProcessMetrics) collectDefaultMetrics({ register: this.registry });
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
