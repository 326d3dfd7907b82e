/**
 * Istio's protocol selection: `appProtocol` wins, else the Service port name's prefix before the
 * first "-" (http, http2, grpc, tcp, ...), else auto (the proxy sniffs).
 */
import type { ClusterProtocol, ListenerProtocol } from '../../meshconfig/types.js';

const BY_PREFIX: Record<string, ListenerProtocol> = {
  http: 'http',
  http2: 'http2',
  h2c: 'http2',
  grpc: 'grpc',
  'grpc-web': 'http',
  tcp: 'tcp',
  https: 'tcp',
  tls: 'tcp',
  mongo: 'tcp',
  redis: 'tcp',
  mysql: 'tcp',
};

export function portProtocol(port: { name?: string; appProtocol?: string; protocol?: string }): ListenerProtocol {
  if (port.protocol !== undefined && port.protocol.toUpperCase() === 'UDP') return 'tcp';
  if (port.appProtocol) {
    const p = BY_PREFIX[port.appProtocol.toLowerCase()];
    if (p) return p;
  }
  if (port.name) {
    const lower = port.name.toLowerCase();
    const prefix = lower === 'grpc-web' || lower.startsWith('grpc-web-') ? 'grpc-web' : (lower.split('-')[0] ?? '');
    const p = BY_PREFIX[prefix];
    if (p) return p;
  }
  return 'auto';
}

/** Auto-detected ports are served by HTTP/1.1 clusters; the listener falls back to TCP by itself. */
export function clusterProtocol(p: ListenerProtocol): ClusterProtocol {
  return p === 'auto' ? 'http' : p;
}

export function isHttpLike(p: ListenerProtocol): boolean {
  return p !== 'tcp';
}
