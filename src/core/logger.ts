import { pino, type Logger } from 'pino';

export type { Logger };

/** The process-wide logger (JSON lines on stderr); components take a child with their name. */
export function createLogger(name: string, level = process.env.MESHBOX_LOG_LEVEL ?? 'info'): Logger {
  return pino({ name, level, base: { pid: process.pid } }, pino.destination({ fd: 2, sync: false }));
}

/** A logger that drops everything, for tests. */
export { silentLogger } from './silent-logger.js';
