// Lifecycle hooks: the kubelet's messages, the HTTP hook's transport-only failures, sleep, the
// unsupported tcpSocket, postStart events and preStop grace accounting. Real sockets on 127.0.0.1,
// a boundary fake for runc exec, and real child processes behind execTarget.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import { spawn } from 'node:child_process';
import type { Container, KubeObject, Pod } from '../../../api/types.js';
import { findCause } from '../../../core/errors.js';
import { runHandler, runPostStart, runPreStop, MINIMUM_GRACE_SECONDS } from './lifecycle.js';
import { execTarget, type ContainerExec } from './exec-target.js';
import { runProbe } from './run-probe.js';
import type { ExecResult, ProbeTarget } from './probe-target.js';

const pod: Pod = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'web', namespace: 'shop', uid: 'u1' }, spec: { containers: [] } };
const ctx = (container: Partial<Container> = {}) => ({ pod, container: { name: 'app', image: 'host', ...container } });

const fake = (fn: (argv: string[]) => Promise<ExecResult> | ExecResult): ProbeTarget => ({ podIP: '127.0.0.1', exec: async (argv) => fn(argv) });

async function withServer<T>(handler: http.RequestListener, fn: (port: number, hits: string[]) => Promise<T>): Promise<T> {
  const hits: string[] = [];
  const server = http.createServer((req, res) => {
    hits.push(`${req.url} ${req.headers['user-agent']}`);
    handler(req, res);
  });
  const port = await new Promise<number>((r) => server.listen(0, '127.0.0.1', () => r((server.address() as net.AddressInfo).port)));
  try {
    return await fn(port, hits);
  } finally {
    server.close();
  }
}

/** a real process stands in for `runc exec`: same (argv, io) contract */
const localExec: ContainerExec = (argv, io) =>
  new Promise((resolve, reject) => {
    const child = spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
    if (io.stdout) child.stdout.pipe(io.stdout, { end: false });
    if (io.stderr) child.stderr.pipe(io.stderr, { end: false });
    io.signal?.addEventListener('abort', () => child.kill('SIGTERM'), { once: true });
    child.on('error', reject);
    child.on('close', (code, sig) => resolve(code ?? (sig ? 143 : 1)));
  });

describe('runHandler', () => {
  test('exec: exit 0 passes; a failure carries the kubelet message', async () => {
    await runHandler({ exec: { command: ['true'] } }, fake(() => ({ exitCode: 0, output: '' })), 1000, ctx());
    await assert.rejects(
      runHandler({ exec: { command: ['sh', '-c', 'exit 3'] } }, fake(() => ({ exitCode: 3, output: 'boom\n' })), 1000, ctx()),
      (err: Error) => {
        assert.ok(findCause(err, 'MBX_PROBE_HOOK_FAILED'));
        assert.equal(err.message, `Exec lifecycle hook ([sh -c exit 3]) for Container "app" in Pod "web_shop(u1)" failed - error: command 'sh -c exit 3' exited with 3: boom\n, message: "boom\\n"`);
        return true;
      },
    );
  });

  test('httpGet: any response passes (Kubernetes checks transport only); a refused connection fails', async () => {
    await withServer(
      (_q, s) => s.writeHead(500).end(),
      async (port, hits) => {
        await runHandler({ httpGet: { path: '/hook', port } }, fake(() => ({ exitCode: 0, output: '' })), 1000, ctx());
        assert.deepEqual(hits, ['/hook kube-probe/1.30']);
      },
    );
    const closed = await new Promise<number>((r) => {
      const s = net.createServer().listen(0, '127.0.0.1', () => {
        const p = (s.address() as net.AddressInfo).port;
        s.close(() => r(p));
      });
    });
    await assert.rejects(runHandler({ httpGet: { path: '/hook', port: closed } }, fake(() => ({ exitCode: 0, output: '' })), 1000, ctx()), {
      message: `HTTP lifecycle hook (/hook) for Container "app" in Pod "web_shop(u1)" failed - error: Get "http://127.0.0.1:${closed}/hook": dial tcp 127.0.0.1:${closed}: connect: connection refused`,
    });
  });

  test('sleep waits; tcpSocket is refused as unsupported', async () => {
    const t0 = Date.now();
    await runHandler({ sleep: { seconds: 0.2 } }, fake(() => ({ exitCode: 0, output: '' })), 1000, ctx());
    assert.ok(Date.now() - t0 >= 190);
    await assert.rejects(runHandler({ tcpSocket: { port: 80 } }, fake(() => ({ exitCode: 0, output: '' })), 1000, ctx()), (err: Error) => {
      assert.ok(findCause(err, 'MBX_PROBE_HOOK_UNSUPPORTED'));
      assert.match(err.message, /^Cannot run handler: invalid handler: tcpSocket/);
      return true;
    });
  });
});

