/**
 * A ProbeTarget over a container exec function shaped like ContainerRuntime.exec / Runc.exec
 * (argv, { stdout, stderr, signal }) → exit code. Output is collected up to 10 KiB, stdout and
 * stderr interleaved; the timeout aborts the exec (runc passes SIGTERM on to the command).
 */
import { Writable } from 'node:stream';
import { MAX_OUTPUT_BYTES, type ExecResult, type ProbeTarget } from './probe-target.js';

export interface ExecStreams {
  stdout?: Writable;
  stderr?: Writable;
  signal?: AbortSignal;
}

/** e.g. `(argv, io) => containers.exec(containerId, argv, io)` */
export type ContainerExec = (argv: string[], io: ExecStreams) => Promise<number>;

export function execTarget(podIP: string, exec: ContainerExec): ProbeTarget {
  return {
    podIP,
    async exec(argv: string[], timeoutMs: number): Promise<ExecResult> {
      const chunks: Buffer[] = [];
      let size = 0;
      const sink = new Writable({
        write(chunk: Buffer, _enc, cb) {
          if (size < MAX_OUTPUT_BYTES) {
            const part = chunk.subarray(0, MAX_OUTPUT_BYTES - size);
            chunks.push(part);
            size += part.length;
          }
          cb(); // keep draining past the limit so the command never blocks on a full pipe
        },
      });
      const signal = AbortSignal.timeout(timeoutMs);
      const exitCode = await exec(argv, { stdout: sink, stderr: sink, signal });
      return { exitCode, output: Buffer.concat(chunks).toString('utf8') };
    },
  };
}
