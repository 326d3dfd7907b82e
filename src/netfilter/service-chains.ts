/**
 * Applies the service rule set to the kernel and removes it again. Each apply is one
 * `iptables-restore --noflush` carrying every meshbox chain of both tables in full: each table's
 * changes commit atomically, other programs' chains are untouched, and a failed restore leaves the
 * previous rules in force. The only rules outside meshbox's own chains are the jumps into them from
 * the built-in chains, made once at setup (idempotently) and removed at teardown.
 *
 * Pod replies on one bridge: a client pod and its endpoint share the bridge, so the endpoint's reply
 * is switched at layer 2 straight to the client, and without br_netfilter the host's conntrack never
 * sees it to undo the DNAT (the client would get a reply from the pod IP, not the VIP, and drop it).
 * Like kube-proxy, meshbox sets net.bridge.bridge-nf-call-iptables=1, so bridged IPv4 traffic passes
 * iptables. The consequence: every bridged packet on this machine (any bridge, Docker's too) now
 * traverses the FORWARD chain, so a FORWARD policy of DROP would cut same-bridge traffic.
 *
 * iptables rather than nftables: on this machine (iptables 1.8.9 over nf_tables, Debian 12) an
 * `nft -f` of an equivalent 50-Service set took 0.12-0.23 s against 0.05-0.40 s for
 * iptables-restore of the same set (bench/services/endpoint-latency.ts; a loaded 2-core box), so
 * neither is clearly faster at meshbox's scale. iptables keeps kube-proxy's exact semantics
 * (statistic, recent for ClientIP affinity), is inspectable with iptables-save like the rest of
 * meshbox's rules (host-network.ts, the CNI portmap plugin), and a whole-chain restore is atomic.
 */
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { run } from '../core/exec.js';
import { chainPrefixFor, checkPrefix } from './chain-prefix.js';
import { RestoreFailed, SysctlFailed } from './errors.js';
import { chainNames, renderServiceRules, type RenderedRules, type ServicePortRule } from './service-rules.js';

const IPTABLES_HINT = 'install the Debian package iptables';

export interface ServiceChainsOptions {
  /** defaults to chainPrefixFor(bridge) */
  prefix?: string;
  bridge: string;
  podCidr: string;
  /** VIPs of this CIDR that no Service port serves are rejected, never routed out of the machine */
  serviceCidr?: string;
  masqMark?: number;
}

export interface ApplyResult {
  ruleCount: number;
  /** wall time of the iptables-restore run */
  restoreMs: number;
}

interface Jump {
  table: 'nat' | 'filter';
  chain: string;
  target: string;
  extra: string[];
}

export class ServiceChains {
  readonly prefix: string;
  readonly #opts: ServiceChainsOptions;
  /** nat chains with our prefix that exist in the kernel (after the last successful apply) */
  #natChains = new Set<string>();

  constructor(opts: ServiceChainsOptions) {
    this.prefix = checkPrefix(opts.prefix ?? chainPrefixFor(opts.bridge));
    this.#opts = opts;
  }

