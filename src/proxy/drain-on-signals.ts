/**
 * SIGTERM/SIGINT for a proxy process, shared by the file-fed (main.ts) and xDS-fed
 * (run-from-xds.ts) runners: the first signal logs, drains through `close`, then exits 0; later
 * signals are ignored while that runs.
 */
import type { Logger } from '../core/logger.js';

export interface DrainOnSignalsOptions {
  log: Logger;
  /** drain and stop; must be idempotent (quitquitquit may run it too) */
  close: () => Promise<void>;
  exit: (code: number) => void;
  isClosing: () => boolean;
}

/** Installs the handlers; returns the function that removes them. */
export function drainOnSignals(o: DrainOnSignalsOptions): () => void {
  const onSignal = (sig: string): void => {
    if (o.isClosing()) return;
    o.log.info({ signal: sig }, 'draining');
    void o.close().then(() => o.exit(0));
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  return () => {
    process.removeListener('SIGTERM', onSignal);
    process.removeListener('SIGINT', onSignal);
  };
}
