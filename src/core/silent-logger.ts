/**
 * A logger that drops everything, without loading pino: code on the sidecar's path (the proxy, the
 * xDS client) imports this one, because pino costs a sidecar ~8 MB RSS.
 */
import type { Logger } from './logger.js';

function noop(): void {}

const silent = {
  level: 'silent',
  fatal: noop,
  error: noop,
  warn: noop,
  info: noop,
  debug: noop,
  trace: noop,
  silent: noop,
  isLevelEnabled: (): boolean => false,
  child: (): unknown => silent,
};

export const silentLogger = silent as unknown as Logger;
