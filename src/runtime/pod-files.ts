/**
 * Per-pod files: /etc/hosts, /etc/resolv.conf, /etc/hostname, and volumes (emptyDir, configMap,
 * secret, hostPath) turned into bind mounts, with subPath and readOnly. Rendering is pure; only
 * writePodEtcFiles / materializeVolumes / containerMounts touch the disk.
 *
 *   podHostname(pod): string
 *   renderHostsFile(o: HostsFileOptions): string            as the kubelet writes it
 *   renderResolvConf(o: ResolvConfOptions): string          ClusterFirst / Default / None + dnsConfig
 *   writePodEtcFiles(podDir, { hosts, resolvConf, hostname }): Promise<PodEtcPaths>
 *   configMapFiles(cm, vol) / secretFiles(secret, vol): ProjectedFile[]   keys/items → files + modes
 *   writeAtomicDir(dir, files): Promise<void>              kubelet's atomic writer (..data symlink swap)
 *   materializeVolumes(pod, podDir, lookup): Promise<Map<string, PreparedVolume>>
 *   containerMounts(container, volumes): Promise<ContainerMount[]>   volumeMounts → OCI bind mounts
 *
 * Layout under the pod folder: etc/{hosts,resolv.conf,hostname}, volumes/<kind>/<volume name>.
 */
