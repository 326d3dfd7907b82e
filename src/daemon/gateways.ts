/**
 * Gateway supervisor: one gateway proxy process on the host per Gateway object, fed by the control
 * plane (`meshbox proxy --xds <state-dir>/mesh/xds.sock --node router~… --token-file …`). The process is
 * detached (own session) so it outlives a daemon restart, which adopts it by its pid file (pid alive
 * and its cmdline names this state folder and node id). Deleting the Gateway stops it (SIGTERM, then
 * SIGKILL after 5 s); `meshbox down` stops every one (`stopAllGatewayProcesses`).
 *
 * Scope of this first slice: every Gateway gets a proxy whatever its selector, and the proxy's labels
 * are the Gateway's own selector, so it serves every Gateway with that selector (Istio's model). Two
 * Gateways with the same selector therefore get two proxies that want the same ports: the second
 * one's listeners fail to bind and it shows as NACKED in `meshbox proxy-status`. Give each Gateway
 * its own selector.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, openSync, closeSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { KubeObject } from '../api/types.js';
import { describeError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import type { InformerFactory } from '../reconcile/informer.js';
import { xdsSocketPath } from './config.js';
import { processAlive } from '../core/process-alive.js';

export const GATEWAYS_RESOURCE = 'gateways.networking.istio.io';
const STOP_GRACE_MS = 5_000;
/** how often a crashed gateway proxy is noticed and restarted */
const RESYNC_MS = 5_000;

/** The parts of ControlPlane the supervisor needs. */
export interface GatewayRegistry {
  registerGateway(namespace: string, name: string, labels: Record<string, string>): string;
  unregisterGateway(namespace: string, name: string): void;
  gatewayNodeId(namespace: string, name: string): string;
}

export interface GatewaySupervisorOptions {
  informers: InformerFactory;
  controlPlane: GatewayRegistry;
  stateDir: string;
  log: Logger;
  /** the meshbox CLI launcher (default: the daemon's own meshbox.js launcher, else bin/meshbox.js of this install) */
  bin?: string;
}

interface GatewayObject extends KubeObject {
  spec?: { selector?: Record<string, string> };
}

export function gatewaysDir(stateDir: string): string {
  return join(stateDir, 'gateways');
}

export class GatewaySupervisor {
  readonly #opts: GatewaySupervisorOptions;
  readonly #dir: string;
  readonly #bin: string;
  #unsubscribe: (() => void) | undefined;
  #resync: NodeJS.Timeout | undefined;
  #stopping = new Map<string, Promise<void>>();
  #starting = new Set<string>();

  constructor(opts: GatewaySupervisorOptions) {
    this.#opts = opts;
    this.#dir = gatewaysDir(opts.stateDir);
    // The launcher this daemon runs from (bin/meshbox.js), so the gateway runs the same build.
    const own = process.argv[1];
    this.#bin = opts.bin ?? (own?.endsWith('meshbox.js') ? own : fileURLToPath(new URL('../../../bin/meshbox.js', import.meta.url)));
  }

