// Endpoint and deployment names become host names / container names, so they must be DNS-safe.
import { quoteValue, specError } from "./issue";
import type { SpecIssue } from "./types";

/** Azure: 3-32 chars, starts with a letter, letters/digits/hyphens, no trailing hyphen. */
export const DNS_NAME = /^[a-zA-Z][a-zA-Z0-9-]{1,30}[a-zA-Z0-9]$/;

export function checkDnsName(name: string, field: string, what: string, resource?: string): SpecIssue[] {
  if (DNS_NAME.test(name)) return [];
  return [
    specError(
      "name_not_dns_safe",
      field,
      `${what} ${field} ${quoteValue(name)} is not DNS-safe`,
      "use 3-32 letters, digits or hyphens, starting with a letter and not ending with a hyphen (e.g. my-endpoint)",
      resource,
    ),
  ];
}
