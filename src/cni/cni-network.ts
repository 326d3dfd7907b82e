/**
 * The runtime side of CNI 1.0 for one network (a conflist), as libcni's CNIConfig does it:
 *
 * - ADD runs the plugins in list order; each gets the previous plugin's result as `prevResult`, plus
 *   `name`, `cniVersion` and `runtimeConfig` for the capabilities it declares. The final result is
 *   written durably to the cache before `add` returns.
 * - DEL runs the plugins in REVERSE order, each with the cached result as `prevResult`. It is
 *   idempotent: a second DEL, or a DEL with nothing cached, succeeds. Callers MUST run DEL after a
 *   failed ADD (the spec requires it); `add` already does so best-effort itself, as libcni users do,
 *   but a caller that saw `add` throw should still DEL (and GC at start catches anything left over).
 * - CHECK runs the plugins in order with the cached result.
 * - GC DELs every cached attachment that is not in the valid list (with the config it was made with),
 *   goes on past errors, and frees host-local leases whose owner is unknown.
 *
 * Locking: ADD/DEL/CHECK share a per-network lock that GC takes exclusively, and every operation holds
 * a per-container mutex, so no two operations ever run for one container at once. The locks are
 * process-wide (keyed by cache dir + network name), so two CniNetwork objects for the same network
 * still exclude each other. Lock order is always network, then container.
 */
import { resolve as resolvePath } from 'node:path';
import { MeshboxError } from '../core/errors.js';
import { silentLogger, type Logger } from '../core/logger.js';
import {
  AlreadyAttached,
  AttachmentInvalid,
  CacheCorrupt,
  ConfigInvalid,
  DelFailed,
  NotAttached,
  PluginBadOutput,
  PluginFailed,
  PluginIncompatible,
  PluginNotFound,
  PluginTimedOut,
} from './errors.js';
import { parseIp } from './cidr.js';
import { hostLocalDirs, listReservations, releaseReservation, type Reservation } from './host-local-reservations.js';
import { KeyedMutex } from './keyed-mutex.js';
import { execPlugins, type PluginExec } from './plugin-exec.js';
import { ResultCache, CACHE_KIND, type CacheEntry } from './result-cache.js';
import { RwLock } from './rw-lock.js';
import type {
  Attachment,
  AttachmentKey,
  CapabilityArgs,
  CniCommand,
  CniConflist,
  CniPluginConf,
  CniResult,
} from './types.js';

export interface CniNetworkOptions {
  conflist: CniConflist;
  /** folders searched for plugin executables, in order (CNI_PATH) */
  binDirs: string[];
  /** meshbox keeps `results/` here */
  cacheDir: string;
  exec?: PluginExec;
  /** per plugin invocation; the plugin is killed after it */
  pluginTimeoutMs?: number;
  logger?: Logger;
}

export interface PluginStatus {
  type: string;
  path?: string;
  supportedVersions?: string[];
  error?: MeshboxError;
}

export interface NetworkStatus {
  network: string;
  ready: boolean;
  plugins: PluginStatus[];
}

export interface AttachmentInfo {
  containerId: string;
  ifName: string;
  netns: string;
  args: Record<string, string>;
  capabilityArgs: CapabilityArgs;
  /** null when ADD has not finished (still running, or meshbox died during it) */
  result: CniResult | null;
}

export interface GcReport {
  removed: AttachmentKey[];
  failed: Array<AttachmentKey & { error: Error }>;
  releasedIps: Reservation[];
  /** unreadable cache files GC deleted */
  corruptCacheFiles: string[];
}

const DEFAULT_PLUGIN_TIMEOUT_MS = 60_000;
/** SPEC.md: container ids are alphanumerics plus underscore, dot and hyphen, starting alphanumeric */
const CONTAINER_ID = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;
const NETWORK_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;
/** versions before 0.4.0 have no CHECK and no prevResult on DEL */
const PRE_CHECK_VERSIONS = new Set(['0.1.0', '0.2.0', '0.3.0', '0.3.1']);

