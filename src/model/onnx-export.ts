/**
 * CLaDMoP's classifier (classifyLogits of cladmop.ts: grouping -> DM branch with LoRA -> multi-level fusion ->
 * head) as an ONNX graph, for prediction in onnxruntime-node.
 *
 * Why: inference in jax-js paid ~87 ms per trial, mostly dispatching hundreds of small kernels from JS, and
 * gave batch-dependent results; onnxruntime runs the same arithmetic as one native graph, rows independent
 * of their batch-mates. Training stays in jax-js. LoRA adapters are merged into their projections at export
 * (W + (alpha / r) A B), which is the same function.
 *
 * Inputs (B = batch, L = criteria tokens, any sizes):
 *   crit_{level}  float [B, L, dEncoder] for each fused level; crit_mask, crit_segment int64 [B, L] (mask 0/1)
 *   mol_features float [B, M, moleculeInput], mol_mask int64 [B, M] (M = MAX_MOLECULES), mol_unknown float [B]
 *   name_ids int64 [B, D, G], name_weights float [B, D, G], name_mask int64 [B, D]
 *   icd_ids int64 [B, S, A], icd_weights float [B, S, A], icd_mask int64 [B, S]
 * Output: logits float [B, N], one column per ensemble member (see cladmopClassifierToOnnx).
 */
import type { Tensor } from '../runtime/safetensors.ts';
import { encodeModel, FLOAT, GraphBuilder, INT64, valueInfo } from '../runtime/onnx-graph.ts';
import { MAX_MOLECULES } from '../features/dm-features.ts';
import type { CladmopConfig } from './cladmop.ts';

export const ONNX_INPUTS = ['crit_mask', 'crit_segment', 'mol_features', 'mol_mask', 'mol_unknown', 'name_ids', 'name_weights', 'name_mask', 'icd_ids', 'icd_weights', 'icd_mask'] as const;

class CladmopGraph {
  readonly g = new GraphBuilder();
  private readonly used = new Set<string>();
  private readonly consts = new Map<string, string>();

  constructor(
    private readonly c: CladmopConfig,
    private readonly tensors: Record<string, Tensor>,
    private readonly loraScale: number,
  ) {}

  private tensor(name: string): Tensor {
    const t = this.tensors[name];
    if (!t) throw new Error(`weights: tensor ${name} is missing`);
    if (t.dtype !== 'F32') throw new Error(`weights: tensor ${name} is ${t.dtype}, expected F32`);
    return t;
  }

  /** A weight as an initializer (once). */
  w(name: string): string {
    if (!this.used.has(name)) {
      const t = this.tensor(name);
      this.g.float(name, t.data as Float32Array, t.shape);
      this.used.add(name);
    }
    return name;
  }

  scalar(v: number): string {
    const key = `f:${v}`;
    if (!this.consts.has(key)) this.consts.set(key, this.g.scalarFloat(`const_f${this.consts.size}`, v));
    return this.consts.get(key)!;
  }

  ints(values: number[]): string {
    const key = `i:${values.join(',')}`;
    if (!this.consts.has(key)) this.consts.set(key, this.g.int64(`const_i${this.consts.size}`, values));
    return this.consts.get(key)!;
  }

  linear(prefix: string, x: string): string {
    return this.g.one('Add', [this.g.one('MatMul', [x, this.w(`${prefix}.w`)]), this.w(`${prefix}.b`)]);
  }

  /** A projection with its LoRA adapter merged: W + scale * A B (the adapter is exactly linear). */
  linearLora(prefix: string, lora: string | null, x: string): string {
    return this.g.one('Add', [this.g.one('MatMul', [x, this.loraMergedWeight(prefix, lora)]), this.w(`${prefix}.b`)]);
  }

