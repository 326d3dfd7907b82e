/**
 * Per-proxy credentials: the token is HMAC-SHA256(daemon secret, subject), where the subject names
 * what the proxy serves ("pod:<uid>", "gateway:<ns>/<name>"). The daemon writes the token into the
 * pod; another pod's token names another uid, so it cannot fetch this pod's config. A recreated pod
 * (new uid) needs its new token.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

export function newDaemonSecret(): Buffer {
  return randomBytes(32);
}

export function podSubject(uid: string): string {
  return `pod:${uid}`;
}

export function gatewaySubject(namespace: string, name: string): string {
  return `gateway:${namespace}/${name}`;
}

export function proxyToken(secret: Buffer, subject: string): string {
  return createHmac('sha256', secret).update(subject).digest('base64url');
}

export function verifyProxyToken(secret: Buffer, subject: string, token: string): boolean {
  const want = Buffer.from(proxyToken(secret, subject));
  const got = Buffer.from(token);
  return got.length === want.length && timingSafeEqual(got, want);
}
