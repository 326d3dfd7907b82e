/**
 * The sidecar container's process: `node <PROXY_V8_FLAGS> sidecar-entry.js`, configured by the
 * environment the injector writes (src/meshconfig/sidecar-process.ts): who it is (pod, namespace,
 * IP), where the control plane is and its token. It serves nothing, /healthz/ready included, until
 * its first config has arrived, so the pod's app containers start into working routes.
 */
import { defaultBootstrap } from '../meshconfig/load-proxy-config-file.js';
import { SIDECAR_ENV, sidecarNodeId } from '../meshconfig/sidecar-process.js';
import { runProxyFromXds } from './run-from-xds.js';
import { startAppHealth } from './admin/app-health.js';
import { AGENT_PORT, APP_PROBERS_ENV, type AppProbers } from '../meshconfig/app-probers.js';

function required(name: string): string {
  const v = process.env[name];
  if (v === undefined || v === '') {
    process.stderr.write(`meshbox sidecar: environment variable ${name} is not set (the injector sets it; see docs/mesh.md)\n`);
    process.exit(2);
  }
  return v;
}

const env = SIDECAR_ENV;
const nodeId = sidecarNodeId(required(env.podIP), required(env.podName), required(env.podNamespace), process.env[env.clusterDomain] || 'cluster.local');
const token = required(env.token);
// the token is the pod's credential: keep it out of anything the proxy might print or hand on
delete process.env[env.token];

const bootstrap = defaultBootstrap();
const meta = { workload: process.env[env.workload], namespace: process.env[env.podNamespace], app: process.env[env.app], version: process.env[env.version] };
for (const [k, v] of Object.entries(meta)) if (v) bootstrap.node.metadata[k as keyof typeof meta] = v;

// The kubelet's rewritten app probes: answered at once, independent of the control plane.
const probers = process.env[APP_PROBERS_ENV];
if (probers) {
  Promise.resolve()
    .then(() => startAppHealth(JSON.parse(probers) as AppProbers, { address: '0.0.0.0', port: AGENT_PORT }))
    .catch((err: unknown) => {
      process.stderr.write(`meshbox sidecar: app probe port ${AGENT_PORT}: ${err instanceof Error ? err.message : String(err)}\n`);
      process.exit(1);
    });
}

runProxyFromXds({ target: { path: required(env.xdsSocket) }, nodeId, token, bootstrap, holdUntilConfigured: true }).catch((err: unknown) => {
  process.stderr.write(`meshbox sidecar failed to start: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
