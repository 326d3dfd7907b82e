/**
 * Waits and reads on a pod's first container that the daemon-backed tests (pods, probes) share,
 * on top of MeshboxHarness.eventually.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ContainerStatus, Pod } from '../../../src/api/types.js';
import type { CliResult, MeshboxHarness } from './meshbox-harness.js';

/** The Ready condition is True. */
export function podReady(p: Pod | undefined): boolean {
  return p?.status?.conditions?.find((c) => c.type === 'Ready')?.status === 'True';
}

export function isRunning(s: ContainerStatus): boolean {
  return 'running' in s.state;
}

/**
 * Polls until the pod's first container status satisfies `match`; returns the pod and that status
 * (the harness's timeout message names `what`).
 */
export function waitForContainer(
  h: MeshboxHarness,
  name: string,
  what: string,
  match: (s: ContainerStatus) => boolean,
  timeoutMs = 30_000,
): Promise<{ pod: Pod; status: ContainerStatus }> {
  return h.eventually(what, async () => {
    const pod = await h.pod(name);
    const status = pod?.status?.containerStatuses?.[0];
    return pod && status && match(status) ? { pod, status } : undefined;
  }, timeoutMs);
}

/** `meshbox delete pod NAME --grace-period 0`: the end of a test that needs no graceful stop. */
export function deletePodNow(h: MeshboxHarness, name: string): Promise<CliResult> {
  return h.cli(['delete', 'pod', name, '--grace-period', '0']);
}

/** Polls until the pod reaches `phase`; returns it. */
export function waitForPhase(h: MeshboxHarness, name: string, phase: NonNullable<Pod['status']>['phase'], timeoutMs = 60_000): Promise<Pod> {
  return h.eventually(`${name} ${phase}`, async () => {
    const p = await h.pod(name);
    return p?.status?.phase === phase ? p : undefined;
  }, timeoutMs);
}

/**
 * The host pid of a pod container's init process, from the runtime's pid file (container id
 * `<podUid>-<container>-<attempt>`, attempt = the restartCount of that run).
 */
export function containerPid(h: MeshboxHarness, podUid: string, container: string, attempt: number): number {
  return Number(readFileSync(join(h.stateDir, 'containers', `${podUid}-${container}-${attempt}`, 'pid'), 'utf8'));
}
