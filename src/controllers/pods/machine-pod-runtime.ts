/**
 * PodRuntime on this machine: a sandbox is a network namespace attached to the bridge network with
 * the CNI plugins, plus the pod's /etc files; containers run with runc (src/runtime).
 *
 * Everything a pod owns on the machine is found from `<podsDir>/<uid>/sandbox.json` (written before
 * the netns is made), the CNI result cache and the runtime's container folders, all keyed by the
 * pod's uid, so teardown and garbage collection work after a crash at any point.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ConfigMap, Pod, Secret } from '../../api/types.js';
import { quantityToBytes, quantityToMillicores } from '../../api/quantity.js';
import type { CniNetwork } from '../../cni/cni-network.js';
import type { PortMapping } from '../../cni/types.js';
import { describeError } from '../../core/errors.js';
import type { Logger } from '../../core/logger.js';
import type { ContainerRuntime, ContainerStatus } from '../../runtime/container-runtime.js';
import { logPathFor } from '../../runtime/container-logs.js';
import { containerCgroupPath } from '../../runtime/cgroups.js';
import { createNetns, deleteNetns, netnsPath } from '../../runtime/netns.js';
import {
  containerMounts,
  materializeVolumes,
  podHostname,
  renderHostsFile,
  renderResolvConf,
  writePodEtcFiles,
} from '../../runtime/pod-files.js';
import { expandReferences } from './env.js';
import { applyInterception, interceptionPlan } from '../../netfilter/interception.js';
import { isInjected } from '../injection/sidecar-injector.js';
import type { PodRuntime, RuntimeContainerState, Sandbox, StartContainerRequest } from './pod-runtime.js';

export interface MachinePodRuntimeOptions {
  /** the pod network; DEL, CHECK and GC use the config cached at ADD, so either instance serves them */
  network: CniNetwork;
  /** the same network without the portmap plugin, for pods that publish no port (ADD is much cheaper) */
  networkWithoutPorts?: CniNetwork;
  containers: ContainerRuntime;
  podsDir: string;
  clusterDomain: string;
  dnsServer: string;
  configMap(namespace: string, name: string): ConfigMap | undefined;
  secret(namespace: string, name: string): Secret | undefined;
  log: Logger;
  /** how often exited containers are looked for (ms) */
  exitPollMs?: number;
}

export interface ContainerRun {
  id: string;
  containerName: string;
  restartCount: number;
  status: ContainerStatus;
}

interface SandboxRecord {
  uid: string;
  namespace: string;
  name: string;
  netns: string;
  ip?: string;
}

const IFNAME = 'eth0';

export class MachinePodRuntime implements PodRuntime {
  readonly #o: MachinePodRuntimeOptions;
  readonly #hostResolvConf: string;

  constructor(options: MachinePodRuntimeOptions) {
    this.#o = options;
    this.#hostResolvConf = readText('/etc/resolv.conf');
    mkdirSync(options.podsDir, { recursive: true });
  }

  #podDir(uid: string): string {
    return join(this.#o.podsDir, uid);
  }

