import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFile, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { listLogRuns, logPathFor, openLog } from './container-logs.js';

async function readAll(s: NodeJS.ReadableStream): Promise<string> {
  let out = '';
  for await (const chunk of s) out += String(chunk);
  return out;
}

test('log paths per run and the list of runs', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'mbx-logs-'));
  try {
    assert.equal(logPathFor('/p', 'web', 2), '/p/logs/web/2.log');
    await mkdir(join(dir, 'logs/web'), { recursive: true });
    for (const n of [0, 10, 2]) await writeFile(logPathFor(dir, 'web', n), '');
    assert.deepEqual(await listLogRuns(dir, 'web'), [0, 2, 10]);
    assert.deepEqual(await listLogRuns(dir, 'none'), []);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('tail returns the last N lines, with or without a final newline, across chunk borders', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'mbx-logs-'));
  try {
    const f = join(dir, 'a.log');
    const lines = Array.from({ length: 20000 }, (_, i) => `line ${i}`);
    await writeFile(f, lines.join('\n') + '\n');
    assert.equal(await readAll(openLog(f, { tail: 3 })), 'line 19997\nline 19998\nline 19999\n');
    assert.equal(await readAll(openLog(f, { tail: 0 })), '');
    await writeFile(f, 'a\nb\nc');
    assert.equal(await readAll(openLog(f, { tail: 2 })), 'b\nc');
    assert.equal(await readAll(openLog(f, { tail: 10 })), 'a\nb\nc');
    assert.equal(await readAll(openLog(f)), 'a\nb\nc');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('follow streams new lines and ends once the container stops', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'mbx-logs-'));
  try {
    const f = join(dir, 'a.log');
    await writeFile(f, 'first\n');
    let running = true;
    const s = openLog(f, { follow: true, pollMs: 10, isRunning: () => running });
    const done = readAll(s);
    await new Promise((r) => setTimeout(r, 50));
    await appendFile(f, 'second\n');
    await new Promise((r) => setTimeout(r, 50));
    await appendFile(f, 'last\n');
    running = false;
    const text = await Promise.race([done, new Promise<string>((_, rej) => setTimeout(() => rej(new Error('follow did not end')), 3000))]);
    assert.equal(text, 'first\nsecond\nlast\n');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
