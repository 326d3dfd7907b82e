import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server, type Socket } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defaultBootstrap } from '../meshconfig/load-proxy-config-file.js';
import type { Snapshot } from '../meshconfig/types.js';
import { onFrames, writeFrame } from '../meshconfig/xds/codec.js';
import { RESOURCE_TYPES, encodeResource, snapshotResources } from '../meshconfig/xds/protocol.js';
import { silentLogger } from '../core/logger.js';
import { runProxyFromXds } from './run-from-xds.js';

/** A minimal control plane: answers a hello with one full batch per `send` and records replies. */
class FakeControlPlane {
  readonly server: Server;
  readonly replies: { t: string; version: string; error?: string }[] = [];
  hellos: { node: { id: string }; token: string }[] = [];
  #socket: Socket | undefined;
  #nonce = 0;
  constructor(readonly path: string) {
    this.server = createServer((socket) => {
      this.#socket = socket;
      onFrames(socket, (m) => {
        const msg = m as { t: string; version: string; error?: string; node: { id: string }; token: string };
        if (msg.t === 'hello') this.hellos.push(msg);
        else this.replies.push(msg);
      });
    });
  }
  listen(): Promise<void> {
    return new Promise((r) => this.server.listen(this.path, r));
  }
  send(s: Snapshot): void {
    const res = snapshotResources(s);
    RESOURCE_TYPES.forEach((type, i) => {
      writeFrame(this.#socket!, {
        t: 'push',
        nonce: String(++this.#nonce),
        type,
        version: s.version,
        batch: s.version,
        last: i === RESOURCE_TYPES.length - 1,
        full: true,
        removed: [],
        resources: res[type].map((r) => JSON.parse(encodeResource(r.name, r.body).json) as unknown),
      });
    });
  }
  async close(): Promise<void> {
    this.#socket?.destroy();
    await new Promise((r) => this.server.close(r));
  }
}

function direct(version: string, body: string): Snapshot {
  return {
    version,
    clusters: [],
    listeners: [{ name: 'gw', address: '127.0.0.1', port: 0, protocol: 'http', direction: 'outbound', routeConfig: 'r' }],
    routes: [{ name: 'r', virtualHosts: [{ name: 'all', domains: ['*'], routes: [{ name: 'd', directResponse: { status: 200, body } }] }] }],
  };
}

async function until(pred: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 5000;
  while (!pred()) {
    if (Date.now() > deadline) throw new Error(`timed out: ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

test('runProxyFromXds serves pushed config, NACKs a bad one and keeps serving without the control plane', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'mbx-xds-'));
  const cp = new FakeControlPlane(join(dir, 'xds.sock'));
  await cp.listen();
  const bootstrap = defaultBootstrap();
  for (const k of ['admin', 'stats', 'health'] as const) bootstrap[k] = { address: '127.0.0.1', port: 0 };
  bootstrap.accessLog = 'off';
  const running = await runProxyFromXds({
    target: { path: cp.path },
    nodeId: 'router~127.0.0.1~gw.ns~ns.svc.cluster.local',
    token: 'tok',
    bootstrap,
    logger: silentLogger,
    handleSignals: false,
    exit: () => undefined,
  });
  try {
    await until(() => cp.hellos.length === 1, 'hello');
    assert.equal(cp.hellos[0]!.node.id, 'router~127.0.0.1~gw.ns~ns.svc.cluster.local');
    assert.equal(cp.hellos[0]!.token, 'tok');

    cp.send(direct('1', 'one'));
    await until(() => cp.replies.length === 4, 'acks of version 1');
    assert.deepEqual(new Set(cp.replies.map((r) => r.t)), new Set(['ack']));
    const port = running.proxy.addresses().gw!;
    assert.equal(await (await fetch(`http://127.0.0.1:${port}/`)).text(), 'one');

    // A route naming a cluster that does not exist is invalid: NACKed, version 1 keeps serving.
    const bad = direct('2', 'two');
    bad.routes[0]!.virtualHosts[0]!.routes[0] = { name: 'd', route: [{ cluster: 'missing', weight: 100 }] };
    cp.send(bad);
    await until(() => cp.replies.length === 8, 'nacks of version 2');
    assert.ok(cp.replies.slice(4).every((r) => r.t === 'nack' && r.version === '1' && (r.error ?? '').length > 0));
    assert.equal(await (await fetch(`http://127.0.0.1:${port}/`)).text(), 'one');

    await cp.close();
    await until(() => !running.client.connected, 'disconnect');
    assert.equal(await (await fetch(`http://127.0.0.1:${port}/`)).text(), 'one');
  } finally {
    await running.close();
    await cp.close().catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  }
});
