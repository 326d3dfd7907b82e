/**
 * Prometheus metrics of the cluster DNS server, read from its counters at scrape time, so the query
 * path pays nothing for them. Names follow meshbox_<subsystem>_<name>_<unit|total>.
 */
import { Counter, Gauge, type Registry } from 'prom-client';
import type { DnsServer, DnsServerStats } from './dns-server.js';

const COUNTERS: [keyof DnsServerStats, string, string][] = [
  ['queries', 'meshbox_dns_queries_total', 'DNS messages received over UDP and TCP'],
  ['cluster', 'meshbox_dns_cluster_answers_total', 'queries answered from the cluster zone'],
  ['nxdomain', 'meshbox_dns_nxdomain_total', 'cluster-zone queries answered NXDOMAIN'],
  ['forwarded', 'meshbox_dns_forwarded_total', 'queries answered by an upstream resolver'],
  ['cacheHits', 'meshbox_dns_cache_hits_total', 'forwardable queries answered from the cache'],
  ['servfail', 'meshbox_dns_servfail_total', 'queries answered SERVFAIL (upstream failed or timed out)'],
  ['formerr', 'meshbox_dns_formerr_total', 'malformed queries answered FORMERR'],
  ['refused', 'meshbox_dns_refused_total', 'queries refused (zone transfers, non-IN classes in the cluster zone)'],
  ['truncated', 'meshbox_dns_truncated_total', 'UDP answers sent truncated (TC) because they were too large'],
  ['dropped', 'meshbox_dns_dropped_total', 'packets not answered (too short for a header, or not a query)'],
];

export function registerDnsMetrics(registry: Registry, server: DnsServer): void {
  for (const [field, name, help] of COUNTERS) {
    new Counter({
      name,
      help,
      registers: [registry],
      collect() {
        // Counters are kept by the server; reset + inc republishes its value without double counting.
        this.reset();
        this.inc(server.stats()[field]);
      },
    });
  }
  new Gauge({
    name: 'meshbox_dns_cache_entries',
    help: 'forwarded answers held in the cache',
    registers: [registry],
    collect() {
      this.set(server.cacheSize());
    },
  });
  new Gauge({
    name: 'meshbox_dns_tcp_connections',
    help: 'open client TCP connections',
    registers: [registry],
    collect() {
      this.set(server.tcpConnections());
    },
  });
}
