import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";

/** The gateway's Prometheus metrics, in a registry per server (tests run several servers in one process). */
export class GatewayMetrics {
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
  readonly inflight = new Gauge({
    name: "modelplane_gateway_inflight_requests",
    help: "Requests being served by a deployment's instances",
    labelNames: ["endpoint", "deployment"] as const,
    registers: [this.registry],
  });
  readonly queued = new Gauge({
    name: "modelplane_gateway_queued_requests",
    help: "Requests waiting for a free slot",
    labelNames: ["endpoint", "deployment"] as const,
    registers: [this.registry],
  });
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
  readonly healthyInstances = new Gauge({
    name: "modelplane_gateway_healthy_instances",
    help: "Healthy instances per deployment",
    labelNames: ["endpoint", "deployment"] as const,
    registers: [this.registry],
  });

  constructor(withProcessMetrics = false) {
    if (withProcessMetrics) collectDefaultMetrics({ register: this.registry });
  }
}
