/**
 * AdamW over a jax-js parameter tree (there is no optimizer package for jax-js on npm: @jax-js/optax is
 * unpublished). Pure: `adamUpdate` consumes params, grads and state and returns new ones, so it can be jitted
 * together with the gradient computation.
 */
import { numpy as np, tree } from '@jax-js/jax';
import type { JsTree } from '@jax-js/jax';

type NpArray = np.Array;

export interface AdamConfig {
  beta1: number;
  beta2: number;
  eps: number;
  /** Decoupled weight decay (AdamW), applied to leaves for which `decayMask` is true. */
  weightDecay: number;
}

export const DEFAULT_ADAM: AdamConfig = { beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0 };

export type AdamState<P> = { m: P; v: P; step: NpArray };

export function adamInit<P extends JsTree<NpArray>>(params: P): AdamState<P> {
  const zeros = () => tree.map((p: NpArray) => np.zerosLike(p), tree.ref(params) as P) as P;
  const m = zeros();
  const v = zeros();
  tree.dispose(params);
  return { m, v, step: np.array(0) };
}

/** Global L2 norm of a gradient tree (consumes it). */
export function globalNorm<P extends JsTree<NpArray>>(grads: P): NpArray {
  const leaves = tree.leaves(grads) as NpArray[];
  let total: NpArray = np.array(0);
  for (const g of leaves) total = total.add(np.square(g).sum());
  return np.sqrt(total);
}

/**
 * One AdamW step with global-norm gradient clipping. `lr` is a scalar array (so a schedule does not force
 * recompilation). `decayMask` says which leaves get weight decay (not biases, LayerNorm or embeddings of
 * positions, by convention). Returns [newParams, newState, gradNorm].
 */
export function adamUpdate<P extends JsTree<NpArray>>(
  params: P,
  grads: P,
  state: AdamState<P>,
  lr: NpArray,
  config: AdamConfig,
  clipNorm: number,
  decayMask: JsTree<boolean> | null,
): [P, AdamState<P>, NpArray] {
  const norm = globalNorm(tree.ref(grads) as P);
  // scale = min(1, clip / norm)
  const scale = clipNorm > 0 ? np.minimum(np.array(1), np.array(clipNorm).div(norm.ref.add(1e-6))) : np.array(1);
  const step = state.step.add(1);
  const b1 = config.beta1;
  const b2 = config.beta2;
  const bc1 = np.array(1).sub(np.power(np.array(b1), step.ref));
  const bc2 = np.array(1).sub(np.power(np.array(b2), step.ref));
  const [pLeaves, treedef] = tree.flatten(params);
  const gLeaves = tree.leaves(grads) as NpArray[];
  const mLeaves = tree.leaves(state.m) as NpArray[];
  const vLeaves = tree.leaves(state.v) as NpArray[];
  const maskLeaves = decayMask ? (tree.leaves(decayMask) as boolean[]) : null;
  const newP: NpArray[] = [];
  const newM: NpArray[] = [];
  const newV: NpArray[] = [];
  (pLeaves as NpArray[]).forEach((p, i) => {
    const g = gLeaves[i].mul(scale.ref);
    const m = mLeaves[i].mul(b1).add(g.ref.mul(1 - b1));
    const v = vLeaves[i].mul(b2).add(np.square(g).mul(1 - b2));
    const mHat = m.ref.div(bc1.ref);
    const vHat = v.ref.div(bc2.ref);
    let update = mHat.div(np.sqrt(vHat).add(config.eps));
    if (config.weightDecay > 0 && (!maskLeaves || maskLeaves[i])) update = update.add(p.ref.mul(config.weightDecay));
    newP.push(p.sub(update.mul(lr.ref)));
    newM.push(m);
    newV.push(v);
  });
  scale.dispose();
  bc1.dispose();
  bc2.dispose();
  lr.dispose();
  return [
    tree.unflatten(treedef, newP) as P,
    { m: tree.unflatten(treedef, newM) as P, v: tree.unflatten(treedef, newV) as P, step },
    norm,
  ];
}
