/**
 * AdamW on one flat parameter vector, for jitted training steps.
 *
 * Why: a jax-js jit call gives every output array its own copy of the program's pending-kernel set, and reads
 * every input's set. With a parameter tree of ~300 leaves, a step that returns params + both Adam moments has
 * ~900 outputs, and that bookkeeping (O(outputs x kernels) Set operations on the main thread) took most of
 * the CLaDMoP pre-training step while the wasm workers sat idle (measured with --cpu-prof: the Array
 * constructor and its `#pending` getter at ~2 s per step). With the state as three flat vectors the step
 * has five outputs.
 *
 * The model still sees its parameter tree: inside the step, `unflatten` slices the vector into views shaped
 * like the leaves, the gradient is taken with respect to that tree and concatenated back into one vector.
 * The update is the same AdamW as adam.ts (global-norm clipping, bias correction, decoupled decay on masked
 * leaves).
 */
import { jit, numpy as np, tree, valueAndGrad } from '@jax-js/jax';
import type { JsTree } from '@jax-js/jax';
import type { AdamConfig } from './adam.ts';

type NpArray = np.Array;

export interface FlatLayout {
  treedef: ReturnType<typeof tree.flatten>[1];
  shapes: number[][];
  offsets: number[];
  size: number;
}

export function flatLayout(params: JsTree<NpArray>): FlatLayout {
  // tree.flatten does not consume the leaves; only shapes are read.
  const [leaves, treedef] = tree.flatten(params);
  const shapes = (leaves as NpArray[]).map((a) => [...a.shape]);
  const offsets: number[] = [];
  let size = 0;
  for (const s of shapes) {
    offsets.push(size);
    size += s.reduce((a, b) => a * b, 1);
  }
  return { treedef, shapes, offsets, size };
}

/** Concatenates the leaves into one float32 vector (consumes the tree). */
export function flattenTree(params: JsTree<NpArray>): NpArray {
  const leaves = tree.leaves(params) as NpArray[];
  return np.concatenate(leaves.map((a) => a.reshape([-1])), 0);
}

/** The tree of views into `flat` (consumes `flat`). */
export function unflattenTree<P>(layout: FlatLayout, flat: NpArray): P {
  const leaves = layout.shapes.map((shape, i) => {
    const n = shape.reduce((a, b) => a * b, 1);
    return flat.ref.slice([layout.offsets[i], layout.offsets[i] + n]).reshape(shape);
  });
  flat.dispose();
  return tree.unflatten(layout.treedef, leaves) as P;
}

/** 1 where the leaf gets weight decay, per element of the flat vector. */
export function decayVector(layout: FlatLayout, decayLeaf: (shape: number[]) => boolean): Float32Array<ArrayBuffer> {
  const v = new Float32Array(layout.size);
  layout.shapes.forEach((shape, i) => {
    if (decayLeaf(shape)) v.fill(1, layout.offsets[i], layout.offsets[i] + shape.reduce((a, b) => a * b, 1));
  });
  return v;
}

export type FlatAdamState = { m: NpArray; v: NpArray; step: NpArray };

export function flatAdamInit(size: number): FlatAdamState {
  return { m: np.zeros([size]), v: np.zeros([size]), step: np.array(0) };
}

/**
 * One AdamW step on flat vectors (consumes theta, grad, state, lr and decay). Returns [theta, state, gradNorm].
 */
export function flatAdamUpdate(theta: NpArray, grad: NpArray, s: FlatAdamState, lr: NpArray, decay: NpArray, config: AdamConfig, clipNorm: number): [NpArray, FlatAdamState, NpArray] {
  const norm = np.sqrt(np.square(grad.ref).sum());
  const scale = clipNorm > 0 ? np.minimum(np.array(1), np.array(clipNorm).div(norm.ref.add(1e-6))) : np.array(1);
  const step = s.step.add(1);
  const b1 = config.beta1;
  const b2 = config.beta2;
  const bc1 = np.array(1).sub(np.power(np.array(b1), step.ref));
  const bc2 = np.array(1).sub(np.power(np.array(b2), step.ref));
  const g = grad.mul(scale);
  const m = s.m.mul(b1).add(g.ref.mul(1 - b1));
  const v = s.v.mul(b2).add(np.square(g).mul(1 - b2));
  let update = m.ref.div(bc1).div(np.sqrt(v.ref.div(bc2)).add(config.eps));
  if (config.weightDecay > 0) update = update.add(theta.ref.mul(decay).mul(config.weightDecay));
  else decay.dispose();
  return [theta.sub(update.mul(lr)), { m, v, step }, norm];
}

export interface FlatAdamStep<A> {
  layout: FlatLayout;
  /** One step (consumes theta, state and args): [theta, state, loss]. */
  step(theta: NpArray, state: FlatAdamState, lr: number, args: A): [NpArray, FlatAdamState, NpArray];
  dispose(): void;
}

/**
 * A jitted training step on the flat vector of `template`'s tree: loss and gradient of `lossOf(tree, args)`,
 * then AdamW with global-norm clipping and decoupled decay on matrices (leaves of rank >= 2). `args` is a tree
 * of arrays (batch, frozen weights, labels, ...). `template` is only read for its structure and shapes.
 */
export function makeFlatAdamStep<P extends JsTree<NpArray>, A>(template: P, lossOf: (p: P, args: A) => NpArray, config: AdamConfig, clipNorm: number): FlatAdamStep<A> {
  const layout = flatLayout(template);
  const decay = np.array(decayVector(layout, (shape) => shape.length >= 2));
  // jax-js's tree typings do not follow generic trees; the shapes are checked by the callers' types.
  const fn = jit((theta: NpArray, s: FlatAdamState, lr: NpArray, dec: NpArray, args: A) => {
    const p = unflattenTree<P>(layout, theta.ref);
    const [loss, grads] = valueAndGrad((q: P) => lossOf(q, args))(p as never) as unknown as [NpArray, P];
    const [theta2, s2, norm] = flatAdamUpdate(theta, flattenTree(grads), s, lr, dec, config, clipNorm);
    norm.dispose();
    return [theta2, s2, loss] as [NpArray, FlatAdamState, NpArray];
  }) as unknown as ((theta: NpArray, s: FlatAdamState, lr: NpArray, dec: NpArray, args: A) => [NpArray, FlatAdamState, NpArray]) & { dispose(): void };
  return {
    layout,
    step: (theta, state, lr, args) => fn(theta, state, np.array(lr), decay.ref, args),
    dispose: () => {
      fn.dispose();
      decay.dispose();
    },
  };
}
