/**
 * Framing of the exec stream after the HTTP/1.1 Upgrade (modelled on Kubernetes' channel.k8s.io):
 * each frame is 1 byte channel + 4 bytes big-endian payload length + payload.
 *   0 stdin (client → server)     1 stdout     2 stderr
 *   3 status (server → client, last frame): JSON {"exitCode": n} or {"error": msg, "code": "MBX_..."}
 *   4 close stdin (client → server, empty payload)
 */

export const Channel = {
  stdin: 0,
  stdout: 1,
  stderr: 2,
  status: 3,
  closeStdin: 4,
} as const;

export type ChannelId = (typeof Channel)[keyof typeof Channel];

export interface ExecStatus {
  exitCode?: number;
  error?: string;
  code?: string;
}

/** frames larger than this are a protocol error, not a reason to buffer without bound */
export const MAX_FRAME = 1 << 20;

export function encodeFrame(channel: ChannelId, payload: Buffer | string = Buffer.alloc(0)): Buffer {
  const body = typeof payload === 'string' ? Buffer.from(payload) : payload;
  const head = Buffer.allocUnsafe(5);
  head[0] = channel;
  head.writeUInt32BE(body.length, 1);
  return Buffer.concat([head, body]);
}

/** Incremental decoder: push bytes as they arrive, get whole frames back. */
export class FrameDecoder {
  #buf: Buffer = Buffer.alloc(0);

  push(chunk: Buffer): { channel: number; payload: Buffer }[] {
    this.#buf = this.#buf.length === 0 ? chunk : Buffer.concat([this.#buf, chunk]);
    const frames: { channel: number; payload: Buffer }[] = [];
    while (this.#buf.length >= 5) {
      const len = this.#buf.readUInt32BE(1);
      if (len > MAX_FRAME) throw new Error(`exec frame of ${len} bytes exceeds the ${MAX_FRAME}-byte limit`);
      if (this.#buf.length < 5 + len) break;
      frames.push({ channel: this.#buf[0]!, payload: this.#buf.subarray(5, 5 + len) });
      this.#buf = this.#buf.subarray(5 + len);
    }
    return frames;
  }
}
