/** What every command gets: its streams, the environment, the clock and the API client. */
import type { Readable, Writable } from 'node:stream';
import { ApiClient, socketPathOf, stateDirFrom } from './client.js';

export interface CliIO {
  stdout: Writable;
  stderr: Writable;
  stdin: Readable;
  env: NodeJS.ProcessEnv;
  /** milliseconds since the epoch, for AGE columns */
  now: () => number;
  /** aborts long-running commands (watch, logs -f); SIGINT in a terminal */
  signal?: AbortSignal;
}

export class CliContext {
  readonly io: CliIO;
  /** set by commands whose exit status is not 0/1 (exec passes the command's on) */
  exitCode = 0;
  #stateDirOption: () => string | undefined;

  constructor(io: CliIO, stateDirOption: () => string | undefined) {
    this.io = io;
    this.#stateDirOption = stateDirOption;
  }

  get stdout(): Writable {
    return this.io.stdout;
  }

  get stderr(): Writable {
    return this.io.stderr;
  }

  stateDir(): string {
    return stateDirFrom(this.#stateDirOption(), this.io.env);
  }

  client(): ApiClient {
    return new ApiClient(socketPathOf(this.stateDir()));
  }

  out(text: string): void {
    this.io.stdout.write(text);
  }

  warn(text: string): void {
    this.io.stderr.write(text);
  }
}
