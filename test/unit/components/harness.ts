// Pulumi mock harness for the component tests: records every registration the mock monitor
// receives (type, name, inputs, parent, dependencies, additional secret outputs) and answers
// with plausible provider outputs. Install it BEFORE the component modules are loaded.
import * as pulumi from "@pulumi/pulumi";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { containerName, type ContainerInputs } from "../../../src/providers/docker/container";
import { parseOnlineDeployment, parseOnlineEndpoint, type OnlineDeploymentSpec, type OnlineEndpointSpec } from "../../../src/spec";

export const REPO_ROOT = path.resolve(__dirname, "../../..");
/** A stand-in for the liveness probe binary set-up builds (the components only check it exists). */
export const PROBE_BIN = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "modelplane-unit-")), "modelplane-probe");
fs.writeFileSync(PROBE_BIN, "#!/bin/sh\nexit 0\n", { mode: 0o755 });
process.env.MODELPLANE_PROBE_BIN = PROBE_BIN;
export const MODEL_1 = path.join(REPO_ROOT, "examples/model-1");
export const SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270";
const SIG_KEY = "4dabf18193072939515e22adb298388d";
export const MOCK_TOKEN = "mock-management-token";
/** The first port a mocked PortReservation hands out (then +1 per name). */
export const MOCK_AUTO_PORT = 24000;

export interface Registration {
  type: string;
  name: string;
  custom: boolean;
  /** Inputs as the monitor received them; secrets are `{[sig]: SECRET_SIG, value}` wrappers. */
  inputs: Record<string, unknown>;
  /** Whether the serialized dynamic provider (`__provider`) was sent. */
  hasProvider: boolean;
  urn: string;
  parent: string;
  dependencies: string[];
  additionalSecretOutputs: string[];
}

/** True when `v` is a secret wrapper as the mock monitor receives it. */
export function isSecret(v: unknown): boolean {
  return typeof v === "object" && v !== null && (v as Record<string, unknown>)[SIG_KEY] === SECRET_SIG;
}

/** Removes secret wrappers (deeply). */
export function reveal(v: unknown): unknown {
  if (isSecret(v)) return reveal((v as { value: unknown }).value);
  if (Array.isArray(v)) return v.map(reveal);
  if (typeof v === "object" && v !== null) return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, reveal(x)]));
  return v;
}

export const registrations: Registration[] = [];

interface RegisterRequest {
  getType(): string;
  getName(): string;
  getParent(): string;
  getDependenciesList(): string[];
  getAdditionalsecretoutputsList(): string[];
}
type Callback = (err: unknown, resp: { getUrn(): string } | undefined) => void;

/** The ClusterIP the mocked API server gives the Service resource `name` (derived from it, stable). */
export function mockClusterIp(name: string): string {
  const n = [...name].reduce((h, c) => (h * 31 + c.charCodeAt(0)) % 62_500, 7);
  return `10.96.${Math.floor(n / 250)}.${(n % 250) + 2}`;
}

/** Outputs a real provider would add, so components see resolved values. */
function mockState(type: string, name: string, inputs: Record<string, unknown>): Record<string, unknown> {
  const plain = reveal(inputs) as Record<string, unknown>;
  switch (type.replace("pulumi-nodejs:dynamic/", "")) {
    case "modelplane:RandomSecret":
      return { ...inputs, value: pulumi.secret(MOCK_TOKEN) };
    case "modelplane:StackIdentity":
      // As the provider: a requested identity is taken; none = a pre-identity stack's "" (old names).
      return { ...inputs, stackId: typeof plain.requested === "string" ? plain.requested : "" };
    case "modelplane:PortReservation":
      return { ...inputs, ports: Object.fromEntries((plain.names as string[]).map((n, i) => [n, MOCK_AUTO_PORT + i])) };
    case "modelplane:DockerNetwork":
      return { ...inputs, networkId: `net-${name}` };
    case "modelplane:Image":
      return { ...inputs, imageRef: `${String(plain.stackRepository)}:${String(plain.fingerprint).slice(0, 12)}`, builtTag: `modelplane/${String(plain.kind)}:built` };
    case "modelplane:DockerContainer":
      return { ...inputs, containerName: containerName(plain as unknown as ContainerInputs), containerId: `cid-${name}` };
    case "modelplane:Endpoint":
      return { ...inputs, provisioningState: "Succeeded", primaryKey: "primary-key-0123456789", secondaryKey: "secondary-key-0123456789" };
    case "modelplane:Deployment":
    case "modelplane:BatchDeployment":
    case "modelplane:Cluster":
      return { ...inputs, provisioningState: "Succeeded" };
    case "modelplane:BatchEndpoint":
      return { ...inputs, provisioningState: "Succeeded", primaryKey: "batch-primary-key-0123", secondaryKey: "batch-secondary-key-0123" };
    case "kubernetes:core/v1:Service":
      return { ...inputs, spec: { ...(plain.spec as object), clusterIP: mockClusterIp(name) } };
    case "modelplane:DataAsset":
      return { ...inputs, path: `datastore://folders/mock-${String(plain.contentDigest).slice(0, 12)}` };
    default:
      return inputs;
  }
}