/**
 * Plugin bugs meshbox works around, narrowly. portmap up to v1.1.x (Debian 12 ships 1.1.1) checks the
 * ip6tables DNAT chain on CHECK even when the pod has no IPv6 address, so CHECK always fails on an
 * IPv4-only pod (containernetworking/plugins#819, fixed in v1.2.0). It checks IPv4 first and stops at
 * the first failure, so reaching the IPv6 message means the IPv4 rules were found: accept that case.
 */
function isKnownCheckQuirk(plugin: CniPluginConf, err: unknown, prevResult: CniResult): boolean {
  if (plugin.type !== 'portmap' || !(err instanceof MeshboxError)) return false;
  const msg = err.details?.cniMsg;
  const hasV6 = prevResult.ips?.some((ip) => ip.address.includes(':')) ?? false;
  return !hasV6 && typeof msg === 'string' && msg.startsWith('could not check ipv6 dnat');
}

const NETWORK_LOCKS = new Map<string, RwLock>();
const CONTAINER_LOCKS = new KeyedMutex();

const CNI_HINTS: Record<number, string> = {
  1: 'the plugin does not support this cniVersion: install a matching containernetworking-plugins',
  2: 'the network config has a field the plugin does not support: fix the conflist',
  3: 'the container or its network namespace does not exist: recreate the sandbox, then ADD again',
  4: 'the plugin was given invalid environment (CNI_* variables or CNI_ARGS): fix the attachment arguments',
  5: 'the plugin hit an I/O error: check the host (disk, /run, permissions), then retry',
  6: 'the plugin could not decode its input: fix the conflist or prevResult',
  7: 'the network config is invalid: fix the conflist',
  11: 'the plugin asks to try again later',
  50: 'the plugin is not available right now: check what it depends on, then retry',
  51: 'the plugin is not available and existing pods may have limited connectivity: check the host network',
};
const DEFAULT_HINT = 'DEL this attachment to clean up, fix the cause above, then ADD again';

function attachmentName(a: AttachmentKey): string {
  return `container ${a.containerId} interface ${a.ifName}`;
}

function lockKey(cacheDir: string, network: string): string {
  return `${resolvePath(cacheDir)}\0${network}`;
}

export function validateConflist(conflist: CniConflist): void {
  const name = typeof conflist?.name === 'string' ? conflist.name : '(unnamed)';
  if (!NETWORK_NAME.test(name)) throw ConfigInvalid(name, 'name must be letters, digits, "_", "." or "-"');
  if (typeof conflist.cniVersion !== 'string' || !conflist.cniVersion) throw ConfigInvalid(name, 'cniVersion is missing');
  if (!Array.isArray(conflist.plugins) || conflist.plugins.length === 0) throw ConfigInvalid(name, 'plugins is empty');
  conflist.plugins.forEach((p, i) => {
    if (typeof p?.type !== 'string' || !p.type) throw ConfigInvalid(name, `plugins[${i}].type is missing`);
  });
}

