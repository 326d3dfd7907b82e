/**
 * Config convergence of the mesh control plane: with S services and P simulated proxies connected
 * over real unix sockets, the time from a store write to each affected proxy's ACK (p50, p90, max),
 * and the control plane process's memory. Issue 5's bar: p90 < 1 s and < 500 MB at 1,000 services
 * and 2,000 proxies (Istio reports p90 1.5 s for that size with istiod at 1 vCPU / 1.5 GB).
 *
 *   npx tsc -p . --outDir .build/controlplane --tsBuildInfoFile .build/controlplane/.tsbuildinfo
 *   node .build/controlplane/bench/controlplane/convergence.js [--services 1000] [--proxies 2000]
 *        [--workers 4] [--iterations 5] [--namespaces 10] [--warmup 1]
 *
 * The proxies run in `--workers` child processes (so their cost is not counted as the control
 * plane's); they read each push's envelope, skip the resources and ACK, as a proxy that accepts
 * every config would. Every proxy is a pod of one service (2 per service at the defaults); every
 * 10th service has a DestinationRule with subsets v1/v2 and a VirtualService splitting 90/10.
 * Changes measured: an Endpoints change (EDS only), a VirtualService weight change (RDS only), and
 * a new Service with its Endpoints (CDS+EDS+RDS). Debounce is istiod's 100 ms, included in the times.
 * Same-run baseline: after the measurements, the same workers connect a second time to a minimal
 * server that replays each change as a precomputed push of the same bytes and frames per proxy
 * (transport alone); the report gives both and the control plane's overhead as ratio and difference.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect, createServer, type Socket } from 'node:net';
import { tmpdir, cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { KubeObject } from '../../src/api/types.js';
import { SqliteStore } from '../../src/store/sqlite-store.js';
import { InformerFactory } from '../../src/reconcile/informer.js';
import { ControlPlane } from '../../src/controlplane/server.js';
import { newDaemonSecret } from '../../src/controlplane/push/credentials.js';
import { LineDecoder } from '../../src/meshconfig/xds/codec.js';
import { arg } from '../numbers.js';

const ENVELOPE = /^\{"t":"(\w+)","nonce":"([^"]+)","type":"(\w+)","version":"([^"]*)","batch":"[^"]+","last":(true|false)/;

// === worker: simulated proxies ===

function worker(): void {
  let acks = 0;
  // Bytes and frames received per config version, so the transport baseline can replay the same size.
  const tally = new Map<string, { bytes: number; frames: number; lasts: number }>();
  process.on('message', (m: { path: string; proxies: { id: string; token: string }[]; query?: string[] }) => {
    if (m.query) {
      process.send?.({ tally: m.query.map((v) => tally.get(v) ?? { bytes: 0, frames: 0, lasts: 0 }) });
      return;
    }
    let ready = 0;
    const total = m.proxies.length;
    let next = 0;
    // Connect in waves so the initial full sync does not queue every proxy's full config at once.
    const connectOne = (): void => {
      const p = m.proxies[next++];
      if (!p) return;
      const socket = connect(m.path);
      const decoder = new LineDecoder();
      let first = true;
      socket.on('connect', () => socket.write(JSON.stringify({ t: 'hello', protocol: 1, node: { id: p.id, metadata: {} }, token: p.token }) + '\n'));
      socket.on('data', (chunk: Buffer) => {
        for (const line of decoder.push(chunk)) {
          const e = ENVELOPE.exec(line.slice(0, 300));
          if (!e) {
            process.send?.({ error: `unexpected frame from the control plane: ${line.slice(0, 200)}` });
            continue;
          }
          socket.write(`{"t":"ack","type":"${e[3]}","version":"${e[4]}","nonce":"${e[2]}"}\n`);
          acks++;
          const t = tally.get(e[4]!) ?? { bytes: 0, frames: 0, lasts: 0 };
          t.bytes += Buffer.byteLength(line) + 1;
          t.frames++;
          if (e[5] === 'true') t.lasts++;
          tally.set(e[4]!, t);
          if (e[5] === 'true' && first) {
            first = false;
            ready++;
            connectOne();
            if (ready === total) process.send?.({ ready });
          }
        }
      });
      socket.on('error', (err) => process.send?.({ error: err.message }));
    };
    for (let i = 0; i < 25; i++) connectOne();
  });
  process.on('disconnect', () => process.exit(0));
  setInterval(() => void acks, 60_000).unref();
}

// === main: the control plane, the store, the measurements ===

function pct(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

async function main(): Promise<void> {
  const SERVICES = arg('services', 1000);
  const PROXIES = arg('proxies', 2000);
  const WORKERS = arg('workers', 4);
  const ITER = arg('iterations', 5);
  const NAMESPACES = arg('namespaces', 10);
  const dir = mkdtempSync(join(tmpdir(), 'mbx-cpbench-'));
  const store = new SqliteStore({ stateDir: dir });
  const podsPerSvc = Math.max(1, Math.ceil(PROXIES / SERVICES));
  const nsOf = (i: number): string => `bench-${i % NAMESPACES}`;
  const ip = (n: number): string => `10.${100 + Math.floor(n / 65536)}.${Math.floor(n / 256) % 256}.${n % 256}`;
  const podNames: { ns: string; name: string }[] = [];
  const t0 = Date.now();
  store.transaction(() => {
    let podN = 0;
    for (let i = 0; i < SERVICES; i++) {
      const ns = nsOf(i);
      const name = `svc-${i}`;
      const pods: { ip: string; name: string }[] = [];
      for (let k = 0; k < podsPerSvc && podNames.length < PROXIES; k++) {
        const podName = `${name}-${k}`;
        const podIP = ip(++podN);
        const created = store.create('pods', {
          apiVersion: 'v1',
          kind: 'Pod',
          metadata: { name: podName, namespace: ns, labels: { app: name, version: k % 2 === 0 ? 'v1' : 'v2' } },
          spec: { containers: [{ name: 'app', image: 'host', ports: [{ containerPort: 8080, name: 'http' }] }] },
        });
        store.updateStatus('pods', { ...created, status: { phase: 'Running', podIP } });
        pods.push({ ip: podIP, name: podName });
        podNames.push({ ns, name: podName });
      }
      store.create('services', {
        apiVersion: 'v1',
        kind: 'Service',
        metadata: { name, namespace: ns },
        spec: { clusterIP: `10.96.${Math.floor(i / 250)}.${(i % 250) + 1}`, selector: { app: name }, ports: [{ name: 'http', port: 80, targetPort: 8080 }] },
      });
      store.create('endpoints', endpointsObj(ns, name, pods));
      if (i % 10 === 0) {
        store.create('destinationrules.networking.istio.io', {
          apiVersion: 'networking.istio.io/v1',
          kind: 'DestinationRule',
          metadata: { name, namespace: ns },
          spec: { host: name, trafficPolicy: { outlierDetection: { consecutive5xxErrors: 5 } }, subsets: [{ name: 'v1', labels: { version: 'v1' } }, { name: 'v2', labels: { version: 'v2' } }] },
        });
        store.create('virtualservices.networking.istio.io', vsObj(ns, name, 90));
      }
    }
  });
  const setupMs = Date.now() - t0;

  const acks = new Map<string, number>(); // `${proxyId}@${version}` → ms
  const cp = new ControlPlane({
    informers: new InformerFactory(store),
    secret: newDaemonSecret(),
    listen: { path: join(dir, 'xds.sock') },
    onBatchDone: (id, version, err) => {
      if (!err) acks.set(`${id}@${version}`, performance.now());
    },
  });
  await cp.start();
  const proxies = podNames.map(({ ns, name }) => {
    const pod = store.get('pods', ns, name)!;
    return { id: `sidecar~${(pod.status as { podIP: string }).podIP}~${name}.${ns}~${ns}.svc.cluster.local`, token: cp.tokenForPod(pod) };
  });

  const t1 = performance.now();
  const children: ChildProcess[] = [];
  await Promise.all(
    Array.from({ length: WORKERS }, (_, w) => {
      const child = fork(fileURLToPath(import.meta.url), ['--worker'], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
      children.push(child);
      return new Promise<void>((resolve, reject) => {
        child.on('message', (m: { ready?: number; error?: string }) => {
          if (m.error) reject(new Error(m.error));
          else if (m.ready) resolve();
        });
        child.send({ path: join(dir, 'xds.sock'), proxies: proxies.filter((_, i) => i % WORKERS === w) });
      });
    }),
  );
  const initialSyncMs = performance.now() - t1;
  global.gc?.();
  const memAfterSync = process.memoryUsage();

  const results: { change: string; times: number[]; affected: number; missing: number; versions: string[] }[] = [];
  const recomputes: { cpuMs: number; wallMs: number }[] = [];
  const measure = async (change: string, write: (i: number) => void): Promise<void> => {
    const times: number[] = [];
    let affected = 0;
    let missing = 0;
    const versions: string[] = [];
    for (let i = 0; i < ITER; i++) {
      const gen = cp.generation;
      const start = performance.now();
      write(i);
      // Wait for the recompute, then for the ACKs of that generation (bounded).
      const deadline = start + 20_000;
      while (cp.generation === gen && performance.now() < deadline) await sleep(5);
      const version = String(cp.generation);
      versions.push(version);
      recomputes.push(cp.lastRecompute);
      if (process.env.BENCH_DEBUG) console.error(change, 'recompute done after', (performance.now() - start).toFixed(0), 'ms', JSON.stringify(cp.lastRecompute));
      let last = -1;
      let stableSince = performance.now();
      for (;;) {
        const n = [...acks.keys()].filter((k) => k.endsWith(`@${version}`)).length;
        if (n !== last) {
          last = n;
          stableSince = performance.now();
        }
        if (n >= proxies.length || performance.now() - stableSince > 1500 || performance.now() > deadline) break;
        await sleep(10);
      }
      const mine = [...acks.entries()].filter(([k]) => k.endsWith(`@${version}`)).map(([, t]) => t - start);
      times.push(...mine);
      affected += mine.length;
      missing += proxies.length - mine.length;
      await sleep(200);
    }
    results.push({ change, times: times.sort((a, b) => a - b), affected: affected / ITER, missing: missing / ITER, versions });
  };

  // One unmeasured change first: JIT warm-up of the recompute and push paths (steady state is what matters).
  const warm = arg('warmup', 1);
  for (let i = 0; i < warm; i++) {
    const ep = store.get('endpoints', nsOf(3), 'svc-3')!;
    store.update('endpoints', { ...ep, ...endpointsObj(nsOf(3), 'svc-3', [{ ip: ip(62000 + i), name: '' }]), metadata: ep.metadata });
    await sleep(3000);
  }
  recomputes.length = 0;
  await measure('Endpoints of one service (EDS)', (i) => {
    const ns = nsOf(1);
    const ep = store.get('endpoints', ns, 'svc-1')!;
    const pods = [{ ip: ip(60000 + i), name: '' }, { ip: ip(1), name: '' }];
    store.update('endpoints', { ...ep, ...endpointsObj(ns, 'svc-1', pods), metadata: ep.metadata });
  });
  await measure('VirtualService weights (RDS)', (i) => {
    const vs = store.get('virtualservices.networking.istio.io', nsOf(0), 'svc-0')!;
    store.update('virtualservices.networking.istio.io', { ...vs, spec: vsObj(nsOf(0), 'svc-0', 80 - i).spec });
  });
  await measure('new Service + Endpoints (CDS+EDS+RDS)', (i) => {
    store.transaction(() => {
      const ns = nsOf(2);
      const name = `new-${i}`;
      store.create('services', { apiVersion: 'v1', kind: 'Service', metadata: { name, namespace: ns }, spec: { clusterIP: `10.97.0.${i + 1}`, selector: { app: name }, ports: [{ name: 'http', port: 80, targetPort: 8080 }] } });
      store.create('endpoints', endpointsObj(ns, name, [{ ip: ip(61000 + i), name: '' }]));
    });
  });
  global.gc?.();
  const memEnd = process.memoryUsage();

  // === same-run baseline: the transport alone ===
  // The same worker processes open a second connection per proxy to a minimal server that, per
  // measured change, writes a precomputed push of the byte size and frame count each proxy received
  // for that change, and times every proxy's ACK of its last frame. No store, informers, debounce or
  // translation; runs after the control-plane measurements so it cannot disturb them.
  const query = (versions: string[]): Promise<{ bytes: number; frames: number; lasts: number }[]> =>
    Promise.all(
      children.map(
        (c) =>
          new Promise<{ bytes: number; frames: number; lasts: number }[]>((resolve) => {
            const on = (m: { tally?: { bytes: number; frames: number; lasts: number }[] }): void => {
              if (!m.tally) return;
              c.off('message', on);
              resolve(m.tally);
            };
            c.on('message', on);
            c.send({ path: '', proxies: [], query: versions });
          }),
      ),
    ).then((per) => versions.map((_, i) => per.reduce((a, w) => ({ bytes: a.bytes + w[i]!.bytes, frames: a.frames + w[i]!.frames, lasts: a.lasts + w[i]!.lasts }), { bytes: 0, frames: 0, lasts: 0 })));
  const basePath = join(dir, 'base.sock');
  const conns: Socket[] = [];
  let pending: ((conn: Socket) => void) | null = null;
  const server = createServer((sock) => {
    conns.push(sock);
    const dec = new LineDecoder();
    sock.on('data', (chunk: Buffer) => {
      for (const line of dec.push(chunk)) {
        if (line.startsWith('{"t":"hello"')) sock.write('{"t":"push","nonce":"h","type":"CDS","version":"0","batch":"h","last":true}\n');
        else if (line.includes('"nonce":"last"')) pending?.(sock);
      }
    });
    sock.on('error', () => {});
  });
  await new Promise<void>((r) => server.listen(basePath, r));
  await Promise.all(
    children.map(
      (child, w) =>
        new Promise<void>((resolve, reject) => {
          const on = (m: { ready?: number; error?: string }): void => {
            if (m.error) reject(new Error(m.error));
            else if (m.ready) {
              child.off('message', on);
              resolve();
            }
          };
          child.on('message', on);
          child.send({ path: basePath, proxies: proxies.filter((_, i) => i % WORKERS === w) });
        }),
    ),
  );
  const baseline: { times: number[]; bytesPerProxy: number; framesPerProxy: number }[] = [];
  let seq = 0;
  for (const r of results) {
    const tallies = await query(r.versions);
    const times: number[] = [];
    let bytesSum = 0;
    let framesSum = 0;
    for (const t of tallies) {
      const proxiesHit = Math.max(1, t.lasts);
      const frames = Math.max(1, Math.round(t.frames / proxiesHit));
      const bytes = Math.round(t.bytes / proxiesHit);
      bytesSum += bytes;
      framesSum += frames;
      const v = `b${++seq}`;
      // Precomputed frames: envelope as the control plane writes it, padded to the same total size.
      const per = Math.max(0, Math.floor(bytes / frames));
      const bufs = Array.from({ length: frames }, (_, k) => {
        const head = `{"t":"push","nonce":"${k === frames - 1 ? 'last' : `n${k}`}","type":"EDS","version":"${v}","batch":"${v}","last":${k === frames - 1},"resources":"`;
        return Buffer.from(head + 'x'.repeat(Math.max(0, per - head.length - 3)) + '"}\n');
      });
      const got: number[] = [];
      const start = performance.now();
      const done = new Promise<void>((resolve) => {
        pending = () => {
          got.push(performance.now() - start);
          if (got.length >= conns.length) resolve();
        };
        setTimeout(resolve, 20_000);
      });
      for (const c of conns) for (const b of bufs) c.write(b);
      await done;
      pending = null;
      times.push(...got);
      await sleep(200);
    }
    baseline.push({ times: times.sort((a, b) => a - b), bytesPerProxy: bytesSum / tallies.length, framesPerProxy: framesSum / tallies.length });
  }

  const mb = (n: number): string => (n / 1048576).toFixed(0);
  const ms = (n: number): string => n.toFixed(0);
  const out: string[] = [];
  out.push(`# Control plane convergence: ${SERVICES} services, ${proxies.length} proxies (${WORKERS} worker processes), ${ITER} changes each`);
  out.push('');
  out.push(`Node ${process.version}, ${cpus().length} CPUs (${cpus()[0]?.model ?? '?'}), load average at the end ${loadavg().map((l) => l.toFixed(1)).join(' ')}; store setup ${setupMs} ms; initial full sync of every proxy ${ms(initialSyncMs)} ms.`);
  out.push('');
  out.push('| change | proxies ACKed per change | p50 ms | p90 ms | max ms | bar (p90 < 1000 ms) |');
  out.push('|---|---|---|---|---|---|');
  for (const r of results) {
    out.push(`| ${r.change} | ${r.affected.toFixed(0)}${r.missing > 0 ? ` (${r.missing.toFixed(0)} missing)` : ''} | ${ms(pct(r.times, 50))} | ${ms(pct(r.times, 90))} | ${ms(r.times.at(-1) ?? NaN)} | ${pct(r.times, 90) < 1000 ? 'met' : 'NOT met'} |`);
  }
  out.push('');
  out.push('Same-run baseline: the same changes delivered by the transport alone (precomputed push of the same bytes and frames per proxy, minimal server, same workers, socket framing and ACKs):');
  out.push('');
  out.push('| change | push per proxy | control plane p50 / p90 / max ms | transport p50 / p90 / max ms | overhead p50 (ratio, diff) | overhead p90 (ratio, diff) |');
  out.push('|---|---|---|---|---|---|');
  results.forEach((r, i) => {
    const b = baseline[i]!;
    const c50 = pct(r.times, 50), c90 = pct(r.times, 90), b50 = pct(b.times, 50), b90 = pct(b.times, 90);
    out.push(`| ${r.change} | ${(b.bytesPerProxy / 1024).toFixed(1)} KiB, ${b.framesPerProxy.toFixed(0)} frames | ${ms(c50)} / ${ms(c90)} / ${ms(r.times.at(-1) ?? NaN)} | ${ms(b50)} / ${ms(b90)} / ${ms(b.times.at(-1) ?? NaN)} (${(b.times.length / ITER).toFixed(0)} ACKed) | ${(c50 / b50).toFixed(1)}x, +${ms(c50 - b50)} | ${(c90 / b90).toFixed(1)}x, +${ms(c90 - b90)} |`);
  });
  out.push('');
  out.push('| control plane process memory | RSS MB | heap used MB | bar (< 500 MB) |');
  out.push('|---|---|---|---|');
  out.push(`| after initial sync | ${mb(memAfterSync.rss)} | ${mb(memAfterSync.heapUsed)} | ${memAfterSync.rss < 500 * 1048576 ? 'met' : 'NOT met'} |`);
  out.push(`| after the changes | ${mb(memEnd.rss)} | ${mb(memEnd.heapUsed)} | ${memEnd.rss < 500 * 1048576 ? 'met' : 'NOT met'} |`);
  out.push('');
  const rc = recomputes.map((r) => r.cpuMs).sort((a, b) => a - b);
  const rw = recomputes.map((r) => r.wallMs).sort((a, b) => a - b);
  out.push(`Recompute of all ${proxies.length} proxies per change: CPU p50 ${ms(pct(rc, 50))} ms (max ${ms(rc.at(-1) ?? NaN)}), wall p50 ${ms(pct(rw, 50))} ms (max ${ms(rw.at(-1) ?? NaN)}).`);
  out.push('');
  out.push('Times include the 100 ms debounce; the process also holds the SQLite store and its informers, as the daemon does.');
  console.log(out.join('\n'));

  for (const c of children) c.kill('SIGTERM');
  for (const c of conns) c.destroy();
  server.close();
  await cp.stop();
  store.close();
  rmSync(dir, { recursive: true, force: true });
}

function endpointsObj(ns: string, name: string, pods: { ip: string; name: string }[]): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Endpoints',
    metadata: { name, namespace: ns },
    subsets: [{ addresses: pods.map((p) => ({ ip: p.ip, ...(p.name ? { targetRef: { kind: 'Pod', name: p.name, namespace: ns } } : {}) })), ports: [{ name: 'http', port: 8080 }] }],
  };
}

function vsObj(ns: string, name: string, w: number): KubeObject {
  return {
    apiVersion: 'networking.istio.io/v1',
    kind: 'VirtualService',
    metadata: { name, namespace: ns },
    spec: {
      hosts: [name],
      http: [
        { match: [{ headers: { 'x-canary': { exact: 'yes' } } }], route: [{ destination: { host: name, subset: 'v2' } }] },
        { route: [{ destination: { host: name, subset: 'v1' }, weight: w }, { destination: { host: name, subset: 'v2' }, weight: 100 - w }], retries: { attempts: 2, perTryTimeout: '1s' } },
      ],
    },
  };
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

if (process.argv.includes('--worker')) worker();
else
  main().catch((err) => {
    console.error(err);
    process.exit(1);
  });
