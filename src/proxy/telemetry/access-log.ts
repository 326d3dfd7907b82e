/**
 * JSON access log lines, batched per event-loop turn so a busy proxy makes one write per turn
 * rather than one per request. "off" makes `enabled` false and the proxy skips building lines.
 */
import { createWriteStream, type WriteStream } from 'node:fs';

export class AccessLog {
  readonly enabled: boolean;
  #lines: string[] = [];
  #scheduled = false;
  readonly #out: NodeJS.WritableStream | WriteStream | undefined;
  readonly #own: WriteStream | undefined;

  constructor(target: string) {
    this.enabled = target !== 'off';
    if (!this.enabled) this.#out = undefined;
    else if (target === 'stdout') this.#out = process.stdout;
    else if (target === 'stderr') this.#out = process.stderr;
    else this.#out = this.#own = createWriteStream(target, { flags: 'a' });
  }

  write(entry: Record<string, unknown>): void {
    if (!this.enabled) return;
    this.#lines.push(JSON.stringify(entry));
    if (!this.#scheduled) {
      this.#scheduled = true;
      setImmediate(() => this.flush());
    }
  }

  flush(): void {
    this.#scheduled = false;
    if (this.#lines.length === 0 || !this.#out) return;
    const text = `${this.#lines.join('\n')}\n`;
    this.#lines = [];
    this.#out.write(text);
  }

  async close(): Promise<void> {
    this.flush();
    if (this.#own) await new Promise<void>((r) => this.#own?.end(r));
  }
}
