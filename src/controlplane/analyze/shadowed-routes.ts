/**
 * Routes that can never match: VirtualService http routes are tried in order and the first match
 * wins. The schema (api/schemas/istio/virtual-service.ts, checkReachable) already warns about
 * rules after a rule without matches and about repeated matches; this adds the rules after a
 * rule whose match admits every request (`uri: {prefix: /}`, `{}`, `regex: .*`).
 */
import type { HTTPMatchRequest, StringMatchIn, VirtualService } from '../translate/mesh-types.js';
import { objectName } from '../translate/build-routes.js';
import type { TranslationWarning } from '../../meshconfig/xds/status.js';

const ANY_REGEX = new Set(['.*', '^.*$', '(.*)', '.*$', '^.*']);

function matchesAnyString(m: StringMatchIn | undefined, isPath: boolean): boolean {
  if (m === undefined) return true;
  if (m.exact !== undefined) return false;
  if (m.prefix !== undefined && m.prefix !== '' && !(isPath && m.prefix === '/')) return false;
  if (m.regex !== undefined && !ANY_REGEX.has(m.regex) && !(isPath && m.regex === '/.*')) return false;
  // {} means "present": a path, authority and method are always present
  return true;
}

function isEmpty(o: Record<string, unknown> | undefined): boolean {
  return o === undefined || Object.keys(o).length === 0;
}

/** True when this match admits every request at every proxy (no header, source, gateway or port condition). */
export function matchesEverything(m: HTTPMatchRequest): boolean {
  if (!isEmpty(m.headers) || !isEmpty(m.queryParams) || !isEmpty(m.withoutHeaders) || !isEmpty(m.sourceLabels)) return false;
  if ((m.gateways?.length ?? 0) > 0 || m.port !== undefined) return false;
  return matchesAnyString(m.uri, true) && matchesAnyString(m.authority, false) && matchesAnyString(m.method, false);
}

export function shadowedRoutes(vs: VirtualService): TranslationWarning[] {
  const http = vs.spec.http ?? [];
  const catchAll = http.findIndex((r) => !r.match || r.match.length === 0 || r.match.some(matchesEverything));
  // a rule without matches is the schema's warning (shown at apply, and by analyze as a validation finding)
  if (catchAll < 0 || !http[catchAll]!.match?.length) return [];
  const by = `spec.http[${catchAll}]${http[catchAll]?.name ? ` (${http[catchAll]!.name})` : ''}`;
  const out: TranslationWarning[] = [];
  for (let j = catchAll + 1; j < http.length; j++) {
    out.push({
      code: 'MBX_ANALYZE_ROUTE_SHADOWED',
      object: objectName(vs),
      field: `spec.http[${j}]`,
      message: `this rule is never used: the match of ${by} before it admits every request; move it above ${by} or narrow that match`,
    });
  }
  return out;
}
