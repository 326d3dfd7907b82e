/**
 * meshbox top [-n NS | -A] [--interval SECONDS] [--once]: per destination service, requests per
 * second, success rate and p50/p95/p99 latency, from the daemon's /metrics (every proxy's Istio
 * metrics), over the last interval. On a terminal the table redraws in place (cursor home, each line
 * cleared to its end, the rest of the screen cleared once): no flicker. `--once` takes two samples
 * one interval apart and prints the table once, for scripts.
 */
import type { Command } from 'commander';
import type { IncomingMessage } from 'node:http';
import { describeError } from '../../core/errors.js';
import { parseExposition } from '../../meshconfig/telemetry/prometheus-text.js';
import type { CliContext } from '../context.js';
import { Usage } from '../errors.js';
import { renderTable } from '../format.js';
import { DEFAULT_NAMESPACE } from './common.js';
import { readSample, serviceRates, TOP_HEADERS, topCells, type MeshSample, type ServiceRow } from './top-rates.js';

const HOME = '\x1b[H';
const CLEAR_LINE_END = '\x1b[K';
const CLEAR_BELOW = '\x1b[J';
const CLEAR_SCREEN = '\x1b[2J';

interface TopOptions {
  namespace?: string;
  allNamespaces?: boolean;
  interval: number;
  once?: boolean;
}

export function register(program: Command, ctx: CliContext): void {
  program
    .command('top')
    .description('live requests per second, success rate and p50/p95/p99 latency per mesh service')
    .option('-n, --namespace <namespace>', 'services of this namespace (default "default")')
    .option('-A, --all-namespaces', 'services of every namespace')
    .option('--interval <seconds>', 'seconds between samples', seconds, 2)
    .option('--once', 'take two samples one interval apart, print the table once and exit')
    .action(async (opts: TopOptions) => {
      if (opts.namespace !== undefined && opts.allNamespaces) throw Usage('-n and -A exclude each other: give one namespace or all of them');
      const namespace = opts.allNamespaces ? undefined : (opts.namespace ?? DEFAULT_NAMESPACE);
      await top(ctx, { namespace, intervalMs: opts.interval * 1000, once: opts.once === true });
    });
}

function seconds(v: string): number {
  const n = Number(v);
  if (!Number.isFinite(n) || n < 0.1) throw Usage(`--interval must be a number of seconds, at least 0.1, not "${v}"`);
  return n;
}

async function top(ctx: CliContext, opts: { namespace: string | undefined; intervalMs: number; once: boolean }): Promise<void> {
  const signal = ctx.io.signal;
  const where = opts.namespace === undefined ? 'any namespace' : `namespace "${opts.namespace}"`;
  let prev = await sample(ctx);
  if (opts.once) {
    if (!(await sleep(opts.intervalMs, signal))) return;
    const rows = serviceRates(prev, await sample(ctx), opts.namespace === undefined ? {} : { namespace: opts.namespace });
    if (rows.length === 0) ctx.warn(`No mesh services with request metrics in ${where}.\n`);
    else ctx.out(table(rows));
    return;
  }
  const tty = (ctx.io.stdout as { isTTY?: boolean }).isTTY === true;
  let first = true;
  while (await sleep(opts.intervalMs, signal)) {
    let body: string;
    let at = ctx.io.now();
    try {
      const cur = await sample(ctx);
      const rows = serviceRates(prev, cur, opts.namespace === undefined ? {} : { namespace: opts.namespace });
      prev = cur;
      at = cur.atMs;
      body = rows.length === 0 ? `No mesh services with request metrics in ${where}.\n` : table(rows);
    } catch (err) {
      // a live view outlasts a daemon restart: say what failed and try again next interval
      body = `error: ${describeError(err)}\n`;
    }
    const title = `meshbox top: ${where}, last ${opts.intervalMs / 1000}s, ${new Date(at).toISOString().slice(11, 19)} UTC`;
    const lines = [title, '', ...body.trimEnd().split('\n')];
    if (tty) {
      ctx.out(`${first ? CLEAR_SCREEN : ''}${HOME}${lines.map((l) => l + CLEAR_LINE_END).join('\n')}\n${CLEAR_BELOW}`);
    } else {
      ctx.out(`${lines.join('\n')}\n\n`);
    }
    first = false;
  }
}

function table(rows: ServiceRow[]): string {
  return renderTable(TOP_HEADERS, topCells(rows));
}

async function sample(ctx: CliContext): Promise<MeshSample> {
  const res = await ctx.client().stream('/metrics');
  const text = await readText(res);
  return readSample(parseExposition(text), ctx.io.now());
}

async function readText(res: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of res as AsyncIterable<Buffer>) chunks.push(chunk);
  return Buffer.concat(chunks).toString('utf8');
}

/** Resolves true after `ms`, false as soon as `signal` aborts. */
function sleep(ms: number, signal: AbortSignal | undefined): Promise<boolean> {
  if (signal?.aborted) return Promise.resolve(false);
  return new Promise((resolve) => {
    const onAbort = (): void => {
      clearTimeout(timer);
      resolve(false);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve(true);
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