let installed = false;

/** Installs the mocks (once per process) and the recorder on the mock monitor. */
export function installMocks(stack = "dev"): void {
  if (installed) return;
  installed = true;
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { MockMonitor } = require("@pulumi/pulumi/runtime/mocks") as { MockMonitor: { prototype: { registerResource(req: RegisterRequest, cb: Callback): Promise<void> } } };
  const original = MockMonitor.prototype.registerResource;
  const pending = new Map<string, Omit<Registration, "urn" | "inputs" | "hasProvider" | "custom">>();
  MockMonitor.prototype.registerResource = function (req: RegisterRequest, cb: Callback) {
    pending.set(`${req.getType()}::${req.getName()}`, {
      type: req.getType(),
      name: req.getName(),
      parent: req.getParent(),
      dependencies: [...req.getDependenciesList()].sort(),
      additionalSecretOutputs: [...req.getAdditionalsecretoutputsList()],
    });
    return original.call(this, req, (err, resp) => {
      const meta = pending.get(`${req.getType()}::${req.getName()}`);
      const r = registrations.find((x) => x.type === req.getType() && x.name === req.getName());
      if (meta && r && resp) Object.assign(r, meta, { urn: resp.getUrn() });
      cb(err, resp);
    });
  };
  void pulumi.runtime.setMocks(
    {
      newResource(args: pulumi.runtime.MockResourceArgs) {
        const { __provider, ...inputs } = args.inputs as Record<string, unknown>;
        registrations.push({ type: args.type, name: args.name, custom: args.custom ?? false, inputs, hasProvider: typeof __provider === "string", urn: "", parent: "", dependencies: [], additionalSecretOutputs: [] });
        return { id: args.custom ? `${args.name}-id` : undefined, state: mockState(args.type, args.name, inputs) };
      },
      call(args: pulumi.runtime.MockCallArgs) {
        return args.inputs;
      },
    },
    "modelplane",
    stack,
    false,
  );
}

/** Waits until every registration started so far has been answered. */
export async function settle(): Promise<void> {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const settings = require("@pulumi/pulumi/runtime/settings") as { waitForRPCs(): Promise<void> };
  let count = -1;
  while (count !== registrations.length || registrations.some((r) => r.urn === "")) {
    count = registrations.length;
    await settings.waitForRPCs();
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** The resolved value of an output (undefined while unknown). */
export function valueOf<T>(o: pulumi.Output<T>): Promise<T> {
  return new Promise((resolve) => o.apply((v) => resolve(v)));
}

/** Secretness of an output. */
export function secretOf<T>(o: pulumi.Output<T>): Promise<boolean> {
  return (o as unknown as { isSecret: Promise<boolean> }).isSecret;
}

export const DYN = "pulumi-nodejs:dynamic/";

export function byType(type: string, under?: string): Registration[] {
  return registrations.filter((r) => r.type === type && (under === undefined || r.urn.includes(under)));
}

/** The registration with this URN and everything parented (transitively) to it. */
export function descendants(urn: string): Registration[] {
  const out = registrations.filter((r) => r.urn === urn);
  for (let i = 0; i < out.length; i++) out.push(...registrations.filter((r) => r.parent === out[i]!.urn));
  return out;
}

export function one(type: string, name: string): Registration {
  const r = registrations.filter((x) => x.type === type && x.name === name);
  if (r.length !== 1) throw new Error(`expected one ${type} named ${name}, found ${r.length}: ${registrations.map((x) => `${x.type}/${x.name}`).join(", ")}`);
  return r[0]!;
}

/** A deployment spec on examples/model-1 (absolute paths), through the real parser (defaults applied). */
export function deploymentSpec(name: string, endpointName: string, instanceCount: number, extra: Record<string, unknown> = {}): OnlineDeploymentSpec {
  const r = parseOnlineDeployment({
    $schema: "https://azuremlschemas.azureedge.net/latest/managedOnlineDeployment.schema.json",
    name,
    endpoint_name: endpointName,
    model: { path: path.join(MODEL_1, "model") },
    code_configuration: { code: path.join(MODEL_1, "onlinescoring"), scoring_script: "score.py" },
    environment: { conda_file: path.join(MODEL_1, "environment/conda.yaml"), image: "mcr.microsoft.com/azureml/openmpi4.1.0-ubuntu22.04:latest" },
    instance_type: "Standard_DS3_v2",
    instance_count: instanceCount,
    ...extra,
  });
  if (!r.ok) throw new Error(`test deployment spec is invalid: ${JSON.stringify(r.issues)}`);
  return r.value;
}

export function endpointSpec(name: string, extra: Record<string, unknown> = {}): OnlineEndpointSpec {
  const r = parseOnlineEndpoint({ name, auth_mode: "key", ...extra });
  if (!r.ok) throw new Error(`test endpoint spec is invalid: ${JSON.stringify(r.issues)}`);
  return r.value;
}
