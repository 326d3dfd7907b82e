/**
 * `meshbox proxy --config FILE`: run the proxy from a config file, reload it when the file
 * changes (validated in full; a bad file is logged and the last good config keeps serving), and
 * drain on SIGTERM/SIGINT before exiting.
 */
import { watch, type FSWatcher } from 'node:fs';
import { basename, dirname, resolve } from 'node:path';
import type { Logger } from '../core/logger.js';
import { describeError } from '../core/errors.js';
import { parseDuration } from '../meshconfig/duration.js';
import { loadProxyConfigFile } from '../meshconfig/load-proxy-config-file.js';
import { drainOnSignals } from './drain-on-signals.js';
import { createLineLogger } from './line-logger.js';
import { Proxy, type UpdateResult } from './proxy.js';

export interface RunProxyOptions {
  logger?: Logger;
  /** install SIGTERM/SIGINT handlers that drain and exit (default true) */
  handleSignals?: boolean;
  /** called instead of process.exit when the proxy quits (tests) */
  exit?: (code: number) => void;
  /** debounce for file change events (editors write in several steps) */
  reloadDebounceMs?: number;
}

export interface RunningProxy {
  proxy: Proxy;
  /** reloads the file now; resolves with the ACK/NACK */
  reload(): Promise<UpdateResult>;
  /** drain and stop; removes the watcher and signal handlers */
  close(): Promise<void>;
}

export async function runProxyFromFile(path: string, opts: RunProxyOptions = {}): Promise<RunningProxy> {
  const file = resolve(path);
  // Not pino: a sidecar logs a few lines and pino costs ~8 MB RSS (line-logger.ts).
  const log = opts.logger ?? createLineLogger('proxy');
  const exit = opts.exit ?? ((code: number) => process.exit(code));
  const config = await loadProxyConfigFile(file);
  let closing = false;
  const proxy = new Proxy({
    bootstrap: config.bootstrap,
    logger: log,
    onQuit: () => {
      void cleanup().then(() => exit(0));
    },
  });
  await proxy.start(config.snapshot);

  const reload = async (): Promise<UpdateResult> => {
    try {
      const next = await loadProxyConfigFile(file);
      if (JSON.stringify(next.bootstrap) !== JSON.stringify(config.bootstrap)) {
        log.warn('bootstrap fields (node, admin, stats, health, accessLog, limits, drainTimeout) changed; they take effect after a restart');
      }
      return await proxy.update(next.snapshot);
    } catch (err) {
      log.warn({ err: describeError(err) }, 'config file rejected; keeping the last good config');
      return { accepted: false, version: proxy.version ?? '', error: err as never };
    }
  };

  // Watch the folder, not the file: editors and config pushers replace files by rename.
  let timer: NodeJS.Timeout | undefined;
  const debounce = opts.reloadDebounceMs ?? 100;
  const watcher: FSWatcher = watch(dirname(file), (_event, name) => {
    if (name !== null && name !== basename(file)) return;
    clearTimeout(timer);
    timer = setTimeout(() => void reload(), debounce);
  });
  watcher.unref();

  const removeSignals = opts.handleSignals !== false ? drainOnSignals({ log, close: cleanup, exit, isClosing: () => closing }) : undefined;

  async function cleanup(): Promise<void> {
    if (closing) return;
    closing = true;
    clearTimeout(timer);
    watcher.close();
    removeSignals?.();
    await proxy.drain(parseDuration(config.bootstrap.drainTimeout) ?? 5000);
    await proxy.stop();
  }

  return { proxy, reload, close: cleanup };
}
