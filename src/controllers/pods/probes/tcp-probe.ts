/** tcpSocket probes: success when a TCP connection opens within the timeout (kubelet pkg/probe/tcp). */
import net from 'node:net';
import type { Container } from '../../../api/types.js';
import { dialError, formatHostPort } from './dial-error.js';
import { resolvePort } from './resolve-port.js';
import type { ProbeResult } from './probe-target.js';

export async function tcpProbe(
  action: { port: number | string; host?: string },
  container: Pick<Container, 'name' | 'ports'> | undefined,
  podIP: string,
  timeoutMs: number,
): Promise<ProbeResult> {
  let port: number;
  try {
    port = resolvePort(action.port, container);
  } catch (err) {
    return { outcome: 'failure', output: (err as Error).message };
  }
  const host = action.host || podIP;
  return new Promise((resolve) => {
    const socket = net.connect({ host, port, timeout: timeoutMs });
    const done = (r: ProbeResult): void => {
      socket.destroy();
      resolve(r);
    };
    socket.once('connect', () => done({ outcome: 'success', output: '' }));
    socket.once('timeout', () => done({ outcome: 'failure', output: `dial tcp ${formatHostPort(host, port)}: i/o timeout` }));
    socket.once('error', (err) => done({ outcome: 'failure', output: dialError(host, port, err) }));
  });
}
