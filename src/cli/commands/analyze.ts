/**
 * meshbox analyze [-f PATH]... [-R] [-n NS | -A] [-o text|json]: istioctl analyze for meshbox.
 * The daemon analyses its objects with the files' objects laid over them; without a daemon, -f
 * files are analysed alone. Exit status 79 (istioctl's) when some finding is an Error.
 */
import type { Command } from 'commander';
import type { KubeObject } from '../../api/types.js';
import { resourceFor } from '../../api/resources.js';
import type { AnalyzeResponse, Finding } from '../../meshconfig/xds/status.js';
import type { CliContext } from '../context.js';
import { loadOrFail, readSources } from '../manifests.js';
import { DaemonNotRunning, Usage } from '../errors.js';
import { collect } from './common.js';

export const ANALYZE_PATH = '/apis/meshbox.dev/v1/analyze';
/** istioctl analyze's exit status when it finds errors */
export const EXIT_ANALYSIS_ERRORS = 79;

/** istioctl's line: `Error [CODE] (Kind ns/name) field: message`; apply labels every finding a Warning. */
export function formatFinding(f: Finding, label: string = f.severity): string {
  return `${label} [${f.code}] (${f.object}) ${f.field}: ${f.message}`;
}

/** "VirtualService shop/reviews" → "shop" */
function namespaceOf(object: string): string {
  const ref = object.slice(object.indexOf(' ') + 1);
  return ref.includes('/') ? ref.slice(0, ref.indexOf('/')) : '';
}

interface AnalyzeOpts {
  filename: string[];
  recursive?: boolean;
  namespace?: string;
  allNamespaces?: boolean;
  output: string;
}

export function register(program: Command, ctx: CliContext): void {
  program
    .command('analyze')
    .description('find mesh config that is accepted but wrong (istioctl analyze); exit status 79 when some finding is an Error')
    .option('-f, --filename <path>', 'also analyse the objects of a file, folder or - (stdin), laid over the daemon\'s (repeatable)', collect, [])
    .option('-R, --recursive', 'also read sub-folders of folders given with -f')
    .option('-n, --namespace <namespace>', 'show the findings of this namespace (default: default); objects of -f files without one go there')
    .option('-A, --all-namespaces', 'show the findings of every namespace')
    .option('-o, --output <format>', 'text or json', 'text')
    .action(async (opts: AnalyzeOpts) => {
      if (opts.output !== 'text' && opts.output !== 'json') throw Usage(`-o ${opts.output} is not supported here; use -o text or -o json`);
      if (opts.namespace && opts.allNamespaces) throw Usage('give -n NAMESPACE or -A, not both');
      const items = opts.filename.length > 0 ? await loadItems(ctx, opts) : [];
      const findings = await analyze(ctx, items);
      const ns = opts.allNamespaces ? undefined : (opts.namespace ?? 'default');
      const shown = ns === undefined ? findings : findings.filter((f) => namespaceOf(f.object) === ns);
      if (opts.output === 'json') ctx.out(`${JSON.stringify(shown, null, 2)}\n`);
      else if (shown.length === 0) ctx.warn(`✔ No validation issues found when analyzing ${ns === undefined ? 'all namespaces' : `namespace: ${ns}`}.\n`);
      else for (const f of shown) ctx.out(`${formatFinding(f)}\n`);
      if (shown.some((f) => f.severity === 'Error')) ctx.exitCode = EXIT_ANALYSIS_ERRORS;
    });
}

async function loadItems(ctx: CliContext, opts: AnalyzeOpts): Promise<KubeObject[]> {
  const loaded = loadOrFail(await readSources(opts.filename, ctx.io.stdin, !!opts.recursive), (l) => ctx.warn(l));
  return loaded.documents.map(({ object }) =>
    opts.namespace && !object.metadata.namespace && resourceFor(object.apiVersion, object.kind)?.namespaced
      ? { ...object, metadata: { ...object.metadata, namespace: opts.namespace } }
      : object,
  );
}

async function analyze(ctx: CliContext, items: KubeObject[]): Promise<Finding[]> {
  try {
    return (await ctx.client().request<AnalyzeResponse>('POST', ANALYZE_PATH, { items })).findings;
  } catch (err) {
    if (items.length === 0 || !DaemonNotRunning.is(err)) throw err;
    ctx.warn('meshbox daemon is not running: analysing the -f files alone, without the objects of a running mesh\n');
    // Loaded only here: the daemon module brings the translator, which the CLI needs for nothing else.
    const { analyzeObjects } = await import('../../daemon/api-analyze.js');
    return analyzeObjects([], items);
  }
}