function validateAttachment(att: Attachment, needNetns: boolean): void {
  if (!CONTAINER_ID.test(att.containerId ?? '')) {
    throw AttachmentInvalid(`containerId "${att.containerId}" must start with a letter or digit and hold only letters, digits, "_", "." or "-"`);
  }
  const ifName = att.ifName ?? '';
  if (!ifName || ifName.length > 15 || ifName === '.' || ifName === '..' || /[/:\s]/.test(ifName)) {
    throw AttachmentInvalid(`ifName "${ifName}" must be 1-15 characters without "/", ":" or spaces`);
  }
  if (needNetns && !att.netns) throw AttachmentInvalid(`netns path is empty for ${attachmentName(att)}`);
  for (const [i, pm] of (needNetns ? att.capabilityArgs?.portMappings ?? [] : []).entries()) {
    const port = (n: unknown) => Number.isInteger(n) && (n as number) >= 1 && (n as number) <= 65535;
    // checked here because portmap re-parses them on DEL too: a bad one would make DEL fail forever
    if (!port(pm.hostPort) || !port(pm.containerPort)) throw AttachmentInvalid(`portMappings[${i}]: ports must be 1-65535`);
    if (!['tcp', 'udp', 'sctp'].includes(pm.protocol)) throw AttachmentInvalid(`portMappings[${i}]: protocol must be tcp, udp or sctp`);
    if (pm.hostIP !== undefined && pm.hostIP !== '' && !parseIp(pm.hostIP)) {
      throw AttachmentInvalid(`portMappings[${i}]: hostIP "${pm.hostIP}" is not an IP address`);
    }
  }
  for (const [k, v] of Object.entries(att.args ?? {})) {
    if (!k || /[;=]/.test(k) || v.includes(';')) throw AttachmentInvalid(`CNI_ARGS entry "${k}=${v}" must not contain ";" (or "=" in the key)`);
  }
}

/** CNI_ARGS; IgnoreUnknown=1 first so plugins that parse args strictly (host-local) accept runtime labels. */
function formatCniArgs(args: Record<string, string>): string {
  const entries = Object.entries(args);
  if (entries.length === 0) return '';
  if (!('IgnoreUnknown' in args)) entries.unshift(['IgnoreUnknown', '1']);
  return entries.map(([k, v]) => `${k}=${v}`).join(';');
}

function parseResult(plugin: string, command: CniCommand, stdout: string): CniResult {
  let parsed: unknown;
  try {
    parsed = JSON.parse(stdout);
  } catch {
    throw PluginBadOutput(plugin, command, stdout.trim() ? 'stdout is not JSON' : 'stdout is empty');
  }
  const r = parsed as Partial<CniResult> | null;
  if (!r || typeof r !== 'object' || typeof r.cniVersion !== 'string') throw PluginBadOutput(plugin, command, 'no cniVersion');
  for (const key of ['interfaces', 'ips', 'routes'] as const) {
    if (r[key] !== undefined && !Array.isArray(r[key])) throw PluginBadOutput(plugin, command, `${key} is not a list`);
  }
  if (r.ips?.some((ip) => typeof ip?.address !== 'string')) throw PluginBadOutput(plugin, command, 'an ips entry has no address');
  return r as CniResult;
}

export class CniNetwork {
  readonly name: string;
  #conflist: CniConflist;
  #binDirs: string[];
  #exec: PluginExec;
  #cache: ResultCache;
  #timeoutMs: number;
  #log: Logger;
  #lock: RwLock;

  constructor(opts: CniNetworkOptions) {
    validateConflist(opts.conflist);
    // a private copy: callers mutating their object must not change what we cache or run
    this.#conflist = structuredClone(opts.conflist);
    this.name = this.#conflist.name;
    this.#binDirs = [...opts.binDirs];
    this.#exec = opts.exec ?? execPlugins;
    this.#cache = new ResultCache(opts.cacheDir);
    this.#timeoutMs = opts.pluginTimeoutMs ?? DEFAULT_PLUGIN_TIMEOUT_MS;
    this.#log = (opts.logger ?? silentLogger).child({ network: this.name });
    const key = lockKey(opts.cacheDir, this.name);
    let lock = NETWORK_LOCKS.get(key);
    if (!lock) NETWORK_LOCKS.set(key, (lock = new RwLock()));
    this.#lock = lock;
  }

