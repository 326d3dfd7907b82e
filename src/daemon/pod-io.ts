/**
 * `meshbox logs` and `meshbox exec` on this machine: the API server's PodIO over the container
 * runtime's log files and `runc exec`.
 */
import type { Readable } from 'node:stream';
import type { Pod } from '../api/types.js';
import { defineError } from '../core/errors.js';
import type { Store } from '../store/types.js';
import type { ContainerRuntime } from '../runtime/container-runtime.js';
import { listLogRuns, logPathFor, openLog } from '../runtime/container-logs.js';
import type { MachinePodRuntime } from '../controllers/pods/machine-pod-runtime.js';
import type { ExecIO, LogOptions, PodIO } from './api-types.js';

export const PodNotFound = defineError('MBX_POD_NOT_FOUND', (ns: string, name: string) => `pods "${name}" not found in namespace ${ns}`, { httpStatus: 404 });
export const ContainerNameRequired = defineError(
  'MBX_POD_CONTAINER_REQUIRED',
  (pod: string, names: string[]) => `a container name must be specified for pod ${pod}, choose one of: [${names.join(' ')}]`,
  { httpStatus: 400 },
);
export const UnknownContainer = defineError(
  'MBX_POD_CONTAINER_NOT_FOUND',
  (pod: string, name: string, names: string[]) => `container ${name} is not valid for pod ${pod}: choose one of [${names.join(' ')}]`,
  { httpStatus: 400 },
);
export const NoLogs = defineError(
  'MBX_POD_NO_LOGS',
  (pod: string, container: string, previous: boolean) =>
    previous ? `previous terminated container "${container}" in pod "${pod}" not found` : `container "${container}" in pod "${pod}" has not started yet`,
  { httpStatus: 400 },
);
export const NotRunningForExec = defineError(
  'MBX_POD_CONTAINER_NOT_RUNNING',
  (pod: string, container: string) => `container ${container} in pod ${pod} is not running; see \`meshbox describe pod ${pod}\``,
  { httpStatus: 400 },
);

export class MachinePodIO implements PodIO {
  readonly #store: Store;
  readonly #pods: MachinePodRuntime;
  readonly #containers: ContainerRuntime;

  constructor(store: Store, pods: MachinePodRuntime, containers: ContainerRuntime) {
    this.#store = store;
    this.#pods = pods;
    this.#containers = containers;
  }

  #resolve(namespace: string, name: string, container: string | undefined): { pod: Pod; uid: string; container: string } {
    const pod = this.#store.get('pods', namespace, name) as Pod | undefined;
    if (!pod?.metadata.uid) throw PodNotFound(namespace, name);
    const names = pod.spec.containers.map((c) => c.name);
    // kubectl picks the default-container annotation, else the first app container; init containers
    // (the sidecar among them) only by name
    const all = [...names, ...(pod.spec.initContainers ?? []).map((c) => c.name)];
    const chosen = container ?? pod.metadata.annotations?.['kubectl.kubernetes.io/default-container'] ?? names[0];
    if (!chosen) throw ContainerNameRequired(name, names);
    if (!all.includes(chosen)) throw UnknownContainer(name, chosen, all);
    return { pod, uid: pod.metadata.uid, container: chosen };
  }

  async logs(namespace: string, name: string, opts: LogOptions): Promise<Readable> {
    const { uid, container } = this.#resolve(namespace, name, opts.container);
    const podDir = this.#pods.podDir(uid);
    const runs = await listLogRuns(podDir, container);
    const latest = runs.at(-1);
    const run = opts.previous ? runs.at(-2) : latest;
    if (run === undefined) throw NoLogs(name, container, opts.previous === true);
    const isRunning = async (): Promise<boolean> => {
      const current = await this.#pods.latestRun(uid, container);
      return current?.restartCount === run && current.status.state === 'running';
    };
    return openLog(logPathFor(podDir, container, run), {
      ...(opts.tailLines !== undefined ? { tail: opts.tailLines } : {}),
      follow: opts.follow === true && !opts.previous,
      isRunning,
    });
  }

  async exec(namespace: string, name: string, containerName: string | undefined, argv: string[], io: ExecIO): Promise<number> {
    const { uid, container } = this.#resolve(namespace, name, containerName);
    const run = await this.#pods.latestRun(uid, container);
    if (!run || run.status.state !== 'running') throw NotRunningForExec(name, container);
    return this.#containers.exec(run.id, argv, {
      ...(io.stdin ? { stdin: io.stdin } : {}),
      stdout: io.stdout,
      stderr: io.stderr,
      ...(io.signal ? { signal: io.signal } : {}),
    });
  }
}
