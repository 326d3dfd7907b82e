/**
 * Kubernetes' native sidecars (KEP-753): an init container with `restartPolicy: Always` starts in
 * init order, counts as initialized once it has started (its startupProbe passed), keeps running
 * beside the app containers, restarts whatever the pod's policy, and is stopped after them.
 */
import type { Container, Pod } from '../../api/types.js';

export function isSidecar(c: Container): boolean {
  return c.restartPolicy === 'Always';
}

/** The pod's sidecars in init order. */
export function sidecarsOf(pod: Pod): Container[] {
  return (pod.spec?.initContainers ?? []).filter(isSidecar); // spec may be absent in a pod read from the API
}

/** The names of the pod's sidecars. */
export function sidecarNames(pod: Pod): Set<string> {
  return new Set(sidecarsOf(pod).map((c) => c.name));
}

/** Containers that run beside the app (and so have probes): the app containers and the sidecars. */
export function longRunningContainers(pod: Pod): Container[] {
  return [...sidecarsOf(pod), ...pod.spec.containers];
}
