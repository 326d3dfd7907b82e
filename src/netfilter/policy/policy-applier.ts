/**
 * Puts a bridge's compiled NetworkPolicy rule set into the host's filter table: one
 * `iptables-restore --noflush` per change (atomic: the old rules serve until the new ones are in),
 * FORWARD hooks for the bridge's traffic, and a teardown that removes every chain and hook made.
 * Unchanged text is not applied again (a hash of the last applied text).
 */
import { createHash } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { describeError } from '../../core/errors.js';
import { run, type RunOptions, type RunResult } from '../../core/exec.js';
import {
  compilePolicyRuleSet,
  compilePolicyTeardown,
  dispatchChainFor,
  isPolicyChainOf,
  type PodPolicy,
} from './compile-policy-rule-set.js';
import { PolicyBridgeNetfilterOff, PolicyHookFailed, PolicyRestoreFailed } from './errors.js';

export type RunFn = (file: string, args: readonly string[], opts?: RunOptions) => Promise<RunResult>;

export interface PolicyApplierOptions {
  bridge: string;
  /** for tests; defaults to core/exec run */
  run?: RunFn;
  /**
   * Make sure bridged traffic passes iptables (bridge-nf-call-iptables=1, set if 0), without which
   * same-bridge traffic never reaches FORWARD and policies would silently not apply (default true;
   * false for tests with a fake runner).
   */
  ensureBridgeNetfilter?: boolean;
}

const BR_NF_SYSCTL = '/proc/sys/net/bridge/bridge-nf-call-iptables';

export interface ApplyOutcome {
  /** false when the rendered rules equal the last applied ones (nothing was run) */
  changed: boolean;
  chains: number;
  deleted: number;
  durationMs: number;
}

const HINT = 'install the Debian package iptables';
const WAIT = ['-w', '5'];

export class PolicyApplier {
  readonly bridge: string;
  readonly #dispatch: string;
  readonly #run: RunFn;
  readonly #ensureBrNf: boolean;
  #lastHash: string | undefined;
  /** chains of this bridge as last written; undefined until read from the kernel */
  #known: string[] | undefined;
  /** the FORWARD hooks were seen in place since the last invalidate() */
  #hooked = false;

  constructor(options: PolicyApplierOptions) {
    this.bridge = options.bridge;
    this.#dispatch = dispatchChainFor(options.bridge);
    this.#run = options.run ?? run;
    this.#ensureBrNf = options.ensureBridgeNetfilter ?? true;
  }

  /** Renders the rule set for `pods` and applies it if it differs from the last one applied. */
  async apply(pods: readonly PodPolicy[]): Promise<ApplyOutcome> {
    const started = performance.now();
    // The first apply of a daemon reads the kernel, so chains of pods gone while it was down are deleted.
    const existing = this.#known ?? (await this.listChains());
    const ruleSet = compilePolicyRuleSet({ bridge: this.bridge, pods, existingChains: existing });
    const digest = createHash('sha256').update(ruleSet.text).digest('hex');
    if (digest === this.#lastHash && ruleSet.deleted.length === 0) {
      return { changed: false, chains: ruleSet.chains.length, deleted: 0, durationMs: performance.now() - started };
    }
    await this.#restore(ruleSet.text);
    this.#known = ruleSet.chains;
    this.#lastHash = digest;
    // Checking the hooks costs two iptables runs: once per daemon run and after invalidate().
    if (!this.#hooked) {
      if (this.#ensureBrNf) await ensureBridgeNetfilter();
      await this.#ensureHooks();
      this.#hooked = true;
    }
    return { changed: true, chains: ruleSet.chains.length, deleted: ruleSet.deleted.length, durationMs: performance.now() - started };
  }

  /**
   * Forgets what was applied, so the next apply reads the kernel's chains, writes the whole rule
   * set and checks the hooks again (repairs rules someone else flushed or deleted).
   */
  invalidate(): void {
    this.#lastHash = undefined;
    this.#known = undefined;
    this.#hooked = false;
  }

  /** Removes the FORWARD hooks and every chain of this bridge's policy rules. Idempotent. */
  async teardown(): Promise<void> {
    for (const hook of this.#hooks()) {
      while ((await this.#run('iptables', [...WAIT, '-D', 'FORWARD', ...hook], { allowFailure: true, notFoundHint: HINT })).code === 0) {
        /* remove every copy */
      }
    }
    const text = compilePolicyTeardown(this.bridge, await this.listChains());
    if (text) await this.#restore(text);
    this.#known = [];
    this.#lastHash = undefined;
    this.#hooked = false;
  }

  /** Chains of this bridge's policy rules in the kernel now. */
  async listChains(): Promise<string[]> {
    const res = await this.#run('iptables-save', ['-t', 'filter'], { notFoundHint: HINT });
    const chains: string[] = [];
    for (const line of res.stdout.split('\n')) {
      const m = /^:(\S+) /.exec(line);
      if (m?.[1] && isPolicyChainOf(this.bridge, m[1])) chains.push(m[1]);
    }
    return chains;
  }

  #hooks(): string[][] {
    const comment = ['-m', 'comment', '--comment', `meshbox NetworkPolicy ${this.bridge}`];
    return [
      ['-i', this.bridge, ...comment, '-j', this.#dispatch],
      ['!', '-i', this.bridge, '-o', this.bridge, ...comment, '-j', this.#dispatch],
    ];
  }

  async #ensureHooks(): Promise<void> {
    for (const hook of this.#hooks()) {
      const check = await this.#run('iptables', [...WAIT, '-C', 'FORWARD', ...hook], { allowFailure: true, notFoundHint: HINT });
      if (check.code === 0) continue;
      // First in FORWARD: a policy must be checked before anything else accepts the packet.
      const ins = await this.#run('iptables', [...WAIT, '-I', 'FORWARD', '1', ...hook], { allowFailure: true, notFoundHint: HINT });
      if (ins.code !== 0) throw PolicyHookFailed(this.bridge, ins.stderr.trim() || `exit ${ins.code}`);
    }
  }

  async #restore(text: string): Promise<void> {
    let res: RunResult;
    try {
      res = await this.#run('iptables-restore', [...WAIT, '--noflush'], { input: text, allowFailure: true, notFoundHint: HINT, timeoutMs: 30_000 });
    } catch (err) {
      throw PolicyRestoreFailed(this.bridge, describeError(err), { cause: err });
    }
    if (res.code !== 0) throw PolicyRestoreFailed(this.bridge, res.stderr || `exit ${res.code}`);
  }
}

async function ensureBridgeNetfilter(): Promise<void> {
  let value: string;
  try {
    value = (await readFile(BR_NF_SYSCTL, 'utf8')).trim();
  } catch {
    throw PolicyBridgeNetfilterOff(`${BR_NF_SYSCTL} does not exist (br_netfilter is not loaded)`);
  }
  if (value === '1') return;
  try {
    // The service data path sets the same value; setting it here keeps policies safe without it.
    await writeFile(BR_NF_SYSCTL, '1');
  } catch (err) {
    throw PolicyBridgeNetfilterOff(`it is ${value} and could not be set: ${describeError(err)}`);
  }
}
