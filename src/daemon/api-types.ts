/**
 * The API server's extension points and wire shapes. The daemon wires the hooks: the manifest
 * engine provides `admit` (defaults) and `validate`, the runtime provides `PodIO`.
 *
 * Error responses are Kubernetes `Status` objects. `details.causes[0].reason` holds the stable
 * meshbox code (`MBX_STORE_NOT_FOUND`, ...); further causes list validation issues
 * (`{reason: "FieldValueInvalid", field, message}`). `code` is the HTTP status, as in Kubernetes.
 */
import type { Readable, Writable } from 'node:stream';
import type { KubeObject } from '../api/types.js';
import type { ResourceType } from '../api/resources.js';

export interface ValidationIssue {
  /** field path, e.g. "spec.containers[0].image" */
  path: string;
  message: string;
}

/** Called on create and update (POST, PUT, PATCH, apply), after `admit`; issues → 422. */
export type ValidateHook = (obj: KubeObject) => ValidationIssue[];

/**
 * Called on create and update before `validate`; returns the object with defaults set. `oldObj` is
 * the stored object on update (e.g. to keep an allocated clusterIP). Must not write to the store.
 */
export type AdmitHook = (resource: ResourceType, obj: KubeObject, oldObj?: KubeObject) => KubeObject;

export interface LogOptions {
  container?: string;
  follow?: boolean;
  tailLines?: number;
  previous?: boolean;
  timestamps?: boolean;
}

export interface ExecIO {
  stdin?: Readable;
  stdout: Writable;
  stderr: Writable;
  /** aborted when the client goes away before the command ends */
  signal?: AbortSignal;
}

/** Implemented by the runtime. Throw MeshboxErrors (with httpStatus) for a missing container etc. */
export interface PodIO {
  logs(namespace: string, pod: string, opts: LogOptions): Promise<Readable>;
  /** resolves to the command's exit code */
  exec(namespace: string, pod: string, container: string | undefined, argv: string[], io: ExecIO): Promise<number>;
}

export interface KubeStatus {
  kind: 'Status';
  apiVersion: 'v1';
  metadata: Record<string, never>;
  status: 'Success' | 'Failure';
  message: string;
  reason: string;
  details?: {
    name?: string;
    kind?: string;
    causes?: { reason: string; message: string; field?: string }[];
  };
  code: number;
}

/** POST /apis/meshbox.dev/v1/apply */
export interface ApplyRequest {
  items: KubeObject[];
  dryRun?: boolean;
}

export type ApplyAction = 'created' | 'configured' | 'unchanged';

export interface ApplyResult {
  items: { resource: string; kind: string; namespace?: string; name: string; action: ApplyAction }[];
  dryRun: boolean;
}

/** Upgrade protocol of the exec sub-resource (see api-exec-stream.ts for the framing). */
export const EXEC_PROTOCOL = 'meshbox.exec.v1';

export const APPLY_PATH = '/apis/meshbox.dev/v1/apply';
