/**
 * The Store the framework's tests run against: the real SqliteStore in a temporary state folder
 * (controller-runtime's advice: test against the real store, not a fake). `reopen()` is a daemon
 * restart: the same database file, a new store instance.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqliteStore } from '../../store/sqlite-store.js';
import type { Store } from '../../store/types.js';

export interface TestStore {
  readonly store: Store;
  /** closes the current instance and opens the same data again */
  reopen(): Store;
  cleanup(): void;
}

export function openTestStore(): TestStore {
  const stateDir = mkdtempSync(join(tmpdir(), 'mbx-reconcile-'));
  let store: Store = new SqliteStore({ stateDir });
  return {
    get store() {
      return store;
    },
    reopen() {
      store.close();
      store = new SqliteStore({ stateDir });
      return store;
    },
    cleanup() {
      store.close();
      rmSync(stateDir, { recursive: true, force: true });
    },
  };
}
