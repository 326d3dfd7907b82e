/** `meshbox down` when no daemon answers: clean up what a crashed or killed daemon left. */
import type { Logger } from '../core/logger.js';
import { derive, type DaemonConfig } from './config.js';
import { buildMachine, removeEverything } from './machine.js';

export async function teardownOffline(cfg: DaemonConfig, log: Logger): Promise<void> {
  await removeEverything(cfg, buildMachine(cfg, derive(cfg), log), log);
}
