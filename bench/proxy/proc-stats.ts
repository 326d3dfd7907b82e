/** CPU time and memory of a process from /proc, for per-request CPU cost and RSS. */
import { readFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';

let clkTck: number | undefined;
function ticksPerSecond(): number {
  if (clkTck === undefined) {
    try {
      clkTck = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      clkTck = 100;
    }
  }
  return clkTck;
}

/** User and kernel CPU time of the process (all its threads) in microseconds. */
export function cpuSplitMicros(pid: number): { user: number; kernel: number } {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name (which may contain spaces) start after the last ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const tick = 1e6 / ticksPerSecond();
  return { user: Number(fields[11]) * tick, kernel: Number(fields[12]) * tick };
}

/** utime + stime of the process (all its threads) in microseconds. */
export function cpuMicros(pid: number): number {
  const s = cpuSplitMicros(pid);
  return s.user + s.kernel;
}

/** Resident set size in bytes. */
export function rssBytes(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const m = /VmRSS:\s+(\d+) kB/.exec(status);
  return m ? Number(m[1]) * 1024 : 0;
}
