/**
 * Every finding code `meshbox analyze` reports, with its severity. The translator emits some of them
 * as TranslationWarnings while building snapshots (it owns those checks); the analyzer adds the rest.
 * docs/analyze.md lists each code (a test keeps the two in step).
 */
import type { Finding, FindingSeverity, TranslationWarning } from '../../meshconfig/xds/status.js';

export interface FindingCode {
  severity: FindingSeverity;
  /** one line for docs/analyze.md */
  summary: string;
  /** true when the translator detects it (the analyzer only collects it) */
  fromTranslator?: boolean;
}

export const FINDING_CODES: Readonly<Record<string, FindingCode>> = {
  MBX_ANALYZE_UNKNOWN_HOST: { severity: 'Error', summary: 'a route destination host is no Service and no ServiceEntry', fromTranslator: true },
  MBX_ANALYZE_UNKNOWN_PORT: { severity: 'Error', summary: 'a route destination port is not a port of the destination service', fromTranslator: true },
  MBX_ANALYZE_SUBSET_UNDEFINED: { severity: 'Error', summary: 'a route destination subset is defined by no DestinationRule of the host', fromTranslator: true },
  MBX_ANALYZE_MULTIPLE_VIRTUALSERVICES: { severity: 'Error', summary: 'several VirtualServices claim one host in the same scope (mesh or one Gateway); only the oldest is used', fromTranslator: true },
  MBX_ANALYZE_UNSUPPORTED_SERVER: { severity: 'Warning', summary: 'a Gateway server protocol the meshbox gateway does not serve (skipped)', fromTranslator: true },
  MBX_ANALYZE_ROUTE_SHADOWED: { severity: 'Warning', summary: 'an http route comes after a route that matches every request (or repeats an earlier match), so it is never used' },
  MBX_ANALYZE_PORT_PROTOCOL_MISMATCH: { severity: 'Warning', summary: "a Service port's name prefix names another protocol than its appProtocol (appProtocol wins)" },
  MBX_ANALYZE_DESTINATIONRULE_UNKNOWN_HOST: { severity: 'Warning', summary: 'a DestinationRule host is no Service and no ServiceEntry, so the rule applies to nothing' },
  MBX_ANALYZE_VALIDATION_WARNING: { severity: 'Warning', summary: "one of the schema's warnings (what apply prints as Warning: FILE:LINE:COL), for a stored object" },
  MBX_ANALYZE_GATEWAY_NOT_FOUND: { severity: 'Error', summary: 'a VirtualService is bound to a Gateway that does not exist' },
};

// The translator names the destination; a finding names the field of it that is wrong.
const DESTINATION_FIELD: Readonly<Record<string, string>> = {
  MBX_ANALYZE_UNKNOWN_HOST: 'host',
  MBX_ANALYZE_UNKNOWN_PORT: 'port',
  MBX_ANALYZE_SUBSET_UNDEFINED: 'subset',
};

/** A translator warning (or an analyzer result) with its severity; unknown codes count as warnings. */
export function toFinding(w: TranslationWarning): Finding {
  const part = DESTINATION_FIELD[w.code];
  const field = part && /\.(destination|mirror)$/.test(w.field) ? `${w.field}.${part}` : w.field;
  return { code: w.code, severity: FINDING_CODES[w.code]?.severity ?? 'Warning', object: w.object, field, message: w.message };
}
