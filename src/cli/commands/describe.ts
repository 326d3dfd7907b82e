/** meshbox describe KIND [NAME...] [-n NS] [-l SELECTOR]: fields plus the object's recent events. */
import type { Command } from 'commander';
import type { KubeObject } from '../../api/types.js';
import { resolveResource } from '../../api/resources.js';
import { describeError } from '../../core/errors.js';
import { resourcePath, type ApiClient, type ListResponse } from '../client.js';
import type { CliContext } from '../context.js';
import { describeObject, type Related } from '../describe.js';
import { kindAndNames, namespaceOption } from './common.js';

export function register(program: Command, ctx: CliContext): void {
  program
    .command('describe')
    .description('show an object in detail, with its recent events')
    .argument('<kind>', 'kind, or KIND/NAME')
    .argument('[names...]', 'names (default: every object of the kind)')
    .option('-n, --namespace <namespace>', 'namespace (default: default)')
    .option('-l, --selector <selector>', 'label selector')
    .action(async (kind: string, rest: string[], opts: { namespace?: string; selector?: string }) => {
      const { resource, names } = kindAndNames(kind, rest);
      const client = ctx.client();
      const ns = resource.namespaced ? namespaceOption(opts) : undefined;
      let objects: KubeObject[] = [];
      if (names.length > 0) {
        for (const name of names) {
          try {
            objects.push(await client.get(resourcePath(resource, ns, name)));
          } catch (err) {
            ctx.warn(`error: ${describeError(err)}\n`);
            ctx.exitCode = 1;
          }
        }
      } else {
        const q = opts.selector ? `?labelSelector=${encodeURIComponent(opts.selector)}` : '';
        objects = (await client.get<ListResponse>(resourcePath(resource, ns) + q)).items;
        if (objects.length === 0) ctx.warn(ns ? `No resources found in ${ns} namespace.\n` : 'No resources found\n');
      }
      const texts: string[] = [];
      for (const obj of objects) texts.push(describeObject(obj, await eventsFor(client, obj), ctx.io.now(), await relatedTo(client, obj)));
      ctx.out(texts.join('\n\n'));
    });
}

async function relatedTo(client: ApiClient, obj: KubeObject): Promise<Related> {
  if (obj.kind === 'Service') {
    const endpoints = await client.get(resourcePath(resolveResource('endpoints')!, obj.metadata.namespace, obj.metadata.name)).catch(() => undefined);
    return { endpoints };
  }
  if (obj.kind === 'Deployment') {
    const list = await client.get<ListResponse>(resourcePath(resolveResource('replicasets')!, obj.metadata.namespace));
    return { replicaSets: list.items };
  }
  return {};
}

async function eventsFor(client: ApiClient, obj: KubeObject): Promise<KubeObject[]> {
  const events = resolveResource('events')!;
  const fields = `involvedObject.kind=${obj.kind},involvedObject.name=${obj.metadata.name}`;
  const path = `${resourcePath(events, obj.metadata.namespace)}?fieldSelector=${encodeURIComponent(fields)}`;
  const list = await client.get<ListResponse>(path);
  const uid = obj.metadata.uid;
  // an event for an earlier object of the same name is not about this one
  return list.items.filter((e) => {
    const inv = (e as { involvedObject?: { uid?: string } }).involvedObject;
    return !uid || !inv?.uid || inv.uid === uid;
  });
}
