/**
 * Newline-delimited JSON frames. JSON never contains a raw newline, so a frame is one line; a frame
 * longer than `maxFrameBytes` is a protocol error (it protects both ends from an unbounded buffer).
 */
import type { Socket } from 'node:net';

export const DEFAULT_MAX_FRAME_BYTES = 256 * 1024 * 1024;

export class FrameTooLarge extends Error {
  constructor(limit: number) {
    super(`config stream frame larger than ${limit} bytes`);
  }
}

export class LineDecoder {
  readonly #max: number;
  #parts: Buffer[] = [];
  #size = 0;

  constructor(maxFrameBytes = DEFAULT_MAX_FRAME_BYTES) {
    this.#max = maxFrameBytes;
  }

  /** Feeds a chunk; returns the complete lines (without "\n"). Throws FrameTooLarge. */
  push(chunk: Buffer): string[] {
    const lines: string[] = [];
    let start = 0;
    for (let nl = chunk.indexOf(10, start); nl !== -1; nl = chunk.indexOf(10, start)) {
      const piece = chunk.subarray(start, nl);
      if (this.#parts.length > 0) {
        this.#parts.push(piece);
        lines.push(Buffer.concat(this.#parts).toString('utf8'));
        this.#parts = [];
        this.#size = 0;
      } else {
        lines.push(piece.toString('utf8'));
      }
      start = nl + 1;
    }
    if (start < chunk.length) {
      const rest = chunk.subarray(start);
      this.#size += rest.length;
      if (this.#size > this.#max) throw new FrameTooLarge(this.#max);
      this.#parts.push(rest);
    }
    return lines;
  }
}

/** Reads JSON frames from a socket; a bad frame destroys the socket with the error. */
export function onFrames(socket: Socket, onFrame: (msg: unknown) => void, maxFrameBytes = DEFAULT_MAX_FRAME_BYTES): void {
  const decoder = new LineDecoder(maxFrameBytes);
  socket.on('data', (chunk: Buffer) => {
    let lines: string[];
    try {
      lines = decoder.push(chunk);
    } catch (err) {
      socket.destroy(err as Error);
      return;
    }
    for (const line of lines) {
      if (line.length === 0) continue;
      let msg: unknown;
      try {
        msg = JSON.parse(line);
      } catch {
        socket.destroy(new Error('config stream frame is not JSON'));
        return;
      }
      onFrame(msg);
      if (socket.destroyed) return;
    }
  });
}

export function writeFrame(socket: Socket, msg: unknown): boolean {
  return socket.write(JSON.stringify(msg) + '\n');
}

export function writeRaw(socket: Socket, json: string): boolean {
  return socket.write(json + '\n');
}