import { chmod, lstat, mkdir, readdir, realpath, rename, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { dirname, join, normalize, isAbsolute } from 'node:path';
import type { ConfigMap, Container, KeyToPath, Pod, Secret, Volume } from '../api/types.js';
import {
  HostPathTypeMismatch,
  InvalidSubPath,
  UnknownVolume,
  VolumeKeyNotFound,
  VolumeSourceNotFound,
} from './errors.js';
import type { ContainerMount } from './oci-spec.js';

// === /etc/hostname, /etc/hosts, /etc/resolv.conf ===

/** spec.hostname or the pod name, cut to 63 characters as the kubelet does. */
export function podHostname(pod: Pick<Pod, 'metadata' | 'spec'>): string {
  const name = pod.spec.hostname || pod.metadata.name || '';
  return name.slice(0, 63).replace(/[-.]+$/, '');
}

export interface HostsFileOptions {
  podIP?: string;
  hostname: string;
  subdomain?: string;
  namespace: string;
  clusterDomain: string;
  hostAliases?: { ip: string; hostnames: string[] }[];
}

export function renderHostsFile(o: HostsFileOptions): string {
  const lines = [
    '# Kubernetes-managed hosts file.',
    '127.0.0.1\tlocalhost',
    '::1\tlocalhost ip6-localhost ip6-loopback',
    'fe00::0\tip6-localnet',
    'fe00::0\tip6-mcastprefix',
    'fe00::1\tip6-allnodes',
    'fe00::2\tip6-allrouters',
  ];
  if (o.podIP) {
    if (o.subdomain) {
      lines.push(`${o.podIP}\t${o.hostname}.${o.subdomain}.${o.namespace}.svc.${o.clusterDomain}\t${o.hostname}`);
    } else {
      lines.push(`${o.podIP}\t${o.hostname}`);
    }
  }
  if (o.hostAliases && o.hostAliases.length > 0) {
    lines.push('', '# Entries added by HostAliases.');
    for (const a of o.hostAliases) lines.push(`${a.ip}\t${a.hostnames.join('\t')}`);
  }
  return lines.join('\n') + '\n';
}

export interface ResolvConfOptions {
  namespace: string;
  clusterDomain: string;
  /** the cluster DNS server (bridge gateway) */
  dnsServer: string;
  dnsPolicy?: 'ClusterFirst' | 'Default' | 'None' | 'ClusterFirstWithHostNet';
  dnsConfig?: { nameservers?: string[]; searches?: string[]; options?: { name: string; value?: string }[] };
  /** the host's resolv.conf text, for dnsPolicy Default */
  hostResolvConf?: string;
}

interface ResolvParts {
  nameservers: string[];
  searches: string[];
  options: Map<string, string | undefined>;
}

function parseResolvConf(text: string): ResolvParts {
  const out: ResolvParts = { nameservers: [], searches: [], options: new Map() };
  for (const raw of text.split('\n')) {
    const line = raw.replace(/[#;].*$/, '').trim();
    const [kw, ...rest] = line.split(/\s+/);
    if (kw === 'nameserver' && rest[0]) out.nameservers.push(rest[0]);
    else if (kw === 'search' || kw === 'domain') out.searches = rest;
    else if (kw === 'options') {
      for (const o of rest) {
        const [k, v] = o.split(':');
        if (k) out.options.set(k, v);
      }
    }
  }
  return out;
}

export function renderResolvConf(o: ResolvConfOptions): string {
  const policy = o.dnsPolicy ?? 'ClusterFirst';
  let parts: ResolvParts;
  if (policy === 'None') parts = { nameservers: [], searches: [], options: new Map() };
  else if (policy === 'Default') parts = parseResolvConf(o.hostResolvConf ?? '');
  else {
    parts = {
      nameservers: [o.dnsServer],
      searches: [`${o.namespace}.svc.${o.clusterDomain}`, `svc.${o.clusterDomain}`, o.clusterDomain],
      options: new Map([['ndots', '5']]),
    };
  }
  const dc = o.dnsConfig;
  if (dc) {
    for (const ns of dc.nameservers ?? []) if (!parts.nameservers.includes(ns)) parts.nameservers.push(ns);
    for (const s of dc.searches ?? []) if (!parts.searches.includes(s)) parts.searches.push(s);
    for (const opt of dc.options ?? []) parts.options.set(opt.name, opt.value);
  }
  // the resolver reads at most 3 nameservers and 32 search domains (as the kubelet trims them)
  const lines: string[] = [];
  for (const ns of parts.nameservers.slice(0, 3)) lines.push(`nameserver ${ns}`);
  if (parts.searches.length > 0) lines.push(`search ${parts.searches.slice(0, 32).join(' ')}`);
  if (parts.options.size > 0) {
    lines.push(`options ${[...parts.options].map(([k, v]) => (v === undefined || v === '' ? k : `${k}:${v}`)).join(' ')}`);
  }
  return lines.join('\n') + '\n';
}

export interface PodEtcPaths {
  hostsPath: string;
  resolvConfPath: string;
  hostnamePath: string;
}

export async function writePodEtcFiles(
  podDir: string,
  files: { hosts: string; resolvConf: string; hostname: string },
): Promise<PodEtcPaths> {
  const dir = join(podDir, 'etc');
  await mkdir(dir, { recursive: true });
  const paths = {
    hostsPath: join(dir, 'hosts'),
    resolvConfPath: join(dir, 'resolv.conf'),
    hostnamePath: join(dir, 'hostname'),
  };
  // write in place: the files are bind-mounted into running containers, a rename would detach them
  await writeFile(paths.hostsPath, files.hosts, { mode: 0o644 });
  await writeFile(paths.resolvConfPath, files.resolvConf, { mode: 0o644 });
  await writeFile(paths.hostnamePath, `${files.hostname}\n`, { mode: 0o644 });
  return paths;
}

// === configMap and secret projection ===

export interface ProjectedFile {
  /** relative path inside the volume */
  path: string;
  content: Buffer;
  mode: number;
}

/** Kubernetes' default file mode for configMap and secret volumes (0644). */
export const DEFAULT_VOLUME_MODE = 0o644;

function checkRelative(p: string, volume: string): string {
  const n = normalize(p);
  if (!p || isAbsolute(p) || n === '..' || n.startsWith('../') || p.split('/').includes('..')) {
    throw InvalidSubPath(p, volume);
  }
  return n;
}

export function projectKeys(
  data: Map<string, Buffer>,
  source: { kind: 'ConfigMap' | 'Secret'; name: string; volume: string },
  items: KeyToPath[] | undefined,
  defaultMode: number | undefined,
  optional: boolean,
): ProjectedFile[] {
  const mode = defaultMode ?? DEFAULT_VOLUME_MODE;
  if (!items || items.length === 0) {
    return [...data].sort(([a], [b]) => a.localeCompare(b)).map(([key, content]) => ({ path: key, content, mode }));
  }
  const out: ProjectedFile[] = [];
  for (const item of items) {
    const content = data.get(item.key);
    if (content === undefined) {
      if (optional) continue;
      throw VolumeKeyNotFound(source.kind, source.name, item.key);
    }
    out.push({ path: checkRelative(item.path, source.volume), content, mode: item.mode ?? mode });
  }
  return out;
}

export function configMapFiles(cm: ConfigMap, vol: Volume): ProjectedFile[] {
  const src = vol.configMap!;
  const data = new Map<string, Buffer>();
  for (const [k, v] of Object.entries(cm.data ?? {})) data.set(k, Buffer.from(v, 'utf8'));
  for (const [k, v] of Object.entries(cm.binaryData ?? {})) data.set(k, Buffer.from(v, 'base64'));
  return projectKeys(data, { kind: 'ConfigMap', name: src.name, volume: vol.name }, src.items, src.defaultMode, src.optional ?? false);
}

export function secretFiles(secret: Secret, vol: Volume): ProjectedFile[] {
  const src = vol.secret!;
  const data = new Map<string, Buffer>();
  for (const [k, v] of Object.entries(secret.data ?? {})) data.set(k, Buffer.from(v, 'base64'));
  // stringData wins over data, as the API server merges them
  for (const [k, v] of Object.entries(secret.stringData ?? {})) data.set(k, Buffer.from(v, 'utf8'));
  return projectKeys(data, { kind: 'Secret', name: src.secretName, volume: vol.name }, src.items, src.defaultMode, src.optional ?? false);
}

/**
 * Writes files the way the kubelet's atomic writer does, so a running container never sees a
 * half-updated volume: the files go to a fresh `..<stamp>` folder, the `..data` symlink is swapped
 * to it with one rename, and each top-level name is a symlink through `..data`.
 */
export async function writeAtomicDir(dir: string, files: ProjectedFile[]): Promise<void> {
  await mkdir(dir, { recursive: true });
  const stamp = `..${new Date().toISOString().replace(/[-:.]/g, '_')}.${process.pid}${Math.floor(Math.random() * 1e6)}`;
  const stage = join(dir, stamp);
  await mkdir(stage);
  for (const f of files) {
    const target = join(stage, f.path);
    await mkdir(dirname(target), { recursive: true });
    await writeFile(target, f.content);
    await chmod(target, f.mode);
  }
  const tmpLink = join(dir, '..data_tmp');
  await rm(tmpLink, { force: true });
  await symlink(stamp, tmpLink);
  await rename(tmpLink, join(dir, '..data'));
  const tops = new Set(files.map((f) => f.path.split('/')[0]!));
  for (const top of tops) {
    const link = join(dir, top);
    const st = await lstat(link).catch(() => undefined);
    if (st?.isSymbolicLink()) continue;
    if (st) await rm(link, { recursive: true, force: true });
    await symlink(join('..data', top), link);
  }
  for (const e of await readdir(dir)) {
    if (e === '..data' || e === stamp) continue;
    if (e.startsWith('..')) await rm(join(dir, e), { recursive: true, force: true });
    else if (!tops.has(e)) await rm(join(dir, e), { recursive: true, force: true });
  }
}

// === volumes → mounts ===

export interface PreparedVolume {
  name: string;
  kind: 'emptyDir' | 'configMap' | 'secret' | 'hostPath';
  /** host path to bind */
  path: string;
  /** configMap and secret volumes are always read-only, as in Kubernetes */
  forceReadOnly: boolean;
}

export interface VolumeLookup {
  configMap(namespace: string, name: string): ConfigMap | undefined | Promise<ConfigMap | undefined>;
  secret(namespace: string, name: string): Secret | undefined | Promise<Secret | undefined>;
}

async function checkHostPath(path: string, type: string | undefined): Promise<void> {
  if (!type) return;
  const st = await stat(path).catch(() => undefined);
  switch (type) {
    case 'DirectoryOrCreate':
      if (!st) await mkdir(path, { recursive: true, mode: 0o755 });
      else if (!st.isDirectory()) throw HostPathTypeMismatch(path, 'directory', 'it exists as something else');
      return;
    case 'FileOrCreate':
      if (!st) {
        await mkdir(dirname(path), { recursive: true });
        await writeFile(path, '', { mode: 0o644 });
      } else if (!st.isFile()) throw HostPathTypeMismatch(path, 'file', 'it exists as something else');
      return;
    case 'Directory':
      if (!st?.isDirectory()) throw HostPathTypeMismatch(path, 'directory', st ? 'wrong type' : 'missing');
      return;
    case 'File':
      if (!st?.isFile()) throw HostPathTypeMismatch(path, 'file', st ? 'wrong type' : 'missing');
      return;
    case 'Socket':
      if (!st?.isSocket()) throw HostPathTypeMismatch(path, 'socket', st ? 'wrong type' : 'missing');
      return;
    case 'CharDevice':
      if (!st?.isCharacterDevice()) throw HostPathTypeMismatch(path, 'character device', st ? 'wrong type' : 'missing');
      return;
    case 'BlockDevice':
      if (!st?.isBlockDevice()) throw HostPathTypeMismatch(path, 'block device', st ? 'wrong type' : 'missing');
      return;
    default:
      return;
  }
}

/** Creates or refreshes every volume of the pod under `<podDir>/volumes`. Idempotent. */
export async function materializeVolumes(
  pod: Pick<Pod, 'metadata' | 'spec'>,
  podDir: string,
  lookup: VolumeLookup,
): Promise<Map<string, PreparedVolume>> {
  const ns = pod.metadata.namespace ?? 'default';
  const out = new Map<string, PreparedVolume>();
  for (const vol of pod.spec.volumes ?? []) {
    if (vol.configMap) {
      const dir = join(podDir, 'volumes', 'configmap', vol.name);
      const cm = await lookup.configMap(ns, vol.configMap.name);
      if (!cm && !vol.configMap.optional) throw VolumeSourceNotFound('configmap', vol.configMap.name, vol.name);
      await writeAtomicDir(dir, cm ? configMapFiles(cm, vol) : []);
      out.set(vol.name, { name: vol.name, kind: 'configMap', path: dir, forceReadOnly: true });
    } else if (vol.secret) {
      const dir = join(podDir, 'volumes', 'secret', vol.name);
      const s = await lookup.secret(ns, vol.secret.secretName);
      if (!s && !vol.secret.optional) throw VolumeSourceNotFound('secret', vol.secret.secretName, vol.name);
      await writeAtomicDir(dir, s ? secretFiles(s, vol) : []);
      out.set(vol.name, { name: vol.name, kind: 'secret', path: dir, forceReadOnly: true });
    } else if (vol.hostPath) {
      await checkHostPath(vol.hostPath.path, vol.hostPath.type);
      out.set(vol.name, { name: vol.name, kind: 'hostPath', path: vol.hostPath.path, forceReadOnly: false });
    } else {
      // emptyDir, and the default when no source is given (Kubernetes defaults to emptyDir)
      const dir = join(podDir, 'volumes', 'empty-dir', vol.name);
      await mkdir(dir, { recursive: true, mode: 0o777 });
      await chmod(dir, 0o777);
      out.set(vol.name, { name: vol.name, kind: 'emptyDir', path: dir, forceReadOnly: false });
    }
  }
  return out;
}

/**
 * The container's volumeMounts as bind mounts. A subPath binds that sub-folder or file; for emptyDir
 * and hostPath a missing sub-folder is created (as the kubelet does); for configMap and secret the
 * file behind the `..data` links is bound, so like in Kubernetes it does not see later updates.
 */
export async function containerMounts(
  container: Pick<Container, 'name' | 'volumeMounts'>,
  volumes: Map<string, PreparedVolume>,
): Promise<ContainerMount[]> {
  const out: ContainerMount[] = [];
  for (const vm of container.volumeMounts ?? []) {
    const vol = volumes.get(vm.name);
    if (!vol) throw UnknownVolume(vm.name, container.name);
    let source = vol.path;
    if (vm.subPath) {
      const rel = checkRelative(vm.subPath, vol.name);
      source = join(vol.path, rel);
      const exists = await lstat(source).then(() => true, () => false);
      if (!exists) {
        if (vol.kind === 'configMap' || vol.kind === 'secret') throw InvalidSubPath(vm.subPath, vol.name);
        await mkdir(source, { recursive: true, mode: 0o777 });
      }
      // resolve links, then make sure the result still lies inside the volume (no escape through a link)
      const real = await realpath(source);
      const base = await realpath(vol.path);
      if (real !== base && !real.startsWith(base + '/')) throw InvalidSubPath(vm.subPath, vol.name);
      source = real;
    }
    out.push({ source, destination: vm.mountPath, readOnly: vol.forceReadOnly || vm.readOnly === true, type: 'bind' });
  }
  return out;
}
