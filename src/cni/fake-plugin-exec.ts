/**
 * A boundary fake of PluginExec for unit tests (libcni's plugins/test/noop, in process): records every
 * invocation and answers with a scripted behaviour per plugin type and command.
 */
import type { PluginExec, PluginRun } from './plugin-exec.js';
import type { CniResult } from './types.js';

export interface FakeCall {
  type: string;
  command: string;
  env: Record<string, string>;
  conf: Record<string, unknown>;
}

export type FakeBehaviour = (call: FakeCall) => PluginRun | Promise<PluginRun>;

export function ok(result: unknown = {}): PluginRun {
  return { code: 0, stdout: JSON.stringify(result), stderr: '', timedOut: false };
}

export function cniError(code: number, msg: string, details?: string): PluginRun {
  return { code: 1, stdout: JSON.stringify({ cniVersion: '1.0.0', code, msg, details }), stderr: '', timedOut: false };
}

/** Default ADD behaviour: append one interface to prevResult, like a chained plugin would. */
export function appendInterface(call: FakeCall): PluginRun {
  const prev = (call.conf.prevResult as CniResult | undefined) ?? { cniVersion: String(call.conf.cniVersion) };
  return ok({ ...prev, interfaces: [...(prev.interfaces ?? []), { name: `${call.type}-if` }] });
}

export class FakePluginExec implements PluginExec {
  readonly calls: FakeCall[] = [];
  /** plugin types that exist; everything else is "not found" */
  installed: Set<string>;
  behaviours = new Map<string, FakeBehaviour>();

  constructor(installed: string[]) {
    this.installed = new Set(installed);
  }

  /** Scripts `type` for `command` ('*' for every command). */
  on(type: string, command: string, behaviour: FakeBehaviour): this {
    this.behaviours.set(`${type} ${command}`, behaviour);
    return this;
  }

  async find(type: string, dirs: readonly string[]): Promise<string | undefined> {
    return this.installed.has(type) ? `${dirs[0] ?? '/fake'}/${type}` : undefined;
  }

  async run(pluginPath: string, stdin: string, env: Record<string, string>): Promise<PluginRun> {
    const type = pluginPath.split('/').pop() ?? pluginPath;
    const call: FakeCall = { type, command: env.CNI_COMMAND ?? '', env, conf: JSON.parse(stdin) as Record<string, unknown> };
    this.calls.push(call);
    const behaviour = this.behaviours.get(`${type} ${call.command}`) ?? this.behaviours.get(`${type} *`);
    if (behaviour) return behaviour(call);
    if (call.command === 'ADD') return appendInterface(call);
    if (call.command === 'VERSION') return ok({ cniVersion: '1.0.0', supportedVersions: ['0.4.0', '1.0.0'] });
    return ok();
  }

  commands(): string[] {
    return this.calls.map((c) => `${c.type} ${c.command}`);
  }
}
