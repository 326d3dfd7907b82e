/**
 * Every chain meshbox's service proxy makes starts with one prefix derived from the daemon's bridge,
 * so daemons with different bridges keep apart, and teardown can find all of its own chains (and
 * nothing else) in iptables-save. iptables caps chain names at 28 characters; the prefix takes 10,
 * leaving room for "-SVC-" and a 12-character hash.
 */
import { createHash } from 'node:crypto';
import { InvalidPrefix } from './errors.js';

export const MAX_PREFIX_LENGTH = 10;

/** "MBX-" + 6 hex characters of the bridge name's hash, e.g. "MBX-3f9a1c" for "mbx0". */
export function chainPrefixFor(bridge: string): string {
  return `MBX-${createHash('sha256').update(bridge).digest('hex').slice(0, 6).toUpperCase()}`;
}

export function checkPrefix(prefix: string): string {
  if (!/^[A-Z0-9-]{3,10}$/.test(prefix)) throw InvalidPrefix(prefix);
  return prefix;
}

/** A 12-character uppercase base32 hash, as kube-proxy names KUBE-SVC-/KUBE-SEP- chains. */
export function chainHash(text: string): string {
  const digest = createHash('sha256').update(text).digest();
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let out = '';
  let bits = 0;
  let value = 0;
  for (const byte of digest) {
    value = (value << 8) | byte;
    bits += 8;
    while (bits >= 5 && out.length < 12) {
      out += alphabet[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
    if (out.length >= 12) break;
    value &= 0xff;
  }
  return out;
}
