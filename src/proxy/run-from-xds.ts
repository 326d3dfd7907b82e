/**
 * `meshbox proxy --xds SOCKET --node ID --token-file FILE`: a proxy fed by the control plane. It
 * starts serving an empty config (admin/stats/health only), then every batch the config stream
 * delivers goes through `proxy.update`; a rejected snapshot throws so the client NACKs it and the
 * proxy keeps its last good config. When the control plane is gone the client reconnects with
 * back-off while the proxy keeps serving. SIGTERM/SIGINT drain, then stop.
 */
import type { Logger } from '../core/logger.js';
import { defaultBootstrap } from '../meshconfig/load-proxy-config-file.js';
import { parseDuration } from '../meshconfig/duration.js';
import type { Bootstrap, Snapshot } from '../meshconfig/types.js';
import { XdsClient, type XdsTarget } from '../meshconfig/xds/client.js';
import { drainOnSignals } from './drain-on-signals.js';
import { createLineLogger } from './line-logger.js';
import { Proxy } from './proxy.js';

export interface RunProxyFromXdsOptions {
  target: XdsTarget;
  /** the node id the control plane knows this proxy by (sidecar~… or router~…) */
  nodeId: string;
  token: string;
  /** admin/stats/health ports, limits…; `node.id` is replaced by `nodeId` (default: defaultBootstrap()) */
  bootstrap?: Bootstrap;
  logger?: Logger;
  /** install SIGTERM/SIGINT handlers that drain and exit (default true) */
  handleSignals?: boolean;
  /** called instead of process.exit when the proxy quits (tests) */
  exit?: (code: number) => void;
  /**
   * Serve nothing, health included, until the first config has been applied (a sidecar: the pod's
   * app containers start once /healthz/ready answers, and must find their routes in place).
   * Default false: serve admin and health at once with an empty config (a gateway).
   */
  holdUntilConfigured?: boolean;
}

export interface RunningXdsProxy {
  proxy: Proxy;
  client: XdsClient;
  /** drain, stop the proxy and close the config stream */
  close(): Promise<void>;
}

const EMPTY: Snapshot = { version: '0', listeners: [], routes: [], clusters: [] };

export async function runProxyFromXds(opts: RunProxyFromXdsOptions): Promise<RunningXdsProxy> {
  const log = opts.logger ?? createLineLogger('proxy');
  const exit = opts.exit ?? ((code: number) => process.exit(code));
  const base = opts.bootstrap ?? defaultBootstrap();
  const bootstrap: Bootstrap = { ...base, node: { ...base.node, id: opts.nodeId } };
  let closing = false;
  const proxy = new Proxy({
    bootstrap,
    logger: log,
    onQuit: () => {
      void cleanup().then(() => exit(0));
    },
  });
  // Serve admin and health at once unless told to wait: the config may arrive much later.
  let started = opts.holdUntilConfigured !== true;
  if (started) await proxy.start(EMPTY);

  const client = new XdsClient({
    target: opts.target,
    node: bootstrap.node,
    token: opts.token,
    log,
    onSnapshot: async (snapshot) => {
      if (!started) {
        await proxy.start(snapshot); // throws (so NACKs) on a rejected first config
        started = true;
        return;
      }
      const r = await proxy.update(snapshot);
      // Throwing makes the client NACK the whole batch; the proxy already kept its last good config.
      if (!r.accepted) throw r.error ?? new Error(`snapshot ${snapshot.version} was rejected`);
    },
    onRefused: (code, message) => log.warn({ code }, `the control plane refused this proxy: ${message}`),
  });
  client.start();

  const removeSignals = opts.handleSignals !== false ? drainOnSignals({ log, close: cleanup, exit, isClosing: () => closing }) : undefined;

  async function cleanup(): Promise<void> {
    if (closing) return;
    closing = true;
    removeSignals?.();
    await client.close();
    await proxy.drain(parseDuration(bootstrap.drainTimeout) ?? 5000);
    await proxy.stop();
  }

  return { proxy, client, close: cleanup };
}
