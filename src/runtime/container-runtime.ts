/**
 * Runs containers with runc so that they outlive the daemon, and reads their fate afterwards.
 *
 *   const rt = new ContainerRuntime({ stateDir });
 *   await rt.init();                                         runc present, host rootfs bound
 *   rt.start(cfg: ContainerConfig): Promise<StartResult>     { containerId, pid, startedAt }
 *   rt.status(id): Promise<ContainerStatus>                  running | exited | absent (+ exit code, OOM)
 *   rt.stop(id, graceSeconds): Promise<void>                 SIGTERM, wait up to grace, SIGKILL
 *   rt.remove(id): Promise<void>                             forgets the container (keeps its log file)
 *   rt.list(): Promise<ContainerInfo[]>                      every container of this state dir, with labels
 *   rt.exec(id, argv, io): Promise<number>                   exit status of the command
 *   rt.removePod(podUid): Promise<string[]>                  all its containers + its cgroups; leftovers
 *   rt.shutdown(): Promise<void>                             unmounts the host rootfs (meshbox down)
 *
 * Each container run has a shim: a detached (setsid) `sh` that runs `runc run --keep` in the
 * foreground. runc is the child subreaper that collects the container's exit status; its stdio is
 * the container's, appended straight to the log file (no copy loop in the daemon). When runc
 * returns, the shim reads the OOM-kill counter of the still-existing cgroup (v1 memory.oom_control,
 * v2 memory.events: exit 137 alone cannot tell OOM from `kill -9`), deletes the runc container and
 * writes exit.json. The daemon keeps nothing in memory: everything is in
 * `<stateDir>/containers/<id>/` (config.json, meta.json, pid, shim.pid, runc.log, exit.json), so a
 * daemon restarted after SIGKILL adopts running containers and learns how finished ones ended.
 * Cost per running container: the shim sh (~1 MB) plus the waiting runc (measured in the report).
 */
import { spawn } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { rfc3339 } from '../core/clock.js';
import { ContainerExists, ContainerNotFound, ContainerNotRunning, ContainerStartFailed } from './errors.js';
import { oomCounterFile, removePodCgroup } from './cgroups.js';
import { ensureHostRootfs, releaseHostRootfs } from './host-rootfs.js';
import { buildOciSpec, type ContainerConfig } from './oci-spec.js';
import { Runc, type ExecIo, type RuncState } from './runc.js';

export interface StartResult {
  containerId: string;
  pid: number;
  /** ms since the epoch */
  startedAt: number;
}

export type ExitReason = 'Completed' | 'Error' | 'OOMKilled' | 'StartError' | 'Unknown';

export interface ContainerStatus {
  state: 'running' | 'exited' | 'absent';
  pid?: number;
  exitCode?: number;
  /** signal number when the exit code says the process died of one (128+n) */
  signal?: number;
  oomKilled: boolean;
  /** ms since the epoch */
  startedAt?: number;
  finishedAt?: number;
  /** for exited containers, Kubernetes' terminated.reason */
  reason?: ExitReason;
  message?: string;
}

export interface ContainerMeta {
  id: string;
  podUid: string;
  podName: string;
  namespace: string;
  containerName: string;
  restartCount: number;
  logPath: string;
  cgroupsPath: string;
  labels: Record<string, string>;
  createdAt: string;
}

export interface ContainerInfo extends ContainerMeta {
  status: ContainerStatus;
}

interface ExitRecord {
  exitCode: number;
  oomKills: number | null;
  finishedAt: number;
}

/**
 * $1 runc  $2.. runc run args  (the last five positional args are ours: dir, id, runc root, oom file)
 * Kept in sh so the per-container cost stays a few hundred KB, not a node process.
 */
const SHIM = `
dir="$1"; id="$2"; root="$3"; oom="$4"; runc="$5"; shift 5
"$runc" "$@" </dev/null
code=$?
kills=""
[ -n "$oom" ] && kills=$(sed -n 's/^oom_kill //p' "$oom" 2>/dev/null)
"$runc" --root "$root" delete --force "$id" >/dev/null 2>&1
printf '{"exitCode":%d,"oomKills":%s,"finishedAt":%s}\\n' "$code" "\${kills:-null}" "$(date +%s%3N)" > "$dir/exit.json.tmp" \\
  && mv "$dir/exit.json.tmp" "$dir/exit.json"
`;

