/**
 * CniNetwork against the real reference plugins (/usr/lib/cni: bridge, host-local, portmap, loopback),
 * real network namespaces and real iptables. Needs root. Each test has its own bridge (mbx<rand>), its
 * own /24 inside 10.201.0.0/16, its own state folder, and removes all of it in `finally`.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, readdir } from 'node:fs/promises';
import { connect } from 'node:net';
import { join } from 'node:path';
import { run } from '../../src/core/exec.js';
import { randomHex } from '../../src/core/ids.js';
import { listConflistReservations, type CniConflist } from '../../src/cni/index.js';
import { deleteNetns, execInNetns } from '../../src/runtime/netns.js';
import { NetnsPods, bridgeNameFor, pickFreeOctet } from './helpers/netns-pods.js';

const skip = process.getuid?.() !== 0 ? 'needs root (network namespaces, bridges, iptables)' : false;

/** The kit's network plus the /24 it was given. */
type Env = NetnsPods & {
  subnet: string;
  /** "10.201.N." */
  prefix: string;
};

/** Each test's own bridge and /24 in 10.201.0.0/16 (checked free with our own clash check), removed afterwards. */
async function withNetwork(fn: (env: Env) => Promise<void>, conflistEdit?: (c: CniConflist) => void): Promise<void> {
  const tag = randomHex(6);
  const octet = await pickFreeOctet(bridgeNameFor(tag), (o) => [`10.201.${o}.0/24`], { attempts: 20, exhausted: 'no free /24 in 10.201.0.0/16' });
  const subnet = `10.201.${octet}.0/24`;
  const prefix = `10.201.${octet}.`;
  const pods = await NetnsPods.create({
    tag,
    networkName: `mbx-it-${tag}`,
    subnet,
    gateway: `${prefix}1`,
    routes: ['10.201.0.0/16'],
    editConflist: conflistEdit,
  });
  try {
    await fn(Object.assign(pods, { subnet, prefix }));
  } finally {
    await pods.cleanup();
  }
}

function podIp(result: { ips?: Array<{ address: string }> }): string {
  const address = result.ips?.[0]?.address;
  assert.ok(address, 'ADD result has an IP');
  return address.split('/')[0] ?? '';
}

/** A TCP server inside the netns that answers every connection with `reply`; resolves once listening. */
async function serveInNetns(env: Env, ns: string, port: number, reply: string): Promise<void> {
  const script = `require('net').createServer((s) => s.end(${JSON.stringify(reply)})).listen(${port}, '0.0.0.0', () => console.log('listening'))`;
  await env.serve(ns, script);
}

