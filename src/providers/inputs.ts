import type * as pulumi from "@pulumi/pulumi";

/** A dynamic resource's args: each input of the provider may be an Output. */
export type Inputs<T> = { [K in keyof T]: pulumi.Input<T[K]> };
