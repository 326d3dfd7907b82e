/** The mount table of this process (/proc/self/mountinfo), parsed. */
import { readFileSync } from 'node:fs';

export interface MountEntry {
  id: string;
  parent: string;
  devMajorMinor: string;
  root: string;
  mountPoint: string;
}

/** mountinfo escapes spaces and such as octal (\040) */
function unescape(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
}

export function readMounts(): MountEntry[] {
  const out: MountEntry[] = [];
  for (const line of readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
    const f = line.split(' ');
    if (f.length < 5) continue;
    out.push({ id: f[0]!, parent: f[1]!, devMajorMinor: f[2]!, root: unescape(f[3]!), mountPoint: unescape(f[4]!) });
  }
  return out;
}
