/**
 * What the pod benchmarks time with: an apply through the code path of `meshbox apply` (manifest
 * loading and checks, then one POST to the daemon's apply endpoint), and the moment pods become
 * Ready or gone, seen on an API watch opened before the action (no polling interval added to the
 * figure; a 100 ms poll made meshbox look up to 100 ms slower than the un-polled baseline).
 *
 *   applyYaml(client, yaml): Promise<void>
 *   PodWatch.open(client, namespace, labelSelector): Promise<PodWatch>
 *   watch.until(what, (pods) => boolean, timeoutMs): Promise<void>
 *   watch.close(): void
 *   readyCount(pods): number
 */
import type { IncomingMessage } from 'node:http';
import { onWatchLines, type ApiClient, type WatchLine } from '../../src/cli/client.js';
import { loadOrFail } from '../../src/cli/manifests.js';
import { APPLY_PATH } from '../../src/daemon/api-types.js';
import type { Pod } from '../../src/api/types.js';

/** `meshbox apply -f -` without the CLI process: the same manifest loading and the same request. */
export async function applyYaml(client: ApiClient, yaml: string): Promise<void> {
  const loaded = loadOrFail([{ path: '<bench>', text: yaml }], (line) => process.stderr.write(line));
  await client.request('POST', APPLY_PATH, { items: loaded.documents.map((d) => d.object), dryRun: false });
}

export function readyCount(pods: ReadonlyMap<string, Pod>): number {
  let n = 0;
  for (const p of pods.values()) {
    if (!p.metadata.deletionTimestamp && p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True')) n++;
  }
  return n;
}

interface Waiter {
  check: (pods: ReadonlyMap<string, Pod>) => boolean;
  resolve: () => void;
  reject: (err: Error) => void;
}

export class PodWatch {
  readonly #pods = new Map<string, Pod>();
  readonly #res: IncomingMessage;
  #waiters: Waiter[] = [];
  #failure: Error | undefined;

  private constructor(res: IncomingMessage) {
    this.#res = res;
    onWatchLines(res, (line) => this.#event(line));
    res.on('close', () => this.#fail(new Error('the watch stream ended')));
    res.on('error', (err) => this.#fail(err));
  }

  /** Resolves once the daemon has registered the watch (it sends the headers after that). */
  static async open(client: ApiClient, namespace: string, labelSelector: string): Promise<PodWatch> {
    const res = await client.stream(`/api/v1/namespaces/${namespace}/pods?watch=true&labelSelector=${encodeURIComponent(labelSelector)}`);
    return new PodWatch(res);
  }

  until(what: string, check: (pods: ReadonlyMap<string, Pod>) => boolean, timeoutMs: number): Promise<void> {
    if (this.#failure) return Promise.reject(this.#failure);
    if (check(this.#pods)) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#waiters = this.#waiters.filter((w) => w !== waiter);
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`));
      }, timeoutMs);
      const waiter: Waiter = {
        check,
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
        // a failed stream rejects every waiter (#fail)
        reject: (err) => {
          clearTimeout(timer);
          reject(err);
        },
      };
      this.#waiters.push(waiter);
    });
  }

  close(): void {
    this.#failure ??= new Error('the watch was closed');
    this.#res.destroy();
  }

  #event(e: WatchLine): void {
    if (e.type === 'ERROR') return this.#fail(new Error(`watch error: ${JSON.stringify(e.object)}`));
    const pod = e.object as Pod;
    if (e.type === 'DELETED') this.#pods.delete(pod.metadata.name);
    else this.#pods.set(pod.metadata.name, pod);
    const still: Waiter[] = [];
    for (const w of this.#waiters) {
      if (w.check(this.#pods)) w.resolve();
      else still.push(w);
    }
    this.#waiters = still;
  }

  #fail(err: Error): void {
    if (this.#failure) return;
    this.#failure = err;
    for (const w of this.#waiters) w.reject(err);
    this.#waiters = [];
  }
}
