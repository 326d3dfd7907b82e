import { randomUUID, randomBytes, createHash } from 'node:crypto';

export function newUid(): string {
  return randomUUID();
}

/** n lowercase hex characters of randomness. */
export function randomHex(n: number): string {
  return randomBytes(Math.ceil(n / 2)).toString('hex').slice(0, n);
}

/** Kubernetes-style random suffix: lowercase consonants and digits (no vowels, no 0/1/3). */
const SUFFIX_ALPHABET = 'bcdfghjklmnpqrstvwxz2456789';
export function randomSuffix(n = 5): string {
  const bytes = randomBytes(n);
  let out = '';
  for (const b of bytes) out += SUFFIX_ALPHABET[b % SUFFIX_ALPHABET.length];
  return out;
}

/** A short stable hash of a string, for deterministic names (pod-template-hash, veth names). */
export function shortHash(input: string, n = 10): string {
  return createHash('sha256').update(input).digest('hex').slice(0, n);
}
