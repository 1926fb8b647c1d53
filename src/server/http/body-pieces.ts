/**
 * A request body as the pieces it arrived in, or one buffer. The gateway forwards large bodies as
 * their pieces: joining them first would hold every large body in memory twice (the pieces stay
 * until the next garbage collection), so a flood of 90 MiB bodies peaked at twice the body budget.
 */
export type BodyPieces = Buffer | readonly Buffer[];

/** Total bytes of a body. */
export function bodyLength(body: BodyPieces): number {
  if (Buffer.isBuffer(body)) return body.length;
  let n = 0;
  for (const p of body) n += p.length;
  return n;
}
