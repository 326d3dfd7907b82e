/**
 * Runs a real meshbox daemon for an integration test: its own state folder, bridge, pod and service
 * CIDRs (so tests run in parallel), started as a child process through the CLI (`meshbox up`), so
 * it can be SIGKILLed and restarted like a user's. `down()` removes everything and reports what a
 * leak check finds.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import assert from 'node:assert/strict';
import { after, before } from 'node:test';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomBytes } from 'node:crypto';
import { run } from '../../../src/core/exec.js';
import { mountsBelow, removeStateDir } from '../../../src/core/remove-state-dir.js';
import { ApiClient } from '../../../src/cli/client.js';
import type { KubeObject, Pod } from '../../../src/api/types.js';

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', '..');
const BIN = join(REPO_ROOT, 'bin', 'meshbox.js');

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

export class MeshboxHarness {
  readonly stateDir: string;
  readonly bridge: string;
  readonly podCidr: string;
  readonly serviceCidr: string;
  readonly client: ApiClient;
  /** uids of every pod this test saw, for the leak check */
  readonly knownPodUids = new Set<string>();
  #daemon: ChildProcess | undefined;
  #daemonLog = '';

  /** sidecars injected into pods (the daemon's default); tests of the plain data path turn it off */
  readonly mesh: boolean;

  constructor(opts: { mesh?: boolean } = {}) {
    this.mesh = opts.mesh ?? false;
    const rand = randomBytes(3);
    this.bridge = `mbx${rand.toString('hex')}`;
    this.stateDir = mkdtempSync(join(tmpdir(), 'mbx-it-'));
    // 10.210.0.0/15 is this harness's range; other test files use other ranges
    const second = 210 + (rand[0]! % 2);
    this.podCidr = `10.${second}.${rand[1]}.0/24`;
    this.serviceCidr = `10.${second + 2}.${rand[1]}.0/24`;
    this.client = new ApiClient(join(this.stateDir, 'meshbox.sock'));
  }

  /** The gateway (bridge) address: also the DNS server pods use. */
  get gateway(): string {
    return this.podCidr.replace(/0\/24$/, '1');
  }

  async start(): Promise<void> {
    const child = spawn(
      process.execPath,
      [BIN, '--state-dir', this.stateDir, 'up', '--bridge', this.bridge, '--pod-cidr', this.podCidr, '--service-cidr', this.serviceCidr, '--sidecar-injection', this.mesh ? 'on' : 'off',
        // an ephemeral port: parallel daemons must not all want 127.0.0.1:15014
        '--metrics-address', '127.0.0.1:0'],
      { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, MESHBOX_LOG_LEVEL: 'warn' } },
    );
    this.#daemon = child;
    child.stdout!.on('data', (d: Buffer) => (this.#daemonLog += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (this.#daemonLog += d.toString()));
    const deadline = Date.now() + 60_000;
    for (;;) {
      try {
        await this.client.get('/version');
        return;
      } catch {
        if (child.exitCode !== null) throw new Error(`meshbox up exited with ${child.exitCode}:\n${this.#daemonLog}`);
        if (Date.now() > deadline) throw new Error(`meshbox up did not answer within 60 s:\n${this.#daemonLog}`);
        await sleep(50);
      }
    }
  }

  /** SIGKILLs the daemon (pods keep running). */
  async killDaemon(): Promise<void> {
    const child = this.#daemon;
    if (!child || child.exitCode !== null) return;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGKILL');
    await exited;
  }

  get daemonLog(): string {
    return this.#daemonLog;
  }

  /** Runs the CLI against this daemon. */
  cli(args: string[], input?: string): Promise<CliResult> {
    return new Promise((resolvePromise) => {
      const child = spawn(process.execPath, [BIN, '--state-dir', this.stateDir, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      child.on('close', (code) => resolvePromise({ code: code ?? -1, stdout, stderr }));
      child.stdin.end(input ?? '');
    });
  }

  async apply(yaml: string): Promise<void> {
    const r = await this.cli(['apply', '-f', '-'], yaml);
    if (r.code !== 0) throw new Error(`apply failed: ${r.stderr}`);
  }

  async pod(name: string, namespace = 'default'): Promise<Pod | undefined> {
    try {
      const pod = await this.client.get<Pod>(`/api/v1/namespaces/${namespace}/pods/${name}`);
      if (pod.metadata.uid) this.knownPodUids.add(pod.metadata.uid);
      return pod;
    } catch {
      return undefined;
    }
  }

  /** Polls until `check` returns a value (not undefined/false), or fails with the last state. */
  async eventually<T>(what: string, check: () => Promise<T | undefined | false>, timeoutMs = 30_000): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    let last: unknown;
    for (;;) {
      try {
        const v = await check();
        if (v !== undefined && v !== false) return v;
      } catch (err) {
        last = err;
      }
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}\n--- daemon log ---\n${this.#daemonLog.slice(-3000)}`);
      await sleep(100);
    }
  }

  async waitReady(name: string, namespace = 'default', timeoutMs = 30_000): Promise<Pod> {
    return this.eventually(`pod ${name} Ready`, async () => {
      const p = await this.pod(name, namespace);
      return p?.status?.conditions?.find((c) => c.type === 'Ready')?.status === 'True' ? p : undefined;
    }, timeoutMs);
  }

  async waitGone(name: string, namespace = 'default', timeoutMs = 60_000): Promise<void> {
    await this.eventually(`pod ${name} gone`, async () => (await this.pod(name, namespace)) === undefined, timeoutMs);
  }

  async list<T extends KubeObject = KubeObject>(path: string): Promise<T[]> {
    return (await this.client.get<{ items: T[] }>(path)).items;
  }

  /** `meshbox down`, then checks nothing of this daemon is left on the machine; returns the leaks. */
  async down(): Promise<string[]> {
    const r = await this.cli(['down']);
    if (this.#daemon && this.#daemon.exitCode === null) {
      await Promise.race([new Promise((res) => this.#daemon!.once('exit', res)), sleep(20_000)]);
      if (this.#daemon.exitCode === null) this.#daemon.kill('SIGKILL');
    }
    const leaks = await leftovers(this);
    if (r.code !== 0) leaks.push(`meshbox down exited ${r.code}: ${r.stderr}`);
    // A mount left below the state folder is a leak to report, never something to rm -rf through.
    const mounted = mountsBelow(this.stateDir);
    if (mounted.length > 0) leaks.push(`still mounted below the state folder (not removed): ${mounted.join(', ')}`);
    else removeStateDir(this.stateDir);
    return leaks;
  }
}

/** What of this harness's daemon is still on the machine (bridge, veths, netns, rules, processes, cgroups). */
export async function leftovers(h: MeshboxHarness): Promise<string[]> {
  const leaks: string[] = [];
  const links = (await run('ip', ['-o', 'link', 'show'])).stdout;
  if (links.includes(`${h.bridge}:`)) leaks.push(`bridge ${h.bridge}`);
  const veths = links.split('\n').filter((l) => l.includes(`master ${h.bridge} `));
  if (veths.length) leaks.push(`veths on ${h.bridge}: ${veths.length}`);
  const rules = (await run('iptables-save', [])).stdout.split('\n').filter((l) => l.includes(h.bridge) || l.includes(h.podCidr));
  if (rules.length) leaks.push(`iptables: ${rules.join(' | ')}`);
  const procs = (await run('pgrep', ['-af', h.stateDir], { allowFailure: true })).stdout.trim();
  if (procs) leaks.push(`processes: ${procs}`);
  const netns = (await run('ip', ['netns', 'list'])).stdout;
  for (const uid of h.knownPodUids) if (netns.includes(uid)) leaks.push(`netns of pod ${uid}`);
  const cgroups = (await run('find', ['/sys/fs/cgroup', '-maxdepth', '3', '-path', '*meshbox/*', '-type', 'd'], { allowFailure: true })).stdout;
  for (const uid of h.knownPodUids) if (cgroups.includes(uid)) leaks.push(`cgroup of pod ${uid}`);
  return leaks;
}

/**
 * One daemon for every test of the calling file: started in `before`; in `after`, `meshbox down`
 * must leave nothing behind, and `cleanup` (the file's own temp folders) runs even when it does not.
 * Call at the file's top level.
 */
export function meshboxForThisFile(opts: { cleanup?: () => void; mesh?: boolean } = {}): MeshboxHarness {
  const h = new MeshboxHarness({ mesh: opts.mesh ?? false });
  before(async () => {
    await h.start();
  });
  after(async () => {
    try {
      assert.deepEqual(await h.down(), [], 'meshbox down leaves nothing behind');
    } finally {
      opts.cleanup?.();
    }
  });
  return h;
}

export async function withMeshbox(fn: (h: MeshboxHarness) => Promise<void>): Promise<void> {
  const h = new MeshboxHarness();
  try {
    await h.start();
    await fn(h);
  } finally {
    const leaks = await h.down();
    if (leaks.length) throw new Error(`meshbox down left: ${leaks.join('; ')}`);
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
