// Per-resource numeric limits (probes, request settings, instance counts) with exact messages.
import { MAX_REQUEST_TIMEOUT_MS } from "./defaults";
import { quoteValue, specError } from "./issue";
import type { ProbeSettings, RequestSettings, SpecIssue } from "./types";

interface Limit {
  min: number;
  max?: number;
}

export function checkLimit(value: number, field: string, limit: Limit, resource?: string, why = ""): SpecIssue[] {
  const { min, max } = limit;
  if (Number.isInteger(value) && value >= min && (max === undefined || value <= max)) return [];
  const range = max === undefined ? `an integer >= ${min}` : `an integer from ${min} to ${max}`;
  return [specError("out_of_range", field, `${field} is ${quoteValue(value)}, must be ${range}${why}`, `set ${field} to ${range}`, resource)];
}

const PROBE_LIMITS: Record<keyof ProbeSettings, Limit> = {
  initial_delay: { min: 0, max: 3600 },
  period: { min: 1, max: 3600 },
  timeout: { min: 1, max: 3600 },
  success_threshold: { min: 1, max: 1000 },
  failure_threshold: { min: 1, max: 1000 },
};

export function checkProbe(probe: ProbeSettings, field: string, resource?: string): SpecIssue[] {
  return (Object.keys(PROBE_LIMITS) as (keyof ProbeSettings)[]).flatMap((key) =>
    checkLimit(probe[key], `${field}.${key}`, PROBE_LIMITS[key], resource),
  );
}

export function checkRequestSettings(settings: RequestSettings, resource?: string): SpecIssue[] {
  return [
    ...checkLimit(settings.request_timeout_ms, "request_settings.request_timeout_ms", { min: 1, max: MAX_REQUEST_TIMEOUT_MS }, resource, " (Azure caps it at 3 minutes)"),
    ...checkLimit(settings.max_concurrent_requests_per_instance, "request_settings.max_concurrent_requests_per_instance", { min: 1, max: 1000 }, resource),
    ...checkLimit(settings.max_queue_wait_ms, "request_settings.max_queue_wait_ms", { min: 0, max: MAX_REQUEST_TIMEOUT_MS }, resource),
  ];
}
