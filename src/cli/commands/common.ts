/** Helpers shared by the commands: kind names, KIND/NAME references, namespaces. */
import { resolveResource, type ResourceType } from '../../api/resources.js';
import { UnknownKind, Usage } from '../errors.js';

export function resolveKind(name: string): ResourceType {
  const r = resolveResource(name);
  if (!r) throw UnknownKind(name);
  return r;
}

/**
 * "pods web api", "pod/web pod/api" or "deploy/web": the kind and the names. Names may be empty
 * (meaning: all of the kind).
 */
export function kindAndNames(first: string, rest: string[]): { resource: ResourceType; names: string[] } {
  if (first.includes('/')) {
    const [kind, name] = splitRef(first);
    const resource = resolveKind(kind);
    const names = [name];
    for (const r of rest) {
      if (!r.includes('/')) throw Usage(`there is no need to give a kind when using KIND/NAME: got "${r}" after "${first}"`);
      const [k, n] = splitRef(r);
      if (resolveKind(k) !== resource) throw Usage(`all KIND/NAME arguments must be of one kind; "${r}" is not a ${resource.singular}`);
      names.push(n);
    }
    return { resource, names };
  }
  return { resource: resolveKind(first), names: rest };
}

function splitRef(ref: string): [string, string] {
  const i = ref.indexOf('/');
  const kind = ref.slice(0, i);
  const name = ref.slice(i + 1);
  if (!kind || !name) throw Usage(`"${ref}" is not KIND/NAME`);
  return [kind, name];
}

export const DEFAULT_NAMESPACE = 'default';

export function namespaceOption(opts: { namespace?: string }): string {
  return opts.namespace || DEFAULT_NAMESPACE;
}

export function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

export function positiveInt(flag: string): (v: string) => number {
  return (v: string) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < 0) throw Usage(`${flag} must be a non-negative integer, not "${v}"`);
    return n;
  };
}

export function onOff(flag: string): (v: string) => boolean {
  return (v: string) => {
    if (v === 'on' || v === 'true') return true;
    if (v === 'off' || v === 'false') return false;
    throw Usage(`${flag} must be on or off, not "${v}"`);
  };
}
