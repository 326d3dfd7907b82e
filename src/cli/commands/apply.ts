/** meshbox apply -f PATH|- [-f ...] [-R] [--dry-run] [-n NS]: all or nothing, in one transaction. */
import type { Command } from 'commander';
import type { KubeObject } from '../../api/types.js';
import { resourceFor, resourceByKind } from '../../api/resources.js';
import { APPLY_PATH, type ApplyResult } from '../../daemon/api-types.js';
import type { Finding } from '../../meshconfig/xds/status.js';
import type { CliContext } from '../context.js';
import { kindRef } from '../format.js';
import { loadOrFail, readSources } from '../manifests.js';
import { Usage } from '../errors.js';
import { collect } from './common.js';
import { formatFinding } from './analyze.js';

export function register(program: Command, ctx: CliContext): void {
  program
    .command('apply')
    .description('create or update the objects in manifest files, folders or stdin; all or nothing')
    .option('-f, --filename <path>', 'a file, a folder, or - for stdin (repeatable)', collect, [])
    .option('-R, --recursive', 'also read sub-folders of folders given with -f')
    .option('--dry-run [mode]', 'check and report what would change, change nothing')
    .option('-n, --namespace <namespace>', 'namespace for objects that name none')
    .action(async (opts: { filename: string[]; recursive?: boolean; dryRun?: boolean | string; namespace?: string }) => {
      const dryRun = opts.dryRun !== undefined && opts.dryRun !== false && opts.dryRun !== 'none';
      const sources = await readSources(opts.filename, ctx.io.stdin, !!opts.recursive);
      const loaded = loadOrFail(sources, (l) => ctx.warn(l));
      if (loaded.documents.length === 0) throw Usage('no objects passed to apply');
      const items: KubeObject[] = loaded.documents.map(({ object, source }) => {
        const r = resourceFor(object.apiVersion, object.kind);
        if (opts.namespace && r?.namespaced) {
          const ns = object.metadata.namespace;
          if (ns && ns !== opts.namespace) {
            throw Usage(`${source.path}:${source.line}:${source.col}: the namespace of the object (${ns}) does not match -n ${opts.namespace}`);
          }
          return { ...object, metadata: { ...object.metadata, namespace: opts.namespace } };
        }
        return object;
      });
      const result = await ctx.client().request<ApplyResult & { analysis?: Finding[] }>('POST', APPLY_PATH, { items, dryRun });
      for (const i of result.items) {
        const r = resourceByKind(i.kind);
        ctx.out(`${r ? kindRef(r) : i.kind.toLowerCase()}/${i.name} ${i.action}${dryRun ? ' (dry run)' : ''}\n`);
      }
      // accepted but probably wrong (meshbox analyze's findings about these objects): the apply stands
      for (const f of result.analysis ?? []) ctx.warn(`${formatFinding(f, 'Warning')}\n`);
    });
}
