/**
 * Error catalog of the CNI runtime side. Every error names the plugin (or the bridge/CIDR) involved,
 * and plugin failures keep the plugin's numeric CNI code in `details.cniCode` so edges can map it back.
 */
import { defineError } from '../core/errors.js';

export const PluginNotFound = defineError(
  'MBX_CNI_PLUGIN_NOT_FOUND',
  (plugin: string, dirs: readonly string[]) =>
    `CNI plugin "${plugin}" not found in ${dirs.join(', ')}: install the Debian package containernetworking-plugins ` +
    `(apt-get install containernetworking-plugins) or add the folder holding it to the CNI plugin dirs`,
  { httpStatus: 503 },
);

export const PluginFailed = defineError(
  'MBX_CNI_PLUGIN_FAILED',
  (plugin: string, command: string, attachment: string, msg: string, hint: string) =>
    `CNI plugin "${plugin}" failed on ${command} for ${attachment}: ${msg}; ${hint}`,
);

export const PluginBadOutput = defineError(
  'MBX_CNI_PLUGIN_BAD_OUTPUT',
  (plugin: string, command: string, problem: string) =>
    `CNI plugin "${plugin}" returned an unusable ${command} result (${problem}): ` +
    `check that the plugin speaks the conflist's cniVersion (run it with CNI_COMMAND=VERSION)`,
);

export const PluginTimedOut = defineError(
  'MBX_CNI_PLUGIN_TIMEOUT',
  (plugin: string, command: string, ms: number) =>
    `CNI plugin "${plugin}" did not finish ${command} within ${ms} ms and was killed: ` +
    `look for a hung iptables lock or a stuck netns, then retry`,
  { retryable: true, httpStatus: 503 },
);

export const ConfigInvalid = defineError(
  'MBX_CNI_CONFIG_INVALID',
  (network: string, problem: string) => `CNI network config "${network}" is invalid: ${problem}; fix the conflist`,
  { httpStatus: 400 },
);

export const AttachmentInvalid = defineError(
  'MBX_CNI_ATTACHMENT_INVALID',
  (problem: string) => `invalid CNI attachment: ${problem}`,
  { httpStatus: 400 },
);

export const NotAttached = defineError(
  'MBX_CNI_NOT_ATTACHED',
  (network: string, attachment: string) =>
    `no cached CNI result for ${attachment} on network "${network}": run ADD first (CHECK needs the result ADD cached)`,
  { httpStatus: 404 },
);

export const CacheCorrupt = defineError(
  'MBX_CNI_CACHE_CORRUPT',
  (file: string, problem: string) =>
    `CNI result cache file ${file} is unreadable (${problem}): delete it and run GC to clean up what it described`,
);

export const DelFailed = defineError(
  'MBX_CNI_DEL_FAILED',
  (network: string, attachment: string, count: number) =>
    `CNI DEL of ${attachment} on network "${network}" failed in ${count} plugin(s); ` +
    `the cached result is kept, so run DEL again (it is idempotent) or let GC retry`,
  { retryable: true },
);

export const CidrClash = defineError(
  'MBX_CNI_CIDR_CLASH',
  (subnet: string, what: string) =>
    `pod CIDR ${subnet} overlaps ${what} on this machine: choose another range with meshbox up --pod-cidr`,
  { httpStatus: 409 },
);

export const BridgeClash = defineError(
  'MBX_CNI_BRIDGE_CLASH',
  (bridge: string, what: string) =>
    `bridge name ${bridge} is already taken: ${what}; choose another name with meshbox up --bridge ` +
    `(or make --pod-cidr match the bridge's address)`,
  { httpStatus: 409 },
);

export const PluginIncompatible = defineError(
  'MBX_CNI_PLUGIN_INCOMPATIBLE',
  (plugin: string, wanted: string, supported: readonly string[]) =>
    `CNI plugin "${plugin}" does not speak cniVersion ${wanted} (it supports ${supported.join(', ') || 'nothing it would say'}): ` +
    `install a newer containernetworking-plugins or lower the conflist's cniVersion`,
  { httpStatus: 503 },
);

export const AlreadyAttached = defineError(
  'MBX_CNI_ALREADY_ATTACHED',
  (network: string, attachment: string) =>
    `${attachment} is already attached to network "${network}": CHECK it, or DEL it before running ADD again`,
  { httpStatus: 409 },
);
