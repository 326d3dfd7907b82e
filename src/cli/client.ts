/**
 * The CLI's client for the daemon API: HTTP/1.1 over `<state-dir>/meshbox.sock` with node:http.
 * A Status answer becomes a MeshboxError carrying the daemon's code (details.causes[0].reason).
 */
import { request, type IncomingMessage } from 'node:http';
import type { Readable, Writable } from 'node:stream';
import { join } from 'node:path';
import type { KubeObject } from '../api/types.js';
import { apiVersionOf, type ResourceType } from '../api/resources.js';
import { MeshboxError } from '../core/errors.js';
import { Channel, encodeFrame, FrameDecoder, type ExecStatus } from '../daemon/api-exec-stream.js';
import { EXEC_PROTOCOL, type KubeStatus } from '../daemon/api-types.js';
import { ApiFailed, ApiUnreachable, DaemonNotRunning } from './errors.js';

export const DEFAULT_STATE_DIR = '/var/lib/meshbox';

/** --state-dir, else $MESHBOX_STATE_DIR, else /var/lib/meshbox */
export function stateDirFrom(option: string | undefined, env: NodeJS.ProcessEnv = process.env): string {
  return option || env.MESHBOX_STATE_DIR || DEFAULT_STATE_DIR;
}

export function socketPathOf(stateDir: string): string {
  return join(stateDir, 'meshbox.sock');
}

/** REST path of a collection or object: /api/v1/namespaces/default/pods/web/status */
export function resourcePath(r: ResourceType, namespace?: string, name?: string, sub?: string): string {
  let p = r.group ? `/apis/${apiVersionOf(r)}` : `/api/${r.version}`;
  if (r.namespaced && namespace !== undefined) p += `/namespaces/${encodeURIComponent(namespace)}`;
  p += `/${r.plural}`;
  if (name !== undefined) p += `/${encodeURIComponent(name)}`;
  if (sub !== undefined) p += `/${sub}`;
  return p;
}

export interface ListResponse {
  apiVersion: string;
  kind: string;
  metadata: { resourceVersion: string };
  items: KubeObject[];
}

export interface WatchLine {
  type: 'ADDED' | 'MODIFIED' | 'DELETED' | 'ERROR';
  object: KubeObject;
}

export class ApiClient {
  readonly socketPath: string;

  constructor(socketPath: string) {
    this.socketPath = socketPath;
  }

  async get<T = KubeObject>(path: string): Promise<T> {
    return this.request<T>('GET', path);
  }

  async request<T = unknown>(method: string, path: string, body?: unknown, contentType = 'application/json'): Promise<T> {
    const res = await this.#send(method, path, body, contentType);
    const text = await readAll(res);
    const parsed = text ? safeJson(text) : undefined;
    if ((res.statusCode ?? 500) >= 400) throw statusError(res.statusCode ?? 500, parsed, text);
    return parsed as T;
  }

  /** A streaming GET (logs); rejects with the daemon's error when it answers with one. */
  async stream(path: string): Promise<IncomingMessage> {
    const res = await this.#send('GET', path);
    if ((res.statusCode ?? 500) >= 400) {
      const text = await readAll(res);
      throw statusError(res.statusCode ?? 500, safeJson(text), text);
    }
    return res;
  }

  /** Newline-delimited watch events until the server ends the stream or `signal` aborts. */
  async *watch(path: string, signal?: AbortSignal): AsyncGenerator<WatchLine> {
    const res = await this.stream(path);
    const onAbort = (): void => void res.destroy();
    signal?.addEventListener('abort', onAbort, { once: true });
    let buf = '';
    try {
      for await (const chunk of res as AsyncIterable<Buffer>) {
        buf += chunk.toString('utf8');
        let nl: number;
        while ((nl = buf.indexOf('\n')) >= 0) {
          const line = buf.slice(0, nl);
          buf = buf.slice(nl + 1);
          if (line.trim()) yield JSON.parse(line) as WatchLine;
        }
      }
    } catch (err) {
      if (!signal?.aborted) throw err;
    } finally {
      signal?.removeEventListener('abort', onAbort);
      res.destroy();
    }
  }

