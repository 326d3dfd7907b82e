/**
 * The host side of meshbox's network: the bridge with the gateway address (so cluster DNS can bind
 * to it before the first pod exists), and the rule that keeps pod traffic on this machine unless
 * egress is enabled. Everything is named after the bridge so several daemons can run side by side,
 * and `teardown` removes exactly what `setup` made.
 */
import { run } from '../core/exec.js';
import { defineError } from '../core/errors.js';

export const HostNetworkFailed = defineError(
  'MBX_DAEMON_HOST_NETWORK',
  (what: string) => `could not set up the host network: ${what}`,
);

export interface HostNetworkOptions {
  bridge: string;
  gatewayCidr: string;
  podCidr: string;
  egress: boolean;
}

const IPTABLES_HINT = 'install the Debian package iptables';

function chainName(bridge: string): string {
  return `MBX-FWD-${bridge}`.slice(0, 28);
}

async function linkExists(name: string): Promise<boolean> {
  const r = await run('ip', ['-o', 'link', 'show', 'dev', name], { allowFailure: true, notFoundHint: 'install the Debian package iproute2' });
  return r.code === 0;
}

async function iptables(args: string[], allowFailure = false): Promise<number | null> {
  const r = await run('iptables', ['-w', '5', ...args], { allowFailure, notFoundHint: IPTABLES_HINT });
  return r.code;
}

export async function setupHostNetwork(opts: HostNetworkOptions): Promise<void> {
  const { bridge, gatewayCidr } = opts;
  if (!(await linkExists(bridge))) {
    await run('ip', ['link', 'add', bridge, 'type', 'bridge']);
  }
  const addrs = await run('ip', ['-o', '-4', 'addr', 'show', 'dev', bridge]);
  if (!addrs.stdout.includes(` ${gatewayCidr} `)) {
    await run('ip', ['addr', 'add', gatewayCidr, 'dev', bridge], { allowFailure: true });
  }
  await run('ip', ['link', 'set', bridge, 'up']);
  // Published ports bound to 127.0.0.1 are DNATed to pods: the kernel must route loopback-sourced
  // packets out of the bridge (portmap masquerades them).
  await run('sysctl', ['-q', '-w', `net.ipv4.conf.${bridge}.route_localnet=1`], { allowFailure: true });

  const chain = chainName(bridge);
  if ((await iptables(['-N', chain], true)) !== 0) await iptables(['-F', chain]);
  if (!opts.egress) {
    // Pods have no default route; this also stops anything forwarded off the bridge.
    await iptables(['-A', chain, '-i', bridge, '!', '-o', bridge, '-j', 'REJECT', '-m', 'comment', '--comment', 'meshbox: no egress']);
  }
  if ((await iptables(['-C', 'FORWARD', '-j', chain], true)) !== 0) await iptables(['-I', 'FORWARD', '1', '-j', chain]);
}

export async function teardownHostNetwork(opts: Pick<HostNetworkOptions, 'bridge'>): Promise<void> {
  const chain = chainName(opts.bridge);
  while ((await iptables(['-D', 'FORWARD', '-j', chain], true)) === 0) {
    /* remove every copy */
  }
  await iptables(['-F', chain], true);
  await iptables(['-X', chain], true);
  if (await linkExists(opts.bridge)) await run('ip', ['link', 'del', opts.bridge], { allowFailure: true });
}
