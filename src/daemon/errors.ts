/** Errors of the daemon process: preflight checks and lifecycle. Each says what to do. */
import { defineError } from '../core/errors.js';

export const NotRoot = defineError(
  'MBX_DAEMON_NOT_ROOT',
  () => 'meshbox creates network namespaces, bridges, iptables rules and containers, which needs root: run it as root (sudo meshbox up)',
);
export const AlreadyRunning = defineError(
  'MBX_DAEMON_ALREADY_RUNNING',
  (pid: number, stateDir: string) =>
    `a meshbox daemon (pid ${pid}) already runs with state folder ${stateDir}: stop it with \`meshbox down\`, or start another with --state-dir, --bridge and --pod-cidr of its own`,
);
export const NotRunning = defineError(
  'MBX_DAEMON_NOT_RUNNING',
  (socket: string) => `meshbox daemon is not running (no socket at ${socket}): start it with \`meshbox up\``,
);
export const StartTimeout = defineError(
  'MBX_DAEMON_START_TIMEOUT',
  (ms: number, log: string) => `the daemon did not answer within ${ms} ms; see its log at ${log}`,
);