  #jumps(): Jump[] {
    const n = chainNames(this.prefix);
    const comment = ['-m', 'comment', '--comment', `${this.prefix} service portals`];
    const newOnly = ['-m', 'conntrack', '--ctstate', 'NEW'];
    return [
      { table: 'nat', chain: 'PREROUTING', target: n.services, extra: comment },
      { table: 'nat', chain: 'OUTPUT', target: n.services, extra: comment },
      { table: 'nat', chain: 'POSTROUTING', target: n.postrouting, extra: comment },
      { table: 'filter', chain: 'INPUT', target: n.services, extra: [...newOnly, ...comment] },
      { table: 'filter', chain: 'FORWARD', target: n.services, extra: [...newOnly, ...comment] },
      { table: 'filter', chain: 'OUTPUT', target: n.services, extra: [...newOnly, ...comment] },
    ];
  }

  /**
   * Sets the sysctls the data path needs and makes the jumps into meshbox's chains (creating the
   * chains empty first). Idempotent; call again to repair jumps someone removed.
   */
  async setup(): Promise<void> {
    // Debian kernels build br_netfilter as a module; load it if its sysctls are missing.
    if (!existsSync('/proc/sys/net/bridge')) await run('modprobe', ['br_netfilter'], { allowFailure: true }).catch(() => undefined);
    await sysctl('net/bridge/bridge-nf-call-iptables', '1');
    await sysctl('net/ipv4/ip_forward', '1');
    // NodePorts on 127.0.0.1 are DNATed to pods: loopback-sourced packets must be routable out of the bridge.
    await sysctl(`net/ipv4/conf/${this.#opts.bridge}/route_localnet`, '1', true);
    const known = await this.savedChains('nat');
    this.#natChains = known;
    const n = chainNames(this.prefix);
    // Declaring a chain in a --noflush restore creates it (or flushes it); the jumps need it to exist.
    const missingNat = [n.services, n.postrouting].filter((c) => !known.has(c));
    if (missingNat.length > 0) await restore('nat', `*nat\n${missingNat.map((c) => `:${c} - [0:0]`).join('\n')}\nCOMMIT\n`);
    if (!(await this.savedChains('filter')).has(n.services)) await restore('filter', `*filter\n:${n.services} - [0:0]\nCOMMIT\n`);
    for (const j of this.#jumps()) {
      const spec = [j.chain, ...j.extra, '-j', j.target];
      const present = await run('iptables', ['-w', '5', '-t', j.table, '-C', ...spec], { allowFailure: true, notFoundHint: IPTABLES_HINT });
      if (present.code !== 0) await run('iptables', ['-w', '5', '-t', j.table, '-I', j.chain, '1', ...j.extra, '-j', j.target]);
    }
  }

  /** Replaces meshbox's chains with exactly `rules`, atomically per table. */
  async apply(rules: readonly ServicePortRule[]): Promise<ApplyResult> {
    const rendered = this.render(rules);
    const started = performance.now();
    // One process for both tables: spawning iptables-restore is a large share of a sync's cost.
    await restore('nat and filter', rendered.nat + rendered.filter);
    this.#natChains = rendered.natChains;
    return { ruleCount: rendered.ruleCount, restoreMs: performance.now() - started };
  }

  render(rules: readonly ServicePortRule[]): RenderedRules {
    return renderServiceRules(
      rules,
      {
        prefix: this.prefix,
        podCidr: this.#opts.podCidr,
        ...(this.#opts.serviceCidr ? { serviceCidr: this.#opts.serviceCidr } : {}),
        ...(this.#opts.masqMark !== undefined ? { masqMark: this.#opts.masqMark } : {}) },
      this.#natChains,
    );
  }

  /** Removes the jumps and every chain with the prefix, in both tables. */
  async teardown(): Promise<void> {
    for (const j of this.#jumps()) {
      const spec = [j.chain, ...j.extra, '-j', j.target];
      for (let i = 0; i < 10; i++) {
        const r = await run('iptables', ['-w', '5', '-t', j.table, '-D', ...spec], { allowFailure: true, notFoundHint: IPTABLES_HINT });
        if (r.code !== 0) break;
      }
    }
    for (const table of ['nat', 'filter'] as const) {
      const chains = [...(await this.savedChains(table))];
      if (chains.length === 0) continue;
      // Flush all first (declaring flushes), then delete: chains may jump to each other.
      await restore(table, [`*${table}`, ...chains.map((c) => `:${c} - [0:0]`), ...chains.map((c) => `-X ${c}`), 'COMMIT', ''].join('\n'));
    }
    this.#natChains = new Set();
  }

  /** Chains of `table` whose names start with the prefix, as the kernel has them now. */
  async savedChains(table: 'nat' | 'filter'): Promise<Set<string>> {
    const r = await run('iptables-save', ['-t', table], { notFoundHint: IPTABLES_HINT });
    const out = new Set<string>();
    const head = `:${this.prefix}-`;
    for (const line of r.stdout.split('\n')) if (line.startsWith(head)) out.add(line.slice(1, line.indexOf(' ')));
    return out;
  }
}

async function restore(table: string, input: string): Promise<void> {
  const r = await run('iptables-restore', ['--noflush', '-w', '5'], { input, allowFailure: true, timeoutMs: 30_000, notFoundHint: IPTABLES_HINT });
  if (r.code !== 0) throw RestoreFailed(table, r.stderr || r.stdout);
}

async function sysctl(key: string, value: string, optional = false): Promise<void> {
  const path = `/proc/sys/${key}`;
  try {
    if ((await readFile(path, 'utf8')).trim() === value) return;
    await writeFile(path, value);
  } catch (err) {
    if (optional) return;
    throw SysctlFailed(key.replaceAll('/', '.'), (err as Error).message, { cause: err });
  }
}
