/**
 * What the daemon's proxy-status and proxy-config routes return: the control plane produces these,
 * the CLI renders them, so they live with the protocol rather than in either.
 */
import type { Snapshot } from '../types.js';
import type { ResourceType } from './protocol.js';

export type SyncState = 'SYNCED' | 'STALE' | 'NACKED' | 'NOT SENT';

export interface TypeStatus {
  state: SyncState;
  /** version the proxy ACKed last ("" if none) */
  acked: string;
  resources: number;
}

export interface ProxyStreamStatus {
  proxyId: string;
  kind: 'sidecar' | 'gateway';
  workload: string;
  connectedAt: number;
  desiredVersion: string;
  types: Record<ResourceType, TypeStatus>;
  lastNack?: { version: string; type: ResourceType; error: string; at: number };
}

export interface ProxyStatusRow extends ProxyStreamStatus {
  /** every type SYNCED at the desired version */
  synced: boolean;
}

/** Config accepted but not (fully) translated: the proxy still runs, this says what was dropped and why. */
export interface TranslationWarning {
  /** stable code, e.g. MBX_ANALYZE_SUBSET_UNDEFINED */
  code: string;
  /** "VirtualService shop/reviews" */
  object: string;
  field: string;
  message: string;
}

export type FindingSeverity = 'Error' | 'Warning' | 'Info';

/**
 * One result of `meshbox analyze` (istioctl analyze's message): config the API accepted that will
 * not do what its author meant. `code` is stable (MBX_ANALYZE_*, table in docs/analyze.md).
 */
export interface Finding extends TranslationWarning {
  severity: FindingSeverity;
}

/** POST /apis/meshbox.dev/v1/analyze: the store's objects with `items` laid over them (same kind/namespace/name replaces). */
export interface AnalyzeRequest {
  items?: { apiVersion: string; kind: string; metadata: { name: string; namespace?: string } }[];
}

export interface AnalyzeResponse {
  findings: Finding[];
}

export interface ConfigDump {
  proxyId: string;
  workload: string;
  desiredVersion: string;
  acked: Record<ResourceType, string>;
  snapshot: Snapshot;
  warnings: TranslationWarning[];
}