  get conflist(): CniConflist {
    return structuredClone(this.#conflist);
  }

  /**
   * Attaches the container. Returns the final result, which is already cached on disk.
   * On failure it has run DEL best-effort; the caller should still run `del` (idempotent) before retrying.
   */
  async add(att: Attachment): Promise<CniResult> {
    validateAttachment(att, true);
    return this.#lock.withRead(() => CONTAINER_LOCKS.with(att.containerId, () => this.#add(att)));
  }

  /** Detaches; succeeds when nothing is attached. Throws MBX_CNI_DEL_FAILED (cache kept) if any plugin failed. */
  async del(att: Attachment): Promise<void> {
    validateAttachment(att, false);
    return this.#lock.withRead(() => CONTAINER_LOCKS.with(att.containerId, () => this.#del(att)));
  }

  /** Throws the first plugin's error when the attachment is not as ADD left it. */
  async check(att: Attachment): Promise<void> {
    validateAttachment(att, true);
    return this.#lock.withRead(() => CONTAINER_LOCKS.with(att.containerId, () => this.#check(att)));
  }

  /** Removes every attachment of this network not listed in `valid`, and the host-local leases nobody owns. */
  gc(valid: AttachmentKey[]): Promise<GcReport> {
    return this.#lock.withWrite(() => this.#gc(valid));
  }

  /** Whether every plugin of the conflist is installed and speaks its cniVersion. */
  async status(): Promise<NetworkStatus> {
    const plugins: PluginStatus[] = [];
    for (const plugin of this.#conflist.plugins) {
      const path = await this.#exec.find(plugin.type, this.#binDirs);
      if (!path) {
        plugins.push({ type: plugin.type, error: PluginNotFound(plugin.type, this.#binDirs) });
        continue;
      }
      try {
        const stdout = await this.#invoke('VERSION', plugin.type, path, { cniVersion: this.#conflist.cniVersion }, {
          containerId: '',
          ifName: '',
          netns: '',
        });
        const supported = (JSON.parse(stdout) as { supportedVersions?: unknown }).supportedVersions;
        const versions = Array.isArray(supported) ? supported.map(String) : [];
        const status: PluginStatus = { type: plugin.type, path, supportedVersions: versions };
        if (!versions.includes(this.#conflist.cniVersion)) {
          status.error = PluginIncompatible(plugin.type, this.#conflist.cniVersion, versions);
        }
        plugins.push(status);
      } catch (err) {
        const error = err instanceof MeshboxError ? err : PluginBadOutput(plugin.type, 'VERSION', 'stdout is not JSON', { cause: err });
        plugins.push({ type: plugin.type, path, error });
      }
    }
    return { network: this.name, ready: plugins.every((p) => !p.error), plugins };
  }

  /** Everything the cache says is attached to this network (including ADDs that never finished). */
  async listAttachments(): Promise<AttachmentInfo[]> {
    const { entries } = await this.#cache.list(this.name);
    return entries.map((e) => ({
      containerId: e.containerId,
      ifName: e.ifName,
      netns: e.netns,
      args: e.cniArgs,
      capabilityArgs: e.capabilityArgs,
      result: e.result,
    }));
  }

  // === operations (callers hold the locks) ===

  async #add(att: Attachment): Promise<CniResult> {
    const existing = await this.#readCacheLenient(att);
    if (existing.entry?.result) throw AlreadyAttached(this.name, attachmentName(att));
    if (existing.entry || existing.corrupt) {
      // an ADD that died half-way: take down what it made before making it again
      this.#log.warn({ containerId: att.containerId, ifName: att.ifName }, 'cleaning up an unfinished CNI ADD');
      await this.#del(att);
    }
    const conflist = this.#conflist;
    const paths = await this.#resolvePlugins(conflist);
    const entry: CacheEntry = {
      kind: CACHE_KIND,
      networkName: this.name,
      containerId: att.containerId,
      ifName: att.ifName,
      netns: att.netns,
      cniArgs: { ...(att.args ?? {}) },
      capabilityArgs: structuredClone(att.capabilityArgs ?? {}),
      config: conflist,
      result: null,
    };
    // written before any plugin runs, so a crash mid-ADD leaves something GC can find and DEL
    await this.#cache.write(entry);
    const started = Date.now();
    let prev: CniResult | undefined;
    for (const [i, plugin] of conflist.plugins.entries()) {
      try {
        const conf = this.#pluginConfig(conflist, plugin, prev, entry.capabilityArgs);
        const stdout = await this.#invoke('ADD', plugin.type, paths[i] ?? '', conf, att);
        prev = parseResult(plugin.type, 'ADD', stdout);
      } catch (err) {
        await this.#cleanupFailedAdd(entry, prev, err);
        throw err;
      }
    }
    if (!prev) throw PluginBadOutput(conflist.plugins.at(-1)?.type ?? '?', 'ADD', 'no result');
    entry.result = prev;
    await this.#cache.write(entry);
    this.#log.debug({ containerId: att.containerId, ifName: att.ifName, ms: Date.now() - started }, 'CNI ADD done');
    return prev;
  }

  async #cleanupFailedAdd(entry: CacheEntry, prev: CniResult | undefined, addError: unknown): Promise<void> {
    entry.result = prev ?? null;
    const errors = await this.#runDel(entry.config, entry, prev);
    if (errors.length === 0) {
      await this.#cache.remove(this.name, entry.containerId, entry.ifName);
      return;
    }
    // keep the entry (with the partial result) so a later DEL or GC can finish the job
    await this.#cache.write({ ...entry, result: null, ...(prev ? { partialResult: prev } : {}) });
    this.#log.warn(
      { containerId: entry.containerId, ifName: entry.ifName, addError: String(addError), delErrors: errors.map(String) },
      'DEL after a failed CNI ADD failed too',
    );
  }

  async #del(att: Attachment): Promise<void> {
    const cached = (await this.#readCacheLenient(att)).entry;
    const config = cached?.config ?? this.#conflist;
    const target: Attachment = {
      containerId: att.containerId,
      ifName: att.ifName,
      netns: att.netns || cached?.netns || '',
      args: att.args ?? cached?.cniArgs ?? {},
      capabilityArgs: att.capabilityArgs ?? cached?.capabilityArgs ?? {},
    };
    const errors = await this.#runDel(config, target, cached?.result ?? cached?.partialResult);
    if (errors.length > 0) {
      throw DelFailed(this.name, attachmentName(att), errors.length, {
        cause: errors[0],
        details: { errors: errors.map((e) => (e instanceof MeshboxError ? { code: e.code, message: e.message, ...e.details } : String(e))) },
      });
    }
    await this.#cache.remove(this.name, att.containerId, att.ifName);
  }

  /** Runs DEL through every plugin in reverse, going on past failures; returns the failures. */
  async #runDel(config: CniConflist, att: Attachment, prevResult: CniResult | undefined): Promise<Error[]> {
    const errors: Error[] = [];
    // pre-0.4.0 plugins do not expect prevResult on DEL
    const prev = PRE_CHECK_VERSIONS.has(config.cniVersion) ? undefined : prevResult;
    for (const plugin of [...config.plugins].reverse()) {
      try {
        const path = await this.#exec.find(plugin.type, this.#binDirs);
        if (!path) throw PluginNotFound(plugin.type, this.#binDirs);
        const conf = this.#pluginConfig(config, plugin, prev, att.capabilityArgs ?? {});
        await this.#invoke('DEL', plugin.type, path, conf, att);
      } catch (err) {
        errors.push(err as Error);
      }
    }
    return errors;
  }

  async #check(att: Attachment): Promise<void> {
    const cached = await this.#cache.read(this.name, att.containerId, att.ifName);
    if (!cached?.result) throw NotAttached(this.name, attachmentName(att));
    const conflist = this.#conflist;
    if (PRE_CHECK_VERSIONS.has(conflist.cniVersion)) {
      throw ConfigInvalid(this.name, `CHECK needs cniVersion 0.4.0 or later, the conflist says ${conflist.cniVersion}`);
    }
    if (conflist.disableCheck) return;
    const paths = await this.#resolvePlugins(conflist);
    const capabilityArgs = att.capabilityArgs ?? cached.capabilityArgs;
    for (const [i, plugin] of conflist.plugins.entries()) {
      const conf = this.#pluginConfig(conflist, plugin, cached.result, capabilityArgs);
      try {
        await this.#invoke('CHECK', plugin.type, paths[i] ?? '', conf, { ...att, args: att.args ?? cached.cniArgs });
      } catch (err) {
        if (!isKnownCheckQuirk(plugin, err, cached.result)) throw err;
      }
    }
  }