const ID_RE = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export interface ContainerRuntimeOptions {
  stateDir: string;
  runcPath?: string;
  /** how long start() waits for runc to create the container */
  startTimeoutMs?: number;
}

export class ContainerRuntime {
  readonly runc: Runc;
  readonly stateDir: string;
  readonly rootfsPath: string;
  readonly containersDir: string;
  #startTimeoutMs: number;

  constructor(opts: ContainerRuntimeOptions) {
    this.stateDir = opts.stateDir;
    this.rootfsPath = join(opts.stateDir, 'rootfs');
    this.containersDir = join(opts.stateDir, 'containers');
    this.runc = new Runc({ root: join(opts.stateDir, 'runc'), binary: opts.runcPath });
    this.#startTimeoutMs = opts.startTimeoutMs ?? 10_000;
  }

  async init(): Promise<void> {
    await this.runc.check();
    mkdirSync(this.containersDir, { recursive: true });
    mkdirSync(this.runc.root, { recursive: true });
    await ensureHostRootfs(this.rootfsPath);
  }

  async shutdown(): Promise<void> {
    await releaseHostRootfs(this.rootfsPath);
  }

  #dir(id: string): string {
    return join(this.containersDir, id);
  }

  async start(cfg: ContainerConfig): Promise<StartResult> {
    if (!ID_RE.test(cfg.id)) throw ContainerStartFailed(cfg.id, 'the id must be 1-128 characters of [A-Za-z0-9_.-]');
    const spec = buildOciSpec(cfg, { rootfsPath: this.rootfsPath });
    const dir = this.#dir(cfg.id);
    if (existsSync(dir)) throw ContainerExists(cfg.id);
    mkdirSync(dir, { recursive: true });
    const meta: ContainerMeta = {
      id: cfg.id,
      podUid: cfg.podUid,
      podName: cfg.podName,
      namespace: cfg.namespace,
      containerName: cfg.containerName,
      restartCount: cfg.restartCount ?? 0,
      logPath: cfg.logPath,
      cgroupsPath: cfg.cgroupsPath,
      labels: cfg.labels ?? {},
      createdAt: rfc3339(Date.now()),
    };
    writeFileSync(join(dir, 'config.json'), JSON.stringify(spec));
    writeFileSync(join(dir, 'meta.json'), JSON.stringify(meta));
    mkdirSync(dirname(cfg.logPath), { recursive: true });

    const logFd = openSync(cfg.logPath, 'a');
    try {
      const runArgs = this.runc.runArgs(cfg.id, dir, join(dir, 'pid'), join(dir, 'runc.log'));
      const shim = spawn(
        '/bin/sh',
        ['-c', SHIM, 'meshbox-shim', dir, cfg.id, this.runc.root, oomCounterFile(cfg.cgroupsPath) ?? '', this.runc.binary, ...runArgs],
        { detached: true, stdio: ['ignore', logFd, logFd], cwd: dir },
      );
      shim.on('error', () => {
        /* reported through the missing pid file below */
      });
      if (shim.pid !== undefined) writeFileSync(join(dir, 'shim.pid'), String(shim.pid));
      shim.unref();
    } finally {
      closeSync(logFd);
    }

    const deadline = Date.now() + this.#startTimeoutMs;
    const pidFile = join(dir, 'pid');
    for (let wait = 2; ; wait = Math.min(wait * 2, 20)) {
      const exited = this.#readExit(cfg.id);
      const pid = readPid(pidFile);
      if (exited && (pid === undefined || this.#runcError(cfg.id))) {
        throw ContainerStartFailed(cfg.id, this.#runcError(cfg.id) ?? `runc exited with ${exited.exitCode}`);
      }
      if (pid !== undefined) return { containerId: cfg.id, pid, startedAt: statSync(pidFile).mtimeMs };
      if (Date.now() > deadline) {
        await this.runc.delete(cfg.id, { force: true }).catch(() => undefined);
        throw ContainerStartFailed(cfg.id, `runc did not create it within ${this.#startTimeoutMs} ms`);
      }
      await sleep(wait);
    }
  }

  #readExit(id: string): ExitRecord | undefined {
    try {
      return JSON.parse(readFileSync(join(this.#dir(id), 'exit.json'), 'utf8')) as ExitRecord;
    } catch {
      return undefined;
    }
  }

  /** The last error runc logged (runc --log-format json), e.g. "exec: no such file". */
  #runcError(id: string): string | undefined {
    let text: string;
    try {
      text = readFileSync(join(this.#dir(id), 'runc.log'), 'utf8');
    } catch {
      return undefined;
    }
    let last: string | undefined;
    for (const line of text.split('\n')) {
      if (!line.trim()) continue;
      try {
        const e = JSON.parse(line) as { level?: string; msg?: string };
        if (e.level === 'error' || e.level === 'fatal') last = e.msg;
      } catch {
        /* not a JSON line */
      }
    }
    return last;
  }

  #shimAlive(id: string): boolean {
    const pid = readPid(join(this.#dir(id), 'shim.pid'));
    if (pid === undefined) return false;
    try {
      // guard against pid reuse: the shim's command line names its container folder
      return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(this.#dir(id));
    } catch {
      return false;
    }
  }

  /** true when `pid` lives in the container's cgroup (guards against pid reuse) */
  #inCgroup(id: string, pid: number): boolean {
    const path = this.#meta(id)?.cgroupsPath;
    if (!path) return false;
    try {
      return readFileSync(`/proc/${pid}/cgroup`, 'utf8').split('\n').some((l) => l.endsWith(`:${path}`));
    } catch {
      return false;
    }
  }

  #meta(id: string): ContainerMeta | undefined {
    try {
      return JSON.parse(readFileSync(join(this.#dir(id), 'meta.json'), 'utf8')) as ContainerMeta;
    } catch {
      return undefined;
    }
  }

  async status(id: string, known?: RuncState | null): Promise<ContainerStatus> {
    const dir = this.#dir(id);
    if (!existsSync(dir)) return { state: 'absent', oomKilled: false };
    const pidFile = join(dir, 'pid');
    const startedAt = existsSync(pidFile) ? statSync(pidFile).mtimeMs : undefined;
    for (let attempt = 0; ; attempt++) {
      const exit = this.#readExit(id);
      if (exit) return this.#exited(id, exit, startedAt);
      // fast path without spawning runc: the init process is alive and still in its cgroup
      const pid = readPid(pidFile);
      if (known === undefined && pid !== undefined && this.#inCgroup(id, pid)) {
        return { state: 'running', pid, oomKilled: false, startedAt };
      }
      const st = known === undefined ? await this.runc.state(id) : known ?? undefined;
      known = undefined;
      if (st && st.status !== 'stopped') {
        return { state: 'running', pid: st.pid || readPid(pidFile), oomKilled: false, startedAt };
      }
      // stopped, or unknown to runc: the shim is about to write exit.json, or is still creating
      if (this.#shimAlive(id) && attempt < 50) {
        await sleep(20);
        continue;
      }
      if (this.#readExit(id)) continue;
      return {
        state: 'exited',
        exitCode: 255,
        oomKilled: false,
        startedAt,
        reason: 'Unknown',
        message: 'the container shim is gone and left no exit status (killed, or the machine restarted)',
      };
    }
  }

  #exited(id: string, exit: ExitRecord, startedAt: number | undefined): ContainerStatus {
    const oomKilled = (exit.oomKills ?? 0) > 0;
    const runcError = startedAt === undefined ? this.#runcError(id) : undefined;
    const status: ContainerStatus = {
      state: 'exited',
      exitCode: exit.exitCode,
      oomKilled,
      startedAt,
      finishedAt: exit.finishedAt,
      reason: oomKilled ? 'OOMKilled' : runcError ? 'StartError' : exit.exitCode === 0 ? 'Completed' : 'Error',
    };
    if (runcError) {
      status.exitCode = 128;
      status.message = runcError;
    }
    if (exit.exitCode > 128 && exit.exitCode < 128 + 65) status.signal = exit.exitCode - 128;
    return status;
  }

  async #waitExited(id: string, ms: number): Promise<boolean> {
    const deadline = Date.now() + ms;
    let lastFull = Date.now();
    for (;;) {
      if (existsSync(join(this.#dir(id), 'exit.json'))) return true;
      if (Date.now() - lastFull > 500) {
        lastFull = Date.now();
        if ((await this.status(id)).state !== 'running') return true;
      }
      if (Date.now() >= deadline) return false;
      await sleep(Math.min(25, Math.max(1, deadline - Date.now())));
    }
  }

  /** SIGTERM, up to `graceSeconds` to exit, then SIGKILL (the kubelet's stop). */
  async stop(id: string, graceSeconds: number): Promise<void> {
    const st = await this.status(id);
    if (st.state !== 'running') return;
    if (graceSeconds > 0) {
      await this.runc.kill(id, 'TERM');
      if (await this.#waitExited(id, graceSeconds * 1000)) return;
    }
    await this.runc.kill(id, 'KILL', { all: true });
    if (!(await this.#waitExited(id, 10_000))) {
      throw ContainerNotRunning(id, { details: { hint: 'SIGKILL did not end the container within 10 s' } });
    }
  }

  /** Forgets the container; kills it first if it still runs. The log file stays (for --previous). */
  async remove(id: string): Promise<void> {
    const dir = this.#dir(id);
    if (!existsSync(dir)) return;
    await this.runc.delete(id, { force: true });
    for (let i = 0; i < 100 && this.#shimAlive(id); i++) await sleep(20);
    rmSync(dir, { recursive: true, force: true });
  }

  async list(): Promise<ContainerInfo[]> {
    let ids: string[];
    try {
      ids = readdirSync(this.containersDir);
    } catch {
      return [];
    }
    const states = new Map((await this.runc.list()).map((s) => [s.id, s]));
    const out: ContainerInfo[] = [];
    for (const id of ids.sort()) {
      const meta = this.#meta(id);
      if (!meta) continue;
      out.push({ ...meta, status: await this.status(id, states.get(id) ?? null) });
    }
    return out;
  }

  async exec(id: string, argv: string[], io: ExecIo = {}): Promise<number> {
    if (!existsSync(this.#dir(id))) throw ContainerNotFound(id);
    const st = await this.status(id);
    if (st.state !== 'running') throw ContainerNotRunning(id);
    return this.runc.exec(id, argv, io);
  }

  async stats(id: string): Promise<Record<string, unknown>> {
    return this.runc.stats(id);
  }

  /** Removes every container of the pod and the pod's cgroups; returns cgroups it could not remove. */
  async removePod(podUid: string): Promise<string[]> {
    for (const c of await this.list()) if (c.podUid === podUid) await this.remove(c.id);
    let leftovers = removePodCgroup(podUid);
    if (leftovers.length > 0) {
      // processes a crashed runc left behind (they have no container any more): end them
      for (const dir of leftovers) {
        for (const pid of pidsIn(dir)) {
          try {
            process.kill(pid, 'SIGKILL');
          } catch {
            /* already gone */
          }
        }
      }
      await sleep(100);
      leftovers = removePodCgroup(podUid);
    }
    return leftovers;
  }
}

function readPid(file: string): number | undefined {
  try {
    const n = Number(readFileSync(file, 'utf8').trim());
    return Number.isInteger(n) && n > 0 ? n : undefined;
  } catch {
    return undefined;
  }
}

function pidsIn(cgroupDir: string): number[] {
  try {
    return readFileSync(join(cgroupDir, 'cgroup.procs'), 'utf8').split('\n').filter(Boolean).map(Number);
  } catch {
    return [];
  }
}
