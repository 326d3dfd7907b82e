/**
 * An async readers-writer lock with writer preference: ADD/DEL/CHECK share the network,
 * GC takes it alone (the CNI spec forbids GC overlapping ADD/DEL on the same network).
 * Writer preference keeps a steady stream of ADDs from starving GC.
 */
export class RwLock {
  #readers = 0;
  #writing = false;
  #waitingWriters: Array<() => void> = [];
  #waitingReaders: Array<() => void> = [];

  async withRead<T>(fn: () => Promise<T>): Promise<T> {
    await this.#acquireRead();
    try {
      return await fn();
    } finally {
      this.#readers--;
      this.#wake();
    }
  }

  async withWrite<T>(fn: () => Promise<T>): Promise<T> {
    await this.#acquireWrite();
    try {
      return await fn();
    } finally {
      this.#writing = false;
      this.#wake();
    }
  }

  #acquireRead(): Promise<void> {
    if (!this.#writing && this.#waitingWriters.length === 0) {
      this.#readers++;
      return Promise.resolve();
    }
    return new Promise((resolve) => this.#waitingReaders.push(resolve));
  }

  #acquireWrite(): Promise<void> {
    if (!this.#writing && this.#readers === 0) {
      this.#writing = true;
      return Promise.resolve();
    }
    return new Promise((resolve) => this.#waitingWriters.push(resolve));
  }

  #wake(): void {
    if (this.#writing) return;
    if (this.#readers === 0) {
      const writer = this.#waitingWriters.shift();
      if (writer) {
        this.#writing = true;
        writer();
        return;
      }
    }
    if (this.#waitingWriters.length > 0) return;
    const readers = this.#waitingReaders.splice(0);
    this.#readers += readers.length;
    for (const r of readers) r();
  }
}