  async #gc(valid: AttachmentKey[]): Promise<GcReport> {
    const report: GcReport = { removed: [], failed: [], releasedIps: [], corruptCacheFiles: [] };
    const key = (a: AttachmentKey): string => `${a.containerId}\0${a.ifName}`;
    const keep = new Set(valid.map(key));
    const { entries, corrupt } = await this.#cache.list(this.name);
    const configs: CniConflist[] = [this.#conflist];
    const survivors: AttachmentKey[] = [];
    for (const entry of entries) {
      configs.push(entry.config);
      if (keep.has(key(entry))) continue;
      await CONTAINER_LOCKS.with(entry.containerId, async () => {
        const att: Attachment = {
          containerId: entry.containerId,
          ifName: entry.ifName,
          netns: entry.netns,
          args: entry.cniArgs,
          capabilityArgs: entry.capabilityArgs,
        };
        const errors = await this.#runDel(entry.config, att, entry.result ?? entry.partialResult);
        if (errors.length === 0) {
          await this.#cache.remove(this.name, entry.containerId, entry.ifName);
          report.removed.push({ containerId: entry.containerId, ifName: entry.ifName });
        } else {
          survivors.push(entry);
          report.failed.push({ containerId: entry.containerId, ifName: entry.ifName, error: errors[0] as Error });
        }
      });
    }
    for (const { file, error } of corrupt) {
      this.#log.warn({ file, error: String(error) }, 'removing an unreadable CNI cache file');
      await this.#cache.removeFile(file);
      report.corruptCacheFiles.push(file);
    }
    // leases stay only for attachments that are valid or that we failed to DEL (a retry needs their IP)
    const owners = new Set([...valid, ...survivors].map(key));
    const owningContainers = new Set([...valid, ...survivors].map((a) => a.containerId));
    const dirs = new Set(configs.flatMap((c) => hostLocalDirs(c)));
    for (const dir of dirs) {
      for (const r of await listReservations(dir)) {
        const owned = r.ifName ? owners.has(key(r)) : owningContainers.has(r.containerId);
        if (owned) continue;
        await releaseReservation(r);
        report.releasedIps.push(r);
      }
    }
    if (report.removed.length || report.failed.length || report.releasedIps.length) {
      this.#log.info(
        { removed: report.removed.length, failed: report.failed.length, releasedIps: report.releasedIps.map((r) => r.ip) },
        'CNI GC done',
      );
    }
    return report;
  }

  /** A corrupt cache file must not block DEL: it is treated as "nothing cached" and replaced or removed. */
  async #readCacheLenient(att: AttachmentKey): Promise<{ entry?: CacheEntry; corrupt: boolean }> {
    try {
      const entry = await this.#cache.read(this.name, att.containerId, att.ifName);
      return entry ? { entry, corrupt: false } : { corrupt: false };
    } catch (err) {
      if (!CacheCorrupt.is(err)) throw err;
      this.#log.warn({ containerId: att.containerId, ifName: att.ifName, error: String(err) }, 'ignoring a corrupt CNI cache file');
      return { corrupt: true };
    }
  }

  // === plugin invocation ===

  async #resolvePlugins(conflist: CniConflist): Promise<string[]> {
    const paths: string[] = [];
    for (const plugin of conflist.plugins) {
      const path = await this.#exec.find(plugin.type, this.#binDirs);
      if (!path) throw PluginNotFound(plugin.type, this.#binDirs);
      paths.push(path);
    }
    return paths;
  }

  /** libcni's buildOneConfig + injectRuntimeConfig. */
  #pluginConfig(
    conflist: CniConflist,
    plugin: CniPluginConf,
    prevResult: CniResult | undefined,
    capabilityArgs: CapabilityArgs,
  ): Record<string, unknown> {
    const conf: Record<string, unknown> = { ...plugin, name: conflist.name, cniVersion: conflist.cniVersion };
    if (prevResult) conf.prevResult = prevResult;
    const runtimeConfig: Record<string, unknown> = {};
    for (const [capability, enabled] of Object.entries(plugin.capabilities ?? {})) {
      if (enabled && capabilityArgs[capability] !== undefined) runtimeConfig[capability] = capabilityArgs[capability];
    }
    if (Object.keys(runtimeConfig).length > 0) conf.runtimeConfig = runtimeConfig;
    return conf;
  }

  async #invoke(
    command: CniCommand,
    plugin: string,
    path: string,
    conf: Record<string, unknown>,
    att: Pick<Attachment, 'containerId' | 'ifName' | 'netns' | 'args'>,
  ): Promise<string> {
    const env: Record<string, string> = {
      CNI_COMMAND: command,
      CNI_CONTAINERID: att.containerId,
      CNI_NETNS: att.netns,
      CNI_IFNAME: att.ifName,
      CNI_ARGS: formatCniArgs(att.args ?? {}),
      CNI_PATH: this.#binDirs.join(':'),
    };
    let run;
    try {
      run = await this.#exec.run(path, JSON.stringify(conf), env, this.#timeoutMs);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw PluginNotFound(plugin, this.#binDirs, { cause: err });
      throw PluginFailed(plugin, command, attachmentName(att), String(err), DEFAULT_HINT, {
        cause: err,
        details: { plugin, command },
      });
    }
    if (run.timedOut) throw PluginTimedOut(plugin, command, this.#timeoutMs, { details: { plugin, command } });
    if (run.code !== 0) throw pluginError(plugin, command, att, run.code, run.stdout, run.stderr);
    return run.stdout;
  }
}

