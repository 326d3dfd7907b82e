import type { Container } from '../../../api/types.js';
import { ProbeInvalidPort, ProbePortNotFound } from './errors.js';

/**
 * A probe's or hook's port: a number, a numeric string, or the name of one of the container's ports
 * (kubelet's resolvePort / findPortByName).
 */
export function resolvePort(port: number | string, container: Pick<Container, 'name' | 'ports'> | undefined): number {
  let n: number;
  if (typeof port === 'number') n = port;
  else if (/^\d+$/.test(port)) n = Number(port);
  else {
    const named = container?.ports?.find((p) => p.name === port);
    if (!named) throw ProbePortNotFound(port, container?.name ?? '(unknown)');
    n = named.containerPort;
  }
  if (!Number.isInteger(n) || n < 1 || n > 65535) throw ProbeInvalidPort(String(port));
  return n;
}
