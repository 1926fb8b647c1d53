import { existsSync, promises as fs, readFileSync } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

/** pip's own config files, in the order pip reads them (later ones win). */
function pipConfigFiles(): string[] {
  const home = os.homedir();
  return [
    "/etc/pip.conf",
    path.join(process.env.XDG_CONFIG_HOME || path.join(home, ".config"), "pip", "pip.conf"),
    path.join(home, ".pip", "pip.conf"),
    ...(process.env.PIP_CONFIG_FILE ? [process.env.PIP_CONFIG_FILE] : []),
  ];
}

/** The `cert = ...` that the host's pip configuration sets, if any. */
export function pipConfigCert(files: string[] = pipConfigFiles()): string | undefined {
  let cert: string | undefined;
  for (const f of files) {
    if (!existsSync(f)) continue;
    const m = /^\s*cert\s*=\s*(\S+)\s*$/m.exec(readFileSync(f, "utf8"));
    if (m) cert = m[1];
  }
  return cert;
}

/**
 * The CA bundle pip must trust inside a build (hosts behind a TLS-intercepting proxy): the explicit
 * one, else $MODELPLANE_BUILD_CA_BUNDLE, else $PIP_CERT, else the `cert` of the host's pip
 * configuration — i.e. whatever makes the host's own pip work.
 */
export function resolvePipCaBundle(explicit?: string): string | undefined {
  return explicit ?? (process.env.MODELPLANE_BUILD_CA_BUNDLE || process.env.PIP_CERT || pipConfigCert() || undefined);
}

/** Writes `build-ca.pem` into a build context: the bundle's bytes, or an empty file (no proxy). */
export async function stagePipCaBundle(contextDir: string, explicit?: string): Promise<void> {
  const bundle = resolvePipCaBundle(explicit);
  const target = path.join(contextDir, "build-ca.pem");
  if (bundle) await fs.copyFile(bundle, target);
  else await fs.writeFile(target, "");
}
