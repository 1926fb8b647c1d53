import { createCipheriv, createDecipheriv, createHash, hash, randomBytes, timingSafeEqual } from "node:crypto";

/** A fresh endpoint key: 32 random bytes, base64url (43 characters). */
export function generateKey(): string {
  return randomBytes(32).toString("base64url");
}

/** sha256 hex of a key. Keys are 256-bit random values, so a fast unsalted hash is enough. */
export function hashKey(key: string): string {
  return createHash("sha256").update(key, "utf8").digest("hex");
}

/** Stored key hashes (sha256 hex) decoded once per routing table; malformed ones are dropped. */
export function keyDigests(hashes: readonly string[]): Buffer[] {
  return hashes.filter((h) => /^[0-9a-f]{64}$/i.test(h)).map((h) => Buffer.from(h, "hex"));
}

/** Constant-time check of a presented credential against stored key digests (see keyDigests). */
export function keyMatches(presented: string, digests: readonly Buffer[]): boolean {
  const got = hash("sha256", presented, "buffer");
  let ok = false;
  // Compare every digest (no early exit) so timing does not tell which one matched.
  for (const d of digests) if (timingSafeEqual(got, d)) ok = true;
  return ok;
}

/** Constant-time string equality (for the management token). */
export function secretEquals(a: string, b: string): boolean {
  const ha = createHash("sha256").update(a, "utf8").digest();
  const hb = createHash("sha256").update(b, "utf8").digest();
  return timingSafeEqual(ha, hb);
}

/**
 * AES-256-GCM sealing of the plaintext keys. `POST /endpoints/{e}/keys` must return the keys, so a
 * hash alone is not enough; the gateway only ever uses the hashes, and the plaintext is kept sealed
 * with a data key that lives in a separate file (stateDir/secret.key, mode 0600), so a copy of the
 * database alone reveals no key.
 */
export function seal(plaintext: string, dataKey: Buffer): string {
  const iv = randomBytes(12);
  const cipher = createCipheriv("aes-256-gcm", dataKey, iv);
  const body = Buffer.concat([cipher.update(plaintext, "utf8"), cipher.final()]);
  return ["v1", iv.toString("base64"), cipher.getAuthTag().toString("base64"), body.toString("base64")].join(".");
}

export function unseal(sealed: string, dataKey: Buffer): string {
  const [v, iv, tag, body] = sealed.split(".");
  if (v !== "v1" || !iv || !tag || body === undefined) throw new Error("sealed value has an unknown format");
  const decipher = createDecipheriv("aes-256-gcm", dataKey, Buffer.from(iv, "base64"));
  decipher.setAuthTag(Buffer.from(tag, "base64"));
  return Buffer.concat([decipher.update(Buffer.from(body, "base64")), decipher.final()]).toString("utf8");
}
