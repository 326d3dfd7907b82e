/** Error catalog of the netfilter rule sets (iptables-restore of meshbox's own chains). */
import { defineError } from '../core/errors.js';

export const RestoreFailed = defineError(
  'MBX_NETFILTER_RESTORE_FAILED',
  (what: string, stderr: string) =>
    `iptables-restore rejected the ${what} rule set: ${stderr.trim()}; the previous rules stay in force. Check that the kernel has the xt_statistic, xt_recent and xt_comment modules (Debian kernels do)`,
  { retryable: true },
);

export const InvalidPrefix = defineError(
  'MBX_NETFILTER_INVALID_PREFIX',
  (prefix: string) =>
    `chain prefix "${prefix}" must be 3 to 10 characters of A-Z, 0-9 and "-"; derive one from the bridge name with chainPrefixFor(bridge)`,
);

export const SysctlFailed = defineError(
  'MBX_NETFILTER_SYSCTL_FAILED',
  (key: string, why: string) =>
    `could not set ${key}: ${why}; services need it (run as root; for bridge-nf-call-iptables load the br_netfilter module: modprobe br_netfilter)`,
);

export const InvalidInterceptionAnnotation = defineError(
  'MBX_INTERCEPTION_BAD_ANNOTATION',
  (key: string, value: string, why: string) => `annotation ${key}: "${value}": ${why}`,
  { httpStatus: 422 },
);

export const InterceptionFailed = defineError(
  'MBX_INTERCEPTION_APPLY_FAILED',
  (netns: string, stderr: string) =>
    `could not install the sidecar's traffic capture in netns ${netns}: ${stderr.trim()}; the kernel needs the nf_nat, xt_REDIRECT and xt_owner modules`,
  { retryable: true },
);
