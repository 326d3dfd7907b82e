/** One probe run: picks the action of the probe and runs it with the probe's timeout. */
import type { Container, Probe } from '../../../api/types.js';
import { execProbe } from './exec-probe.js';
import { grpcProbe } from './grpc-probe.js';
import { httpProbe } from './http-probe.js';
import { tcpProbe } from './tcp-probe.js';
import type { ProbeResult, ProbeTarget } from './probe-target.js';

export async function runProbe(probe: Probe, container: Pick<Container, 'name' | 'ports'>, target: ProbeTarget, timeoutMs: number): Promise<ProbeResult> {
  if (probe.exec) return execProbe(probe.exec.command, target, timeoutMs);
  if (probe.httpGet) return httpProbe(probe.httpGet, container, target.podIP, timeoutMs);
  if (probe.tcpSocket) return tcpProbe(probe.tcpSocket, container, target.podIP, timeoutMs);
  if (probe.grpc) return grpcProbe(probe.grpc, target.podIP, timeoutMs);
  // validation rejects such probes; the kubelet reports this as an unknown action
  return { outcome: 'failure', output: `missing probe handler for ${container.name}` };
}
