/**
 * A test kit for "netns pods": a fresh bridge mbx<tag> with a conflist for the real CNI plugins,
 * network namespaces attached to it as pods, tiny servers spawned inside them, a client run inside a
 * pod, and one cleanup that removes all of it (processes, attachments, netns, bridge, portmap's
 * shared chains when unused, the state folder). Needs root.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run } from '../../../src/core/exec.js';
import { CniNetwork, bridgeConflist, checkBridgeClash, type Attachment, type CniConflist } from '../../../src/cni/index.js';
import { createNetns, deleteNetns, execInNetns, netnsCommand, netnsPath } from '../../../src/runtime/netns.js';

export const BIN_DIRS = ['/usr/lib/cni', '/opt/cni/bin'];

/**
 * Draws candidate subnets until checkBridgeClash accepts every CIDR of one draw, so parallel tests
 * (each with its own draw) do not collide; returns that draw's pick.
 */
export async function pickFreeSubnets<T>(
  bridge: string,
  draw: () => { pick: T; cidrs: string[] },
  opts: { attempts: number; exhausted: string },
): Promise<T> {
  for (let i = 0; i < opts.attempts; i++) {
    const { pick, cidrs } = draw();
    try {
      for (const cidr of cidrs) await checkBridgeClash(bridge, cidr);
      return pick;
    } catch {
      /* in use by a parallel test or daemon: try another */
    }
  }
  throw new Error(opts.exhausted);
}

/** pickFreeSubnets for the common case: one random octet that places every CIDR of `cidrsFor`. */
export function pickFreeOctet(bridge: string, cidrsFor: (octet: number) => string[], opts: { attempts: number; exhausted: string }): Promise<number> {
  return pickFreeSubnets(
    bridge,
    () => {
      const octet = Math.floor(Math.random() * 256);
      return { pick: octet, cidrs: cidrsFor(octet) };
    },
    opts,
  );
}

/**
 * portmap's top-level chains are shared by every CNI user of this machine; remove them only when no
 * per-container DNAT rule is left in them (our DELs removed ours), so a parallel user is not broken.
 */
export async function removeSharedPortmapChainsIfUnused(): Promise<void> {
  const dnat = await run('iptables', ['-w', '-t', 'nat', '-S', 'CNI-HOSTPORT-DNAT'], { allowFailure: true });
  if (dnat.code !== 0 || dnat.stdout.trim().split('\n').length > 1) return;
  const ipt = (...args: string[]) => run('iptables', ['-w', '-t', 'nat', ...args], { allowFailure: true });
  await ipt('-D', 'PREROUTING', '-m', 'addrtype', '--dst-type', 'LOCAL', '-j', 'CNI-HOSTPORT-DNAT');
  await ipt('-D', 'OUTPUT', '-m', 'addrtype', '--dst-type', 'LOCAL', '-j', 'CNI-HOSTPORT-DNAT');
  await ipt('-D', 'POSTROUTING', '-m', 'comment', '--comment', 'CNI portfwd requiring masquerade', '-j', 'CNI-HOSTPORT-MASQ');
  for (const chain of ['CNI-HOSTPORT-DNAT', 'CNI-HOSTPORT-MASQ', 'CNI-HOSTPORT-SETMARK']) {
    await ipt('-F', chain);
    await ipt('-X', chain);
  }
}

