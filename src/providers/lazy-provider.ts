import * as pulumi from "@pulumi/pulumi";

/**
 * A dynamic provider whose methods load their implementation from a module of this project
 * when called. Pulumi serializes a dynamic provider's functions into the state; serializing
 * only a module path (relative to the project root, the provider process's cwd) keeps that
 * text stable across clones and keeps live clients and big closures out of it.
 */
export function lazyProvider(modulePath: string, exportName: string): pulumi.dynamic.ResourceProvider {
  const load = (): pulumi.dynamic.ResourceProvider => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const nodePath = require("path") as typeof import("path");
    // Once per provider process: tsx compiles the project's TypeScript on require.
    const g = globalThis as { __modelplaneTsx?: boolean };
    if (!g.__modelplaneTsx) {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      require("tsx/cjs/api").register();
      g.__modelplaneTsx = true;
    }
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const mod = require(nodePath.resolve(process.env.MODELPLANE_ROOT ?? process.cwd(), modulePath)) as Record<string, pulumi.dynamic.ResourceProvider>;
    const impl = mod[exportName];
    if (!impl) throw new Error(`modelplane: ${modulePath} has no provider export ${exportName}`);
    return impl;
  };
  return {
    async check(olds, news) {
      const p = load();
      return p.check ? p.check(olds, news) : { inputs: news };
    },
    async diff(id, olds, news) {
      const p = load();
      return p.diff ? p.diff(id, olds, news) : {};
    },
    async create(inputs) {
      return load().create(inputs);
    },
    async read(id, props) {
      const p = load();
      return p.read ? p.read(id, props) : { id, props };
    },
    async update(id, olds, news) {
      const p = load();
      if (!p.update) throw new Error(`modelplane: ${modulePath}#${exportName} cannot update in place`);
      return p.update(id, olds, news);
    },
    async delete(id, props) {
      const p = load();
      if (p.delete) await p.delete(id, props);
    },
  };
}
