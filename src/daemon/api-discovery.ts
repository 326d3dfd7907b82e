/** Discovery documents: GET /api, /apis, /api/v1, /apis/{group}/{version}, /version. */
import { RESOURCES } from '../api/resources.js';

const VERBS = ['create', 'delete', 'get', 'list', 'patch', 'update', 'watch'];

export function apiVersions(): unknown {
  return { kind: 'APIVersions', apiVersion: 'v1', versions: ['v1'], serverAddressByClientCIDRs: [] };
}

export function apiGroupList(): unknown {
  const groups = new Map<string, Set<string>>();
  const preferred = new Map<string, string>();
  for (const r of RESOURCES) {
    if (!r.group) continue;
    const set = groups.get(r.group) ?? new Set<string>();
    set.add(r.version);
    for (const v of r.acceptedVersions) set.add(v);
    groups.set(r.group, set);
    preferred.set(r.group, r.version);
  }
  groups.set('meshbox.dev', new Set(['v1']));
  preferred.set('meshbox.dev', 'v1');
  return {
    kind: 'APIGroupList',
    apiVersion: 'v1',
    groups: [...groups].map(([name, versions]) => ({
      name,
      versions: [...versions].map((version) => ({ groupVersion: `${name}/${version}`, version })),
      preferredVersion: { groupVersion: `${name}/${preferred.get(name)}`, version: preferred.get(name) },
    })),
  };
}

export function apiResourceList(group: string, version: string): unknown {
  const resources: unknown[] = [];
  for (const r of RESOURCES) {
    if (r.group !== group || !r.acceptedVersions.includes(version)) continue;
    resources.push({ name: r.plural, singularName: r.singular, namespaced: r.namespaced, kind: r.kind, verbs: VERBS, shortNames: r.shortNames });
    resources.push({ name: `${r.plural}/status`, singularName: '', namespaced: r.namespaced, kind: r.kind, verbs: ['get', 'patch', 'update'] });
    if (r.plural === 'pods' && !r.group) {
      resources.push({ name: 'pods/log', singularName: '', namespaced: true, kind: 'Pod', verbs: ['get'] });
      resources.push({ name: 'pods/exec', singularName: '', namespaced: true, kind: 'PodExecOptions', verbs: ['create', 'get'] });
    }
  }
  if (group === 'meshbox.dev') resources.push({ name: 'apply', singularName: '', namespaced: false, kind: 'Apply', verbs: ['create'] });
  return { kind: 'APIResourceList', apiVersion: 'v1', groupVersion: group ? `${group}/${version}` : version, resources };
}

export function versionInfo(meshboxVersion: string): unknown {
  return {
    major: '1',
    minor: '30',
    gitVersion: `v1.30.0+meshbox-${meshboxVersion}`,
    meshboxVersion,
    goVersion: `node${process.versions.node}`,
    compiler: 'tsc',
    platform: `${process.platform}/${process.arch}`,
  };
}
