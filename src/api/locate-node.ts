/**
 * Maps a field path (["spec", "containers", 0, "image"]) to a source offset in a parsed YAML
 * document, so an issue points at the offending key, value, or the mapping that lacks a field.
 */
import { isAlias, isMap, isScalar, isSeq, type Document, type Node } from 'yaml';
import type { Anchor, Segment } from './schema.js';

function start(node: unknown): number | undefined {
  const range = (node as { range?: [number, number, number] } | null | undefined)?.range;
  return range?.[0];
}

/** A scalar with no source text (`image:` with nothing after it) has no useful position of its own. */
function hasText(node: unknown): boolean {
  if (!isScalar(node)) return node !== null && node !== undefined;
  const range = node.range;
  return range !== undefined && range !== null && range[1] > range[0];
}

export function locateNode(doc: Document, root: Node | null, path: readonly Segment[], anchor: Anchor): number {
  let node: unknown = root;
  let key: unknown;
  let parent: unknown = root;
  let seen = 0;
  for (const seg of path) {
    // aliases point elsewhere; follow them, but issues still point at the alias if nothing deeper is found
    for (let hops = 0; isAlias(node) && hops < 8; hops++) node = node.resolve(doc) ?? node;
    parent = node;
    if (isMap(node)) {
      const pair = node.items.find((p) => isScalar(p.key) && String(p.key.value) === String(seg));
      if (!pair) break;
      key = pair.key;
      node = pair.value;
    } else if (isSeq(node) && typeof seg === 'number' && seg < node.items.length) {
      key = undefined;
      node = node.items[seg];
    } else {
      break;
    }
    seen++;
  }
  const fallback = start(root) ?? 0;
  if (seen < path.length) {
    // the path ends in a field that is not there: point at the mapping that lacks it
    return start(parent) ?? start(key) ?? fallback;
  }
  if (anchor === 'key' || anchor === 'missing') return start(key) ?? start(node) ?? fallback;
  return (hasText(node) ? start(node) : undefined) ?? start(key) ?? fallback;
}
