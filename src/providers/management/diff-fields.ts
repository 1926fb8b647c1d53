import type * as pulumi from "@pulumi/pulumi";

/**
 * A management registration's diff: another value of a `replaceFields` field replaces it, of an
 * `updateFields` field updates it in place. Values compare as JSON, an absent one as null.
 */
export function diffFields<T>(olds: T, news: T, replaceFields: readonly (keyof T & string)[], updateFields: readonly (keyof T & string)[]): pulumi.dynamic.DiffResult {
  const replaces = replaceFields.filter((f) => olds[f] !== news[f]);
  const changes = replaces.length > 0 || updateFields.some((f) => JSON.stringify(olds[f] ?? null) !== JSON.stringify(news[f] ?? null));
  return { changes, replaces };
}
