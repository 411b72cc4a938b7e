/**
 * Building blocks of the CLaDMoP model as pure functions over parameter trees (jax-js). Every function consumes
 * its array arguments (jax-js reference counting): pass `x.ref` to keep using an array.
 *
 * Parameters are created by `init*` functions from a `ParamInit` (a seeded source of normal draws), so a model
 * is a plain tree of arrays that can be saved as safetensors and differentiated as a whole or in parts.
 */
import { nn, numpy as np, random } from '@jax-js/jax';

type NpArray = np.Array;

/** Seeded parameter initialiser: each call draws from a fresh subkey. */
export class ParamInit {
  private counter = 0;
  constructor(private readonly seed: number) {}

  normal(shape: number[], std: number): NpArray {
    const key = random.key((this.seed * 1000003 + this.counter++ * 7919) >>> 0);
    return random.normal(key, shape).mul(std);
  }

  /** Glorot-style N(0, 1/fan_in) for a [fanIn, fanOut] weight. */
  weight(fanIn: number, fanOut: number): NpArray {
    return this.normal([fanIn, fanOut], 1 / Math.sqrt(fanIn));
  }
}

export type LinearParams = { w: NpArray; b: NpArray };
export type LayerNormParams = { g: NpArray; b: NpArray };

export function initLinear(init: ParamInit, fanIn: number, fanOut: number): LinearParams {
  return { w: init.weight(fanIn, fanOut), b: np.zeros([fanOut]) };
}

export function initLayerNorm(d: number): LayerNormParams {
  return { g: np.ones([d]), b: np.zeros([d]) };
}

export function linear(p: LinearParams, x: NpArray): NpArray {
  return np.matmul(x, p.w).add(p.b);
}

export function layerNorm(p: LayerNormParams, x: NpArray): NpArray {
  return nn.standardize(x, -1, { epsilon: 1e-5 }).mul(p.g).add(p.b);
}

/**
 * LoRA adapter of one projection: W' = W + (alpha / r) * A^T B^T applied as x A^T B^T. Standard init: A random,
 * B zero, so the adapted model starts exactly at the base model.
 */
export type LoraParams = { a: NpArray; b: NpArray };

export function initLora(init: ParamInit, fanIn: number, fanOut: number, rank: number): LoraParams {
  return { a: init.normal([fanIn, rank], 1 / Math.sqrt(fanIn)), b: np.zeros([rank, fanOut]) };
}

/** Linear layer with an optional LoRA adapter (scale = alpha / rank). */
export function linearLora(p: LinearParams, lora: LoraParams | null, scale: number, x: NpArray): NpArray {
  if (!lora) return linear(p, x);
  const base = linear(p, x.ref);
  return base.add(np.matmul(np.matmul(x, lora.a), lora.b).mul(scale));
}

export type AttentionParams = { q: LinearParams; k: LinearParams; v: LinearParams; o: LinearParams };
export type AttentionLora = { q: LoraParams; k: LoraParams; v: LoraParams; o: LoraParams };

export function initAttention(init: ParamInit, dq: number, dkv: number, d: number): AttentionParams {
  return { q: initLinear(init, dq, d), k: initLinear(init, dkv, d), v: initLinear(init, dkv, d), o: initLinear(init, d, d) };
}

export function initAttentionLora(init: ParamInit, d: number, rank: number): AttentionLora {
  return { q: initLora(init, d, d, rank), k: initLora(init, d, d, rank), v: initLora(init, d, d, rank), o: initLora(init, d, d, rank) };
}

export interface LoraSettings {
  /** alpha / rank */
  scale: number;
}

/**
 * Multi-head attention. query [B, Lq, dq], keyValue [B, Lk, dkv], keyMask bool [B, Lk] (true = real token) or
 * null. Returns [B, Lq, d]. Callers keep at least one real key per row.
 */
export function attention(
  p: AttentionParams,
  lora: AttentionLora | null,
  loraScale: number,
  query: NpArray,
  keyValue: NpArray,
  keyMask: NpArray | null,
  nHeads: number,
): NpArray {
  const k = linearLora(p.k, lora?.k ?? null, loraScale, keyValue.ref);
  const v = linearLora(p.v, lora?.v ?? null, loraScale, keyValue);
  return attentionProjectedKv({ q: p.q, o: p.o }, lora ? { q: lora.q, o: lora.o } : null, loraScale, query, k, v, keyMask, nHeads);
}

