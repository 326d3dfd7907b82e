/** Error catalog of the proxy config model (shared by the proxy and the control plane). */
import { defineError } from '../core/errors.js';

export interface ConfigIssue {
  /** dotted path into the config, e.g. `routes[0].virtualHosts[1].routes[2].match[0].path` */
  path: string;
  message: string;
}

export const ConfigInvalid = defineError(
  'MBX_MESHCONFIG_INVALID',
  (source: string, issues: readonly ConfigIssue[]) =>
    `proxy config ${source} is invalid (${issues.length} issue${issues.length === 1 ? '' : 's'}); fix these and reload, the previous config keeps serving:\n` +
    issues.map((i) => `  ${i.path}: ${i.message}`).join('\n'),
  { httpStatus: 400 },
);

export const ConfigUnreadable = defineError(
  'MBX_MESHCONFIG_UNREADABLE',
  (path: string, reason: string) => `cannot read proxy config file ${path}: ${reason}; check the path and its permissions`,
  { httpStatus: 400 },
);

export const ConfigUnparsable = defineError(
  'MBX_MESHCONFIG_UNPARSABLE',
  (path: string, reason: string) => `proxy config file ${path} is not valid YAML or JSON: ${reason}; fix the syntax and reload`,
  { httpStatus: 400 },
);
