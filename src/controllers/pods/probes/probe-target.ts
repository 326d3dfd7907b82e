/**
 * The boundary between probes and the machine: where a probe connects (the pod IP) and how it runs a
 * command inside the container. The lead backs `exec` with `runc exec`; tests use a fake.
 */
export interface ExecResult {
  exitCode: number;
  /** stdout and stderr, interleaved as the command wrote them */
  output: string;
}

export interface ProbeTarget {
  podIP: string;
  /**
   * Runs argv in the container. Should stop the command once timeoutMs passes (the caller also stops
   * waiting then and reports a timeout).
   */
  exec(argv: string[], timeoutMs: number): Promise<ExecResult>;
}

/** success: the check passed; warning: passed with a remark (redirect not followed); failure: did not pass. */
export type ProbeOutcome = 'success' | 'warning' | 'failure';

export interface ProbeResult {
  outcome: ProbeOutcome;
  /** what the kubelet shows after "Readiness probe failed: " (status code, error, command output) */
  output: string;
}

/** The kubelet reads at most 10 KiB of a probe's response body or command output. */
export const MAX_OUTPUT_BYTES = 10 * 1024;

/** kubelet's User-Agent, major.minor of the Kubernetes version meshbox follows. */
export const PROBE_USER_AGENT = 'kube-probe/1.30';
