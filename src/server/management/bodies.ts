import { z } from "zod";

/** Shapes of management request bodies. ARM naming and traffic rules come from src/spec. */

const keyValue = z.string().min(16, "keys must be at least 16 characters").max(256).regex(/^[\x21-\x7e]+$/, "keys must be printable ASCII without spaces");

export const endpointBody = z.object({
  /** Online (scoring) or batch (jobs). @default "online" */
  kind: z.enum(["online", "batch"]).optional(),
  auth_mode: z.string(),
  description: z.string().max(4096).optional(),
  tags: z.record(z.string(), z.string()).optional(),
  keys: z.object({ primary: keyValue.optional(), secondary: keyValue.optional() }).optional(),
});

const seconds = z.number().finite().min(0).max(3600);
const probe = z.object({
  initial_delay: seconds,
  period: seconds.refine((v) => v > 0, "must be > 0"),
  timeout: seconds.refine((v) => v > 0, "must be > 0"),
  success_threshold: z.number().int().min(1).max(100),
  failure_threshold: z.number().int().min(1).max(1000),
});

const route = z.string().regex(/^\/[A-Za-z0-9._~!$&'()*+,;=:@%/-]*$/, "must be a path starting with /").max(512);

export const deploymentBody = z.object({
  instances: z
    .array(
      z.object({
        id: z.string().min(1).max(128),
        url: z
          .string()
          .max(2048)
          .refine((u) => {
            try {
              const p = new URL(u);
              return (p.protocol === "http:" || p.protocol === "https:") && p.username === "" && p.search === "";
            } catch {
              return false;
            }
          }, "must be an http(s) URL without credentials or query"),
      }),
    )
    .min(1)
    .max(1000),
  routes: z.object({ scoring: route, readiness: route, liveness: route, swagger: route.optional() }),
  request_settings: z.object({
    request_timeout_ms: z.number().int().min(1).max(180_000),
    max_concurrent_requests_per_instance: z.number().int().min(1).max(10_000),
    max_queue_wait_ms: z.number().int().min(0).max(180_000),
  }),
  readiness_probe: probe,
  liveness_probe: probe,
  model_server: z.string().max(256).optional(),
  // "target": the engine gates readiness (Kubernetes readiness probes and rollouts); the server does not probe.
  readiness_owner: z.enum(["server", "target"]).optional(),
  spec: z.unknown().optional(),
});

const percentMap = z.record(z.string(), z.number());
export const trafficBody = z.object({ traffic: percentMap, mirror_traffic: percentMap.optional() });

export const regenerateBody = z.object({ keyType: z.enum(["primary", "secondary"]), keyValue: keyValue.optional() });

export const tokenBody = z.object({ expiresInSeconds: z.number().int().min(1).max(86_400).optional() }).nullish();

/** First zod issue as {field, message}. */
export function firstIssue(err: z.ZodError): { field: string; message: string } {
  const i = err.issues[0];
  const field = i && i.path.length > 0 ? i.path.map(String).join(".") : "(body)";
  return { field, message: `${field}: ${i?.message ?? "invalid"}` };
}