  /** Runs a command in a pod over the exec Upgrade stream; resolves to its exit code. */
  exec(path: string, io: { stdin?: Readable | undefined; stdout: Writable; stderr: Writable }): Promise<number> {
    return new Promise<number>((resolve, reject) => {
      const req = request({
        socketPath: this.socketPath,
        path,
        method: 'POST',
        headers: { connection: 'Upgrade', upgrade: EXEC_PROTOCOL },
      });
      req.on('error', (err) => reject(this.#connectError(err)));
      req.on('response', async (res) => {
        const text = await readAll(res);
        reject(statusError(res.statusCode ?? 500, safeJson(text), text));
      });
      req.on('upgrade', (_res, socket, head) => {
        const decoder = new FrameDecoder();
        let status: ExecStatus | undefined;
        const onData = (chunk: Buffer): void => {
          for (const f of decoder.push(chunk)) {
            if (f.channel === Channel.stdout) io.stdout.write(Buffer.from(f.payload));
            else if (f.channel === Channel.stderr) io.stderr.write(Buffer.from(f.payload));
            else if (f.channel === Channel.status) status = JSON.parse(f.payload.toString('utf8')) as ExecStatus;
          }
        };
        if (head.length > 0) onData(head);
        socket.on('data', onData);
        socket.on('error', () => undefined);
        socket.on('close', () => {
          io.stdin?.unpipe?.();
          if (!status) reject(ApiFailed('the exec stream ended without an exit status (did the daemon stop?)'));
          else if (status.error !== undefined) reject(new MeshboxError(status.code ?? 'MBX_CLI_API_ERROR', status.error));
          else resolve(status.exitCode ?? 0);
        });
        if (io.stdin) {
          io.stdin.on('data', (d: Buffer) => {
            if (!socket.destroyed) socket.write(encodeFrame(Channel.stdin, d));
          });
          io.stdin.on('end', () => {
            if (!socket.destroyed) socket.write(encodeFrame(Channel.closeStdin));
          });
        }
      });
      req.end();
    });
  }

  #send(method: string, path: string, body?: unknown, contentType = 'application/json'): Promise<IncomingMessage> {
    return new Promise((resolve, reject) => {
      const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
      const headers: Record<string, string | number> = { accept: 'application/json' };
      if (payload) {
        headers['content-type'] = contentType;
        headers['content-length'] = payload.length;
      }
      const req = request({ socketPath: this.socketPath, path, method, headers }, resolve);
      req.on('error', (err) => reject(this.#connectError(err)));
      req.end(payload);
    });
  }

  #connectError(err: unknown): MeshboxError {
    const code = (err as NodeJS.ErrnoException).code;
    // the message says all there is to say; the errno would only repeat the path
    if (code === 'ENOENT' || code === 'ECONNREFUSED') return DaemonNotRunning(this.socketPath);
    return ApiUnreachable(this.socketPath, (err as Error).message, { cause: err });
  }
}

function statusError(httpStatus: number, parsed: unknown, text: string): MeshboxError {
  const s = parsed as Partial<KubeStatus> | undefined;
  if (s && s.kind === 'Status') {
    const code = s.details?.causes?.[0]?.reason;
    return new MeshboxError(code && code.startsWith('MBX_') ? code : 'MBX_CLI_API_ERROR', s.message ?? `HTTP ${httpStatus}`, {
      httpStatus,
      details: { status: s },
    });
  }
  return ApiFailed(`the daemon answered HTTP ${httpStatus}: ${text.slice(0, 200)}`, { httpStatus });
}

async function readAll(res: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of res as AsyncIterable<Buffer>) chunks.push(c);
  return Buffer.concat(chunks).toString('utf8');
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** Calls `fn` with each watch event of a stream from `ApiClient.stream(path + '?watch=true')`. */
export function onWatchLines(res: NodeJS.ReadableStream, fn: (line: WatchLine) => void): void {
  let buf = '';
  res.on('data', (chunk: Buffer) => {
    buf += chunk.toString('utf8');
    let nl: number;
    while ((nl = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      if (line.trim()) fn(JSON.parse(line) as WatchLine);
    }
  });
}
