// Traffic and mirror rules of an online endpoint (Azure sets these with --traffic/--mirror-traffic;
// stacks put them on the endpoint YAML).
import { MAX_MIRROR_PERCENT } from "./defaults";
import { quoteValue, specError } from "./issue";
import { endpointId } from "./resource-id";
import type { OnlineEndpointSpec, SpecIssue } from "./types";

type TrafficHolder = Pick<OnlineEndpointSpec, "name" | "traffic" | "mirror_traffic">;

function isPercent(value: number): boolean {
  return Number.isInteger(value) && value >= 0 && value <= 100;
}

/** Rules that need only the endpoint itself: ranges, sum, single mirror <= 50 with no live traffic. */
export function checkTrafficShape(endpoint: TrafficHolder): SpecIssue[] {
  const resource = endpointId("online-endpoint", endpoint.name);
  const issues: SpecIssue[] = [];
  const traffic = Object.entries(endpoint.traffic);
  for (const [name, pct] of traffic) {
    if (!isPercent(pct)) {
      issues.push(
        specError("traffic_range", `traffic.${name}`, `traffic.${name} is ${quoteValue(pct)}, must be a whole percent from 0 to 100`, `set traffic.${name} to an integer between 0 and 100`, resource),
      );
    }
  }
  const sum = traffic.reduce((acc, [, pct]) => acc + pct, 0);
  if (traffic.length > 0 && sum !== 100 && sum !== 0) {
    issues.push(
      specError("traffic_sum", "traffic", `traffic of endpoint "${endpoint.name}" sums to ${sum}, not 100`, "make the percentages add up to 100, or set them all to 0", resource),
    );
  }
  const mirror = Object.entries(endpoint.mirror_traffic);
  if (mirror.length > 1) {
    const names = mirror.map(([n]) => n).join(", ");
    issues.push(
      specError("mirror_single", "mirror_traffic", `mirror_traffic names ${mirror.length} deployments (${names}); only one deployment can be mirrored`, "keep a single deployment in mirror_traffic", resource),
    );
  }
  for (const [name, pct] of mirror) {
    if (!Number.isInteger(pct) || pct < 0 || pct > MAX_MIRROR_PERCENT) {
      issues.push(
        specError("mirror_range", `mirror_traffic.${name}`, `mirror_traffic.${name} is ${quoteValue(pct)}, must be a whole percent from 0 to ${MAX_MIRROR_PERCENT}`, `set mirror_traffic.${name} to at most ${MAX_MIRROR_PERCENT}`, resource),
      );
    }
    const live = endpoint.traffic[name] ?? 0;
    if (live > 0) {
      issues.push(
        specError("mirror_live_traffic", `mirror_traffic.${name}`, `deployment "${name}" is mirrored but also has ${live}% live traffic`, `set traffic.${name} to 0, or mirror a deployment without live traffic`, resource),
      );
    }
  }
  return issues;
}

/** Traffic and mirror_traffic name only deployments that exist on this endpoint. */
export function checkTrafficNames(endpoint: TrafficHolder, deploymentNames: string[]): SpecIssue[] {
  const resource = endpointId("online-endpoint", endpoint.name);
  const known = new Set(deploymentNames);
  const existing = deploymentNames.length > 0 ? deploymentNames.join(", ") : "none";
  const issues: SpecIssue[] = [];
  for (const [map, key] of [[endpoint.traffic, "traffic"], [endpoint.mirror_traffic, "mirror_traffic"]] as const) {
    for (const name of Object.keys(map)) {
      if (known.has(name)) continue;
      issues.push(
        specError(
          key === "traffic" ? "traffic_unknown_deployment" : "mirror_unknown_deployment",
          `${key}.${name}`,
          `${key} names deployment "${name}", which endpoint "${endpoint.name}" does not have`,
          `add a deployment "${name}" with endpoint_name: ${endpoint.name}, or remove it from ${key} (existing: ${existing})`,
          resource,
        ),
      );
    }
  }
  return issues;
}

export function checkTraffic(endpoint: TrafficHolder, deploymentNames: string[]): SpecIssue[] {
  return [...checkTrafficNames(endpoint, deploymentNames), ...checkTrafficShape(endpoint)];
}
