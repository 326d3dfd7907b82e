/**
 * Validation of the Istio-shaped policy blocks inside routes (retries, fault) and clusters
 * (lbPolicy, connectionPool, outlierDetection). The field semantics live in cluster-policy.ts;
 * this module feeds its issues into the snapshot's checker with the snapshot's paths.
 */
import type { Checker } from './checker.js';
import type { Route } from './types.js';
import {
  validateConnectionPool,
  validateFault,
  validateLoadBalancer,
  validateOutlierDetection,
  validateRetryWith,
  type PolicyIssue,
} from './cluster-policy.js';

function report(c: Checker, issues: readonly PolicyIssue[]): void {
  for (const i of issues) c.add(i.path, i.message);
}

export function validateRouteRetries(c: Checker, value: unknown, path: string): Route['retries'] | undefined {
  const before = c.issues.length;
  report(c, validateRetryWith(value, path, ['retryNonIdempotent']));
  const o = value as Record<string, unknown> | null;
  if (o && typeof o === 'object' && o.retryNonIdempotent !== undefined) c.boolean(o.retryNonIdempotent, `${path}.retryNonIdempotent`);
  return c.issues.length === before ? (value as Route['retries']) : undefined;
}

export function validateRouteFault(c: Checker, value: unknown, path: string): Route['fault'] | undefined {
  const before = c.issues.length;
  report(c, validateFault(value, path));
  return c.issues.length === before ? (value as Route['fault']) : undefined;
}

export function validateClusterPolicies(c: Checker, o: Record<string, unknown>, path: string): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (o.lbPolicy !== undefined) {
    report(c, validateLoadBalancer(o.lbPolicy, `${path}.lbPolicy`));
    out.lbPolicy = o.lbPolicy;
  }
  if (o.connectionPool !== undefined) {
    report(c, validateConnectionPool(o.connectionPool, `${path}.connectionPool`));
    out.connectionPool = o.connectionPool;
  }
  if (o.outlierDetection !== undefined) {
    report(c, validateOutlierDetection(o.outlierDetection, `${path}.outlierDetection`));
    out.outlierDetection = o.outlierDetection;
  }
  return out;
}
