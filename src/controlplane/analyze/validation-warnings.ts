/**
 * The schema's warnings (api/validate.ts warningsFor: what apply prints as `Warning: FILE:LINE:COL`)
 * for Istio objects already stored, as istioctl analyze reports validation messages too. The schema's
 * unreachable-rule warnings (checkReachable: at spec.http[i] or spec.http[i].match[k]) are
 * shadowed routes; the others keep the schema's text under one code.
 */
import type { KubeObject } from '../../api/types.js';
import { warningsFor } from '../../api/validate.js';
import { objectName } from '../translate/build-routes.js';
import type { TranslationWarning } from '../../meshconfig/xds/status.js';

const UNREACHABLE_RULE = /^spec\.http\[\d+\](\.match\[\d+\])?$/;

export function validationWarnings(obj: KubeObject): TranslationWarning[] {
  return warningsFor(obj).map((issue) => ({
    code: obj.kind === 'VirtualService' && UNREACHABLE_RULE.test(issue.field) ? 'MBX_ANALYZE_ROUTE_SHADOWED' : 'MBX_ANALYZE_VALIDATION_WARNING',
    object: objectName(obj),
    field: issue.field,
    message: issue.message,
  }));
}
