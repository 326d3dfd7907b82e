/**
 * The kubelet's crash-loop back-off, per container: the first restart after a crash is immediate, each
 * later one waits 10 s doubling up to 5 min, and a container that ran for 10 min resets it
 * (kubelet's flowcontrol.Backoff with initial 10 s, max 300 s, as used by doBackOff).
 */
export const BACKOFF_INITIAL_MS = 10_000;
export const BACKOFF_MAX_MS = 300_000;
export const BACKOFF_RESET_AFTER_RUN_MS = 600_000;

interface Entry {
  /** the current back-off; 0 until the first crash has been restarted */
  delayMs: number;
  /** finish time of the exit the back-off counts from */
  since: number;
}

export class RestartBackoff {
  #entries = new Map<string, Entry>();

  /**
   * How long to wait (ms from `now`) before restarting the container that exited at `finishedAt`
   * after running for `ranMs`; 0 means restart now. Call `restarted` when the restart happens.
   */
  remaining(key: string, finishedAt: number, ranMs: number, now: number): number {
    const entry = this.#entries.get(key);
    if (!entry) return 0;
    if (ranMs >= BACKOFF_RESET_AFTER_RUN_MS) {
      this.#entries.delete(key);
      return 0;
    }
    if (entry.since !== finishedAt) {
      // a newer exit: the back-off counts from it
      entry.since = finishedAt;
    }
    return Math.max(0, entry.since + entry.delayMs - now);
  }

  /** Records a restart; the next crash waits twice as long (10 s after the first). */
  restarted(key: string, finishedAt: number): void {
    const entry = this.#entries.get(key);
    const delayMs = entry ? Math.min(BACKOFF_MAX_MS, entry.delayMs * 2) : BACKOFF_INITIAL_MS;
    this.#entries.set(key, { delayMs, since: finishedAt });
  }

  /** The back-off the next crash will wait, for messages ("back-off 20s restarting failed container"). */
  currentDelay(key: string): number {
    return this.#entries.get(key)?.delayMs ?? 0;
  }

  forget(keyPrefix: string): void {
    for (const key of this.#entries.keys()) if (key.startsWith(keyPrefix)) this.#entries.delete(key);
  }
}
