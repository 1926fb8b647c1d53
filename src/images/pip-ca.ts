import { promises as fs } from "node:fs";
import * as path from "node:path";

/**
 * The CA bundle pip must trust inside a build (hosts behind a TLS-intercepting proxy): the explicit
 * one, else $MODELPLANE_BUILD_CA_BUNDLE, else $PIP_CERT. Same rule as ensureCustomServerImage.
 */
export function resolvePipCaBundle(explicit?: string): string | undefined {
  return explicit ?? (process.env.MODELPLANE_BUILD_CA_BUNDLE || process.env.PIP_CERT || undefined);
}

/** Writes `build-ca.pem` into a build context: the bundle's bytes, or an empty file (no proxy). */
export async function stagePipCaBundle(contextDir: string, explicit?: string): Promise<void> {
  const bundle = resolvePipCaBundle(explicit);
  const target = path.join(contextDir, "build-ca.pem");
  if (bundle) await fs.copyFile(bundle, target);
  else await fs.writeFile(target, "");
}
