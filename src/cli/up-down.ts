/**
 * `meshbox up` and `meshbox down`: start the daemon (in this process, or detached with its log in the
 * state folder) and stop it, optionally removing everything it made.
 */
import { spawn } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createLogger } from '../core/logger.js';
import { describeError } from '../core/errors.js';
import { Daemon } from '../daemon/daemon.js';
import { defaultConfig, derive, type DaemonConfig } from '../daemon/config.js';
import { StartTimeout } from '../daemon/errors.js';
import { teardownOffline } from '../daemon/teardown.js';
import { ApiClient } from './client.js';
import { processAlive } from '../core/process-alive.js';

export interface UpOptions {
  stateDir: string;
  detach?: boolean;
  bridge?: string;
  podCidr?: string;
  serviceCidr?: string;
  clusterDomain?: string;
  dnsPort?: number;
  egress?: boolean;
  metricsAddress?: string;
  sidecarInjection?: boolean;
}

const CONFIG_FILE = 'config.json';

export function configFor(opts: UpOptions): DaemonConfig {
  const cfg = defaultConfig(opts.stateDir);
  if (opts.bridge) cfg.bridge = opts.bridge;
  if (opts.podCidr) cfg.podCidr = opts.podCidr;
  if (opts.serviceCidr) cfg.serviceCidr = opts.serviceCidr;
  if (opts.clusterDomain) cfg.clusterDomain = opts.clusterDomain;
  if (opts.dnsPort !== undefined) cfg.dnsPort = opts.dnsPort;
  if (opts.egress !== undefined) cfg.egress = opts.egress;
  if (opts.metricsAddress !== undefined) cfg.metricsAddress = opts.metricsAddress;
  if (opts.sidecarInjection !== undefined) cfg.sidecarInjection = opts.sidecarInjection;
  derive(cfg); // validates
  return cfg;
}

/** The config the daemon of this state folder last ran with (for `down` without a daemon). */
export function savedConfig(stateDir: string): DaemonConfig | undefined {
  try {
    return { ...defaultConfig(stateDir), ...(JSON.parse(readFileSync(join(stateDir, CONFIG_FILE), 'utf8')) as Partial<DaemonConfig>), stateDir };
  } catch {
    return undefined;
  }
}

async function daemonAnswers(socketPath: string): Promise<boolean> {
  if (!existsSync(socketPath)) return false;
  try {
    await new ApiClient(socketPath).get('/version');
    return true;
  } catch {
    return false;
  }
}

/** Starts the daemon; resolves when it is ready (detached) or when it stops (foreground). */
export async function up(opts: UpOptions, afterReady?: (client: ApiClient) => Promise<void>): Promise<void> {
  const cfg = configFor(opts);
  const paths = derive(cfg);
  mkdirSync(cfg.stateDir, { recursive: true, mode: 0o700 });
  writeFileSync(join(cfg.stateDir, CONFIG_FILE), JSON.stringify(cfg, null, 2));
  if (opts.detach) {
    if (!(await daemonAnswers(paths.socketPath))) await startDetached(opts, paths.socketPath, paths.logPath);
    else process.stderr.write(`meshbox daemon already running (socket ${paths.socketPath})\n`);
    if (afterReady) await afterReady(new ApiClient(paths.socketPath));
    return;
  }
  const log = createLogger('meshbox');
  const daemon = new Daemon({ config: cfg, log });
  const onSignal = (): void => void daemon.stop({ teardown: false });
  process.once('SIGTERM', onSignal);
  process.once('SIGINT', onSignal);
  try {
    await daemon.start();
  } catch (err) {
    await daemon.stop({ teardown: false }).catch(() => undefined);
    throw err;
  }
  if (afterReady) {
    await afterReady(new ApiClient(paths.socketPath)).catch((err: unknown) => process.stderr.write(`error: ${describeError(err)}\n`));
  }
  await daemon.finished;
}

async function startDetached(opts: UpOptions, socketPath: string, logPath: string): Promise<void> {
  const bin = fileURLToPath(new URL('../../../bin/meshbox.js', import.meta.url));
  const args = [bin, '--state-dir', opts.stateDir, 'up'];
  if (opts.bridge) args.push('--bridge', opts.bridge);
  if (opts.podCidr) args.push('--pod-cidr', opts.podCidr);
  if (opts.serviceCidr) args.push('--service-cidr', opts.serviceCidr);
  if (opts.clusterDomain) args.push('--cluster-domain', opts.clusterDomain);
  if (opts.dnsPort !== undefined) args.push('--dns-port', String(opts.dnsPort));
  if (opts.egress) args.push('--egress');
  if (opts.metricsAddress !== undefined) args.push('--metrics-address', opts.metricsAddress);
  if (opts.sidecarInjection !== undefined) args.push('--sidecar-injection', opts.sidecarInjection ? 'on' : 'off');
  const logFd = openSync(logPath, 'a');
  let exited: number | null | undefined;
  try {
    const child = spawn(process.execPath, args, { detached: true, stdio: ['ignore', logFd, logFd] });
    child.on('exit', (code) => (exited = code));
    child.unref();
  } finally {
    closeSync(logFd);
  }
  const timeoutMs = 30_000;
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await daemonAnswers(socketPath)) {
      process.stderr.write(`meshbox daemon running (socket ${socketPath}, log ${logPath})\n`);
      return;
    }
    if (exited !== undefined) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  const tail = readTail(logPath, 15);
  throw StartTimeout(timeoutMs, `${logPath}${tail ? `\n${tail}` : ''}`);
}

function readTail(path: string, lines: number): string {
  try {
    const text = readFileSync(path, 'utf8').trimEnd().split('\n').slice(-lines);
    return text
      .map((l) => {
        try {
          const j = JSON.parse(l) as { msg?: string; err?: string };
          return `  ${j.msg ?? ''}${j.err ? `: ${j.err}` : ''}`;
        } catch {
          return `  ${l}`;
        }
      })
      .join('\n');
  } catch {
    return '';
  }
}

/** Stops the daemon and removes every pod, netns, veth, rule and file it made, running or not. */
export async function down(stateDir: string): Promise<void> {
  const cfg = savedConfig(stateDir) ?? defaultConfig(stateDir);
  const paths = derive(cfg);
  if (await daemonAnswers(paths.socketPath)) {
    const pidText = existsSync(join(stateDir, 'meshbox.pid')) ? readFileSync(join(stateDir, 'meshbox.pid'), 'utf8').trim() : '';
    await new ApiClient(paths.socketPath).request('POST', '/apis/meshbox.dev/v1/shutdown?teardown=true', {});
    const pid = Number(pidText);
    const deadline = Date.now() + 120_000;
    while (pid && Date.now() < deadline && processAlive(pid)) await new Promise((r) => setTimeout(r, 50));
  } else {
    await teardownOffline(cfg, createLogger('meshbox'));
  }
  process.stderr.write(`meshbox is down: pods, network and state in ${stateDir} removed\n`);
}

