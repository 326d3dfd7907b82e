/**
 * Error catalog of the cluster DNS server. Codes are stable; callers branch on `code`.
 */
import { defineError } from '../core/errors.js';

export const DnsBindFailed = defineError(
  'MBX_DNS_BIND_FAILED',
  (address: string, reason: string) =>
    `cluster DNS cannot listen on ${address}: ${reason}; stop the other DNS server on that address ` +
    `(dnsmasq, systemd-resolved, another meshbox) or start meshbox with a different DNS address`,
);

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
