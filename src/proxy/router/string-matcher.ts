/** Compiles an Istio StringMatch into a predicate once, at config build time. */
import type { StringMatch } from '../../meshconfig/types.js';

export type StringPredicate = (value: string | undefined) => boolean;

/** `forceIgnoreCase` makes the comparison case-insensitive (authority); otherwise the match's own `ignoreCase` decides. */
export function compileStringMatch(m: StringMatch, forceIgnoreCase = false): StringPredicate {
  const ignoreCase = forceIgnoreCase || m.ignoreCase === true;
  if (m.present !== undefined) {
    const want = m.present;
    return (v) => (v !== undefined) === want;
  }
  if (m.exact !== undefined) {
    const exact = ignoreCase ? m.exact.toLowerCase() : m.exact;
    return ignoreCase ? (v) => v !== undefined && v.toLowerCase() === exact : (v) => v === exact;
  }
  if (m.prefix !== undefined) {
    const prefix = ignoreCase ? m.prefix.toLowerCase() : m.prefix;
    return ignoreCase ? (v) => v !== undefined && v.toLowerCase().startsWith(prefix) : (v) => v !== undefined && v.startsWith(prefix);
  }
  if (m.regex !== undefined) {
    const re = new RegExp(`^(?:${m.regex})$`, ignoreCase ? 'i' : '');
    return (v) => v !== undefined && re.test(v);
  }
  return () => true;
}