  /** The name of W + scale * A B as an initializer (W itself without an adapter). */
  loraMergedWeight(prefix: string, lora: string | null): string {
    if (!lora) return this.w(`${prefix}.w`);
    const name = `${prefix}.w+${lora}`;
    if (!this.used.has(name)) {
      const W = this.tensor(`${prefix}.w`);
      const A = this.tensor(`${lora}.a`);
      const Bm = this.tensor(`${lora}.b`);
      const [fanIn, fanOut] = W.shape;
      const r = A.shape[1];
      const merged = Float32Array.from(W.data as Float32Array);
      const a = A.data as Float32Array;
      const b = Bm.data as Float32Array;
      for (let i = 0; i < fanIn; i++) {
        for (let k = 0; k < r; k++) {
          const aik = a[i * r + k] * this.loraScale;
          if (aik === 0) continue;
          for (let j = 0; j < fanOut; j++) merged[i * fanOut + j] += aik * b[k * fanOut + j];
        }
      }
      this.g.float(name, merged, W.shape);
      this.used.add(name);
    }
    return name;
  }

  /** The q, k and v biases of an attention, concatenated ([3 d]: MultiHeadAttention's bias input). */
  qkvBias(prefix: string): string {
    const name = `${prefix}.qkv.b`;
    if (!this.used.has(name)) {
      const parts = ['q', 'k', 'v'].map((p) => this.tensor(`${prefix}.${p}.b`).data as Float32Array);
      const joined = new Float32Array(parts.reduce((n, p) => n + p.length, 0));
      let at = 0;
      for (const p of parts) {
        joined.set(p, at);
        at += p.length;
      }
      this.g.float(name, joined, [joined.length]);
      this.used.add(name);
    }
    return name;
  }

  layerNorm(prefix: string, x: string): string {
    return this.g.one('LayerNormalization', [x, this.w(`${prefix}.g`), this.w(`${prefix}.b`)], { axis: -1, epsilon: 1e-5 });
  }

  /**
   * Multi-head attention (layers.ts attention); keyMask: int32 [B, Lk] (1 = real token) or null. One fused
   * com.microsoft MultiHeadAttention node does the head split, scaled scores, masking, softmax and merge. The
   * graph's small nodes cost more than their arithmetic: this took it from 1,071 to 606 nodes per trial and the
   * phase I classifier from 7.7-10.2 to 6.3-8.1 ms per trial (p50, quiet 2-core machine).
   */
  attention(prefix: string, lora: string | null, query: string, keyValue: string, keyMask: string | null): string {
    // q, k, v without their biases: MultiHeadAttention adds them (one node instead of three Adds).
    const project = (p: 'q' | 'k' | 'v', x: string) => this.g.one('MatMul', [x, this.loraMergedWeight(`${prefix}.${p}`, lora && `${lora}.${p}`)]);
    const inputs = [project('q', query), project('k', keyValue), project('v', keyValue), this.qkvBias(prefix)];
    // Inputs: query, key, value, bias, key_padding_mask.
    const out = this.g.one('MultiHeadAttention', keyMask ? [...inputs, keyMask] : inputs, { num_heads: this.c.nHeads, mask_filter_value: { float: -1e9 } }, 'com.microsoft');
    return this.linearLora(`${prefix}.o`, lora && `${lora}.o`, out);
  }

  ffn(prefix: string, x: string): string {
    return this.linear(`${prefix}.l2`, this.g.one('Relu', [this.linear(`${prefix}.l1`, x)]));
  }

  /** Pre-LN block (layers.ts block); kv null = self-attention. */
  block(prefix: string, lora: string | null, x: string, kv: string | null, kvMask: string | null, hasLnKv: boolean): string {
    const h = this.layerNorm(`${prefix}.ln1`, x);
    const keys = kv === null ? h : hasLnKv ? this.layerNorm(`${prefix}.lnKv`, kv) : kv;
    const x1 = this.g.one('Add', [x, this.attention(`${prefix}.att`, lora, h, keys, kvMask)]);
    return this.g.one('Add', [x1, this.ffn(`${prefix}.ffn`, this.layerNorm(`${prefix}.ln2`, x1))]);
  }

