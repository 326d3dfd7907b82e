/**
 * rm -rf of a state folder, refused while anything is mounted below it: a daemon's host rootfs is
 * a bind of "/", and removing through a leftover mount would delete the machine's own files.
 */
import { readFileSync, rmSync } from 'node:fs';

/** Mount points at or below `dir` (from /proc/self/mountinfo; the paths meshbox makes have no spaces). */
export function mountsBelow(dir: string): string[] {
  return readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((l) => l.split(' ')[4] ?? '')
    .filter((mp) => mp === dir || mp.startsWith(`${dir}/`));
}

export function removeStateDir(dir: string): void {
  const mounted = mountsBelow(dir);
  if (mounted.length > 0) throw new Error(`not removing ${dir}: still mounted below it: ${mounted.join(', ')}`);
  rmSync(dir, { recursive: true, force: true });
}
