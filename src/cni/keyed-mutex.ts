/** One async mutex per key: no two CNI operations run for the same container at once (SPEC.md). */
export class KeyedMutex {
  /** tail of each key's queue; removed when the last holder finishes so the map does not grow */
  #tails = new Map<string, Promise<void>>();

  async with<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const previous = this.#tails.get(key) ?? Promise.resolve();
    let release!: () => void;
    const mine = new Promise<void>((resolve) => (release = resolve));
    const tail = previous.then(() => mine);
    this.#tails.set(key, tail);
    await previous;
    try {
      return await fn();
    } finally {
      release();
      if (this.#tails.get(key) === tail) this.#tails.delete(key);
    }
  }

  /** keys with a holder or waiters, for tests */
  get size(): number {
    return this.#tails.size;
  }
}
