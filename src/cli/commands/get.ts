/** meshbox get KIND [NAME...] [-n NS | -A] [-l SELECTOR] [-o wide|json|yaml|name] [-w] */
import type { Command } from 'commander';
import { stringify } from 'yaml';
import type { KubeObject } from '../../api/types.js';
import { resolveResource, type ResourceType } from '../../api/resources.js';
import { resourcePath, type ListResponse } from '../client.js';
import type { CliContext } from '../context.js';
import { kindRef, kindRefOf, labelsToString, renderTable } from '../format.js';
import { printerFor } from '../printers.js';
import { Usage } from '../errors.js';
import { describeError } from '../../core/errors.js';
import { kindAndNames, namespaceOption } from './common.js';

const FORMATS = ['wide', 'json', 'yaml', 'name'];

interface GetOptions {
  namespace?: string;
  allNamespaces?: boolean;
  selector?: string;
  fieldSelector?: string;
  output?: string;
  watch?: boolean;
  showLabels?: boolean;
}

export function register(program: Command, ctx: CliContext): void {
  program
    .command('get')
    .description('show objects of a kind as a table, or as json/yaml')
    .argument('<kind>', 'kind: plural, singular or short name (pods, pod, po), or KIND/NAME')
    .argument('[names...]', 'names of the objects (default: all)')
    .option('-n, --namespace <namespace>', 'namespace (default: default)')
    .option('-A, --all-namespaces', 'objects of every namespace')
    .option('-l, --selector <selector>', 'label selector, e.g. app=web,tier!=db')
    .option('--field-selector <selector>', 'field selector, e.g. status.phase=Running')
    .option('-o, --output <format>', `output format: ${FORMATS.join('|')}`)
    .option('-w, --watch', 'after listing, print changes as they happen')
    .option('--show-labels', 'add a LABELS column')
    .action(async (kind: string, rest: string[], opts: GetOptions) => {
      if (opts.output !== undefined && !FORMATS.includes(opts.output)) {
        throw Usage(`unable to match a printer suitable for the output format "${opts.output}", allowed formats are: ${FORMATS.join(',')}`);
      }
      if (kind === 'all') {
        await getAll(ctx, rest, opts);
        return;
      }
      const { resource, names } = kindAndNames(kind, rest);
      await get(ctx, resource, names, opts);
    });
}

async function get(ctx: CliContext, resource: ResourceType, names: string[], opts: GetOptions): Promise<void> {
  const client = ctx.client();
  const all = !!opts.allNamespaces && names.length === 0;
  const ns = resource.namespaced && !all ? namespaceOption(opts) : undefined;
  let items: KubeObject[] = [];
  let resourceVersion = '';
  let failed = false;
  if (names.length > 0) {
    for (const name of names) {
      try {
        items.push(await client.get(resourcePath(resource, ns, name)));
      } catch (err) {
        ctx.warn(`error: ${describeError(err)}\n`);
        failed = true;
      }
    }
  } else {
    const list = await client.get<ListResponse>(listPath(resource, ns, opts));
    items = list.items;
    resourceVersion = list.metadata.resourceVersion;
  }
  const base = printerFor(resource, { wide: opts.output === 'wide', allNamespaces: all });
  const printer = opts.showLabels
    ? { headers: [...base.headers, 'LABELS'], row: (o: KubeObject, now: number) => [...base.row(o, now), labelsToString(o.metadata.labels)] }
    : base;
  const now = ctx.io.now();
  switch (opts.output) {
    case 'json':
    case 'yaml': {
      const doc = names.length === 1 && items.length === 1 ? items[0] : { apiVersion: 'v1', kind: 'List', items, metadata: { resourceVersion: '' } };
      if (items.length > 0 || names.length === 0) ctx.out(opts.output === 'json' ? `${JSON.stringify(doc, null, 4)}\n` : stringify(doc));
      break;
    }
    case 'name':
      for (const o of items) ctx.out(`${kindRef(resource)}/${o.metadata.name}\n`);
      break;
    default:
      if (items.length === 0 && names.length === 0) {
        if (!opts.watch) ctx.warn(ns && resource.namespaced ? `No resources found in ${ns} namespace.\n` : 'No resources found\n');
      } else if (items.length > 0) {
        ctx.out(renderTable(printer.headers, items.map((o) => printer.row(o, now))));
      }
  }
  if (failed) ctx.exitCode = 1;
  if (!opts.watch) return;
  if (names.length > 1) throw Usage('watch takes at most one name');
  let path = listPath(resource, ns, opts);
  path += `${path.includes('?') ? '&' : '?'}watch=true`;
  if (resourceVersion) path += `&resourceVersion=${resourceVersion}`;
  if (names.length === 1) path = `${resourcePath(resource, ns, names[0])}?watch=true`;
  let first = items.length === 0 && names.length === 0 && !opts.output;
  for await (const e of client.watch(path, ctx.io.signal)) {
    // watching one object by name replays it as ADDED first; the table above already shows it
    if (names.length === 1 && e.type === 'ADDED' && items.length === 1 && e.object.metadata.resourceVersion === items[0]!.metadata.resourceVersion) continue;
    if (e.type === 'ERROR') throw Usage(`watch ended: ${(e.object as unknown as { message?: string }).message ?? 'error'}`);
    if (opts.output === 'json') ctx.out(`${JSON.stringify(e.object, null, 4)}\n`);
    else if (opts.output === 'yaml') ctx.out(`---\n${stringify(e.object)}`);
    else if (opts.output === 'name') ctx.out(`${kindRef(resource)}/${e.object.metadata.name}\n`);
    else {
      ctx.out(renderTable(first ? printer.headers : undefined, [printer.row(e.object, ctx.io.now())]));
      first = false;
    }
  }
}

