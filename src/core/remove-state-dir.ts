/**
 * rm -rf of a state folder, refused while anything is mounted below it: a daemon's host rootfs is
 * a bind of "/", and removing through a leftover mount would delete the machine's own files.
 */
import { rmSync } from 'node:fs';
import { readMounts } from './mountinfo.js';

/** Mount points at or below `dir`. */
export function mountsBelow(dir: string): string[] {
  return readMounts()
    .map((m) => m.mountPoint)
    .filter((mp) => mp === dir || mp.startsWith(`${dir}/`));
}

export function removeStateDir(dir: string): void {
  const mounted = mountsBelow(dir);
  if (mounted.length > 0) throw new Error(`not removing ${dir}: still mounted below it: ${mounted.join(', ')}`);
  rmSync(dir, { recursive: true, force: true });
}
