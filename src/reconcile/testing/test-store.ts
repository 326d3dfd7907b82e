/**
 * The Store the framework's tests run against. One place to switch backends: tests call
 * `openTestStore()` and `reopen()` (a daemon restart: same data, new store instance).
 */
import type { Store } from '../../store/types.js';
import { MemoryStore } from './memory-store.js';

export interface TestStore {
  store: Store;
  /** closes this instance and opens the same data again */
  reopen(): Store;
  cleanup(): void;
}

export function openTestStore(): TestStore {
  const store = new MemoryStore();
  const ts: TestStore = {
    store,
    // Memory has no file to reopen; the instance itself stands in for the persisted data.
    reopen: () => store,
    cleanup: () => store.close(),
  };
  return ts;
}
