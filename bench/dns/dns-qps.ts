/**
 * Queries per second for cluster names: meshbox's DnsServer (with and without its answer memo) against dnsmasq (the baseline, from the
 * Debian package dnsmasq-base) holding the same records, both on 127.0.0.1, both in their own process,
 * driven by the same load generator: N queries over UDP with a window of W in flight, a bounded total
 * time, several runs alternating between the two; the median run counts.
 *
 *   bash scripts/setup.sh --bench && npm run build && node dist/bench/dns/dns-qps.js [--queries 20000]
 *        [--concurrency 32] [--runs 5] [--names 200] [--max-seconds 20]
 *
 * Prints one JSON line and a markdown table. The load generator shares the machine's cores with the
 * server under test, the same way for both.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import dgram from 'node:dgram';
import net from 'node:net';
import os from 'node:os';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import dnsPacket from 'dns-packet';
import { ClusterRecords } from '../../src/dns/cluster-records.js';
import { DnsServer } from '../../src/dns/dns-server.js';

interface Args {
  queries: number;
  concurrency: number;
  runs: number;
  names: number;
  maxSeconds: number;
}

function parseArgs(argv: string[]): Args & { serve: boolean } {
  const get = (flag: string, def: number) => {
    const i = argv.indexOf(flag);
    return i >= 0 && argv[i + 1] ? Number(argv[i + 1]) : def;
  };
  return {
    serve: argv.includes('--serve'),
    queries: get('--queries', 20_000),
    concurrency: get('--concurrency', 32),
    runs: get('--runs', 5),
    names: get('--names', 200),
    maxSeconds: get('--max-seconds', 20),
  };
}

/** The record set both servers hold: half services, half pods, all A records. */
function recordSet(n: number): { name: string; ip: string }[] {
  const out: { name: string; ip: string }[] = [];
  for (let i = 0; i < n; i++) {
    if (i % 2 === 0) out.push({ name: `svc-${i}.default.svc.cluster.local`, ip: `10.96.${i >> 8}.${i & 255}` });
    else out.push({ name: `10-244-${i >> 8}-${i & 255}.default.pod.cluster.local`, ip: `10.244.${i >> 8}.${i & 255}` });
  }
  return out;
}

// === the meshbox server, run as a child process so it gets its own event loop ===

async function serve(names: number, memoEntries: number): Promise<void> {
  const records = new ClusterRecords();
  for (const [i, r] of recordSet(names).entries()) {
    if (i % 2 === 0) {
      records.upsertService({ metadata: { name: r.name.split('.')[0]!, namespace: 'default' }, spec: { clusterIP: r.ip } });
    } else {
      records.upsertPod({ metadata: { name: `pod-${i}`, namespace: 'default' }, status: { podIP: r.ip } });
    }
  }
  const server = new DnsServer({ records, host: '127.0.0.1', port: 0, memoEntries });
  await server.start();
  process.stdout.write(`${server.address().port}\n`);
  process.on('SIGTERM', () => void server.stop().then(() => process.exit(0)));
}

// === load generator ===

interface RunResult {
  answered: number;
  lost: number;
  wrong: number;
  seconds: number;
  qps: number;
  p50ms: number;
  p99ms: number;
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))]!;
}

async function load(port: number, names: { name: string; ip: string }[], args: Args): Promise<RunResult> {
  const queries = names.map((r, i) =>
    dnsPacket.encode({ type: 'query', id: i, flags: dnsPacket.RECURSION_DESIRED, questions: [{ name: r.name, type: 'A' }] }),
  );
  const sock = dgram.createSocket('udp4');
  await new Promise<void>((r) => sock.bind(0, '127.0.0.1', () => r()));
  sock.setRecvBufferSize(4 * 1024 * 1024);
  // id → (send time, name index); ids cycle through 65536 so at most `concurrency` are ever in flight
  const inflight = new Map<number, { at: number; idx: number }>();
  const latencies: number[] = [];
  let sent = 0;
  let answered = 0;
  let lost = 0;
  let wrong = 0;
  let nextId = 0;
  const started = performance.now();
  const deadline = started + args.maxSeconds * 1000;
  return new Promise<RunResult>((resolve) => {
    const finish = () => {
      clearInterval(sweeper);
      sock.close();
      const seconds = (performance.now() - started) / 1000;
      latencies.sort((a, b) => a - b);
      resolve({ answered, lost, wrong, seconds, qps: answered / seconds, p50ms: percentile(latencies, 50), p99ms: percentile(latencies, 99) });
    };
    const sendOne = () => {
      if (sent >= args.queries || performance.now() > deadline) {
        if (inflight.size === 0) finish();
        return;
      }
      const idx = sent % queries.length;
      const id = nextId;
      nextId = (nextId + 1) & 0xffff;
      const q = queries[idx]!;
      q.writeUInt16BE(id, 0);
      inflight.set(id, { at: performance.now(), idx });
      sent++;
      sock.send(q, port, '127.0.0.1');
    };
    sock.on('message', (msg) => {
      const id = msg.readUInt16BE(0);
      const entry = inflight.get(id);
      if (!entry) return;
      inflight.delete(id);
      latencies.push(performance.now() - entry.at);
      // cheap correctness check: NOERROR with one A record whose address is the expected one
      const ok = (msg.readUInt16BE(2) & 0xf) === 0 && msg.readUInt16BE(6) === 1 &&
        msg.subarray(msg.length - 4).equals(Buffer.from(names[entry.idx]!.ip.split('.').map(Number)));
      if (ok) answered++;
      else wrong++;
      sendOne();
    });
    // A lost datagram would shrink the window for good; count it after 1 s and send another.
    const sweeper = setInterval(() => {
      const now = performance.now();
      for (const [id, e] of inflight) {
        if (now - e.at > 1000) {
          inflight.delete(id);
          lost++;
          sendOne();
        }
      }
      if (now > deadline + 1500) {
        inflight.clear();
        finish();
      }
    }, 100);
    for (let i = 0; i < args.concurrency; i++) sendOne();
  });
}

