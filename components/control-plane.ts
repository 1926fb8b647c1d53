import * as pulumi from "@pulumi/pulumi";
import * as path from "node:path";
import { DockerContainer } from "../src/providers/docker/container";
import { stackLabels, LABELS } from "../src/providers/docker/labels";
import { DockerNetwork } from "../src/providers/docker/network";
import { DockerVolume } from "../src/providers/docker/volume";
import { fingerprint, StackImage } from "../src/providers/images/image";
import { RandomSecret } from "../src/providers/secret";
import { serverLimitFlags, serverLimitProblems, type ServerLimits } from "../src/server/limits";

export interface ControlPlaneArgs {
  /** Stack name used in every Docker object's name and labels. @default pulumi.getStack() */
  stack?: string;
  /** Host port (127.0.0.1) of the gateway (data plane). */
  gatewayPort: number;
  /** Host port (127.0.0.1 only) of the management API. */
  managementPort: number;
  /** Image the server image builds FROM. @default "modelplane/base:bookworm" */
  baseImage?: string;
  /** Host address the gateway port is published on. @default "127.0.0.1" */
  gatewayHostIp?: string;
  /**
   * The server's body, answer, client-time and connection limits (stack config
   * modelplane:bodyLimitBytes, bodyBudgetBytes, responseLimitBytes, clientRequestTimeoutMs,
   * maxConnections). Changing them replaces the server container; its state is on the volume. @default the server's own defaults (src/server/limits.ts)
   */
  serverLimits?: ServerLimits;
}

/** What the server image runs by default (its CMD); limits are added after it. */
export const SERVER_COMMAND = ["--state-dir", "/data", "--gateway-port", "8080", "--management-port", "8081", "--management-host", "0.0.0.0"];

// What the server image runs: a change here means a new server image.
const SERVER_SOURCES = ["src/server", "src/spec", "src/images/build.ts", "templates/server", "package-lock.json"];
const GATEWAY_PORT = 8080;
const MANAGEMENT_PORT = 8081;

/** Pure validation of ControlPlane args; returns problems as messages (field, value, fix). */
export function validateControlPlaneArgs(args: ControlPlaneArgs): string[] {
  const problems: string[] = [];
  for (const f of ["gatewayPort", "managementPort"] as const) {
    const v = args[f];
    if (!Number.isInteger(v) || v < 1024 || v > 65535) problems.push(`${f} is ${JSON.stringify(v)}: set an integer port between 1024 and 65535 (stack config modelplane:${f})`);
  }
  if (args.gatewayPort === args.managementPort) problems.push(`gatewayPort and managementPort are both ${args.gatewayPort}: give each its own port`);
  for (const p of serverLimitProblems(args.serverLimits ?? {})) problems.push(`${p.message} (stack config modelplane:${p.field})`);
  return problems;
}

/**
 * The per-stack modelplane server: its network, state volume, image and container. The gateway
 * port is published on localhost, the management port on localhost only; the management token
 * is a generated Pulumi secret.
 */
export class ControlPlane extends pulumi.ComponentResource {
  readonly networkName: pulumi.Output<string>;
  readonly gatewayUrl: pulumi.Output<string>;
  readonly managementUrl: pulumi.Output<string>;
  readonly managementToken: pulumi.Output<string>;
  readonly stack: string;
  /** The server container: resources that call the management API depend on it. */
  readonly server: DockerContainer;

  constructor(name: string, args: ControlPlaneArgs, opts?: pulumi.ComponentResourceOptions) {
    super("modelplane:index:ControlPlane", name, {}, opts);
    const problems = validateControlPlaneArgs(args);
    if (problems.length) throw new pulumi.ResourceError(problems.join("\n"), this);
    const stack = (this.stack = args.stack ?? pulumi.getStack());
    const baseImage = args.baseImage ?? "modelplane/base:bookworm";
    const root = path.resolve(__dirname, "..");
    const labels = stackLabels(stack, { [LABELS.role]: "control-plane" });

    const network = new DockerNetwork(`${name}-network`, { name: `modelplane-${stack}`, labels }, { parent: this });
    const volume = new DockerVolume(`${name}-state`, { name: `modelplane-${stack}-state`, labels }, { parent: this, protect: false });
    const token = new RandomSecret(`${name}-token`, { bytes: 32 }, { parent: this });
    const image = new StackImage(
      `${name}-image`,
      {
        kind: "modelplane-server",
        baseImage,
        fingerprint: fingerprint(SERVER_SOURCES.map((p) => path.join(root, p)), [baseImage, process.version]),
        stackRepository: `modelplane-${stack}/server`,
      },
      { parent: this },
    );
    const managementUrl = `http://127.0.0.1:${args.managementPort}`;
    const limitFlags = serverLimitFlags(args.serverLimits ?? {});
    const server = new DockerContainer(
      `${name}-server`,
      {
        name: `modelplane-${stack}-server`,
        image: image.imageRef,
        // MODELPLANE_PUBLIC_URL: the scoring URIs the management API reports use the published port.
        env: token.value.apply((t) => ({ MODELPLANE_MANAGEMENT_TOKEN: t, MODELPLANE_STACK: stack, MODELPLANE_PUBLIC_URL: `http://127.0.0.1:${args.gatewayPort}` })),
        labels,
        network: network.name,
        networkAliases: ["modelplane-server"],
        // Only set limits change the command: a stack without them keeps the image's CMD (and its container).
        ...(limitFlags.length > 0 ? { command: [...SERVER_COMMAND, ...limitFlags] } : {}),
        volumes: { [`modelplane-${stack}-state`]: "/data" },
        ports: [
          { container: GATEWAY_PORT, host: args.gatewayPort, hostIp: args.gatewayHostIp ?? "127.0.0.1" },
          { container: MANAGEMENT_PORT, host: args.managementPort, hostIp: "127.0.0.1" },
        ],
        waitForHttp: { url: `${managementUrl}/healthz`, timeoutSeconds: 60 },
      },
      { parent: this, dependsOn: [volume] },
    );

    this.server = server;
    this.networkName = network.name;
    // Known values (not derived from the container): replacing the server (its state is on the
    // volume) must not show every registration as changing.
    this.gatewayUrl = pulumi.output(`http://127.0.0.1:${args.gatewayPort}`);
    this.managementUrl = pulumi.output(managementUrl);
    this.managementToken = pulumi.secret(token.value);
    this.registerOutputs({ networkName: this.networkName, gatewayUrl: this.gatewayUrl, managementUrl: this.managementUrl });
  }
}
