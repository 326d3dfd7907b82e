/**
 * What the pod reconciler needs from the machine: a sandbox (netns + CNI attachment + pod files) and
 * containers in it. `RuntimePodRuntime` (runtime-adapter.ts) implements it over src/cni and
 * src/runtime; the reconciler depends only on this interface.
 */
import type { Container, Pod } from '../../api/types.js';

export interface Sandbox {
  ip: string;
  /** true when this call created it (false: an existing sandbox was adopted) */
  created: boolean;
}

export type RuntimeContainerState =
  | { state: 'absent' }
  | { state: 'running'; containerId: string; startedAt: number; attempt: number }
  | {
      state: 'exited';
      containerId: string;
      attempt: number;
      startedAt: number;
      finishedAt: number;
      exitCode: number;
      signal?: number;
      oomKilled: boolean;
    };

export interface StartContainerRequest {
  pod: Pod;
  container: Container;
  /** 0 for the first run, then the restart count: names the run's log file */
  attempt: number;
  env: Map<string, string>;
  podIP: string;
}

export interface PodRuntime {
  /** Idempotent: returns the pod's sandbox, creating it (netns, CNI ADD, pod files) when missing. */
  ensureSandbox(pod: Pod): Promise<Sandbox>;
  /** Stops what still runs and removes the sandbox (CNI DEL, netns, cgroups, files). Idempotent. */
  removePod(pod: Pod, graceSeconds: number): Promise<void>;
  containerState(pod: Pod, containerName: string): Promise<RuntimeContainerState>;
  /** Removes an exited run of the container (if any) and starts a new one. */
  startContainer(req: StartContainerRequest): Promise<void>;
  stopContainer(pod: Pod, containerName: string, graceSeconds: number): Promise<void>;
  /** uids of every pod that has anything on this machine, for garbage collection */
  listPodUids(): Promise<Set<string>>;
  /** removes everything of a pod the store no longer knows, by uid */
  removeOrphan(podUid: string): Promise<void>;
  /** calls `onExit(podUid)` soon after any container exits */
  watchExits(onExit: (podUid: string) => void): () => void;
}