  /** Embedding bag: sum_g table[ids[..., g]] * weights[..., g]. */
  bag(table: string, ids: string, weights: string): string {
    const emb = this.g.one('Gather', [this.w(table), ids], { axis: 0 });
    const weighted = this.g.one('Mul', [emb, this.g.one('Unsqueeze', [weights, this.ints([-1])])]);
    return this.g.one('ReduceSum', [weighted, this.ints([2])], { keepdims: 0 });
  }

  maskedMean(x: string, maskF: string): string {
    const num = this.g.one('ReduceSum', [this.g.one('Mul', [x, this.g.one('Unsqueeze', [maskF, this.ints([-1])])]), this.ints([1])], { keepdims: 0 });
    const den = this.g.one('Max', [this.g.one('ReduceSum', [maskF, this.ints([1])], { keepdims: 1 }), this.scalar(1)]);
    return this.g.one('Div', [num, den]);
  }
}

/** Where one ensemble member's adapters and head are in the tensors (prefixes). */
export interface OnnxMemberNames {
  lora: string;
  head: string;
}

/** A single model's names: base.* with its head, adapters as lora.* (schema-1 bundles, tests). */
export const SINGLE_MODEL: OnnxMemberNames[] = [{ lora: 'lora', head: 'base.head' }];

/**
 * `tensors`: the bundle's weights (base.* and each member's adapters and head). Returns the serialised ONNX
 * model, whose output `logits` is [B, N] for N members. The frozen part every member shares (the grouping
 * blocks and the DM token embeddings) is computed once per trial; each member runs its own DM self-attention,
 * fusion (LoRA merged) and head. An ensemble of 3 thus costs far less than three graphs.
 */
