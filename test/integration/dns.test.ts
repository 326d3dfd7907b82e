/**
 * Cluster DNS through a real network namespace (root): a "pod" netns joined to the host by a veth
 * pair, the DNS server on the host end, and clients inside the netns resolving short names through
 * the Kubernetes search path — glibc's own resolver (getent, with `ip netns exec`'s per-netns
 * /etc/netns/<ns>/resolv.conf) and node's dns.Resolver. Names outside the cluster go to a fake
 * upstream on the host's 127.0.0.1, never to the internet. The netns has no default route.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, rm, rmdir, writeFile } from 'node:fs/promises';
import { randomInt } from 'node:crypto';
import { run } from '../../src/core/exec.js';
import { randomHex } from '../../src/core/ids.js';
import { ClusterRecords } from '../../src/dns/cluster-records.js';
import { DnsServer } from '../../src/dns/dns-server.js';
import { FakeUpstream } from '../../src/dns/dns-test-kit.js';

const isRoot = process.getuid?.() === 0;

async function ip(...args: string[]): Promise<void> {
  await run('ip', args, { timeoutMs: 10_000 });
}

test('a pod netns resolves cluster names through the search path, and outside names via upstream', { skip: !isRoot && 'needs root (netns, veth)' }, async (t) => {
  const rand = randomHex(6);
  const ns = `mbx${rand}`;
  const hostIf = `mbxd${rand}`;
  const podIf = `mbxp${rand}`;
  const octet = randomInt(0, 256);
  const hostIp = `10.204.${octet}.1`;
  const podIp = `10.204.${octet}.2`;
  const serviceIp = `10.96.${octet}.10`;
  const netnsDir = `/etc/netns/${ns}`;
  let server: DnsServer | undefined;
  const upstream = new FakeUpstream((q) =>
    q.name.toLowerCase() === 'www.example.test'
      ? { answers: [{ name: q.name, type: 'A', class: 'IN', ttl: 60, data: '192.0.2.80' }] }
      : { rcode: 3 },
  );
  try {
    await ip('netns', 'add', ns);
    await ip('link', 'add', hostIf, 'type', 'veth', 'peer', 'name', podIf);
    await ip('link', 'set', podIf, 'netns', ns);
    await ip('addr', 'add', `${hostIp}/24`, 'dev', hostIf);
    await ip('link', 'set', hostIf, 'up');
    await ip('-n', ns, 'addr', 'add', `${podIp}/24`, 'dev', podIf);
    await ip('-n', ns, 'link', 'set', podIf, 'up');
    await ip('-n', ns, 'link', 'set', 'lo', 'up');

    await upstream.start();
    const records = new ClusterRecords({ reverseCidrs: [`10.204.${octet}.0/24`] });
    records.upsertPod({ metadata: { name: 'client', namespace: 'default' }, status: { podIP: podIp } });
    records.upsertService({
      metadata: { name: 'web', namespace: 'default' },
      spec: { clusterIP: serviceIp, ports: [{ name: 'http', port: 80, protocol: 'TCP' }] },
    });
    records.upsertService({ metadata: { name: 'api', namespace: 'team' }, spec: { clusterIP: `10.96.${octet}.20` } });

    // glibc resolvers only speak to port 53; fall back to a free port (node resolver only) if it is taken.
    server = new DnsServer({ records, host: hostIp, port: 53, upstreams: [upstream.address], upstreamTimeoutMs: 1000 });
    let glibc = true;
    try {
      await server.start();
    } catch {
      glibc = false;
      server = new DnsServer({ records, host: hostIp, port: 0, upstreams: [upstream.address], upstreamTimeoutMs: 1000 });
      await server.start();
    }
    const port = server.address().port;
    t.diagnostic(glibc ? 'DNS on port 53: glibc (getent) checked too' : 'port 53 taken: node resolver only');

    // Node's resolver from inside the netns, doing what the pod's libc does with
    // `search default.svc.cluster.local svc.cluster.local cluster.local` and `ndots:5`.
    const script = `
      const { Resolver } = require('node:dns').promises;
      const r = new Resolver({ timeout: 2000, tries: 1 });
      r.setServers(['${hostIp}:${port}']);
      const search = ['default.svc.cluster.local', 'svc.cluster.local', 'cluster.local'];
      async function lookup(name) {
        const dots = name.split('.').length - 1;
        const candidates = dots >= 5 ? [name, ...search.map((s) => name + '.' + s)] : [...search.map((s) => name + '.' + s), name];
        const tried = [];
        for (const c of candidates) {
          tried.push(c);
          try { return { name: c, addrs: await r.resolve4(c), tried }; } catch (e) { if (e.code !== 'ENOTFOUND') throw e; }
        }
        return { name: null, addrs: [], tried };
      }
      (async () => {
        const out = {};
        for (const n of ['web', 'web.default', 'api.team', 'api.team.svc', '${podIp.replace(/\./g, '-')}.default.pod', 'www.example.test', 'nosuch']) out[n] = await lookup(n);
        out.srv = await r.resolveSrv('_http._tcp.web.default.svc.cluster.local');
        out.ptr = await r.reverse('${podIp}');
        process.stdout.write(JSON.stringify(out));
      })().catch((e) => { console.error(e); process.exit(1); });
    `;
    const res = await run('ip', ['netns', 'exec', ns, process.execPath, '-e', script], { timeoutMs: 30_000 });
    const out = JSON.parse(res.stdout) as Record<string, { name: string | null; addrs: string[]; tried: string[] }> & {
      srv: { name: string; port: number }[];
      ptr: string[];
    };
    assert.deepEqual(out.web!.addrs, [serviceIp]);
    assert.equal(out.web!.name, 'web.default.svc.cluster.local');
    assert.equal(out['web.default']!.name, 'web.default.svc.cluster.local');
    assert.deepEqual(out['web.default']!.tried, ['web.default.default.svc.cluster.local', 'web.default.svc.cluster.local']);
    assert.deepEqual(out['api.team']!.addrs, [`10.96.${octet}.20`]);
    assert.equal(out['api.team.svc']!.name, 'api.team.svc.cluster.local');
    assert.deepEqual(out[`${podIp.replace(/\./g, '-')}.default.pod`]!.addrs, [podIp]);
    assert.deepEqual(out['www.example.test']!.addrs, ['192.0.2.80'], 'outside names are forwarded upstream');
    assert.equal(out.nosuch!.name, null);
    assert.deepEqual(out.srv.map((s) => [s.name, s.port]), [['web.default.svc.cluster.local', 80]]);
    assert.deepEqual(out.ptr, [`${podIp.replace(/\./g, '-')}.default.pod.cluster.local`]);
    // search-path candidates inside the cluster domain are answered locally, never forwarded
    assert.ok(upstream.asked.every((q) => !q.name.endsWith('cluster.local')), JSON.stringify(upstream.asked));

    if (glibc) {
      // The pod's real resolver: glibc reads /etc/netns/<ns>/resolv.conf, bind-mounted by `ip netns exec`.
      await mkdir(netnsDir, { recursive: true });
      await writeFile(
        `${netnsDir}/resolv.conf`,
        `search default.svc.cluster.local svc.cluster.local cluster.local\nnameserver ${hostIp}\noptions ndots:5\n`,
      );
      const getent = async (name: string) =>
        (await run('ip', ['netns', 'exec', ns, 'getent', 'hosts', name], { timeoutMs: 15_000, allowFailure: true }));
      const web = await getent('web');
      assert.equal(web.code, 0, web.stderr);
      assert.match(web.stdout, new RegExp(`^${serviceIp.replace(/\./g, '\\.')}\\s+web\\.default\\.svc\\.cluster\\.local`));
      const api = await getent('api.team');
      assert.match(api.stdout, new RegExp(`^10\\.96\\.${octet}\\.20\\s+api\\.team\\.svc\\.cluster\\.local`));
      const missing = await getent('nosuch-service');
      assert.equal(missing.code, 2, 'getent exits 2 when a name is not found');
    }
  } finally {
    await server?.stop().catch(() => {});
    await upstream.stop().catch(() => {});
    await run('ip', ['netns', 'del', ns], { allowFailure: true });
    await run('ip', ['link', 'del', hostIf], { allowFailure: true });
    await rm(netnsDir, { recursive: true, force: true });
    await rmdir('/etc/netns').catch(() => {});
  }
});
