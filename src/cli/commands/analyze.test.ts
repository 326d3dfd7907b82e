import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { applyDefaults } from '../../api/defaults.js';
import { validateObject } from '../../api/validate.js';
import { SqliteStore } from '../../store/sqlite-store.js';
import { ApiServer } from '../../daemon/api-server.js';
import { analyzeRoute } from '../../daemon/api-analyze.js';
import { run } from '../main.js';
import { ANALYZE_PATH } from './analyze.js';

type Cli = (args: string[], stdin?: string) => Promise<{ code: number; out: string; err: string }>;

function cliFor(dir: string): Cli {
  return async (args, stdin) => {
    // PassThroughs keep what the CLI wrote until it is read
    const out = new PassThrough();
    const err = new PassThrough();
    const code = await run(['--state-dir', dir, ...args], { stdout: out, stderr: err, stdin: Readable.from(stdin ? [stdin] : []), env: {}, now: () => 0 });
    return { code, out: String(out.read() ?? ''), err: String(err.read() ?? '') };
  };
}

async function withDaemon(fn: (cli: Cli, dir: string) => Promise<void>): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'mbx-cli-analyze-'));
  const store = new SqliteStore({ stateDir: dir });
  const server = new ApiServer({
    store,
    admit: (_r, o) => applyDefaults(o),
    validate: (o) => validateObject(o).map((i) => ({ path: i.field, message: i.message })),
    routes: { [ANALYZE_PATH]: analyzeRoute(store) },
    systemNamespaces: ['default', 'shop'],
  });
  await server.listen(join(dir, 'meshbox.sock'));
  try {
    await fn(cliFor(dir), dir);
  } finally {
    await server.close();
    store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

const SERVICE = `apiVersion: v1
kind: Service
metadata: { name: reviews, namespace: shop }
spec:
  selector: { app: reviews }
  ports: [{ name: http-web, port: 9080, appProtocol: tcp }]
`;
const BROKEN_VS = `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: reviews, namespace: shop }
spec:
  hosts: [reviews]
  http:
    - route: [{ destination: { host: reviews, subset: v2 } }]
`;
const FIXED_VS = BROKEN_VS.replace(', subset: v2', '');

test('apply prints the findings about what it applied to stderr as warnings and still exits 0', () =>
  withDaemon(async (cli) => {
    const r = await cli(['apply', '-f', '-'], `${SERVICE}---\n${BROKEN_VS}`);
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /virtualservice\.networking\.istio\.io\/reviews created|virtualservice.*reviews created/);
    assert.equal(
      r.err,
      'Warning [MBX_ANALYZE_SUBSET_UNDEFINED] (VirtualService shop/reviews) spec.http[0].route[0].destination.subset: subset v2 of reviews.shop.svc.cluster.local is not defined by any DestinationRule (VirtualService shop/reviews spec.http[0].route[0].destination)\n' +
        'Warning [MBX_ANALYZE_PORT_PROTOCOL_MISMATCH] (Service shop/reviews) spec.ports[0].appProtocol: port name http-web says http but appProtocol tcp says tcp; the proxy follows appProtocol (tcp): rename the port (tcp-…) or fix appProtocol\n',
    );
  }));

test('analyze: istioctl lines, exit 79 on an Error, namespace filter, -f laid over the store, -o json, then ✔ and 0 when fixed', () =>
  withDaemon(async (cli, dir) => {
    assert.equal((await cli(['apply', '-f', '-'], `${SERVICE}---\n${BROKEN_VS}`)).code, 0);
    const all = await cli(['analyze', '-n', 'shop']);
    assert.equal(all.code, 79);
    assert.deepEqual(all.out.trim().split('\n').map((l) => l.slice(0, l.indexOf(':'))), [
      'Error [MBX_ANALYZE_SUBSET_UNDEFINED] (VirtualService shop/reviews) spec.http[0].route[0].destination.subset',
      'Warning [MBX_ANALYZE_PORT_PROTOCOL_MISMATCH] (Service shop/reviews) spec.ports[0].appProtocol',
    ]);
    // the default namespace is "default": nothing there
    const def = await cli(['analyze']);
    assert.equal(def.code, 0);
    assert.equal(def.err, '✔ No validation issues found when analyzing namespace: default.\n');
    // a fix in a file, laid over the store: only the Warning is left, so exit 0
    const file = join(dir, 'fix.yaml');
    writeFileSync(file, FIXED_VS);
    const fixed = await cli(['analyze', '-A', '-f', file]);
    assert.equal(fixed.code, 0, fixed.err);
    assert.match(fixed.out, /^Warning \[MBX_ANALYZE_PORT_PROTOCOL_MISMATCH\]/);
    assert.doesNotMatch(fixed.out, /SUBSET/);
    const json = await cli(['analyze', '-A', '-o', 'json']);
    assert.equal(json.code, 79);
    const parsed = JSON.parse(json.out) as { code: string; severity: string; object: string; field: string }[];
    assert.deepEqual(parsed.map((f) => [f.severity, f.code]), [['Error', 'MBX_ANALYZE_SUBSET_UNDEFINED'], ['Warning', 'MBX_ANALYZE_PORT_PROTOCOL_MISMATCH']]);
    assert.equal((await cli(['analyze', '-n', 'shop', '-A'])).code, 1);
    assert.equal((await cli(['analyze', '-o', 'yaml'])).code, 1);
  }));

test('analyze without a daemon: -f files are analysed alone (said on stderr); without -f it is an error', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'mbx-cli-analyze-offline-'));
  try {
    const cli = cliFor(dir);
    const file = join(dir, 'mesh.yaml');
    writeFileSync(file, BROKEN_VS);
    const r = await cli(['analyze', '-n', 'shop', '-f', file]);
    assert.equal(r.code, 79);
    assert.match(r.err, /daemon is not running: analysing the -f files alone/);
    // alone, the host itself is unknown
    assert.match(r.out, /^Error \[MBX_ANALYZE_UNKNOWN_HOST\] \(VirtualService shop\/reviews\) spec\.http\[0\]\.route\[0\]\.destination\.host: /);
    const bad = await cli(['analyze']);
    assert.equal(bad.code, 1);
    assert.match(bad.err, /^error: meshbox daemon is not running/);
    // manifest errors keep the loader's FILE:LINE:COL form
    writeFileSync(file, `${BROKEN_VS}  bogus: 1\n`);
    const invalid = await cli(['analyze', '-f', file]);
    assert.equal(invalid.code, 1);
    assert.match(invalid.err, new RegExp(`${file.replace(/[.]/g, '\\.')}:\\d+:\\d+: `));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