  async start(): Promise<void> {
    mkdirSync(this.#dir, { recursive: true, mode: 0o700 });
    const informer = this.#opts.informers.informerFor(GATEWAYS_RESOURCE);
    informer.start();
    await informer.waitForSync();
    const wanted = new Set(informer.list().map((g) => fileStem(g)));
    // Processes whose Gateway went away while the daemon was down.
    for (const stem of this.#pidStems()) if (!wanted.has(stem)) void this.#stop(stem);
    this.#unsubscribe = informer.addEventHandler({
      onAdd: (g) => this.#ensure(g as GatewayObject),
      onUpdate: (_old, g) => this.#ensure(g as GatewayObject),
      onDelete: (g) => {
        this.#opts.controlPlane.unregisterGateway(g.metadata.namespace ?? 'default', g.metadata.name ?? '');
        void this.#stop(fileStem(g));
      },
    });
    // Level-triggered: a gateway proxy that died (crash, OOM, kill) is started again.
    this.#resync = setInterval(() => {
      for (const g of informer.list()) this.#ensureProcess(g as GatewayObject);
    }, RESYNC_MS);
    this.#resync.unref();
  }

  /** Stops watching; the gateway processes keep serving (a restarted daemon adopts them). */
  async stop(): Promise<void> {
    this.#unsubscribe?.();
    this.#unsubscribe = undefined;
    clearInterval(this.#resync);
    await Promise.all(this.#stopping.values());
  }

  #ensure(g: GatewayObject): void {
    // A changed selector reaches the running proxy over its config stream: no restart.
    this.#opts.controlPlane.registerGateway(g.metadata.namespace ?? 'default', g.metadata.name ?? '', g.spec?.selector ?? {});
    this.#ensureProcess(g);
  }

  #ensureProcess(g: GatewayObject): void {
    const ns = g.metadata.namespace ?? 'default';
    const name = g.metadata.name ?? '';
    const stem = fileStem(g);
    const { controlPlane, stateDir, log } = this.#opts;
    const nodeId = controlPlane.gatewayNodeId(ns, name);
    const pidFile = join(this.#dir, `${stem}.pid`);
    const pid = readPid(pidFile);
    if (pid !== undefined && ownsProcess(pid, stateDir, nodeId)) return;
    if (this.#stopping.has(stem) || this.#starting.has(stem)) return;
    // The stats port is chosen here, not by the proxy (port 0), so the mesh metrics endpoint knows it.
    this.#starting.add(stem);
    void freePort('127.0.0.1')
      .then((statsPort) => {
        // the Gateway may have changed or gone, or the supervisor stopped, while the port was picked
        const current = this.#opts.informers.informerFor(GATEWAYS_RESOURCE).get(ns, name) as GatewayObject | undefined;
        if (current && this.#unsubscribe && !this.#stopping.has(stem)) this.#spawn(current, nodeId, statsPort);
      })
      .catch((err: unknown) => log.warn({ gateway: `${ns}/${name}`, err: describeError(err) }, 'gateway proxy failed to start'))
      .finally(() => this.#starting.delete(stem));
  }

  #spawn(g: GatewayObject, nodeId: string, statsPort: number): void {
    const ns = g.metadata.namespace ?? 'default';
    const name = g.metadata.name ?? '';
    const stem = fileStem(g);
    const { controlPlane, stateDir, log } = this.#opts;
    const pidFile = join(this.#dir, `${stem}.pid`);
    const tokenFile = join(this.#dir, `${stem}.token`);
    const bootstrapFile = join(this.#dir, `${stem}.bootstrap.json`);
    // Registering again with the same labels only schedules a recompute; the token depends on ns/name.
    writeFileSync(tokenFile, controlPlane.registerGateway(ns, name, g.spec?.selector ?? {}), { mode: 0o600 });
    // Port 0 (stats: a port picked free): the host may run other proxies (and other daemons' gateways) on 15000/15090/15021.
    const local = { address: '127.0.0.1', port: 0 };
    const stats = { address: '127.0.0.1', port: statsPort };
    writeFileSync(bootstrapFile, JSON.stringify({ node: { id: nodeId }, admin: local, stats, health: local, accessLog: 'stdout', drainTimeout: '3s' }), { mode: 0o600 });
    const logFd = openSync(join(this.#dir, `${stem}.log`), 'a', 0o600);
    try {
      const child = spawn(
        process.execPath,
        [this.#bin, '--state-dir', stateDir, 'proxy', '--xds', xdsSocketPath(stateDir), '--node', nodeId, '--token-file', tokenFile, '--config', bootstrapFile],
        { detached: true, stdio: ['ignore', logFd, logFd] },
      );
      child.on('error', (err) => log.warn({ gateway: `${ns}/${name}`, err: describeError(err) }, 'gateway proxy failed to start'));
      if (child.pid !== undefined) writeFileSync(pidFile, String(child.pid));
      child.unref();
      log.info({ gateway: `${ns}/${name}`, pid: child.pid }, 'gateway proxy started');
    } finally {
      closeSync(logFd);
    }
  }

  /** Where each gateway proxy serves /stats/prometheus (from its bootstrap file, so adopted ones count). */
  statsTargets(): { namespace: string; pod: string; url: string }[] {
    const out: { namespace: string; pod: string; url: string }[] = [];
    for (const g of this.#opts.informers.informerFor(GATEWAYS_RESOURCE).list()) {
      try {
        const boot = JSON.parse(readFileSync(join(this.#dir, `${fileStem(g)}.bootstrap.json`), 'utf8')) as { stats?: { address?: string; port?: number } };
        if (boot.stats?.port) out.push({ namespace: g.metadata.namespace ?? 'default', pod: g.metadata.name ?? '', url: `http://${boot.stats.address ?? '127.0.0.1'}:${boot.stats.port}/stats/prometheus` });
      } catch {
        // not started yet, or started by an older daemon with an ephemeral stats port
      }
    }
    return out;
  }

  #stop(stem: string): Promise<void> {
    const running = this.#stopping.get(stem);
    if (running) return running;
    const p = stopGatewayProcess(this.#dir, stem, this.#opts.stateDir, this.#opts.log).finally(() => this.#stopping.delete(stem));
    this.#stopping.set(stem, p);
    return p;
  }

  #pidStems(): string[] {
    return pidStems(this.#dir);
  }
}

function freePort(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, host, () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

function fileStem(g: KubeObject): string {
  return `${g.metadata.namespace ?? 'default'}.${g.metadata.name ?? ''}`;
}

function pidStems(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => f.endsWith('.pid'))
    .map((f) => f.slice(0, -'.pid'.length));
}

function readPid(file: string): number | undefined {
  try {
    const pid = Number(readFileSync(file, 'utf8').trim());
    return Number.isInteger(pid) && pid > 1 ? pid : undefined;
  } catch {
    return undefined;
  }
}

/** The pid is a live gateway proxy of this state folder (pids get reused: check the cmdline). */
function ownsProcess(pid: number, stateDir: string, nodeId?: string): boolean {
  let argv: string[];
  try {
    argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
  } catch {
    return false;
  }
  return argv.includes('proxy') && argv.includes(xdsSocketPath(stateDir)) && (nodeId === undefined || argv.includes(nodeId));
}

async function stopGatewayProcess(dir: string, stem: string, stateDir: string, log: Logger): Promise<void> {
  const pid = readPid(join(dir, `${stem}.pid`));
  if (pid !== undefined && ownsProcess(pid, stateDir)) {
    try {
      process.kill(pid, 'SIGTERM');
    } catch {
      // already gone
    }
    const deadline = Date.now() + STOP_GRACE_MS;
    while (processAlive(pid) && ownsProcess(pid, stateDir) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    if (processAlive(pid) && ownsProcess(pid, stateDir)) {
      log.warn({ pid, gateway: stem }, 'gateway proxy did not drain within 5 s; killing it');
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    log.info({ pid, gateway: stem }, 'gateway proxy stopped');
  }
  for (const ext of ['pid', 'token', 'bootstrap.json']) rmSync(join(dir, `${stem}.${ext}`), { force: true });
}

/** `meshbox down`: stops every gateway proxy of this state folder (only processes whose cmdline names it). */
export async function stopAllGatewayProcesses(stateDir: string, log: Logger): Promise<void> {
  const dir = gatewaysDir(stateDir);
  await Promise.all(pidStems(dir).map((stem) => stopGatewayProcess(dir, stem, stateDir, log)));
}