/** Resolves once the child's stdout has printed `text`; rejects on timeout or exit. */
export function waitForLine(child: ChildProcess, text: string, ms = 10_000): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no "${text}" within ${ms} ms`)), ms);
    let out = '';
    child.stdout?.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes(text)) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.once('exit', (code) => reject(new Error(`server exited with ${code}`)));
  });
}

// Runs in a pod netns (or on the host): one TCP connection per "ip:port" argument; prints
// [{target, body|code, ms}] so a test can tell a refusal from a timeout and see how fast it came.
export const TCP_CLIENT = `
const net = require('net');
function one(target) {
  const [host, port] = target.split(':');
  return new Promise((resolve) => {
    const t0 = process.hrtime.bigint();
    const ms = () => Number(process.hrtime.bigint() - t0) / 1e6;
    const s = net.connect({ host, port: Number(port) });
    let body = '';
    s.setTimeout(2000, () => s.destroy(Object.assign(new Error('timeout'), { code: 'TIMEOUT' })));
    s.on('data', (d) => (body += d));
    s.on('end', () => resolve({ target, body, ms: ms() }));
    s.on('error', (e) => resolve({ target, code: e.code || e.message, ms: ms() }));
  });
}
(async () => { const out = []; for (const t of process.argv.slice(1)) out.push(await one(t)); console.log(JSON.stringify(out)); })();
`;

/** One connection of TCP_CLIENT: the body the server sent, or the error code. */
export interface Attempt {
  target: string;
  body?: string;
  code?: string;
  ms: number;
}

/** The attempt got `body` back. */
export function assertAnswered(a: Attempt | undefined, body: string, what: string): void {
  assert.equal(a?.body, body, `${what}: expected "${body}", got ${JSON.stringify(a)}`);
}

/**
 * The attempt failed with `code` within 500 ms: a policy's REJECT (or a closed port) answers at
 * once, so a slow failure means packets were dropped or lost instead.
 */
export function assertRefusedQuickly(a: Attempt | undefined, what: string, code = 'ECONNREFUSED'): void {
  assert.equal(a?.code, code, `${what}: expected a quick refusal, got ${JSON.stringify(a)}`);
  assert.ok(a!.ms < 500, `${what}: refused only after ${a!.ms} ms`);
}

/** Runs TCP_CLIENT against "ip:port" targets, inside netns `ns`, or on the host when `ns` is undefined. */
export async function tcpAttempts(ns: string | undefined, targets: readonly string[]): Promise<Attempt[]> {
  const args = ['-e', TCP_CLIENT, ...targets];
  const out = ns === undefined ? await run('node', args) : await execInNetns(ns, 'node', args, { timeoutMs: 30_000 });
  return JSON.parse(out.stdout) as Attempt[];
}

export interface NetnsPodsOptions {
  /** random hex; names the bridge mbx<tag>, the netns mbx-<tag>-<suffix> and the state folder */
  tag: string;
  networkName: string;
  subnet: string;
  gateway: string;
  routes: string[];
  /** changes the conflist before the network is built from it (e.g. a too-small subnet) */
  editConflist?: (c: CniConflist) => void;
}

/** A bridge network of netns pods; `cleanup()` in `finally` removes everything it made. */
export class NetnsPods {
  readonly tag: string;
  readonly bridge: string;
  readonly dir: string;
  readonly conflist: CniConflist;
  readonly net: CniNetwork;
  /** processes killed by cleanup; a test may add its own */
  readonly spawned: ChildProcess[] = [];
  #namespaces: string[] = [];

  private constructor(opts: NetnsPodsOptions, dir: string) {
    this.tag = opts.tag;
    this.bridge = bridgeNameFor(opts.tag);
    this.dir = dir;
    this.conflist = bridgeConflist({
      networkName: opts.networkName,
      bridge: this.bridge,
      subnet: opts.subnet,
      gateway: opts.gateway,
      ipamDataDir: join(dir, 'ipam'),
      routes: opts.routes,
    });
    opts.editConflist?.(this.conflist);
    this.net = new CniNetwork({ conflist: this.conflist, binDirs: BIN_DIRS, cacheDir: join(dir, 'cache') });
  }

  static async create(opts: NetnsPodsOptions): Promise<NetnsPods> {
    const dir = await mkdtemp(join(tmpdir(), `mbx-${opts.tag}-`));
    return new NetnsPods(opts, dir);
  }

  /** The netns name of pod `suffix`. */
  nsName(suffix: string): string {
    return `mbx-${this.tag}-${suffix}`;
  }

  /** Creates a netns that cleanup removes; returns its name. */
  async netns(suffix: string): Promise<string> {
    const name = this.nsName(suffix);
    // recorded first so a half-made netns is still removed
    this.#namespaces.push(name);
    await createNetns(name);
    return name;
  }

  attachment(id: string, ns: string, extra: Partial<Attachment> = {}): Attachment {
    return { containerId: `${this.tag}-${id}`, netns: netnsPath(ns), ifName: 'eth0', ...extra };
  }

  /** A netns attached to the bridge as eth0; returns the netns name and the pod's IP. */
  async addPod(name: string): Promise<{ ns: string; ip: string }> {
    const ns = await this.netns(name);
    const result = await this.net.add(this.attachment(name, ns));
    return { ns, ip: result.ips![0]!.address.split('/')[0]! };
  }

  /** addPod, then serve(script) in it with the pod's name as its argument; returns the pod's IP. */
  async addServingPod(name: string, script: string): Promise<string> {
    const { ns, ip } = await this.addPod(name);
    await this.serve(ns, script, [name]);
    return ip;
  }

  /** Runs `node -e script ...args` in netns `ns` and resolves once it prints `readyText`. */
  async serve(ns: string, script: string, args: readonly string[] = [], readyText = 'listening'): Promise<ChildProcess> {
    const cmd = netnsCommand(ns, 'node', ['-e', script, ...args]);
    const child = spawn(cmd.file, cmd.args, { stdio: ['ignore', 'pipe', 'pipe'] });
    this.spawned.push(child);
    await waitForLine(child, readyText);
    return child;
  }

  async cleanup(): Promise<void> {
    for (const child of this.spawned) child.kill('SIGKILL');
    // DEL is idempotent, so running it for everything still cached is always safe
    for (const a of await this.net.listAttachments().catch(() => [])) {
      await this.net.del({ containerId: a.containerId, ifName: a.ifName, netns: a.netns }).catch(() => undefined);
    }
    for (const ns of this.#namespaces) await deleteNetns(ns).catch(() => undefined);
    await run('ip', ['link', 'del', this.bridge], { allowFailure: true });
    await removeSharedPortmapChainsIfUnused();
    await rm(this.dir, { recursive: true, force: true });
  }
}

export function bridgeNameFor(tag: string): string {
  return `mbx${tag}`;
}
