import { SignJWT, jwtVerify } from "jose";

const ISSUER = "modelplane";
/** Default token lifetime (Azure ML's aml_token lasts about an hour too). */
export const DEFAULT_TOKEN_TTL_SECONDS = 3600;

export interface IssuedToken {
  accessToken: string;
  expiryTimeUtc: string;
  refreshAfterTimeUtc: string;
}

/** Signs an endpoint-scoped HS256 token; refresh is advised halfway through its life. */
export async function issueToken(secret: Uint8Array, endpoint: string, ttlSeconds = DEFAULT_TOKEN_TTL_SECONDS, now = new Date()): Promise<IssuedToken> {
  const iat = Math.floor(now.getTime() / 1000);
  const exp = iat + ttlSeconds;
  const accessToken = await new SignJWT({ endpoint })
    .setProtectedHeader({ alg: "HS256", typ: "JWT" })
    .setIssuer(ISSUER)
    .setAudience(endpoint)
    .setIssuedAt(iat)
    .setExpirationTime(exp)
    .sign(secret);
  return {
    accessToken,
    expiryTimeUtc: new Date(exp * 1000).toISOString(),
    refreshAfterTimeUtc: new Date((iat + Math.floor(ttlSeconds / 2)) * 1000).toISOString(),
  };
}

/** True when the token was signed by this server for this endpoint and has not expired. */
export async function verifyToken(secret: Uint8Array, endpoint: string, token: string, now?: Date): Promise<boolean> {
  return (await tokenExpiry(secret, endpoint, token, now)) !== undefined;
}

/** When a valid token expires (epoch ms), or undefined when it is not valid for this endpoint now. */
export async function tokenExpiry(secret: Uint8Array, endpoint: string, token: string, now?: Date): Promise<number | undefined> {
  try {
    const { payload } = await jwtVerify(token, secret, { issuer: ISSUER, audience: endpoint, algorithms: ["HS256"], currentDate: now, requiredClaims: ["exp"] });
    return payload.exp! * 1000;
  } catch {
    return undefined;
  }
}