/**
 * Attention whose keys and values are already projected ([B, Lk, d] each): lets pair matching project each
 * trial's grouped criteria once and broadcast the projections to all B x B pairs.
 */
export function attentionProjectedKv(
  p: { q: LinearParams; o: LinearParams },
  lora: { q: LoraParams; o: LoraParams } | null,
  loraScale: number,
  query: NpArray,
  k: NpArray,
  v: NpArray,
  keyMask: NpArray | null,
  nHeads: number,
): NpArray {
  const [B, Lq] = query.shape;
  const Lk = k.shape[1];
  const d = p.q.w.shape[1];
  const H = d / nHeads;
  // Batched matmuls rather than nn.dotProductAttention, whose einsum materialises a [B, Lq, Lk, N, H]
  // product: for a grouping layer (100 centroids x 1,000 criteria tokens) that exceeds wasm's 4 GiB.
  const heads = (x: NpArray, L: number) => x.reshape([B, L, nHeads, H]).transpose([0, 2, 1, 3]);
  const qh = heads(linearLora(p.q, lora?.q ?? null, loraScale, query), Lq);
  let scores = np.matmul(qh, heads(k, Lk).transpose([0, 1, 3, 2])).mul(1 / Math.sqrt(H));
  if (keyMask) scores = np.where(keyMask.reshape([B, 1, 1, Lk]), scores, -1e9);
  const out = np.matmul(nn.softmax(scores, -1), heads(v, Lk)).transpose([0, 2, 1, 3]).reshape([B, Lq, d]);
  return linearLora(p.o, lora?.o ?? null, loraScale, out);
}

export type FfnParams = { l1: LinearParams; l2: LinearParams };

export function initFfn(init: ParamInit, d: number, hidden: number): FfnParams {
  return { l1: initLinear(init, d, hidden), l2: initLinear(init, hidden, d) };
}

export function ffn(p: FfnParams, x: NpArray): NpArray {
  return linear(p.l2, nn.relu(linear(p.l1, x)));
}

/** Pre-LN transformer block: x + Attn(LN(x), LN(kv)) then x + FFN(LN(x)). kv = null means self-attention. */
// Self-attention blocks have no `lnKv` (jax-js trees cannot hold null leaves).
export type BlockParams = { ln1: LayerNormParams; lnKv?: LayerNormParams; att: AttentionParams; ln2: LayerNormParams; ffn: FfnParams };

export function initBlock(init: ParamInit, d: number, dKv: number | null, ffHidden: number): BlockParams {
  const p: BlockParams = { ln1: initLayerNorm(d), att: initAttention(init, d, dKv ?? d, d), ln2: initLayerNorm(d), ffn: initFfn(init, d, ffHidden) };
  if (dKv !== null) p.lnKv = initLayerNorm(dKv);
  return p;
}

export function block(
  p: BlockParams,
  lora: AttentionLora | null,
  loraScale: number,
  x: NpArray,
  kv: NpArray | null,
  kvMask: NpArray | null,
  nHeads: number,
): NpArray {
  const h = layerNorm(p.ln1, x.ref);
  let keys: NpArray;
  if (kv === null) {
    keys = h.ref;
    if (p.lnKv) {
      p.lnKv.g.dispose();
      p.lnKv.b.dispose();
    }
  } else {
    keys = p.lnKv ? layerNorm(p.lnKv, kv) : kv;
  }
  const x1 = x.add(attention(p.att, lora, loraScale, h, keys, kvMask, nHeads));
  return x1.ref.add(ffn(p.ffn, layerNorm(p.ln2, x1)));
}

/** Mean over tokens where mask is true. x [B, L, d], mask bool [B, L] -> [B, d]. */
export function maskedMean(x: NpArray, mask: NpArray): NpArray {
  const m = mask.astype(np.float32);
  const num = x.mul(np.expandDims(m.ref, -1)).sum(1);
  const den = np.maximum(m.sum(1, { keepdims: true }), 1);
  return num.div(den);
}

/** L2-normalise the last axis. */
export function l2normalize(x: NpArray): NpArray {
  const n = np.sqrt(np.square(x.ref).sum(-1, { keepdims: true }).add(1e-12));
  return x.div(n);
}