  #record(uid: string): SandboxRecord | undefined {
    try {
      return JSON.parse(readFileSync(join(this.#podDir(uid), 'sandbox.json'), 'utf8')) as SandboxRecord;
    } catch {
      return undefined;
    }
  }

  #writeRecord(r: SandboxRecord): void {
    writeFileSync(join(this.#podDir(r.uid), 'sandbox.json'), JSON.stringify(r));
  }

  // === sandbox ===

  async ensureSandbox(pod: Pod): Promise<Sandbox> {
    const uid = uidOf(pod);
    const existing = this.#record(uid);
    if (existing?.ip && existsSync(netnsPath(existing.netns))) return { ip: existing.ip, created: false };

    const record: SandboxRecord = { uid, namespace: pod.metadata.namespace ?? 'default', name: pod.metadata.name, netns: netnsName(uid) };
    mkdirSync(this.#podDir(uid), { recursive: true });
    this.#writeRecord(record); // before the netns exists, so a crash from here on leaves a findable trail
    const path = await createNetns(record.netns, { existOk: true });
    const attachment = {
      containerId: uid,
      netns: path,
      ifName: IFNAME,
      args: { K8S_POD_NAMESPACE: record.namespace, K8S_POD_NAME: record.name, K8S_POD_UID: uid },
      capabilityArgs: { portMappings: portMappings(pod) },
    };
    let ip: string;
    try {
      if (existing) await this.#o.network.del(attachment); // an earlier attempt (or a crash mid-ADD) may have left an attachment
      const network = attachment.capabilityArgs.portMappings.length === 0 ? this.#o.networkWithoutPorts ?? this.#o.network : this.#o.network;
      const result = await network.add(attachment);
      const address = result.ips?.[0]?.address;
      if (!address) throw new Error(`the CNI result has no IP address: ${JSON.stringify(result)}`);
      ip = address.split('/')[0]!;
    } catch (err) {
      // CNI: DEL must follow every ADD, even a failed one
      await this.#o.network.del(attachment).catch((e: unknown) => this.#o.log.warn({ uid, err: describeError(e) }, 'CNI DEL after failed ADD'));
      await deleteNetns(record.netns).catch(() => undefined);
      throw err;
    }
    if (isInjected(pod)) {
      try {
        await applyInterception(record.netns, interceptionPlan(pod.metadata.annotations));
      } catch (err) {
        await this.#o.network.del(attachment).catch(() => undefined);
        await deleteNetns(record.netns).catch(() => undefined);
        throw err;
      }
    }
    record.ip = ip;
    const hostname = podHostname(pod);
    await writePodEtcFiles(this.#podDir(uid), {
      hostname,
      hosts: renderHostsFile({
        podIP: ip,
        hostname,
        subdomain: pod.spec.subdomain,
        namespace: record.namespace,
        clusterDomain: this.#o.clusterDomain,
        hostAliases: pod.spec.hostAliases,
      }),
      resolvConf: renderResolvConf({
        namespace: record.namespace,
        clusterDomain: this.#o.clusterDomain,
        dnsServer: this.#o.dnsServer,
        dnsPolicy: pod.spec.dnsPolicy,
        dnsConfig: pod.spec.dnsConfig,
        hostResolvConf: this.#hostResolvConf,
      }),
    });
    this.#writeRecord(record);
    return { ip, created: true };
  }

  async removePod(pod: Pod, graceSeconds: number): Promise<void> {
    const uid = uidOf(pod);
    const running = (await this.#runs(uid)).filter((c) => c.status.state === 'running');
    await Promise.all(running.map((c) => this.#o.containers.stop(c.id, graceSeconds)));
    await this.removeOrphan(uid);
  }

  async removeOrphan(uid: string): Promise<void> {
    const leftovers = await this.#o.containers.removePod(uid);
    if (leftovers.length) this.#o.log.warn({ uid, leftovers }, 'pod cgroups could not be removed');
    const record = this.#record(uid);
    const netns = record?.netns ?? netnsName(uid);
    const path = netnsPath(netns);
    await this.#o.network.del({ containerId: uid, netns: existsSync(path) ? path : '', ifName: IFNAME });
    await deleteNetns(netns);
    rmSync(this.#podDir(uid), { recursive: true, force: true });
  }

  async listPodUids(): Promise<Set<string>> {
    const uids = new Set<string>();
    for (const entry of safeReaddir(this.#o.podsDir)) uids.add(entry);
    for (const a of await this.#o.network.listAttachments()) uids.add(a.containerId);
    for (const c of await this.#o.containers.list()) uids.add(c.podUid);
    return uids;
  }

  // === containers ===

  /** The runs of the pod's containers (ids `<uid>-<container>-<attempt>`), found without asking runc about others. */
  async #runs(uid: string, containerName?: string): Promise<ContainerRun[]> {
    const out: ContainerRun[] = [];
    for (const id of safeReaddir(this.#o.containers.containersDir)) {
      if (!id.startsWith(`${uid}-`)) continue;
      const m = /^(.+)-(\d+)$/.exec(id.slice(uid.length + 1));
      if (!m || (containerName !== undefined && m[1] !== containerName)) continue;
      out.push({ id, containerName: m[1]!, restartCount: Number(m[2]), status: await this.#o.containers.status(id) });
    }
    return out;
  }

  async containerState(pod: Pod, containerName: string): Promise<RuntimeContainerState> {
    const runs = await this.#runs(uidOf(pod), containerName);
    const latest = runs.sort((a, b) => b.restartCount - a.restartCount)[0];
    if (!latest) return { state: 'absent' };
    const s = latest.status;
    if (s.state === 'running') return { state: 'running', containerId: latest.id, startedAt: s.startedAt ?? Date.now(), attempt: latest.restartCount };
    if (s.state === 'absent') return { state: 'absent' };
    const exited: RuntimeContainerState = {
      state: 'exited',
      containerId: latest.id,
      attempt: latest.restartCount,
      startedAt: s.startedAt ?? s.finishedAt ?? Date.now(),
      finishedAt: s.finishedAt ?? Date.now(),
      exitCode: s.exitCode ?? 255,
      oomKilled: s.oomKilled,
    };
    if (s.signal !== undefined) exited.signal = s.signal;
    return exited;
  }

  async startContainer(req: StartContainerRequest): Promise<void> {
    const { pod, container, attempt } = req;
    const uid = uidOf(pod);
    for (const old of await this.#runs(uid, container.name)) await this.#o.containers.remove(old.id);
    const podDir = this.#podDir(uid);
    const record = this.#record(uid);
    if (!record) throw new Error(`pod ${pod.metadata.name} has no sandbox`);
    const volumes = await materializeVolumes(pod, podDir, { configMap: this.#o.configMap, secret: this.#o.secret });
    const mounts = await containerMounts(container, volumes);
    const id = `${uid}-${container.name}-${attempt}`.slice(0, 128);
    const limits = container.resources?.limits ?? {};
    const memory = limits.memory === undefined ? undefined : quantityToBytes(limits.memory);
    const cpu = limits.cpu === undefined ? undefined : quantityToMillicores(limits.cpu);
    const caps = (container.securityContext?.capabilities as { add?: string[] } | undefined)?.add;
    const sc = container.securityContext as { runAsUser?: number; runAsGroup?: number } | undefined;
    await this.#o.containers.start({
      id,
      podUid: uid,
      podName: pod.metadata.name,
      namespace: record.namespace,
      containerName: container.name,
      restartCount: attempt,
      image: container.image,
      argv: [...(container.command ?? []), ...(container.args ?? [])].map((a) => expandReferences(a, req.env)),
      env: [...req.env].map(([k, v]) => `${k}=${v}`),
      ...(container.workingDir ? { cwd: container.workingDir } : {}),
      hostname: podHostname(pod),
      netnsPath: netnsPath(record.netns),
      mounts,
      hostsPath: join(podDir, 'etc', 'hosts'),
      resolvConfPath: join(podDir, 'etc', 'resolv.conf'),
      hostnamePath: join(podDir, 'etc', 'hostname'),
      ...(sc?.runAsUser !== undefined || sc?.runAsGroup !== undefined ? { user: { uid: sc.runAsUser ?? 0, gid: sc.runAsGroup ?? sc.runAsUser ?? 0 } } : {}),
      ...(memory === undefined ? {} : { memoryLimitBytes: Math.round(memory) }),
      ...(cpu === undefined ? {} : { cpuMilli: Math.round(cpu) }),
      cgroupsPath: containerCgroupPath(uid, id),
      logPath: logPathFor(podDir, container.name, attempt),
      ...(caps ? { capabilitiesAdd: caps } : {}),
      labels: { 'io.kubernetes.pod.uid': uid, 'io.kubernetes.container.name': container.name },
    });
  }

  async stopContainer(pod: Pod, containerName: string, graceSeconds: number): Promise<void> {
    for (const run of await this.#runs(uidOf(pod), containerName)) {
      if (run.status.state === 'running') await this.#o.containers.stop(run.id, graceSeconds);
    }
  }

  /** The container that runs (or ran last) for `containerName`, for logs and exec. */
  async latestRun(podUid: string, containerName: string): Promise<ContainerRun | undefined> {
    return (await this.#runs(podUid, containerName)).sort((a, b) => b.restartCount - a.restartCount)[0];
  }

  podDir(podUid: string): string {
    return this.#podDir(podUid);
  }

  watchExits(onExit: (podUid: string) => void): () => void {
    const reported = new Set<string>();
    const dir = this.#o.containers.containersDir;
    const timer = setInterval(() => {
      const present = new Set<string>();
      for (const id of safeReaddir(dir)) {
        present.add(id);
        if (reported.has(id) || !existsSync(join(dir, id, 'exit.json'))) continue;
        reported.add(id);
        try {
          const meta = JSON.parse(readFileSync(join(dir, id, 'meta.json'), 'utf8')) as { podUid: string };
          onExit(meta.podUid);
        } catch {
          /* removed meanwhile */
        }
      }
      for (const id of reported) if (!present.has(id)) reported.delete(id);
    }, this.#o.exitPollMs ?? 250);
    timer.unref();
    return () => clearInterval(timer);
  }
}

function uidOf(pod: Pod): string {
  const uid = pod.metadata.uid;
  if (!uid) throw new Error(`pod ${pod.metadata.name} has no uid`);
  return uid;
}

/** The pod's netns name: unique per pod across daemons (uids are random). */
function netnsName(uid: string): string {
  return `mbx-${uid}`;
}

function portMappings(pod: Pod): PortMapping[] {
  const out: PortMapping[] = [];
  for (const c of pod.spec.containers) {
    for (const p of c.ports ?? []) {
      if (!p.hostPort) continue;
      out.push({
        hostPort: p.hostPort,
        containerPort: p.containerPort,
        protocol: (p.protocol ?? 'TCP').toLowerCase() as PortMapping['protocol'],
        // DESIGN.md: published ports bind 127.0.0.1 unless the manifest names another address
        hostIP: p.hostIP || '127.0.0.1',
      });
    }
  }
  return out;
}

function safeReaddir(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

function readText(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}
