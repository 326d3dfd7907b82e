/** Request/response header set/add/remove, compiled to flat arrays at build time. */
import type { HeaderOps } from '../../meshconfig/types.js';

export type HeaderBag = Record<string, string | string[] | number | undefined>;

export class CompiledHeaderOps {
  readonly remove: string[];
  readonly set: [string, string][];
  readonly add: [string, string][];
  readonly empty: boolean;

  constructor(ops: HeaderOps | undefined) {
    this.remove = (ops?.remove ?? []).map((n) => n.toLowerCase());
    this.set = Object.entries(ops?.set ?? {}).map(([k, v]) => [k.toLowerCase(), v]);
    this.add = Object.entries(ops?.add ?? {}).map(([k, v]) => [k.toLowerCase(), v]);
    this.empty = this.remove.length + this.set.length + this.add.length === 0;
  }

  /** Applies to a lower-cased header object in place (remove, then set, then add). */
  apply(h: HeaderBag): void {
    for (let i = 0; i < this.remove.length; i++) delete h[this.remove[i] as string];
    for (let i = 0; i < this.set.length; i++) {
      const [k, v] = this.set[i] as [string, string];
      h[k] = v;
    }
    for (let i = 0; i < this.add.length; i++) {
      const [k, v] = this.add[i] as [string, string];
      const cur = h[k];
      if (cur === undefined) h[k] = v;
      else if (Array.isArray(cur)) cur.push(v);
      else h[k] = [String(cur), v];
    }
  }
}
