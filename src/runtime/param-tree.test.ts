import { test } from 'node:test';
import assert from 'node:assert/strict';
import { init, numpy as np } from '@jax-js/jax';
import { namedLeaves, treeFromTensors, treeToTensors } from './param-tree.ts';
import { decodeSafetensors, encodeSafetensors } from './safetensors.ts';

await init('wasm');

type NpArray = np.Array;
type Tree = { head: { w: NpArray }; enc: { layers: { w: NpArray; b: NpArray }[]; scale: NpArray }; alpha: NpArray };

const seq = (n: number, start: number) => Float32Array.from({ length: n }, (_, i) => start + i / 8);

/** Nested objects, a list of 11 layers (so index 10 must come after 9, not after 1) and a scalar. */
function makeTree(offset = 0): Tree {
  return {
    head: { w: np.array(seq(6, offset)).reshape([2, 3]) },
    enc: {
      layers: Array.from({ length: 11 }, (_, l) => ({ w: np.array(seq(4, offset + 10 * l)).reshape([2, 2]), b: np.array(seq(2, offset - l)) })),
      scale: np.array(seq(3, offset + 0.5)),
    },
    alpha: np.array(offset + 3),
  };
}

const expectedNames = [
  'alpha',
  ...Array.from({ length: 11 }, (_, l) => [`enc.layers.${l}.b`, `enc.layers.${l}.w`]).flat(),
  'enc.scale',
  'head.w',
];

const leaves = (t: Tree) => namedLeaves(t).map(([, a]) => a);
const disposeTree = (t: Tree) => leaves(t).forEach((a) => a.dispose());

test('namedLeaves: dotted names, keys sorted, list items in index order, prefix applied; no reference taken', () => {
  const t = makeTree();
  assert.deepEqual(namedLeaves(t).map(([n]) => n), expectedNames);
  assert.deepEqual(namedLeaves(t, 'params').map(([n]) => n), expectedNames.map((n) => `params.${n}`));
  // Type-testing a leaf must not change its reference count (reading `.ref` would add one and leak the array).
  for (const [name, a] of namedLeaves(t)) assert.equal(a.refCount, 1, name);
  assert.equal(namedLeaves(t.alpha, 'x')[0][0], 'x');
  assert.throws(() => namedLeaves({ a: { b: 'oops' } }), /unexpected leaf at a\.b: oops/);
  disposeTree(t);
});

test('treeToTensors -> safetensors bytes -> treeFromTensors rebuilds the same tree, disposing the template', async () => {
  const t = makeTree(1);
  const tensors = await treeToTensors(t, 'p');
  // The source tree stays alive with its references unchanged.
  for (const [name, a] of namedLeaves(t)) assert.equal(a.refCount, 1, name);
  assert.deepEqual(Object.keys(tensors), expectedNames.map((n) => `p.${n}`));
  assert.deepEqual(tensors['p.alpha'].shape, []);
  assert.deepEqual(tensors['p.enc.layers.10.w'].shape, [2, 2]);
  assert.deepEqual([...(tensors['p.enc.layers.10.w'].data as Float32Array)], [...seq(4, 101)]);

  // Through the file format, as checkpoints are.
  const { tensors: read } = decodeSafetensors(new Uint8Array(Buffer.concat(encodeSafetensors(tensors))));
  const template = makeTree(-50); // same structure, other values
  const templateLeaves = leaves(template);
  const rebuilt = treeFromTensors(template, read, 'p');
  for (const a of templateLeaves) assert.equal(a.refCount, 0, 'template leaves are disposed');
  const a = namedLeaves(t);
  const b = namedLeaves(rebuilt);
  assert.deepEqual(b.map(([n]) => n), a.map(([n]) => n));
  for (let i = 0; i < a.length; i++) {
    assert.deepEqual(b[i][1].shape, a[i][1].shape, a[i][0]);
    assert.equal(b[i][1].refCount, 1, a[i][0]);
    assert.deepEqual([...(await b[i][1].ref.data())], [...(await a[i][1].ref.data())], a[i][0]);
  }
  assert.ok(Array.isArray(rebuilt.enc.layers) && rebuilt.enc.layers.length === 11, 'lists stay lists');
  disposeTree(t);
  disposeTree(rebuilt);
});

test('treeFromTensors names the tensor that is missing, mis-shaped or of the wrong dtype', async () => {
  const t = makeTree();
  const tensors = await treeToTensors(t);
  disposeTree(t);
  const bad = { ...tensors, 'enc.layers.7.w': { dtype: 'F32' as const, shape: [4], data: new Float32Array(4) } };
  assert.throws(() => treeFromTensors(makeTree(), bad, '', 'ckpt.safetensors'), /^Error: ckpt\.safetensors: tensor enc\.layers\.7\.w has shape \[4\], expected \[2,2\]$/);
  const { ['head.w']: _omit, ...missing } = tensors;
  assert.throws(() => treeFromTensors(makeTree(), missing, '', 'ckpt.safetensors'), /ckpt\.safetensors: tensor head\.w is missing/);
  const i32 = { ...tensors, alpha: { dtype: 'I32' as const, shape: [], data: Int32Array.of(3) } };
  assert.throws(() => treeFromTensors(makeTree(), i32), /weights: tensor alpha is I32, expected F32/);
  // With a prefix, the full name is reported.
  assert.throws(() => treeFromTensors(makeTree(), tensors, 'adam_m'), /tensor adam_m\.head\.w is missing/);
});
