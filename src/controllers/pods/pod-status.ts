/**
 * Pod status as the kubelet computes it: phase from container states (kubelet's getPhase), the four
 * standard conditions, and container statuses. Pure, so it is tested without containers.
 */
import type { Condition, ContainerStatus, Pod, PodStatus } from '../../api/types.js';
import { rfc3339 } from '../../core/clock.js';
import { sidecarNames } from './sidecars.js';

export interface ObservedPod {
  podIP?: string;
  hostIP: string;
  startTime?: string;
  /** one per spec container, in spec order */
  containers: ContainerStatus[];
  initContainers?: ContainerStatus[];
  /** init containers all completed, sidecars started (or there are none) */
  initialized: boolean;
  /** a regular init container failed and the pod's policy is Never: the pod has failed */
  initFailed?: boolean;
  /** why the pod cannot start at all (sandbox failure, missing image), if so */
  blocked?: { reason: string; message: string };
}

export function podPhase(pod: Pod, observed: ObservedPod): PodStatus['phase'] {
  if (observed.initFailed) return 'Failed';
  if (!observed.initialized) return 'Pending';
  let running = 0;
  let waiting = 0;
  let stopped = 0;
  let succeeded = 0;
  for (const c of observed.containers) {
    const s = c.state;
    if ('running' in s) running++;
    else if ('terminated' in s) {
      stopped++;
      if (s.terminated.exitCode === 0) succeeded++;
    } else if ('terminated' in c.lastState) stopped++;
    else waiting++;
  }
  if (waiting > 0) return 'Pending';
  if (running > 0) return 'Running';
  if (stopped > 0) {
    const policy = pod.spec.restartPolicy ?? 'Always';
    if (policy === 'Always') return 'Running';
    if (stopped === succeeded) return 'Succeeded';
    if (policy === 'Never') return 'Failed';
    return 'Running';
  }
  return 'Pending';
}

function condition(
  previous: Condition[] | undefined,
  type: string,
  status: Condition['status'],
  now: number,
  reason?: string,
  message?: string,
): Condition {
  const old = previous?.find((c) => c.type === type);
  const lastTransitionTime = old && old.status === status && old.lastTransitionTime ? old.lastTransitionTime : rfc3339(now);
  const c: Condition = { type, status, lastProbeTime: null, lastTransitionTime };
  if (reason) c.reason = reason;
  if (message) c.message = message;
  return c;
}

export function computePodStatus(pod: Pod, observed: ObservedPod, now: number): PodStatus {
  const previous = pod.status?.conditions;
  const phase = podPhase(pod, observed);
  // sidecars (restartable init containers) count toward readiness like app containers
  const sidecars = sidecarNames(pod);
  const notReady = [...(observed.initContainers ?? []).filter((c) => sidecars.has(c.name)), ...observed.containers].filter((c) => !c.ready).map((c) => c.name);
  const terminal = phase === 'Succeeded' || phase === 'Failed';
  const readyReason = terminal ? 'PodCompleted' : notReady.length ? 'ContainersNotReady' : undefined;
  const readyMessage = !terminal && notReady.length ? `containers with unready status: [${notReady.join(' ')}]` : undefined;
  const readyStatus = !terminal && notReady.length === 0 && observed.containers.length > 0 ? 'True' : 'False';
  const conditions: Condition[] = [
    condition(previous, 'PodReadyToStartContainers', observed.podIP ? 'True' : 'False', now),
    condition(previous, 'Initialized', observed.initialized ? 'True' : 'False', now, observed.initialized ? undefined : 'ContainersNotInitialized'),
    condition(previous, 'Ready', readyStatus, now, readyReason, readyMessage),
    condition(previous, 'ContainersReady', readyStatus, now, readyReason, readyMessage),
    condition(previous, 'PodScheduled', 'True', now),
  ];
  const status: PodStatus = {
    phase,
    conditions,
    hostIP: observed.hostIP,
    containerStatuses: observed.containers,
    qosClass: qosClass(pod),
  };
  if (observed.initContainers?.length) status.initContainerStatuses = observed.initContainers;
  if (observed.podIP) {
    status.podIP = observed.podIP;
    status.podIPs = [{ ip: observed.podIP }];
  }
  if (observed.startTime) status.startTime = observed.startTime;
  return status;
}

/** Kubernetes' QoS class from requests and limits. */
export function qosClass(pod: Pod): 'Guaranteed' | 'Burstable' | 'BestEffort' {
  let any = false;
  let guaranteed = true;
  for (const c of pod.spec.containers) {
    const limits = c.resources?.limits ?? {};
    const requests = c.resources?.requests ?? {};
    if (Object.keys(limits).length || Object.keys(requests).length) any = true;
    for (const r of ['cpu', 'memory']) {
      const limit = limits[r];
      const request = requests[r] ?? limit;
      if (limit === undefined || String(request) !== String(limit)) guaranteed = false;
    }
  }
  if (!any) return 'BestEffort';
  return guaranteed ? 'Guaranteed' : 'Burstable';
}