/** `get all`: kubectl's workload kinds, one table each, names as KIND/NAME. */
const ALL_KINDS = ['pods', 'services', 'deployments', 'replicasets', 'jobs'];

async function getAll(ctx: CliContext, rest: string[], opts: GetOptions): Promise<void> {
  if (rest.length > 0) throw Usage('`get all` takes no names; use -l to select');
  if (opts.watch) throw Usage('`get all` cannot watch; watch one kind at a time');
  if (opts.output && opts.output !== 'wide') {
    const items: KubeObject[] = [];
    for (const k of ALL_KINDS) {
      const resource = resolveResource(k)!;
      const ns = opts.allNamespaces ? undefined : namespaceOption(opts);
      items.push(...(await ctx.client().get<ListResponse>(listPath(resource, ns, opts))).items);
    }
    if (opts.output === 'name') for (const o of items) ctx.out(`${kindRefOf(o.kind)}/${o.metadata.name}\n`);
    else {
      const doc = { apiVersion: 'v1', kind: 'List', items, metadata: { resourceVersion: '' } };
      ctx.out(opts.output === 'json' ? `${JSON.stringify(doc, null, 4)}\n` : stringify(doc));
    }
    return;
  }
  const tables: string[] = [];
  const ns = opts.allNamespaces ? undefined : namespaceOption(opts);
  for (const k of ALL_KINDS) {
    const resource = resolveResource(k)!;
    const list = await ctx.client().get<ListResponse>(listPath(resource, ns, opts));
    if (list.items.length === 0) continue;
    const printer = printerFor(resource, { wide: opts.output === 'wide', allNamespaces: !!opts.allNamespaces });
    const nameCol = printer.headers.indexOf('NAME');
    const rows = list.items.map((o) => {
      const row = printer.row(o, ctx.io.now());
      if (nameCol >= 0) row[nameCol] = `${kindRef(resource)}/${row[nameCol]}`;
      return row;
    });
    tables.push(renderTable(printer.headers, rows));
  }
  if (tables.length === 0) ctx.warn(ns ? `No resources found in ${ns} namespace.\n` : 'No resources found\n');
  else ctx.out(tables.join('\n'));
}

function listPath(resource: ResourceType, ns: string | undefined, opts: GetOptions): string {
  const q = new URLSearchParams();
  if (opts.selector) q.set('labelSelector', opts.selector);
  if (opts.fieldSelector) q.set('fieldSelector', opts.fieldSelector);
  const qs = q.toString();
  return resourcePath(resource, ns) + (qs ? `?${qs}` : '');
}
