/**
 * What a running pod holds on the machine (IP lease, netns, host veth, cgroup), recorded while it
 * runs so a test can check after its deletion that none of it is left, iptables rules included.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { run } from '../../../src/core/exec.js';
import { listPodCgroups } from '../../../src/runtime/cgroups.js';
import type { Pod } from '../../../src/api/types.js';
import type { MeshboxHarness } from './meshbox-harness.js';

export interface PodFootprint {
  name: string;
  uid: string;
  ip: string;
  netns: string;
  /** host-local's lease file for the pod IP */
  ipamFile: string;
  /** the host end of the pod's veth pair (the bridge plugin names it at random) */
  hostVeth: string;
}

/** Records a running pod's footprint; throws if a piece is missing (then the absence check proves nothing). */
export async function podFootprint(h: MeshboxHarness, pod: Pod): Promise<PodFootprint> {
  const uid = pod.metadata.uid!;
  const ip = pod.status?.podIP;
  if (!ip) throw new Error(`pod ${pod.metadata.name} has no IP`);
  const netns = `mbx-${uid}`;
  const ipamFile = join(h.stateDir, 'cni', 'ipam', `meshbox-${h.bridge}`, ip);
  if (!existsSync(ipamFile)) throw new Error(`no host-local lease ${ipamFile} for running pod ${pod.metadata.name}`);
  // eth0's iflink is the ifindex of its peer in the host namespace
  const peerIndex = (await run('ip', ['netns', 'exec', netns, 'cat', '/sys/class/net/eth0/iflink'])).stdout.trim();
  const hostLinks = (await run('ip', ['-o', 'link', 'show', 'master', h.bridge])).stdout;
  const hostVeth = new RegExp(`^${peerIndex}: ([^@:]+)`, 'm').exec(hostLinks)?.[1];
  if (!hostVeth) throw new Error(`no veth with ifindex ${peerIndex} on ${h.bridge} for pod ${pod.metadata.name}`);
  if (!listPodCgroups().includes(uid)) throw new Error(`no cgroup for running pod ${pod.metadata.name}`);
  return { name: pod.metadata.name, uid, ip, netns, ipamFile, hostVeth };
}

/** iptables-save lines (every table) that mention `ip` as a whole address. */
export async function iptablesLinesWith(ip: string): Promise<string[]> {
  const address = new RegExp(`(^|[^\\d.])${ip.replaceAll('.', '\\.')}([^\\d]|$)`);
  return (await run('iptables-save', [])).stdout.split('\n').filter((l) => address.test(l));
}

/** What of these pods is still on the machine, one line each; empty when nothing is. */
export async function footprintLeft(h: MeshboxHarness, pods: readonly PodFootprint[]): Promise<string[]> {
  const left: string[] = [];
  const netns = (await run('ip', ['netns', 'list'])).stdout.split('\n').map((l) => l.split(' ')[0]);
  const bridgeLinks = (await run('ip', ['-o', 'link', 'show', 'master', h.bridge])).stdout;
  const cgroups = listPodCgroups();
  for (const p of pods) {
    if (existsSync(p.ipamFile)) left.push(`${p.name}: IP lease ${p.ipamFile}`);
    if (netns.includes(p.netns)) left.push(`${p.name}: netns ${p.netns}`);
    if (new RegExp(`^\\d+: ${p.hostVeth}[@:]`, 'm').test(bridgeLinks)) left.push(`${p.name}: veth ${p.hostVeth} on ${h.bridge}`);
    if (cgroups.includes(p.uid)) left.push(`${p.name}: cgroup meshbox/${p.uid}`);
    for (const rule of await iptablesLinesWith(p.ip)) left.push(`${p.name}: iptables ${rule}`);
  }
  return left;
}
