import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { it } from 'node:test';
import { run } from '../main.js';

/** A daemon stand-in on <dir>/meshbox.sock whose reviews counter grows by 10 per read. */
async function fakeDaemon(dir: string, failRead = 0): Promise<{ reads: () => number; close(): Promise<void> }> {
  let reads = 0;
  const server = http.createServer((req, res) => {
    if (req.url !== '/metrics') return void res.writeHead(404).end();
    reads++;
    if (reads === failRead) return void res.writeHead(503, { 'content-type': 'application/json' }).end(JSON.stringify({ kind: 'Status', message: 'daemon restarting' }));
    const labels = 'reporter="destination",destination_service_name="reviews",destination_service_namespace="shop",namespace="shop",pod="reviews-a"';
    res.end(`# TYPE istio_requests_total counter\nistio_requests_total{${labels},response_code="200"} ${reads * 10}\n`);
  });
  await new Promise<void>((r) => server.listen(join(dir, 'meshbox.sock'), r));
  return { reads: () => reads, close: () => new Promise<void>((r) => server.close(() => r())) };
}

class Screen extends Writable {
  isTTY: boolean;
  frames: string[] = [];
  onFrame: (() => void) | undefined;
  constructor(tty: boolean) {
    super();
    this.isTTY = tty;
  }
  override _write(chunk: Buffer, _enc: string, cb: () => void): void {
    this.frames.push(chunk.toString());
    this.onFrame?.();
    cb();
  }
}

it('on a terminal, top redraws in place: screen cleared once, then cursor home and lines cleared to their end; a failed read shows and the next recovers', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'mbx-top-'));
  const daemon = await fakeDaemon(dir, 3);
  try {
    const screen = new Screen(true);
    const stop = new AbortController();
    screen.onFrame = () => {
      if (screen.frames.length === 4) stop.abort();
    };
    const code = await run(['--state-dir', dir, 'top', '-A', '--interval', '0.1'], { stdout: screen, stderr: screen, signal: stop.signal });
    assert.equal(code, 0);
    assert.equal(screen.frames.length, 4);
    assert.ok(screen.frames[0]!.startsWith('\x1b[2J\x1b[H'), 'the first frame clears the screen');
    for (const f of screen.frames.slice(1)) {
      assert.ok(f.startsWith('\x1b[H') && !f.includes('\x1b[2J'), 'later frames only move home: no flicker');
      assert.ok(f.endsWith('\n\x1b[J'), 'what is below the table is cleared');
      for (const line of f.split('\n').slice(0, -1)) assert.ok(line.endsWith('\x1b[K'), `each line clears its end: ${JSON.stringify(line)}`);
    }
    assert.match(screen.frames[0]!, /reviews\s+shop\s+\d+/);
    assert.match(screen.frames[1]!, /error: .*daemon restarting/);
    assert.match(screen.frames[2]!, /reviews\s+shop\s+\d+/);
    assert.equal(daemon.reads(), 5, 'one read per frame plus the first');
  } finally {
    await daemon.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

it('top --once prints one plain table; -n and -A together are a usage error', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'mbx-top-'));
  const daemon = await fakeDaemon(dir);
  try {
    const out = new Screen(false);
    assert.equal(await run(['--state-dir', dir, 'top', '-n', 'shop', '--once', '--interval', '0.2'], { stdout: out, stderr: out }), 0);
    const text = out.frames.join('');
    assert.doesNotMatch(text, /\x1b/);
    const [header, row] = text.trimEnd().split('\n');
    assert.match(header!, /^SERVICE\s+NAMESPACE\s+RPS\s+SUCCESS\s+P50\s+P95\s+P99$/);
    // 10 requests between the two reads, about 0.2 s apart
    const rps = Number(row!.split(/\s+/)[2]);
    assert.ok(rps > 10 && rps <= 50, `rps ${rps}`);
    assert.match(row!, /^reviews\s+shop\s+\S+\s+100\.0%\s+-\s+-\s+-$/);
    const err = new Screen(false);
    assert.equal(await run(['--state-dir', dir, 'top', '-n', 'shop', '-A', '--once'], { stdout: err, stderr: err }), 1);
    assert.match(err.frames.join(''), /-n and -A exclude each other/);
  } finally {
    await daemon.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
