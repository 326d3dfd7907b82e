/** Maps Kubernetes REST paths to a resource type, namespace, name and sub-resource. */
import { RESOURCES, type ResourceType } from '../api/resources.js';
import { BadRequest, RouteNotFound } from './api-errors.js';

export type ApiPath =
  | { type: 'discovery'; what: 'api' | 'apis' | 'version' }
  | { type: 'group-version'; group: string; version: string }
  | { type: 'apply' }
  | {
      type: 'resource';
      resource: ResourceType;
      /** the version the client used (the object is still stored at resource.version) */
      version: string;
      namespace: string | undefined;
      name: string | undefined;
      subresource: string | undefined;
    };

const SUBRESOURCES = new Set(['status', 'log', 'exec']);

export function parseApiPath(pathname: string): ApiPath {
  let segs: string[];
  try {
    segs = pathname.split('/').filter((s) => s !== '').map(decodeURIComponent);
  } catch {
    throw BadRequest(`malformed path ${pathname}`);
  }
  const [root, ...rest] = segs;
  if (segs.length === 1 && (root === 'api' || root === 'apis' || root === 'version')) {
    return { type: 'discovery', what: root };
  }
  let group: string;
  let version: string | undefined;
  let tail: string[];
  if (root === 'api') {
    group = '';
    version = rest[0];
    tail = rest.slice(1);
  } else if (root === 'apis') {
    group = rest[0] ?? '';
    version = rest[1];
    tail = rest.slice(2);
  } else {
    throw RouteNotFound(pathname);
  }
  if (!version) throw RouteNotFound(pathname);
  if (group === 'meshbox.dev' && version === 'v1' && tail.length === 1 && tail[0] === 'apply') return { type: 'apply' };
  if (tail.length === 0) {
    if (!RESOURCES.some((r) => r.group === group && r.acceptedVersions.includes(version!)) && !(group === 'meshbox.dev' && version === 'v1')) {
      throw RouteNotFound(pathname);
    }
    return { type: 'group-version', group, version };
  }
  let namespace: string | undefined;
  let plural: string;
  let name: string | undefined;
  let subresource: string | undefined;
  let extra: string[];
  // /namespaces/{ns}/{plural}/... unless it is the Namespace object itself (/namespaces/{ns}[/status])
  if (tail[0] === 'namespaces' && tail.length >= 3 && !SUBRESOURCES.has(tail[2]!)) {
    namespace = tail[1];
    [plural, name, subresource, ...extra] = tail.slice(2) as [string, ...string[]];
  } else {
    [plural, name, subresource, ...extra] = tail as [string, ...string[]];
  }
  const resource = RESOURCES.find((r) => r.plural === plural && r.group === group && r.acceptedVersions.includes(version!));
  if (!resource || extra.length > 0) throw RouteNotFound(pathname);
  if (namespace !== undefined && !resource.namespaced) throw RouteNotFound(pathname);
  if (resource.namespaced && namespace === undefined && name !== undefined) throw RouteNotFound(pathname);
  if (subresource !== undefined) {
    const ok = subresource === 'status' || (resource.plural === 'pods' && resource.group === '' && (subresource === 'log' || subresource === 'exec'));
    if (!ok) throw RouteNotFound(pathname);
  }
  return { type: 'resource', resource, version, namespace, name, subresource };
}
