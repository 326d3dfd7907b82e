/**
 * A small logger writing pino's JSON line format ({level,time,pid,name,...fields,msg}) to stderr,
 * for the standalone proxy process. The proxy logs a handful of lines (start, config applied or
 * rejected, drain), so pino's worker-thread and stream machinery (~8 MB RSS per sidecar) buys
 * nothing there. Only the calls the proxy makes are implemented; the rest are no-ops.
 */
import type { Logger } from '../core/logger.js';

const LEVELS: Record<string, number> = { trace: 10, debug: 20, info: 30, warn: 40, error: 50, fatal: 60, silent: Infinity };

export function createLineLogger(name: string, level = process.env.MESHBOX_LOG_LEVEL ?? 'info', write: (line: string) => void = (l) => process.stderr.write(l)): Logger {
  const min = LEVELS[level] ?? 30;
  const emit = (n: number, a: unknown, b: unknown): void => {
    if (n < min) return;
    let fields: Record<string, unknown> = {};
    let msg: unknown = b;
    if (typeof a === 'string') msg = a;
    else if (a instanceof Error) fields = { err: { type: a.name, message: a.message, stack: a.stack } };
    else if (a !== null && typeof a === 'object') fields = a as Record<string, unknown>;
    write(JSON.stringify({ level: n, time: Date.now(), pid: process.pid, name, ...fields, ...(msg === undefined ? {} : { msg }) }) + '\n');
  };
  const logger = {
    level,
    trace: (a: unknown, b?: unknown) => emit(10, a, b),
    debug: (a: unknown, b?: unknown) => emit(20, a, b),
    info: (a: unknown, b?: unknown) => emit(30, a, b),
    warn: (a: unknown, b?: unknown) => emit(40, a, b),
    error: (a: unknown, b?: unknown) => emit(50, a, b),
    fatal: (a: unknown, b?: unknown) => emit(60, a, b),
    silent: () => {},
    isLevelEnabled: (l: string) => (LEVELS[l] ?? 30) >= min,
    child: (bindings: Record<string, unknown>) => createLineLogger(String(bindings['name'] ?? name), level, write),
  };
  return logger as unknown as Logger;
}
