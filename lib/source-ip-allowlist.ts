import { readFileSync } from 'node:fs';
import { isIPv4, isIPv6 } from 'node:net';
import { resolve } from 'node:path';

/** Thrown when the source IP allowlist file is missing, empty or has a malformed line. */
export class SourceIpAllowlistError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SourceIpAllowlistError';
  }
}

/**
 * Parses the text of a source IP allowlist: one IPv4/IPv6 address or CIDR block per
 * line; blank lines and everything after `#` are ignored. A bare address becomes a
 * single-host CIDR (`/32` or `/128`) so the resource policy reads uniformly.
 *
 * Stripe's list (https://stripe.com/files/ips/ips_webhooks.txt) is bare addresses, one a
 * line, so it can be saved as is.
 *
 * @param text - the file's content
 * @param origin - where the text came from, for error messages
 * @returns the CIDR blocks, in file order, without duplicates
 * @throws SourceIpAllowlistError naming every bad line, or when no entry remains
 */
export function parseSourceIpAllowlist(text: string, origin = 'allowlist'): string[] {
  const cidrs: string[] = [];
  const problems: string[] = [];

  text.split(/\r?\n/).forEach((raw, index) => {
    const entry = raw.replace(/#.*$/, '').trim();
    if (entry === '') return;

    const cidr = toCidr(entry);
    if (cidr === undefined) {
      problems.push(`line ${index + 1}: "${entry}" is not an IP address or CIDR block`);
      return;
    }

    if (!cidrs.includes(cidr)) cidrs.push(cidr);
  });

  if (problems.length > 0) {
    throw new SourceIpAllowlistError(`${origin}:\n- ${problems.join('\n- ')}`);
  }

  if (cidrs.length === 0) {
    throw new SourceIpAllowlistError(
      `${origin} lists no address; an empty allowlist would block every delivery. ` +
        'Remove sourceIpAllowlist from the environment to allow all sources.',
    );
  }

  return cidrs;
}

/**
 * Reads and parses an allowlist file at synth time.
 *
 * @param path - absolute, or relative to the current working directory (the project root
 *   when run through `cdk`)
 * @throws SourceIpAllowlistError when the file cannot be read or does not parse
 */
export function readSourceIpAllowlist(path: string): string[] {
  const absolute = resolve(path);
  let text: string;
  try {
    text = readFileSync(absolute, 'utf8');
  } catch (error) {
    throw new SourceIpAllowlistError(
      `Cannot read the source IP allowlist ${absolute}: ${(error as Error).message}`,
    );
  }

  return parseSourceIpAllowlist(text, absolute);
}

function toCidr(entry: string): string | undefined {
  const [address, prefix, ...rest] = entry.split('/');
  if (address === undefined || rest.length > 0) return undefined;

  const maxPrefix = isIPv4(address) ? 32 : isIPv6(address) ? 128 : undefined;
  if (maxPrefix === undefined) return undefined;

  if (prefix === undefined) return `${address}/${maxPrefix}`;

  if (!/^\d{1,3}$/.test(prefix) || Number(prefix) > maxPrefix) return undefined;

  return `${address}/${Number(prefix)}`;
}