// === targets ===

interface Target {
  name: string;
  port: number;
  child: ChildProcess;
}

function waitForLine(child: ChildProcess, ms: number): Promise<string> {
  return new Promise((resolve, reject) => {
    let buf = '';
    const timer = setTimeout(() => reject(new Error('the DNS server child did not report its port')), ms);
    child.stdout!.on('data', (d: Buffer) => {
      buf += d.toString();
      if (buf.includes('\n')) {
        clearTimeout(timer);
        resolve(buf.split('\n')[0]!);
      }
    });
    child.on('exit', (code) => reject(new Error(`the DNS server child exited with ${code}`)));
  });
}

async function freePort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

async function startMeshbox(names: number, memo: boolean): Promise<Target> {
  const flags = ['--serve', '--names', String(names), ...(memo ? [] : ['--no-memo'])];
  const child = spawn(process.execPath, [fileURLToPath(import.meta.url), ...flags], { stdio: ['ignore', 'pipe', 'inherit'] });
  const port = Number(await waitForLine(child, 10_000));
  return { name: memo ? 'meshbox DnsServer' : 'meshbox DnsServer, memo off', port, child };
}

async function startDnsmasq(names: number, dir: string): Promise<Target> {
  const conf = join(dir, 'dnsmasq.conf');
  await writeFile(conf, recordSet(names).map((r) => `host-record=${r.name},${r.ip}\n`).join(''));
  const port = await freePort();
  const child = spawn(
    'dnsmasq',
    ['-k', `--conf-file=${conf}`, '--no-resolv', '--no-hosts', '--bind-interfaces', '--listen-address=127.0.0.1',
      `--port=${port}`, '--pid-file=', '--user=root', '--local=/cluster.local/', '--cache-size=1000'],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  child.on('error', () => {});
  // dnsmasq prints nothing on success; poll until it answers
  for (let i = 0; i < 50; i++) {
    const r = await load(port, recordSet(2), { queries: 1, concurrency: 1, runs: 1, names: 2, maxSeconds: 0.2 }).catch(() => undefined);
    if (r && r.answered === 1) return { name: 'dnsmasq', port, child };
    if (child.exitCode !== null) break;
  }
  child.kill('SIGKILL');
  throw new Error('dnsmasq did not start; install it with: apt-get install -y dnsmasq-base');
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  if (args.serve) return serve(args.names, process.argv.includes('--no-memo') ? 0 : 4096);
  const dir = await mkdtemp(join(os.tmpdir(), 'mbx-dns-bench-'));
  const targets: Target[] = [];
  try {
    targets.push(await startMeshbox(args.names, true));
    // the full path (decode, lookup, encode), as after every record change empties the memo
    targets.push(await startMeshbox(args.names, false));
    targets.push(await startDnsmasq(args.names, dir));
    const names = recordSet(args.names);
    const results = new Map<string, RunResult[]>(targets.map((t) => [t.name, []]));
    // warm-up (JIT, caches), not counted
    for (const t of targets) await load(t.port, names, { ...args, queries: Math.min(2000, args.queries) });
    for (let run = 0; run < args.runs; run++) {
      // rotate the order so no server always runs first or last in a round
      for (let i = 0; i < targets.length; i++) {
        const t = targets[(run + i) % targets.length]!;
        results.get(t.name)!.push(await load(t.port, names, args));
      }
    }
    const summary = targets.map((t) => {
      const rs = results.get(t.name)!;
      return {
        server: t.name,
        qps: Math.round(median(rs.map((r) => r.qps))),
        p50ms: Number(median(rs.map((r) => r.p50ms)).toFixed(3)),
        p99ms: Number(median(rs.map((r) => r.p99ms)).toFixed(3)),
        lost: rs.reduce((a, r) => a + r.lost, 0),
        wrong: rs.reduce((a, r) => a + r.wrong, 0),
        runs: rs.map((r) => Math.round(r.qps)),
      };
    });
    const machine = { cpus: os.cpus().length, cpu: os.cpus()[0]?.model ?? 'unknown', node: process.version };
    console.log(JSON.stringify({ bench: 'dns-qps', ...args, machine, results: summary }));
    console.log('');
    console.log(`| server | median qps | p50 ms | p99 ms | lost | wrong | qps per run |`);
    console.log(`| --- | ---: | ---: | ---: | ---: | ---: | --- |`);
    for (const s of summary) {
      console.log(`| ${s.server} | ${s.qps} | ${s.p50ms} | ${s.p99ms} | ${s.lost} | ${s.wrong} | ${s.runs.join(', ')} |`);
    }
    console.log(`\n${args.queries} A queries per run over ${args.names} cluster names, ${args.concurrency} in flight, ` +
      `${args.runs} runs, ${machine.cpus} × ${machine.cpu}, node ${machine.node}`);
  } finally {
    for (const t of targets) t.child.kill('SIGTERM');
    await rm(dir, { recursive: true, force: true });
  }
}

await main();
