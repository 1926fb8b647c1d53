import * as pulumi from "@pulumi/pulumi";
import { lazyProvider } from "../lazy-provider";
import { pickFreePort } from "../docker/host-ports";

export interface PortReservationInputs {
  /** Which ports to choose, e.g. ["gateway", "management"]. */
  names: string[];
  /** The host address they are published on. @default "127.0.0.1" */
  host?: string;
}
export interface PortReservationOutputs extends PortReservationInputs {
  ports: Record<string, number>;
}

/**
 * `auto` ports: free host ports chosen once, at the first `up`, and kept in the stack's state, so
 * every later `up` keeps the same URLs (diff never reports a change for the same names).
 */
export const portReservationProvider: pulumi.dynamic.ResourceProvider<PortReservationInputs, PortReservationOutputs> = {
  async diff(_id, olds, news) {
    const changed = JSON.stringify([...olds.names].sort()) !== JSON.stringify([...news.names].sort());
    return { changes: changed, replaces: changed ? ["names"] : [] };
  },
  async create(inputs) {
    const ports: Record<string, number> = {};
    const taken = new Set<number>();
    for (const n of inputs.names) {
      const p = await pickFreePort(inputs.host ?? "127.0.0.1", taken);
      taken.add(p);
      ports[n] = p;
    }
    return { id: `ports-${Object.values(ports).join("-")}`, outs: { ...inputs, ports } };
  },
};

export class PortReservation extends pulumi.dynamic.Resource {
  declare readonly ports: pulumi.Output<Record<string, number>>;
  constructor(name: string, args: { names: string[]; host?: string }, opts?: pulumi.CustomResourceOptions) {
    super(lazyProvider("src/providers/stack/ports.ts", "portReservationProvider"), name, { ...args, ports: undefined }, opts, "modelplane", "PortReservation");
  }
}
