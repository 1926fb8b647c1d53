import { keyDigests } from "../auth/keys";
import type { GatewayMetrics } from "../metrics/metrics";
import type { AuthMode, DeploymentRecord, EndpointKind, EndpointRecord } from "../store/types";
import { DeploymentRuntime } from "./deployment";
import { cumulative } from "./select";
import type { UpstreamPools } from "./upstream";

/** Everything the gateway needs to route one endpoint. Never mutated after construction. */
export interface EndpointRoute {
  readonly name: string;
  /** Batch endpoints have no /score: their route serves only the job routes. */
  readonly kind: EndpointKind;
  readonly authMode: AuthMode;
  /** sha256 digests of the primary and secondary keys. */
  readonly keyDigests: readonly Buffer[];
  readonly split: ReturnType<typeof cumulative>;
  readonly mirror: { readonly name: string; readonly percent: number } | undefined;
  /** Every deployment of the endpoint; undefined runtime = exists but has never passed readiness. */
  readonly deployments: ReadonlyMap<string, DeploymentRuntime | undefined>;
}

/** The immutable routing table; the gateway swaps the whole object on each change. */
export interface RoutingTable {
  readonly endpoints: ReadonlyMap<string, EndpointRoute>;
}

export const EMPTY_TABLE: RoutingTable = { endpoints: new Map() };

/**
 * Builds routing tables from store records, reusing a deployment's runtime (health, queue,
 * outstanding counts) while its serving config is unchanged.
 */
export class RuntimeRegistry {
  private readonly runtimes = new Map<string, { json: string; runtime: DeploymentRuntime }>();

  constructor(
    private readonly pools: UpstreamPools,
    metrics: GatewayMetrics,
  ) {
    metrics.observeDeployments(() => [...this.runtimes.values()].map((e) => e.runtime));
  }

  build(endpoints: readonly EndpointRecord[], deployments: readonly DeploymentRecord[]): RoutingTable {
    const used = new Set<string>();
    const byEndpoint = new Map<string, Map<string, DeploymentRuntime | undefined>>();
    for (const d of deployments) {
      let m = byEndpoint.get(d.endpoint_name);
      if (!m) byEndpoint.set(d.endpoint_name, (m = new Map()));
      if (!d.servingConfig) {
        m.set(d.name, undefined);
        continue;
      }
      const key = `${d.endpoint_name}/${d.name}`;
      const json = JSON.stringify(d.servingConfig);
      let entry = this.runtimes.get(key);
      if (!entry || entry.json !== json) {
        entry?.runtime.stop();
        entry = { json, runtime: new DeploymentRuntime(d.endpoint_name, d.name, d.servingConfig, this.pools) };
        entry.runtime.startHealthChecks();
        this.runtimes.set(key, entry);
      }
      used.add(key);
      m.set(d.name, entry.runtime);
    }
    for (const [key, entry] of this.runtimes) {
      if (!used.has(key)) {
        // In-flight requests keep their reference and finish; only health checks stop.
        entry.runtime.stop();
        this.runtimes.delete(key);
      }
    }
    const routes = new Map<string, EndpointRoute>();
    for (const e of endpoints) {
      const mirrorEntry = Object.entries(e.mirror_traffic).find(([, pct]) => pct > 0);
      routes.set(e.name, {
        name: e.name,
        kind: e.kind,
        authMode: e.auth_mode,
        keyDigests: keyDigests([e.primaryKeyHash, e.secondaryKeyHash]),
        split: cumulative(e.traffic),
        mirror: mirrorEntry ? { name: mirrorEntry[0], percent: mirrorEntry[1] } : undefined,
        deployments: byEndpoint.get(e.name) ?? new Map(),
      });
    }
    return { endpoints: routes };
  }

  stopAll(): void {
    for (const e of this.runtimes.values()) e.runtime.stop();
    this.runtimes.clear();
  }
}