export function cladmopClassifierToOnnx(c: CladmopConfig, tensors: Record<string, Tensor>, members: OnnxMemberNames[] = SINGLE_MODEL): Uint8Array {
  if (members.length === 0) throw new Error('the ONNX classifier needs at least one member');
  const m = new CladmopGraph(c, tensors, c.loraAlpha / c.loraRank);
  const g = m.g;
  const d = c.dModel;
  const toInt32 = (x: string) => g.one('Cast', [x], { to: 6 /* INT32 */ });
  const toFloat = (x: string) => g.one('Cast', [x], { to: FLOAT });

  // Grouping (groupCriteria), per fused level.
  const critMask = toInt32('crit_mask');
  const grouped: string[] = c.levels.map((level, li) => {
    const p = `base.grouping.${li}`;
    let x = m.layerNorm(`${p}.projLn`, m.linear(`${p}.proj`, `crit_${level}`));
    x = g.one('Add', [x, g.one('Gather', [m.w(`${p}.segment`), 'crit_segment'], { axis: 0 })]);
    let tokens = x;
    let mask: string | null = critMask;
    c.centroids.forEach((K, gi) => {
      const lp = `${p}.layers.${gi}`;
      // [K, d] -> [B, K, d]: Expand to the batch size of the criteria input.
      const batchShape = g.one('Concat', [g.one('Slice', [g.one('Shape', ['crit_mask']), m.ints([0]), m.ints([1])]), m.ints([K, d])], { axis: 0 });
      let cent = g.one('Expand', [m.w(`${lp}.centroids`), batchShape]);
      cent = m.block(`${lp}.cross`, null, cent, tokens, mask, true);
      mask = null;
      for (let s = 0; s < c.selfAttention; s++) cent = m.block(`${lp}.selfs.${s}`, null, cent, null, null, false);
      tokens = cent;
    });
    return tokens;
  });
  const critPooled = g.one('ReduceMax', [grouped[grouped.length - 1], m.ints([1])], { keepdims: 0 });

  // DM tokens (dmTokens).
  const hidden = g.one('Relu', [m.linear('base.molecule.hidden', 'mol_features')]);
  let mol = m.layerNorm('base.molecule.ln', g.one('Add', [m.linear('base.molecule.inProj', 'mol_features'), m.linear('base.molecule.out', hidden)]));
  // Slot 0 of a trial without any parseable molecule holds the learned unknown-molecule token.
  const slot0 = new Float32Array(MAX_MOLECULES);
  slot0[0] = 1;
  const slot0Name = g.float('const_slot0', slot0, [MAX_MOLECULES]);
  const unknownSlot = g.one('Mul', [g.one('Unsqueeze', ['mol_unknown', m.ints([-1])]), slot0Name]); // [B, M]
  const unknown3 = g.one('Unsqueeze', [unknownSlot, m.ints([-1])]);
  mol = g.one('Add', [g.one('Mul', [mol, g.one('Sub', [m.scalar(1), unknown3])]), g.one('Mul', [unknown3, m.w('base.unknownMolecule')])]);
  const names = m.bag('base.nameEmb', 'name_ids', 'name_weights');
  const icd = m.bag('base.icdEmb', 'icd_ids', 'icd_weights');
  const typeRow = (i: number) => g.one('Gather', [m.w('base.typeEmb'), m.ints([i])], { axis: 0 }); // [1, d]
  let x = g.one('Concat', [g.one('Add', [mol, typeRow(0)]), g.one('Add', [names, typeRow(1)]), g.one('Add', [icd, typeRow(2)])], { axis: 1 });
  const dmMaskInt = g.one('Concat', ['mol_mask', 'name_mask', 'icd_mask'], { axis: 1 });
  const dmMask = toInt32(dmMaskInt);

  const dmTokensShared = x;
  const dmMaskF = toFloat(dmMaskInt);
  const memberLogits = members.map(({ lora, head }) => {
    // DM self-attention (dmEncode) and multi-level fusion (fuse), LoRA merged.
    let y = dmTokensShared;
    for (let i = 0; i < c.dmLayers; i++) y = m.block(`base.dmBlocks.${i}`, `${lora}.dmBlocks.${i}`, y, null, dmMask, false);
    c.levels.forEach((_, i) => {
      y = m.block(`base.fusion.${i}.cross`, `${lora}.fusionCross.${i}`, y, grouped[i], null, true);
      y = m.block(`base.fusion.${i}.self`, `${lora}.fusionSelf.${i}`, y, null, dmMask, false);
    });
    const dmPooled = m.maskedMean(y, dmMaskF);
    // Head (classifyFromGrouped): [B, 1].
    const h0 = g.one('Relu', [m.linear(`${head}.l1`, g.one('Concat', [dmPooled, critPooled], { axis: -1 }))]);
    const h1 = g.one('Add', [h0, g.one('Relu', [m.linear(`${head}.l2`, h0)])]);
    return m.linear(`${head}.l3`, h1);
  });
  if (memberLogits.length === 1) g.one('Identity', memberLogits);
  else g.one('Concat', memberLogits, { axis: 1 });
  g.nameLastOutput('logits');

  const critInputs = c.levels.map((level) => valueInfo(`crit_${level}`, FLOAT, ['batch', 'criteria', c.dEncoder]));
  return encodeModel(g, {
    name: 'cladmop_classifier',
    inputs: [
      ...critInputs,
      valueInfo('crit_mask', INT64, ['batch', 'criteria']),
      valueInfo('crit_segment', INT64, ['batch', 'criteria']),
      valueInfo('mol_features', FLOAT, ['batch', MAX_MOLECULES, c.moleculeInput]),
      valueInfo('mol_mask', INT64, ['batch', MAX_MOLECULES]),
      valueInfo('mol_unknown', FLOAT, ['batch']),
      valueInfo('name_ids', INT64, ['batch', 'drugs', 'ngrams']),
      valueInfo('name_weights', FLOAT, ['batch', 'drugs', 'ngrams']),
      valueInfo('name_mask', INT64, ['batch', 'drugs']),
      valueInfo('icd_ids', INT64, ['batch', 'diseases', 'ancestors']),
      valueInfo('icd_weights', FLOAT, ['batch', 'diseases', 'ancestors']),
      valueInfo('icd_mask', INT64, ['batch', 'diseases']),
    ],
    outputs: [valueInfo('logits', FLOAT, ['batch', members.length])],
  });
}
