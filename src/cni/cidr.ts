/** Just enough IP prefix arithmetic for clash checks and host-local bookkeeping (IPv4 and IPv6). */
import { isIPv4, isIPv6 } from 'node:net';

export interface Cidr {
  family: 4 | 6;
  /** first address of the prefix */
  network: bigint;
  prefix: number;
  text: string;
}

function parseV4(ip: string): bigint {
  return ip.split('.').reduce((acc, part) => (acc << 8n) | BigInt(Number(part)), 0n);
}

function parseV6(ip: string): bigint {
  let text = ip;
  // an embedded IPv4 tail (::ffff:1.2.3.4) becomes two hextets
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (v4?.[1]) {
    const n = parseV4(v4[1]);
    text = text.slice(0, -v4[1].length) + `${(n >> 16n).toString(16)}:${(n & 0xffffn).toString(16)}`;
  }
  const [head = '', tail] = text.split('::');
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const groups = tail === undefined ? h : [...h, ...Array<string>(8 - h.length - t.length).fill('0'), ...t];
  return groups.reduce((acc, g) => (acc << 16n) | BigInt(parseInt(g, 16)), 0n);
}

/** Parses an address ("10.1.2.3") into family and integer value; undefined when it is not an IP. */
export function parseIp(ip: string): { family: 4 | 6; value: bigint } | undefined {
  const bare = ip.split('%')[0] ?? ip;
  if (isIPv4(bare)) return { family: 4, value: parseV4(bare) };
  if (isIPv6(bare)) return { family: 6, value: parseV6(bare) };
  return undefined;
}

/** Parses "10.1.0.0/16" (host bits are masked off, so "10.1.2.3/16" is the same prefix); a bare IP is a /32 or /128. */
export function parseCidr(text: string): Cidr | undefined {
  const [ip = '', len] = text.split('/');
  const parsed = parseIp(ip);
  if (!parsed) return undefined;
  const bits = parsed.family === 4 ? 32 : 128;
  const prefix = len === undefined ? bits : Number(len);
  if (!Number.isInteger(prefix) || prefix < 0 || prefix > bits || (len !== undefined && !/^\d+$/.test(len))) return undefined;
  const hostBits = BigInt(bits - prefix);
  const network = (parsed.value >> hostBits) << hostBits;
  return { family: parsed.family, network, prefix, text };
}

function lastAddress(c: Cidr): bigint {
  const bits = c.family === 4 ? 32 : 128;
  return c.network + (1n << BigInt(bits - c.prefix)) - 1n;
}

export function cidrsOverlap(a: Cidr, b: Cidr): boolean {
  if (a.family !== b.family) return false;
  return a.network <= lastAddress(b) && b.network <= lastAddress(a);
}

export function cidrContains(outer: Cidr, ip: string): boolean {
  const parsed = parseIp(ip);
  if (!parsed || parsed.family !== outer.family) return false;
  return parsed.value >= outer.network && parsed.value <= lastAddress(outer);
}

/** Formats an address value (IPv6 without "::" compression, which every parser accepts). */
export function formatIp(family: 4 | 6, value: bigint): string {
  if (family === 4) return [24n, 16n, 8n, 0n].map((shift) => String((value >> shift) & 0xffn)).join('.');
  const groups: string[] = [];
  for (let shift = 112n; shift >= 0n; shift -= 16n) groups.push(((value >> shift) & 0xffffn).toString(16));
  return groups.join(':');
}
