/**
 * Container log files: one plain file per container run, `<podDir>/logs/<container>/<restartCount>.log`,
 * written directly by the container (its stdout and stderr are the file, opened for append). The
 * previous run's file stays for `meshbox logs --previous` until the pod folder goes.
 *
 *   logPathFor(podDir, containerName, restartCount): string
 *   listLogRuns(podDir, containerName): number[]         restart counts that have a file, ascending
 *   openLog(path, { tail?, follow?, isRunning?, pollMs? }): Readable
 *       tail: only the last N lines; follow: keep reading new lines until isRunning() says false
 *       (then drain what is left and end). Without isRunning, follow lasts until the stream is destroyed.
 */
import { open, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';

export function logPathFor(podDir: string, containerName: string, restartCount: number): string {
  return join(podDir, 'logs', containerName, `${restartCount}.log`);
}

export async function listLogRuns(podDir: string, containerName: string): Promise<number[]> {
  try {
    const names = await readdir(join(podDir, 'logs', containerName));
    return names
      .map((n) => /^(\d+)\.log$/.exec(n)?.[1])
      .filter((n): n is string => n !== undefined)
      .map(Number)
      .sort((a, b) => a - b);
  } catch {
    return [];
  }
}

export interface OpenLogOptions {
  tail?: number;
  follow?: boolean;
  isRunning?: () => Promise<boolean> | boolean;
  pollMs?: number;
}

const CHUNK = 64 * 1024;

/** Byte offset where the last `lines` lines of the file start. Reads backwards in chunks. */
export async function tailOffset(fh: import('node:fs/promises').FileHandle, size: number, lines: number): Promise<number> {
  if (lines <= 0) return size;
  let pos = size;
  let newlines = 0;
  const buf = Buffer.alloc(CHUNK);
  // a final newline ends the last line; it does not start a new one
  let skipFinal = true;
  while (pos > 0) {
    const len = Math.min(CHUNK, pos);
    pos -= len;
    await fh.read(buf, 0, len, pos);
    for (let i = len - 1; i >= 0; i--) {
      if (buf[i] !== 0x0a) {
        skipFinal = false;
        continue;
      }
      if (skipFinal && pos + i === size - 1) continue;
      newlines++;
      if (newlines === lines) return pos + i + 1;
    }
  }
  return 0;
}

export function openLog(path: string, opts: OpenLogOptions = {}): Readable {
  const pollMs = opts.pollMs ?? 200;
  let stopped = false;
  const gen = async function* (): AsyncGenerator<Buffer> {
    const fh = await open(path, 'r');
    try {
      const { size } = await fh.stat();
      let pos = opts.tail !== undefined ? await tailOffset(fh, size, opts.tail) : 0;
      const buf = Buffer.alloc(CHUNK);
      for (;;) {
        // check before reading, so nothing written before the exit is lost
        const running = opts.follow && opts.isRunning ? await opts.isRunning() : true;
        for (;;) {
          const { bytesRead } = await fh.read(buf, 0, CHUNK, pos);
          if (bytesRead === 0) break;
          pos += bytesRead;
          yield Buffer.from(buf.subarray(0, bytesRead));
        }
        if (!opts.follow || !running || stopped) return;
        await new Promise((r) => setTimeout(r, pollMs));
      }
    } finally {
      await fh.close();
    }
  };
  const stream = Readable.from(gen(), { objectMode: false });
  stream.on('close', () => {
    stopped = true;
  });
  return stream;
}
