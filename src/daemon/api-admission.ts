/**
 * What every create and update of a user object goes through, in the order Kubernetes uses:
 * version conversion (apiVersion rewritten to the storage version), namespace checks, admission
 * (defaults), validation (all issues at once, 422).
 */
import type { KubeObject } from '../api/types.js';
import { apiVersionOf, resourceKey, type ResourceType } from '../api/resources.js';
import type { Store } from '../store/types.js';
import type { AdmitHook, ValidateHook } from './api-types.js';
import { BadRequest, InvalidObject, NamespaceNotFound, NamespaceTerminating } from './api-errors.js';

export interface AdmissionHooks {
  admit?: AdmitHook | undefined;
  validate?: ValidateHook | undefined;
}

export class Admission {
  #store: Store;
  #hooks: AdmissionHooks;

  constructor(store: Store, hooks: AdmissionHooks) {
    this.#store = store;
    this.#hooks = hooks;
  }

  /**
   * Checks kind/version against the resource, fills the namespace from the path (or "default"),
   * runs admit and validate. Returns the object to store.
   */
  prepare(resource: ResourceType, input: unknown, pathNamespace: string | undefined, old?: KubeObject): KubeObject {
    if (typeof input !== 'object' || input === null || Array.isArray(input)) {
      throw BadRequest(`the request body must be a ${resource.kind} object`);
    }
    const obj = input as KubeObject;
    if (obj.kind !== undefined && obj.kind !== resource.kind) {
      throw BadRequest(`the body is a ${String(obj.kind)}, but the path is for ${resource.plural}: send it to the ${String(obj.kind)} path`);
    }
    if (obj.apiVersion !== undefined) {
      const ok = resource.acceptedVersions.some((v) => apiVersionOf(resource, v) === obj.apiVersion);
      if (!ok) {
        throw BadRequest(
          `apiVersion "${String(obj.apiVersion)}" is not served for ${resource.kind}: use ${resource.acceptedVersions.map((v) => apiVersionOf(resource, v)).join(' or ')}`,
        );
      }
    }
    if (typeof obj.metadata !== 'object' || obj.metadata === null || Array.isArray(obj.metadata)) {
      throw InvalidObject(resource.kind, '', 'metadata: Required value', { details: { issues: [{ path: 'metadata', message: 'Required value' }], kind: resource.plural } });
    }
    let out: KubeObject = { ...obj, apiVersion: apiVersionOf(resource), kind: resource.kind, metadata: { ...obj.metadata } };
    if (resource.namespaced) {
      const ns = out.metadata.namespace;
      if (pathNamespace !== undefined && ns !== undefined && ns !== pathNamespace) {
        throw BadRequest(`the namespace of the object (${ns}) does not match the namespace of the request (${pathNamespace})`);
      }
      out.metadata.namespace = ns ?? pathNamespace ?? 'default';
    } else {
      delete out.metadata.namespace;
    }
    if (this.#hooks.admit) out = this.#hooks.admit(resource, out, old);
    if (resource.kind === 'Namespace' && old === undefined) {
      // Namespaces report phase Active from birth, as in Kubernetes
      out.status = { ...((out.status as object | undefined) ?? {}), phase: 'Active' };
    }
    const issues = this.#hooks.validate ? this.#hooks.validate(out) : [];
    if (issues.length > 0) {
      const name = out.metadata.name || out.metadata.generateName || '';
      throw InvalidObject(resource.kind, name, issues.map((i) => `${i.path}: ${i.message}`).join('; '), {
        details: { issues, name, kind: resource.plural },
      });
    }
    return out;
  }

  /** A create in a namespace needs the namespace to exist and not be terminating. */
  checkNamespace(resource: ResourceType, namespace: string | undefined): void {
    if (!resource.namespaced || namespace === undefined) return;
    const ns = this.#store.get('namespaces', undefined, namespace);
    if (!ns) throw NamespaceNotFound(namespace);
    if (ns.metadata.deletionTimestamp) throw NamespaceTerminating(namespace);
  }
}

export function storeKey(resource: ResourceType): string {
  return resourceKey(resource);
}