/** Maps a plugin's error output (SPEC.md "Error": {code, msg, details}) to MBX_CNI_PLUGIN_FAILED. */
export function pluginError(
  plugin: string,
  command: CniCommand,
  att: AttachmentKey,
  exitCode: number | null,
  stdout: string,
  stderr: string,
): MeshboxError {
  let parsed: { code?: unknown; msg?: unknown; details?: unknown } | undefined;
  try {
    const value: unknown = JSON.parse(stdout);
    if (value && typeof value === 'object') parsed = value as typeof parsed;
  } catch {
    /* not a CNI error object: fall back to the raw output */
  }
  const cniCode = typeof parsed?.code === 'number' ? parsed.code : undefined;
  const cniMsg =
    typeof parsed?.msg === 'string' && parsed.msg ? parsed.msg : stderr.trim() || stdout.trim() || `exit status ${exitCode}`;
  const cniDetails = typeof parsed?.details === 'string' && parsed.details ? parsed.details : undefined;
  const text = `${cniMsg}${cniDetails ? ` (${cniDetails})` : ''}${cniCode !== undefined ? ` [CNI code ${cniCode}]` : ''}`;
  const hint = (cniCode !== undefined ? CNI_HINTS[cniCode] : undefined) ?? DEFAULT_HINT;
  return PluginFailed(plugin, command, attachmentName(att), text, hint, {
    retryable: cniCode === 11,
    details: { plugin, command, cniCode, cniMsg, cniDetails, exitCode, stderr: stderr.trim() || undefined },
  });
}
