/** Error catalog of NetworkPolicy enforcement (the host's filter table, chains per bridge). */
import { defineError } from '../../core/errors.js';

export const PolicyRestoreFailed = defineError(
  'MBX_NETPOL_RESTORE_FAILED',
  (bridge: string, stderr: string) =>
    `iptables-restore rejected the NetworkPolicy rules of bridge ${bridge}: ${stderr.trim()}; the previous rules stay in force. Check that the kernel has the conntrack, comment and REJECT modules (Debian kernels do) and that no other program holds the xtables lock`,
  { retryable: true },
);

export const PolicyInvalidCidr = defineError(
  'MBX_NETPOL_INVALID_CIDR',
  (text: string) => `"${text}" is not an IPv4 address or CIDR (like 10.0.0.0/8); fix the ipBlock of the NetworkPolicy (IPv6 is not enforced yet)`,
  { httpStatus: 400 },
);

export const PolicyInvalidBridge = defineError(
  'MBX_NETPOL_INVALID_BRIDGE',
  (bridge: string) => `bridge name "${bridge}" must be 1 to 15 characters of letters, digits, "-", "_" or "."; pass the daemon's bridge (e.g. mbx0)`,
);

export const PolicyHookFailed = defineError(
  'MBX_NETPOL_HOOK_FAILED',
  (bridge: string, why: string) =>
    `could not hook the NetworkPolicy chain of bridge ${bridge} into FORWARD: ${why}; run as root and check that br_netfilter is loaded (modprobe br_netfilter; sysctl net.bridge.bridge-nf-call-iptables=1)`,
  { retryable: true },
);

export const PolicyBridgeNetfilterOff = defineError(
  'MBX_NETPOL_BR_NETFILTER_OFF',
  (why: string) =>
    `NetworkPolicy rules cannot see traffic between pods of one bridge: ${why}; load the br_netfilter module (modprobe br_netfilter) and set net.bridge.bridge-nf-call-iptables=1`,
  { retryable: true },
);