describe('postStart and preStop', () => {
  test('postStart failure records FailedPostStartHook and returns the message; success returns nothing', async () => {
    const events: string[] = [];
    const sink = { event: (_o: KubeObject, type: string, reason: string, message: string) => void events.push(`${type} ${reason} ${message}`) };
    const c = ctx({ lifecycle: { postStart: { exec: { command: ['setup'] } } } });
    assert.equal(await runPostStart(c, fake(() => ({ exitCode: 0, output: '' })), { events: sink }), undefined);
    const msg = await runPostStart(c, fake(() => ({ exitCode: 1, output: 'no' })), { events: sink });
    assert.match(msg ?? '', /^Exec lifecycle hook \(\[setup\]\) for Container "app"/);
    assert.deepEqual(events, [`Warning FailedPostStartHook ${msg}`]);
    assert.equal(await runPostStart(ctx(), fake(() => ({ exitCode: 1, output: '' }))), undefined, 'no hook, nothing to do');
  });

  test('preStop time is taken from the grace period, never below the minimum; failures are events', async () => {
    const events: string[] = [];
    const sink = { event: (_o: KubeObject, _t: string, reason: string) => void events.push(reason) };
    const slow = ctx({ lifecycle: { preStop: { sleep: { seconds: 1.1 } } } });
    assert.deepEqual(await runPreStop(slow, fake(() => ({ exitCode: 0, output: '' })), 10, { events: sink }), { remainingGraceSeconds: 9 });
    assert.deepEqual(await runPreStop(ctx(), fake(() => ({ exitCode: 0, output: '' })), 10), { remainingGraceSeconds: 10 }, 'no hook: full grace');
    const failing = ctx({ lifecycle: { preStop: { exec: { command: ['drain'] } } } });
    const r = await runPreStop(failing, fake(() => ({ exitCode: 2, output: '' })), 1, { events: sink });
    assert.equal(r.remainingGraceSeconds, MINIMUM_GRACE_SECONDS);
    assert.deepEqual(events, ['FailedPreStopHook']);
    const t0 = Date.now();
    const outlived = await runPreStop(ctx({ lifecycle: { preStop: { exec: { command: ['hang'] } } } }), fake(() => new Promise<ExecResult>(() => {})), 1, { events: sink });
    assert.ok(Date.now() - t0 < 2000, 'the hook is bounded by the grace period');
    assert.equal(outlived.remainingGraceSeconds, MINIMUM_GRACE_SECONDS);
    assert.deepEqual(events, ['FailedPreStopHook'], 'a hook the grace ran out under is no event');
  });
});

describe('execTarget', () => {
  test('collects stdout and stderr, passes the exit code, and aborts on timeout', async () => {
    const t = execTarget('10.0.0.9', localExec);
    assert.equal(t.podIP, '10.0.0.9');
    assert.deepEqual(await t.exec(['sh', '-c', 'echo out; echo err >&2; exit 4'], 2000), { exitCode: 4, output: 'out\nerr\n' });
    const big = await t.exec(['sh', '-c', 'head -c 100000 /dev/zero | tr "\\0" x'], 2000);
    assert.equal(big.output.length, 10 * 1024, 'output is capped at 10 KiB');
    const t0 = Date.now();
    const r = await runProbe({ exec: { command: ['sleep', '5'] } }, { name: 'app' }, t, 300);
    assert.deepEqual(r, { outcome: 'failure', output: 'command "sleep 5" timed out' });
    assert.ok(Date.now() - t0 < 1500);
  });
});
