/** meshbox delete KIND NAME... | KIND/NAME | KIND -l SELECTOR | -f PATH */
import type { Command } from 'commander';
import type { KubeObject } from '../../api/types.js';
import { resourceFor, type ResourceType } from '../../api/resources.js';
import { describeError, findCause } from '../../core/errors.js';
import { resourcePath, type ListResponse } from '../client.js';
import type { CliContext } from '../context.js';
import { kindRef } from '../format.js';
import { loadOrFail, readSources } from '../manifests.js';
import { UnknownKind, Usage } from '../errors.js';
import { collect, kindAndNames, namespaceOption, positiveInt } from './common.js';

interface DeleteOptions {
  filename: string[];
  recursive?: boolean;
  namespace?: string;
  selector?: string;
  all?: boolean;
  ignoreNotFound?: boolean;
  gracePeriod?: string;
  wait: boolean;
  timeout?: number;
}

export function register(program: Command, ctx: CliContext): void {
  program
    .command('delete')
    .description('delete objects by kind and name, by label, or as listed in manifests')
    .argument('[kind]', 'kind, or KIND/NAME')
    .argument('[names...]', 'names')
    .option('-f, --filename <path>', 'delete the objects in a file, folder or - (repeatable)', collect, [])
    .option('-R, --recursive', 'also read sub-folders of folders given with -f')
    .option('-n, --namespace <namespace>', 'namespace (default: default)')
    .option('-l, --selector <selector>', 'delete every object of the kind matching a label selector')
    .option('--all', 'delete every object of the kind in the namespace')
    .option('--ignore-not-found', 'treat "not found" as success')
    .option('--grace-period <seconds>', 'seconds the objects get to stop')
    .option('--no-wait', 'return at once instead of waiting until objects with finalizers are gone')
    .option('--timeout <seconds>', 'how long to wait for the objects to go (default: 60 s more than their grace period)', positiveInt('--timeout'))
    .action(async (kind: string | undefined, rest: string[], opts: DeleteOptions) => {
      const targets: { resource: ResourceType; namespace: string | undefined; name: string }[] = [];
      if (opts.filename.length > 0) {
        if (kind) throw Usage('give either KIND NAME or -f PATH, not both');
        const loaded = loadOrFail(await readSources(opts.filename, ctx.io.stdin, !!opts.recursive), (l) => ctx.warn(l));
        for (const { object } of loaded.documents) {
          const r = resourceFor(object.apiVersion, object.kind);
          if (!r) throw UnknownKind(`${object.kind} (${object.apiVersion})`);
          const ns = r.namespaced ? object.metadata.namespace || namespaceOption(opts) : undefined;
          targets.push({ resource: r, namespace: ns, name: object.metadata.name });
        }
      } else {
        if (!kind) throw Usage('give KIND NAME, KIND/NAME, KIND -l SELECTOR or -f PATH (see `meshbox delete --help`)');
        const { resource, names } = kindAndNames(kind, rest);
        const ns = resource.namespaced ? namespaceOption(opts) : undefined;
        if (names.length === 0) {
          if (!opts.selector && !opts.all) throw Usage(`give the names of the ${resource.plural} to delete, or -l SELECTOR, or --all`);
          const q = opts.selector ? `?labelSelector=${encodeURIComponent(opts.selector)}` : '';
          const list = await ctx.client().get<ListResponse>(resourcePath(resource, ns) + q);
          for (const o of list.items) targets.push({ resource, namespace: ns, name: o.metadata.name });
          if (list.items.length === 0) ctx.warn('No resources found\n');
        }
        for (const name of names) targets.push({ resource, namespace: ns, name });
      }
      const client = ctx.client();
      const grace = opts.gracePeriod !== undefined ? `?gracePeriodSeconds=${encodeURIComponent(opts.gracePeriod)}` : '';
      const pending: { path: string; label: string; graceSeconds: number; uid: string | undefined }[] = [];
      for (const t of targets) {
        try {
          const path = resourcePath(t.resource, t.namespace, t.name);
          const left = await client.request<KubeObject>('DELETE', path + grace);
          ctx.out(`${kindRef(t.resource)} "${t.name}" deleted\n`);
          // finalizers still run (a pod's containers stop): like kubectl, wait until it is gone
          if (left?.metadata?.deletionTimestamp) {
            const spec = (left.spec ?? {}) as { terminationGracePeriodSeconds?: number };
            const graceSeconds = left.metadata.deletionGracePeriodSeconds ?? spec.terminationGracePeriodSeconds ?? 30;
            pending.push({ path, label: `${kindRef(t.resource)} "${t.name}"`, graceSeconds, uid: left.metadata.uid });
          }
        } catch (err) {
          const notFound = findCause(err, 'MBX_STORE_NOT_FOUND');
          if (notFound && opts.ignoreNotFound) continue;
          ctx.warn(`error: ${describeError(err)}\n`);
          ctx.exitCode = 1;
        }
      }
      if (!opts.wait) return;
      for (const p of pending) {
        const deadline = Date.now() + 1000 * (opts.timeout ?? p.graceSeconds + 60);
        for (;;) {
          const current = await client.get(p.path).catch((err: unknown) => {
            if (findCause(err, 'MBX_STORE_NOT_FOUND')) return undefined;
            throw err;
          });
          if (!current || (p.uid && current.metadata.uid !== p.uid)) break;
          if (Date.now() > deadline || ctx.io.signal?.aborted) {
            ctx.warn(`error: timed out waiting for ${p.label} to go; its finalizers (${(current.metadata.finalizers ?? []).join(', ')}) have not finished\n`);
            ctx.exitCode = 1;
            break;
          }
          await new Promise((r) => setTimeout(r, 100));
        }
      }
    });
}
