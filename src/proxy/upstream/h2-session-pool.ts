/**
 * One multiplexed HTTP/2 cleartext (prior knowledge) session per upstream endpoint, reconnected
 * on demand. Streams are opened with `request(headers)`; the session is closed gracefully on
 * `close()` so in-flight streams finish.
 */
import type http2 from 'node:http2';
import { createRequire } from 'node:module';

// Loaded on the first HTTP/2 upstream connection (~5 MB RSS an HTTP/1.1-only sidecar never needs).
const requireBuiltin = createRequire(import.meta.url);

export class H2SessionPool {
  readonly #authority: string;
  readonly #connectTimeoutMs: number;
  #session: http2.ClientHttp2Session | undefined;
  #closed = false;

  constructor(address: string, port: number, connectTimeoutMs: number) {
    this.#authority = `http://${address.includes(':') ? `[${address}]` : address}:${port}`;
    this.#connectTimeoutMs = connectTimeoutMs;
  }

  session(): http2.ClientHttp2Session {
    const s = this.#session;
    if (s && !s.closed && !s.destroyed) return s;
    const next = (requireBuiltin('node:http2') as typeof http2).connect(this.#authority, { peerMaxConcurrentStreams: 1000 });
    next.on('error', () => {
      // Stream-level errors report the failure; the session is simply dropped.
      if (this.#session === next) this.#session = undefined;
    });
    next.on('close', () => {
      if (this.#session === next) this.#session = undefined;
    });
    next.on('goaway', () => {
      if (this.#session === next) this.#session = undefined;
    });
    next.setTimeout(this.#connectTimeoutMs, () => {
      if (!next.connecting) return;
      next.destroy(new Error(`connect timeout after ${this.#connectTimeoutMs}ms`));
    });
    next.unref();
    this.#session = next;
    return next;
  }

  get closed(): boolean {
    return this.#closed;
  }

  async close(): Promise<void> {
    this.#closed = true;
    const s = this.#session;
    this.#session = undefined;
    if (s && !s.closed) await new Promise<void>((r) => s.close(r));
  }
}
