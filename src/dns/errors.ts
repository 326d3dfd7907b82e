/**
 * Error catalog of the cluster DNS server. Codes are stable; callers branch on `code`.
 */
import { defineError } from '../core/errors.js';

export const DnsBindFailed = defineError(
  'MBX_DNS_BIND_FAILED',
  (address: string, code: string) => `cluster DNS cannot listen on ${address}: ${bindHint(code)}`,
);

/** What to do about a bind error, by errno code. */
export function bindHint(code: string): string {
  switch (code) {
    case 'EADDRINUSE':
      return 'the address is in use; stop the other DNS server there (dnsmasq, systemd-resolved, another meshbox) or start meshbox with a different DNS address or port';
    case 'EADDRNOTAVAIL':
      return 'no interface has this address; bring the bridge up with its gateway address first, or choose an address of this machine';
    case 'EACCES':
    case 'EPERM':
      return 'ports below 1024 need root (or CAP_NET_BIND_SERVICE); run meshbox as root or use a port above 1023';
    default:
      return `${code}; check the address and port`;
  }
}

export const DnsInvalidUpstream = defineError(
  'MBX_DNS_INVALID_UPSTREAM',
  (value: string) =>
    `upstream resolver "${value}" is not an address; give an IPv4/IPv6 address, optionally with a port ` +
    `("10.0.0.2", "10.0.0.2:5353", "[fd00::1]:53")`,
);

export const DnsInvalidCidr = defineError(
  'MBX_DNS_INVALID_CIDR',
  (value: string) => `"${value}" is not an IPv4 CIDR; write it as a.b.c.d/len, for example 10.244.0.0/16`,
);

export const DnsInvalidDomain = defineError(
  'MBX_DNS_INVALID_DOMAIN',
  (value: string) =>
    `cluster domain "${value}" is not a valid DNS name; use lowercase labels of letters, digits and '-', ` +
    `for example cluster.local`,
);

export const DnsUpstreamTimeout = defineError(
  'MBX_DNS_UPSTREAM_TIMEOUT',
  (upstream: string, ms: number) =>
    `upstream resolver ${upstream} did not answer within ${ms} ms; check that it is reachable from this ` +
    `machine or list another one in /etc/resolv.conf`,
  { retryable: true },
);

export const DnsNoUpstream = defineError(
  'MBX_DNS_NO_UPSTREAM',
  () =>
    `no upstream resolver is configured, so names outside the cluster domain cannot be resolved; ` +
    `add a nameserver line to /etc/resolv.conf or pass upstream resolvers to the DNS server`,
);

export const DnsNotStarted = defineError(
  'MBX_DNS_NOT_STARTED',
  () => `the DNS server is not listening; call start() first (and wait for it) before asking its address`,
);
