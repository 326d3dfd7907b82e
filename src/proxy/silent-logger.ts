/**
 * A logger that drops everything, for a Proxy built without one. It stands in for core/logger's
 * pino-based `silentLogger` because importing pino costs a sidecar ~8 MB RSS.
 */
import type { Logger } from '../core/logger.js';

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
