/** Plain TCP proxying: pick an endpoint of the listener's cluster and pipe bytes both ways. */
import net from 'node:net';
import type { ClusterStack } from '../upstream/cluster-stack.js';
import type { TcpSeries } from '../telemetry/istio-metrics.js';
import type { AccessLog } from '../telemetry/access-log.js';

export interface TcpTarget {
  readonly proxyName: string;
  readonly listenerName: string;
  readonly stack: ClusterStack;
  readonly series: TcpSeries;
  readonly accessLog: AccessLog;
}

export function forwardTcp(t: TcpTarget, client: net.Socket, onClose: () => void): void {
  const start = Date.now();
  const ep = t.stack.balancer.pick({});
  t.series.opened++;
  let flag = '-';
  let upstreamKey: string | undefined;
  const finish = (): void => {
    t.series.closed++;
    t.series.received += client.bytesRead;
    t.series.sent += client.bytesWritten;
    if (t.accessLog.enabled) {
      t.accessLog.write({
        start_time: new Date(start).toISOString(),
        protocol: 'TCP',
        response_flags: flag,
        bytes_received: client.bytesRead,
        bytes_sent: client.bytesWritten,
        duration_ms: Date.now() - start,
        upstream_host: upstreamKey,
        upstream_cluster: t.stack.name,
        downstream_remote_address: client.remoteAddress,
        listener: t.listenerName,
      });
    }
    onClose();
  };
  if (!ep) {
    flag = 'UH';
    client.destroy();
    finish();
    return;
  }
  upstreamKey = ep.key;
  ep.activeRequests++;
  ep.rqTotal++;
  ep.cxActive++;
  ep.cxTotal++;
  const upstream = net.connect({ host: ep.address, port: ep.port, timeout: t.stack.pool.connectTimeoutMs });
  let connected = false;
  upstream.once('connect', () => {
    connected = true;
    upstream.setTimeout(0);
  });
  upstream.once('timeout', () => {
    if (!connected) upstream.destroy(new Error('connect timeout'));
  });
  upstream.on('error', () => {
    if (!connected) {
      flag = 'UF';
      t.stack.outlier?.record(ep, 'connect-failure');
    } else if (flag === '-') flag = 'UC';
    client.destroy();
  });
  client.on('error', () => {
    if (flag === '-') flag = 'DC';
    upstream.destroy();
  });
  client.pipe(upstream);
  upstream.pipe(client);
  let closed = 0;
  const onOneClosed = (): void => {
    if (++closed < 2) return;
    ep.activeRequests--;
    ep.cxActive--;
    finish();
  };
  client.once('close', () => {
    upstream.destroy();
    onOneClosed();
  });
  upstream.once('close', () => {
    client.destroy();
    onOneClosed();
  });
}
