/** Error catalog of the CLI. Errors from the daemon keep their own codes (from the Status). */
import { defineError } from '../core/errors.js';

export const DaemonNotRunning = defineError(
  'MBX_CLI_DAEMON_NOT_RUNNING',
  (socketPath: string) => `meshbox daemon is not running (no socket at ${socketPath}): start it with \`meshbox up\``,
  { retryable: true },
);

export const ApiUnreachable = defineError(
  'MBX_CLI_API_UNREACHABLE',
  (socketPath: string, why: string) => `cannot talk to the meshbox daemon at ${socketPath} (${why}): check that \`meshbox up\` is running and that you are root`,
  { retryable: true },
);

export const ApiFailed = defineError('MBX_CLI_API_ERROR', (message: string) => message);

export const UnknownKind = defineError(
  'MBX_CLI_UNKNOWN_KIND',
  (kind: string) => `the server doesn't have a resource type "${kind}": see the kinds with \`meshbox get --help\``,
);

export const Usage = defineError('MBX_CLI_USAGE', (message: string) => message);

export const NotImplemented = defineError(
  'MBX_CLI_NOT_IMPLEMENTED',
  (command: string) => `\`meshbox ${command}\` is not implemented in this build yet`,
);

export const ManifestInvalid = defineError(
  'MBX_CLI_MANIFEST_INVALID',
  (count: number) => `${count} problem${count === 1 ? '' : 's'} in the manifests; nothing was applied`,
);

export const ManifestUnreadable = defineError(
  'MBX_CLI_MANIFEST_UNREADABLE',
  (path: string, why: string) => `cannot read ${path}: ${why}`,
);
