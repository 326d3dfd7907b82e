/**
 * The few address helpers DNS needs: IPv4 CIDR membership and in-addr.arpa names.
 * IPv6 reverse zones (ip6.arpa) are not served yet; such queries are forwarded.
 */
import { isIPv4 } from 'node:net';
import { DnsInvalidCidr } from './errors.js';

export interface Ipv4Cidr {
  readonly text: string;
  /** network address as an unsigned 32-bit number */
  readonly network: number;
  readonly prefix: number;
}

export function ipv4ToNumber(ip: string): number | undefined {
  if (!isIPv4(ip)) return undefined;
  const parts = ip.split('.');
  let n = 0;
  for (const p of parts) n = n * 256 + Number(p);
  return n >>> 0;
}

export function numberToIpv4(n: number): string {
  return `${(n >>> 24) & 255}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`;
}

function mask(prefix: number): number {
  return prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
}

export function parseIpv4Cidr(text: string): Ipv4Cidr {
  const [addr, len, extra] = text.trim().split('/');
  const prefix = Number(len);
  const base = addr === undefined ? undefined : ipv4ToNumber(addr);
  if (extra !== undefined || base === undefined || !Number.isInteger(prefix) || prefix < 0 || prefix > 32) {
    throw DnsInvalidCidr(text);
  }
  return { text, network: (base & mask(prefix)) >>> 0, prefix };
}

export function cidrContains(cidr: Ipv4Cidr, ip: number): boolean {
  return ((ip & mask(cidr.prefix)) >>> 0) === cidr.network;
}

/**
 * Parses a lowercase name ending in `.in-addr.arpa` into its leading octets (most significant first),
 * e.g. `5.1.244.10.in-addr.arpa` → [10, 244, 1, 5]. Undefined for anything that is not 1..4 octets.
 */
export function parseReverseName(name: string): number[] | undefined {
  const suffix = '.in-addr.arpa';
  if (!name.endsWith(suffix)) return undefined;
  const labels = name.slice(0, -suffix.length).split('.');
  if (labels.length < 1 || labels.length > 4) return undefined;
  const octets: number[] = [];
  for (let i = labels.length - 1; i >= 0; i--) {
    const l = labels[i]!;
    if (!/^(0|[1-9][0-9]{0,2})$/.test(l)) return undefined;
    const v = Number(l);
    if (v > 255) return undefined;
    octets.push(v);
  }
  return octets;
}

/** `10.244.1.5` → `5.1.244.10.in-addr.arpa` */
export function reverseName(ip: string): string {
  return `${ip.split('.').reverse().join('.')}.in-addr.arpa`;
}

/** The reverse zone that holds a CIDR, widened to an octet boundary: 10.244.0.0/16 → `244.10.in-addr.arpa`. */
export function reverseZone(cidr: Ipv4Cidr): string {
  const octets = Math.floor(cidr.prefix / 8);
  const ip = numberToIpv4(cidr.network).split('.').slice(0, octets);
  return ip.length === 0 ? 'in-addr.arpa' : `${ip.reverse().join('.')}.in-addr.arpa`;
}

/**
 * True when every address named by a partial reverse name (the first `octets.length` octets fixed)
 * lies inside `cidr`. Names that also cover addresses outside the CIDR are not ours to answer.
 */
export function reversePrefixInside(cidr: Ipv4Cidr, octets: readonly number[]): boolean {
  if (octets.length * 8 < cidr.prefix) return false;
  let n = 0;
  for (let i = 0; i < 4; i++) n = n * 256 + (octets[i] ?? 0);
  return ((n & mask(cidr.prefix)) >>> 0) === cidr.network;
}

/** `10.244.1.5` → `10-244-1-5`; IPv6 colons become dashes too, as CoreDNS writes pod names. */
export function dashedIp(ip: string): string {
  return ip.replace(/[.:]/g, '-');
}
