/**
 * Named views of jax-js parameter trees (nested objects and arrays of np.Array), for saving as safetensors:
 * "grouping.0.layers.1.cross.att.q.w" etc. Loading rebuilds the tree from a template with the same structure
 * (made by the model's init function for the saved config), checking every name and shape.
 */
import { numpy as np } from '@jax-js/jax';
import type { Tensor } from './safetensors.ts';

type NpArray = np.Array;

// `'ref' in x`, never `x.ref`: reading `.ref` is a getter that adds a reference, so a type test that read it
// leaked one reference per leaf per call (snapshots never freed, templates never disposed).
function isArrayLeaf(x: unknown): x is NpArray {
  return typeof x === 'object' && x !== null && 'shape' in x && 'dtype' in x && 'ref' in x;
}

/** Leaves of a tree with dotted path names, in a deterministic order. Does not consume the tree. */
export function namedLeaves(tree: unknown, prefix = ''): [string, NpArray][] {
  if (isArrayLeaf(tree)) return [[prefix, tree]];
  if (Array.isArray(tree)) return tree.flatMap((t, i) => namedLeaves(t, prefix ? `${prefix}.${i}` : String(i)));
  if (typeof tree === 'object' && tree !== null) {
    return Object.keys(tree)
      .sort()
      .flatMap((k) => namedLeaves((tree as Record<string, unknown>)[k], prefix ? `${prefix}.${k}` : k));
  }
  throw new Error(`unexpected leaf at ${prefix || '(root)'}: ${String(tree)}`);
}

/** Host copies (F32) of every leaf; the tree stays alive. */
export async function treeToTensors(tree: unknown, prefix = ''): Promise<Record<string, Tensor>> {
  const out: Record<string, Tensor> = {};
  for (const [name, arr] of namedLeaves(tree, prefix)) {
    const data = (await arr.ref.data()) as Float32Array;
    out[name] = { dtype: 'F32', shape: [...arr.shape], data: Float32Array.from(data) };
  }
  return out;
}

/**
 * A tree shaped like `template` whose leaves come from `tensors` (the template's leaves are disposed).
 * Throws naming the first missing or mis-shaped tensor.
 */
export function treeFromTensors<T>(template: T, tensors: Record<string, Tensor>, prefix = '', source = 'weights'): T {
  const build = (node: unknown, path: string): unknown => {
    if (isArrayLeaf(node)) {
      const t = tensors[path];
      if (!t) throw new Error(`${source}: tensor ${path} is missing`);
      const shape = node.shape;
      if (t.dtype !== 'F32') throw new Error(`${source}: tensor ${path} is ${t.dtype}, expected F32`);
      if (t.shape.length !== shape.length || t.shape.some((s, i) => s !== shape[i])) {
        throw new Error(`${source}: tensor ${path} has shape [${t.shape}], expected [${shape}]`);
      }
      node.dispose();
      return shape.length === 0
        ? np.array((t.data as Float32Array)[0])
        : np.array(t.data as Float32Array<ArrayBuffer>).reshape(shape);
    }
    if (Array.isArray(node)) return node.map((n, i) => build(n, path ? `${path}.${i}` : String(i)));
    return Object.fromEntries(
      Object.keys(node as object).map((k) => [k, build((node as Record<string, unknown>)[k], path ? `${path}.${k}` : k)]),
    );
  };
  return build(template, prefix) as T;
}

/** Host snapshot of a tree (for keeping the best epoch without holding device arrays). */
export async function snapshot(tree: unknown): Promise<Record<string, Tensor>> {
  return treeToTensors(tree);
}