/** Reads everything a TCP server at host:port sends, from this (the host's) network namespace. */
function fetchTcp(host: string, port: number, timeoutMs = 3000): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, host);
    let data = '';
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no answer from ${host}:${port} within ${timeoutMs} ms`));
    }, timeoutMs);
    socket.on('data', (b) => (data += b.toString()));
    socket.on('end', () => {
      clearTimeout(timer);
      resolve(data);
    });
    socket.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
  });
}

/** The same, from inside a netns (a client process in the pod). */
async function fetchTcpFromNetns(ns: string, host: string, port: number): Promise<string> {
  const script =
    `const s = require('net').connect(${port}, ${JSON.stringify(host)}); let d = '';` +
    `s.on('data', (b) => (d += b)); s.on('end', () => process.stdout.write(d, () => process.exit(0)));` +
    `s.on('error', (e) => { console.error(e.message); process.exit(2); }); setTimeout(() => process.exit(3), 3000);`;
  return (await execInNetns(ns, process.execPath, ['-e', script], { timeoutMs: 10_000 })).stdout;
}

async function vethsOn(bridge: string): Promise<string[]> {
  const res = await run('ip', ['-j', 'link', 'show', 'master', bridge], { allowFailure: true });
  if (res.code !== 0 || !res.stdout.trim()) return [];
  return (JSON.parse(res.stdout) as Array<{ ifname: string }>).map((l) => l.ifname);
}

async function linksIn(ns: string): Promise<string[]> {
  const res = await execInNetns(ns, 'ip', ['-j', 'link', 'show']);
  return (JSON.parse(res.stdout) as Array<{ ifname: string }>).map((l) => l.ifname);
}

async function cacheFiles(env: Env): Promise<string[]> {
  return readdir(join(env.dir, 'cache', 'results')).catch(() => []);
}

async function dnatChainsMentioning(ip: string): Promise<number> {
  const res = await run('iptables', ['-w', '-t', 'nat', '-S'], { allowFailure: true });
  return res.stdout.split('\n').filter((l) => l.includes(`${ip}:`)).length;
}

test('the plugins are installed and speak CNI 1.0.0', { skip }, async () => {
  await withNetwork(async ({ net }) => {
    const status = await net.status();
    assert.equal(status.ready, true, JSON.stringify(status.plugins.map((p) => [p.type, p.error?.message])));
    for (const p of status.plugins) assert.ok(p.supportedVersions?.includes('1.0.0'), p.type);
  });
});

test('two pods on one bridge: TCP between them by IP, host to pod, lo up, routes only to meshbox CIDRs', { skip }, async () => {
  await withNetwork(async (env) => {
    const a = await env.netns('a');
    const b = await env.netns('b');
    const ra = await env.net.add(env.attachment('a', a, { args: { K8S_POD_NAME: 'a', K8S_POD_NAMESPACE: 'default' } }));
    const rb = await env.net.add(env.attachment('b', b));
    const ipA = podIp(ra);
    const ipB = podIp(rb);
    assert.ok(ipA.startsWith(env.prefix) && ipB.startsWith(env.prefix) && ipA !== ipB);
    assert.deepEqual(ra.interfaces?.find((i) => i.sandbox)?.name, 'eth0');
    assert.deepEqual(ra.routes, [{ dst: '10.201.0.0/16', gw: `${env.prefix}1` }]);
    const routes = (await execInNetns(a, 'ip', ['route', 'show'])).stdout;
    assert.doesNotMatch(routes, /default/, 'a pod never gets a default route');
    const lo = (await execInNetns(a, 'ip', ['-j', 'link', 'show', 'lo'])).stdout;
    assert.ok((JSON.parse(lo) as Array<{ flags: string[] }>)[0]?.flags.includes('UP'), 'loopback plugin brought lo up');

    await serveInNetns(env, b, 7000, `pong from b`);
    await serveInNetns(env, a, 7000, `pong from a`);
    assert.equal(await fetchTcpFromNetns(a, ipB, 7000), 'pong from b');
    assert.equal(await fetchTcpFromNetns(b, ipA, 7000), 'pong from a');
    assert.equal(await fetchTcp(ipA, 7000), 'pong from a', 'host reaches the pod through the bridge');
    assert.equal(await fetchTcpFromNetns(a, '127.0.0.1', 7000), 'pong from a', 'lo works inside the pod');
  });
});

test('CHECK passes on a healthy attachment and fails once the veth is broken; DEL cleans up and is idempotent', { skip }, async () => {
  await withNetwork(async (env) => {
    const ns = await env.netns('c');
    const att = env.attachment('c', ns, { capabilityArgs: { portMappings: [{ hostPort: 20000 + Math.floor(Math.random() * 20000), containerPort: 80, protocol: 'tcp' }] } });
    const result = await env.net.add(att);
    const ip = podIp(result);
    await env.net.check(att);
    assert.equal((await vethsOn(env.bridge)).length, 1);
    assert.deepEqual((await listConflistReservations(env.conflist)).map((r) => [r.ip, r.containerId, r.ifName]), [
      [ip, att.containerId, 'eth0'],
    ]);

    await execInNetns(ns, 'ip', ['link', 'del', 'eth0']);
    await assert.rejects(env.net.check(att), (e: Error & { code?: string; details?: Record<string, unknown> }) => {
      assert.equal(e.code, 'MBX_CNI_PLUGIN_FAILED');
      assert.equal(e.details?.plugin, 'bridge');
      assert.equal(e.details?.command, 'CHECK');
      return true;
    });

    await env.net.del(att);
    assert.deepEqual(await vethsOn(env.bridge), []);
    assert.deepEqual(await listConflistReservations(env.conflist), [], 'the IP lease is released');
    assert.deepEqual(await cacheFiles(env), []);
    await env.net.del(att);
    await env.net.del({ ...att, netns: '/run/netns/mbx-never-existed' });
    assert.deepEqual(await linksIn(ns), ['lo']);
  });
});

test('a failed ADD (subnet too small for a second pod) followed by DEL leaves nothing behind', { skip }, async () => {
  await withNetwork(
    async (env) => {
      const first = await env.netns('f1');
      const second = await env.netns('f2');
      const ok = env.attachment('f1', first);
      const att = env.attachment('f2', second);
      const ip = podIp(await env.net.add(ok));
      await assert.rejects(env.net.add(att), (e: Error & { code?: string; details?: Record<string, unknown> }) => {
        assert.equal(e.code, 'MBX_CNI_PLUGIN_FAILED');
        assert.equal(e.details?.plugin, 'bridge');
        assert.match(e.message, /"bridge" failed on ADD for container .*-f2 interface eth0: .*no IP addresses available/);
        return true;
      });
      await env.net.del(att);
      assert.equal((await vethsOn(env.bridge)).length, 1, "only the first pod's veth is on the bridge");
      assert.deepEqual(await linksIn(second), ['lo'], 'no eth0 left in the pod');
      assert.deepEqual((await listConflistReservations(env.conflist)).map((r) => r.ip), [ip]);
      assert.deepEqual(await cacheFiles(env), [`${env.conflist.name}-${ok.containerId}-eth0`]);
      await env.net.check(ok);
    },
    (c) => {
      // a /30 holds the gateway and one pod
      const ipam = (c.plugins[0] as unknown as { ipam: { ranges: Array<Array<Record<string, string>>> } }).ipam;
      const range = ipam.ranges[0]?.[0];
      if (range) range.subnet = range.subnet?.replace('/24', '/30') ?? '';
    },
  );
});

test('a failing middle plugin (portmap) makes ADD undo the bridge part itself', { skip }, async () => {
  await withNetwork(
    async (env) => {
    const ns = await env.netns('m');
    const att = env.attachment('m', ns, {
      capabilityArgs: { portMappings: [{ hostPort: 20000 + Math.floor(Math.random() * 20000), containerPort: 80, protocol: 'tcp' }] },
    });
    await assert.rejects(env.net.add(att), (e: Error & { details?: Record<string, unknown> }) => {
      assert.equal(e.details?.plugin, 'portmap');
      return true;
    });
    assert.deepEqual(await vethsOn(env.bridge), [], 'ADD ran DEL through the bridge plugin');
    assert.deepEqual(await listConflistReservations(env.conflist), []);
    assert.deepEqual(await cacheFiles(env), []);
    await env.net.del(att);
    },
    (c) => {
      // iptables refuses this match when portmap inserts its rules, after bridge made the veth and leased an IP
      const portmap = c.plugins.find((p) => p.type === 'portmap');
      if (portmap) portmap.conditionsV4 = ['-m', 'mbxnosuchmatch'];
    },
  );
});

test('GC removes the attachment whose owner is gone and keeps the valid one', { skip }, async () => {
  await withNetwork(async (env) => {
    const live = await env.netns('live');
    const dead = await env.netns('dead');
    const liveAtt = env.attachment('live', live);
    const deadAtt = env.attachment('dead', dead);
    await env.net.add(liveAtt);
    const deadIp = podIp(await env.net.add(deadAtt));
    // the owner goes away without a DEL (a crash): its netns, and with it the veth pair, disappear
    await deleteNetns(dead);
    const report = await env.net.gc([{ containerId: liveAtt.containerId, ifName: 'eth0' }]);
    assert.deepEqual(report.removed, [{ containerId: deadAtt.containerId, ifName: 'eth0' }]);
    assert.deepEqual(report.failed, []);
    const leases = await listConflistReservations(env.conflist);
    assert.deepEqual(leases.map((r) => r.containerId), [liveAtt.containerId]);
    assert.ok(!leases.some((r) => r.ip === deadIp));
    assert.deepEqual((await env.net.listAttachments()).map((a) => a.containerId), [liveAtt.containerId]);
    assert.equal((await vethsOn(env.bridge)).length, 1);
    await env.net.check(liveAtt);
  });
});

test('portmap publishes a pod port on 127.0.0.1', { skip }, async () => {
  await withNetwork(async (env) => {
    const ns = await env.netns('p');
    const hostPort = 20000 + Math.floor(Math.random() * 20000);
    const att = env.attachment('p', ns, {
      capabilityArgs: { portMappings: [{ hostPort, containerPort: 8080, protocol: 'tcp', hostIP: '127.0.0.1' }] },
    });
    const ip = podIp(await env.net.add(att));
    await serveInNetns(env, ns, 8080, 'published');
    // portmap (snat: true) sets route_localnet=1 on the bridge itself; without it the kernel drops
    // DNATed packets from 127.0.0.1 as martians when they leave through the bridge
    const localnet = await readFile(`/proc/sys/net/ipv4/conf/${env.bridge}/route_localnet`, 'utf8');
    assert.equal(localnet.trim(), '1');
    assert.equal(await fetchTcp('127.0.0.1', hostPort), 'published');
    await env.net.check(att);
    assert.ok((await dnatChainsMentioning(ip)) > 0);
    await env.net.del(att);
    assert.equal(await dnatChainsMentioning(ip), 0, 'DEL removed the DNAT rules');
    await assert.rejects(fetchTcp('127.0.0.1', hostPort, 1000));
  });
});

test('50 ADD/DEL cycles leave no veth, lease, cache entry or DNAT rule', { skip, timeout: 180_000 }, async () => {
  await withNetwork(async (env) => {
    const ns = await env.netns('loop');
    const deadline = Date.now() + 150_000;
    const ips = new Set<string>();
    for (let i = 0; i < 50 && Date.now() < deadline; i++) {
      // portmap's iptables work costs ~0.7 s per cycle on nf_tables, so every 10th cycle publishes a port
      const portMappings = i % 10 === 0 ? [{ hostPort: 30000 + i, containerPort: 80, protocol: 'tcp' as const, hostIP: '127.0.0.1' }] : [];
      const att = env.attachment(`loop${i}`, ns, { capabilityArgs: { portMappings } });
      ips.add(podIp(await env.net.add(att)));
      await env.net.del(att);
    }
    assert.ok(ips.size >= 2, 'host-local hands out fresh addresses');
    assert.deepEqual(await vethsOn(env.bridge), []);
    assert.deepEqual(await linksIn(ns), ['lo']);
    assert.deepEqual(await listConflistReservations(env.conflist), []);
    assert.deepEqual(await cacheFiles(env), []);
    for (const ip of ips) assert.equal(await dnatChainsMentioning(ip), 0, `DNAT rules for ${ip}`);
  });
});

test('concurrent ADDs get distinct IPs and concurrent DELs leave nothing', { skip, timeout: 60_000 }, async () => {
  await withNetwork(async (env) => {
    const names = await Promise.all([0, 1, 2, 3, 4, 5].map((i) => env.netns(`k${i}`)));
    const atts = names.map((ns, i) => env.attachment(`k${i}`, ns));
    const results = await Promise.all(atts.map((a) => env.net.add(a)));
    const ips = results.map(podIp);
    assert.equal(new Set(ips).size, 6, `distinct IPs: ${ips.join(' ')}`);
    assert.equal((await vethsOn(env.bridge)).length, 6);
    await Promise.all(atts.map((a) => env.net.check(a)));
    await Promise.all([...atts.map((a) => env.net.del(a)), env.net.gc([])]);
    assert.deepEqual(await vethsOn(env.bridge), []);
    assert.deepEqual(await listConflistReservations(env.conflist), []);
    assert.deepEqual(await cacheFiles(env), []);
  });
});
