import { randomFillSync } from "node:crypto";

// A request id per request is on the hot path. crypto.randomUUID() joins 20 string pieces per id
// (about 0.5 KB of garbage each); this writes the same kind of id, a random (version 4) UUID from
// the same CSPRNG, into one buffer and reads it out as one string.

/** Random bytes for 256 ids, refilled when used up (randomUUID also draws from a cached batch). */
const POOL = Buffer.alloc(16 * 256);
let offset = POOL.length;
const HEX = Buffer.from("0123456789abcdef", "latin1");
const TEXT = Buffer.from("00000000-0000-4000-8000-000000000000", "latin1");
/** Where each of the 16 bytes goes in the text (two hex digits each). */
const AT = [0, 2, 4, 6, 9, 11, 14, 16, 19, 21, 24, 26, 28, 30, 32, 34];

/** A random version 4 UUID (RFC 9562), lower-case, as crypto.randomUUID() returns. */
export function newRequestId(): string {
  if (offset === POOL.length) {
    randomFillSync(POOL);
    offset = 0;
  }
  for (let i = 0; i < 16; i++) {
    let b = POOL[offset + i]!;
    // Version 4 in byte 6's high nibble, the RFC variant (10xx) in byte 8's top bits.
    if (i === 6) b = (b & 0x0f) | 0x40;
    else if (i === 8) b = (b & 0x3f) | 0x80;
    TEXT[AT[i]!] = HEX[b >> 4]!;
    TEXT[AT[i]! + 1] = HEX[b & 0x0f]!;
  }
  offset += 16;
  return TEXT.toString("latin1");
}
