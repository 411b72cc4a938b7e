import { test } from 'node:test';
import assert from 'node:assert/strict';
import { grad, init, jit, numpy as np, tree } from '@jax-js/jax';
import { createRng } from '../eval/rng.ts';
import { MOLECULE_INPUT, type DmFeatures } from '../features/dm-features.ts';
import type { EncodedCriteria } from '../features/criteria-encoder.ts';
import { packBatch, packCriteria, packDm, type TrialInput } from '../features/trial-batch.ts';
import { treeFromTensors, treeToTensors } from '../runtime/param-tree.ts';
import type { Tensor } from '../runtime/safetensors.ts';
import {
  classifyFromGrouped,
  classifyLogits,
  dmTokens,
  groupCriteria,
  infoNce,
  initCladmop,
  initLoraParams,
  ownPairScores,
  pairLogits,
  weightedBce,
  type CladmopBatch,
  type CladmopConfig,
  type CladmopLora,
  type CladmopParams,
  type CriteriaBatch,
  type DmBatch,
  type LevelGroupingParams,
} from './cladmop.ts';

await init('wasm');

type Array = np.Array;

// Tiny model: every test here shares these shapes (B = 4 rows, 16 criteria tokens), so the wasm heap reuses buffers.
const C: CladmopConfig = {
  dEncoder: 8,
  dModel: 16,
  nHeads: 2,
  ffHidden: 32,
  centroids: [6, 4, 3],
  selfAttention: 1,
  // Two of the three levels (fewer blocks to compile): level index != position, and level 1 is left unused.
  levels: [0, 2],
  dmLayers: 1,
  moleculeInput: MOLECULE_INPUT,
  moleculeHidden: 8,
  nameBuckets: 64,
  icdVocab: 20,
  dJoint: 8,
  headHidden: 16,
  loraRank: 2,
  loraAlpha: 4,
  dropout: 0,
  initLogitScale: 0.6,
};
const B = 4;
const L = 16;

function criteria(rng: () => number, nInc: number, nExc: number): EncodedCriteria {
  const T = nInc + nExc;
  const d = C.dEncoder;
  return {
    levels: [0, 1, 2].map(() => Float32Array.from({ length: T * d }, () => 2 * rng() - 1)),
    tokens: Array.from({ length: T }, (_, i) => i + 1),
    segments: Uint8Array.from({ length: T }, (_, t) => (t < nInc ? 0 : 1)),
    dim: d,
  };
}

function dm(rng: () => number, nMol: number, nDrugs: number, nDiseases: number): DmFeatures {
  const molecules = new Float32Array(nMol * MOLECULE_INPUT);
  for (let m = 0; m < nMol; m++) {
    for (let i = 0; i < 2048; i++) molecules[m * MOLECULE_INPUT + i] = rng() < 0.05 ? 1 : 0;
    for (let i = 2048; i < MOLECULE_INPUT; i++) molecules[m * MOLECULE_INPUT + i] = rng();
  }
  const ids = (n: number, k: number, max: number) => Array.from({ length: n }, () => Array.from({ length: k }, () => 1 + Math.floor(rng() * (max - 1))));
  return {
    molecules,
    nMolecules: nMol,
    drugNgrams: ids(nDrugs, 5, C.nameBuckets),
    diseaseAncestors: ids(nDiseases, 3, C.icdVocab),
    report: { invalidSmiles: [], placeboDropped: 0, unknownIcdCodes: [], truncated: [] },
  };
}

/** Four different trials (one without molecules, criteria lengths 5..12 tokens). */
function trials(seed = 11): TrialInput[] {
  const rng = createRng(seed);
  return [
    { criteria: criteria(rng, 6, 4), dm: dm(rng, 2, 2, 1) },
    { criteria: criteria(rng, 3, 2), dm: dm(rng, 0, 1, 2) },
    { criteria: criteria(rng, 9, 3), dm: dm(rng, 1, 3, 1) },
    { criteria: criteria(rng, 4, 0), dm: dm(rng, 3, 1, 0) },
  ];
}

const host = async (a: Array) => Float32Array.from((await a.data()) as Float32Array);
const maxAbsDiff = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  assert.equal(a.length, b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
};
/** A tree shaped like `t` (not consumed) with the given host tensors as leaves. */
const fromTensors = <T>(t: T, tensors: Record<string, Tensor>): T =>
  treeFromTensors(tree.map((a: Array) => np.zerosLike(a), tree.ref(t as never)) as T, tensors);
/** `tensors` with one entry changed by `delta` (float32 arithmetic, as the model sees it). Returns the actual step. */
function shifted(tensors: Record<string, Tensor>, name: string, index: number, delta: number): [Record<string, Tensor>, number] {
  const t = tensors[name];
  const data = Float32Array.from(t.data as Float32Array);
  const before = data[index];
  data[index] = before + delta;
  return [{ ...tensors, [name]: { ...t, data } }, data[index] - before];
}
/** The k entries of a tensor with the largest |value| (deterministic). */
const topEntries = (t: Tensor, k: number) =>
  [...(t.data as Float32Array)]
    .map((v, i) => [Math.abs(v), i] as const)
    .sort((a, b) => b[0] - a[0] || a[1] - b[1])
    .slice(0, k)
    .map(([, i]) => i);

const params = initCladmop(C, 3);
const items = trials();

test('fresh LoRA (B = 0) gives exactly the base model; a nonzero B changes the logits', async () => {
  const batch = () => packBatch(items, { size: B, maxCriteria: L }).batch;
  const base = await host(classifyLogits(C, tree.ref(params), null, batch()));
  const fresh = initLoraParams(C, 5);
  const freshLogits = await host(classifyLogits(C, tree.ref(params), tree.ref(fresh), batch()));
  const zeros = tree.map((a: Array) => np.zerosLike(a), tree.ref(fresh)) as CladmopLora;
  const zeroLogits = await host(classifyLogits(C, tree.ref(params), zeros, batch()));
  assert.deepEqual(freshLogits, base, 'A random, B = 0: x A B = 0 exactly');
  assert.deepEqual(zeroLogits, base, 'A = B = 0');
  // A nonzero B on every adapter moves every logit.
  const moved = { ...fresh, dmBlocks: fresh.dmBlocks.map((a) => ({ ...a, q: { a: a.q.a, b: a.q.b.add(0.3) } })) } as CladmopLora;
  const movedLogits = await host(classifyLogits(C, tree.ref(params), moved, batch()));
  assert.ok(maxAbsDiff(movedLogits, base) > 1e-3, `nonzero LoRA B must change logits (max diff ${maxAbsDiff(movedLogits, base)})`);
  assert.ok(base.every(Number.isFinite));
});

test('finite differences: grouping (centroid, cross-attention weight) and LoRA (A, B) gradients', async (t) => {
  // float32, central differences. Measured relative errors are ~1e-3 with step 1e-2 (roundoff of the loss is
  // ~1e-6 relative, so smaller steps get noisier); 2e-2 leaves a 10x margin yet catches a wrong or missing
  // gradient path, which is off by O(1).
  const EPS = 1e-2;
  const RTOL = 2e-2;
  const check = (name: string, analytic: number, fd: number) => {
    const err = Math.abs(analytic - fd) / Math.max(Math.abs(analytic), Math.abs(fd), 1e-3);
    t.diagnostic(`${name}: analytic ${analytic.toExponential(4)} fd ${fd.toExponential(4)} rel err ${err.toExponential(2)}`);
    assert.ok(err < RTOL, `${name}: analytic ${analytic} vs finite difference ${fd} (rel err ${err})`);
    assert.ok(Math.abs(analytic) > 1e-4, `${name}: gradient should not vanish (${analytic})`);
  };

  // (a) grouping: loss = sum of all grouped outputs.
  const critBatch = () => packCriteria(items.map((i) => i.criteria), { size: B, maxCriteria: L }).batch;
  const groupLoss = jit((g: LevelGroupingParams[], b: CriteriaBatch) =>
    groupCriteria(C, g, b.crit, b.critMask, b.critSegment)
      .map((x) => x.sum())
      .reduce((a, x) => a.add(x)),
  );
  const grouping = params.grouping;
  const gGrad = await treeToTensors(grad((g: LevelGroupingParams[]) => groupLoss(g, critBatch()))(tree.ref(grouping)));
  const gTensors = await treeToTensors(grouping);
  for (const name of ['0.layers.0.centroids', '2.layers.1.centroids', '1.layers.0.cross.att.k.w', '0.layers.2.cross.att.q.w']) {
    for (const i of topEntries(gGrad[name], 2)) {
      const [plus, hp] = shifted(gTensors, name, i, EPS);
      const [minus, hm] = shifted(gTensors, name, i, -EPS);
      const fp = (await host(groupLoss(fromTensors(grouping, plus), critBatch())))[0];
      const fm = (await host(groupLoss(fromTensors(grouping, minus), critBatch())))[0];
      check(`grouping ${name}[${i}]`, (gGrad[name].data as Float32Array)[i], (fp - fm) / (hp - hm));
    }
  }

  // (b) LoRA: weighted BCE of the classifier wrt LoRA A and B, with B nonzero (else dL/dA = 0).
  const labels = Float32Array.of(1, 0, 1, 0);
  const weights = Float32Array.of(1, 1, 1, 0.5);
  const rest = { ...params, grouping: [] } as CladmopParams;
  const cb = critBatch();
  const grouped = groupCriteria(C, tree.ref(grouping), cb.crit, cb.critMask, cb.critSegment);
  const groupedHost = await Promise.all(grouped.map((g) => host(g.ref)));
  const dmHost = packDm(items.map((i) => i.dm));
  const loraLoss = jit((l: CladmopLora, p: CladmopParams, g: Array[], d: DmBatch) =>
    weightedBce(classifyFromGrouped(C, p, l, g, d), np.array(labels), 2.5, np.array(weights)),
  );
  const lossOf = (l: CladmopLora) => loraLoss(l, tree.ref(rest), tree.ref(grouped), tree.ref(dmHost));
  const lora0 = initLoraParams(C, 9);
  const loraTensors = await treeToTensors(lora0);
  // Nonzero B everywhere, deterministic.
  const rng = createRng(4);
  for (const [name, ten] of Object.entries(loraTensors)) {
    if (name.endsWith('.b')) (ten.data as Float32Array).forEach((_, i, a) => (a[i] = 0.2 * (2 * rng() - 1)));
  }
  const lora = fromTensors(lora0, loraTensors);
  tree.dispose(lora0);
  const lGrad = await treeToTensors(grad(lossOf)(tree.ref(lora)));
  for (const name of ['dmBlocks.0.q.a', 'dmBlocks.0.v.b', 'fusionCross.1.k.a', 'fusionCross.2.o.b', 'fusionSelf.0.v.a']) {
    for (const i of topEntries(lGrad[name], 2)) {
      const [plus, hp] = shifted(loraTensors, name, i, EPS);
      const [minus, hm] = shifted(loraTensors, name, i, -EPS);
      const fp = (await host(lossOf(fromTensors(lora, plus))))[0];
      const fm = (await host(lossOf(fromTensors(lora, minus))))[0];
      check(`LoRA ${name}[${i}]`, (lGrad[name].data as Float32Array)[i], (fp - fm) / (hp - hm));
    }
  }
  // Sanity: the precomputed grouped criteria are the same as those classifyLogits computes itself.
  const direct = await host(classifyLogits(C, tree.ref(params), tree.ref(lora), packBatch(items, { size: B, maxCriteria: L }).batch));
  const viaGrouped = await host(classifyFromGrouped(C, tree.ref(rest), tree.ref(lora), groupedHost.map((g, l) => np.array(g).reshape(grouped[l].shape)), packDm(items.map((i) => i.dm))));
  assert.ok(maxAbsDiff(direct, viaGrouped) < 1e-5);
  tree.dispose([lora, grouped, dmHost]);
  groupLoss.dispose();
  loraLoss.dispose();
});

test('InfoNCE: gradient matches the analytic (softmax - identity) / 2B and finite differences', async () => {
  const n = 4;
  const rng = createRng(8);
  const S = Float32Array.from({ length: n * n }, () => 3 * (2 * rng() - 1));
  const g = await host(grad(infoNce)(np.array(S).reshape([n, n])));
  // d loss / d S_ij = (softmax_row_i(S)_j + softmax_col_j(S)_i - 2 [i = j]) / (2n)
  const expected = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    let rs = 0;
    for (let j = 0; j < n; j++) rs += Math.exp(S[i * n + j]);
    for (let j = 0; j < n; j++) expected[i * n + j] += Math.exp(S[i * n + j]) / rs - (i === j ? 1 : 0);
  }
  for (let j = 0; j < n; j++) {
    let cs = 0;
    for (let i = 0; i < n; i++) cs += Math.exp(S[i * n + j]);
    for (let i = 0; i < n; i++) expected[i * n + j] += Math.exp(S[i * n + j]) / cs - (i === j ? 1 : 0);
  }
  expected.forEach((v, i) => (expected[i] = v / (2 * n)));
  assert.ok(maxAbsDiff(g, expected) < 1e-6, `analytic vs jax-js: ${maxAbsDiff(g, expected)}`);
  // Finite differences on a few entries (the loss is O(1), float32: step 1e-2 gives ~1e-4 absolute error).
  for (const idx of [0, 1, 6, 13]) {
    const at = async (delta: number) => {
      const s = Float32Array.from(S);
      s[idx] += delta;
      return (await host(infoNce(np.array(s).reshape([n, n]))))[0];
    };
    const fd = ((await at(1e-2)) - (await at(-1e-2))) / 2e-2;
    assert.ok(Math.abs(fd - expected[idx]) < 5e-4, `S[${idx}]: fd ${fd} vs analytic ${expected[idx]}`);
  }
});

test('padding never changes outputs: criteria padding (16 vs 32 tokens), padding rows, masked DM slots', async () => {
  // (a) More criteria padding: masked keys get exactly zero attention weight.
  const packed16 = packBatch(items, { size: B, maxCriteria: L });
  const packed32 = packBatch(items, { size: B, maxCriteria: 2 * L });
  const g16 = groupCriteria(C, tree.ref(params.grouping), packed16.batch.crit.map((a) => a.ref), packed16.batch.critMask.ref, packed16.batch.critSegment.ref);
  const g32 = groupCriteria(C, tree.ref(params.grouping), packed32.batch.crit.map((a) => a.ref), packed32.batch.critMask.ref, packed32.batch.critSegment.ref);
  for (let l = 0; l < g16.length; l++) {
    const d = maxAbsDiff(await host(g16[l]), await host(g32[l]));
    assert.ok(d < 1e-5, `grouped level ${l}: max diff ${d}`);
  }
  const z16 = await host(classifyLogits(C, tree.ref(params), null, packed16.batch));
  const z32 = await host(classifyLogits(C, tree.ref(params), null, packed32.batch));
  assert.ok(maxAbsDiff(z16, z32) < 1e-5, `logits: max diff ${maxAbsDiff(z16, z32)}`);
  // ... and the padding really is there: trial 2 has 12 tokens, so 4 resp. 20 padding tokens.
  assert.ok(z16.every(Number.isFinite));

  // (b) Padding rows (copies of item 0, weight 0) leave the real rows alone.
  const two = packBatch(items.slice(0, 2), { size: B, maxCriteria: L });
  assert.deepEqual([...two.rowWeights], [1, 1, 0, 0]);
  const zTwo = await host(classifyLogits(C, tree.ref(params), null, two.batch));
  assert.ok(maxAbsDiff(zTwo.slice(0, 2), z16.slice(0, 2)) < 1e-6);
  assert.ok(maxAbsDiff(zTwo.slice(2), [z16[0], z16[0]]) < 1e-6, 'padding rows copy item 0');

  // (c) Masked DM slots: garbage in every masked molecule / drug / disease slot changes the tokens there but
  // not the logits (keys masked in self-attention, masked mean pooling).
  const dmOnly = () => packDm(items.map((i) => i.dm));
  const dirtyDm = async (): Promise<DmBatch> => {
    const d = dmOnly();
    const bits = async (m: Array) => (await m.ref.astype(np.int32).data()) as Int32Array;
    const molMask = await bits(d.molMask);
    const nameMask = await bits(d.nameMask);
    const icdMask = await bits(d.icdMask);
    // Writes garbage(flat index) into the rows of masked slots.
    const fill = async (values: Array, mask: Int32Array, garbage: (i: number) => number) => {
      const shape = values.shape;
      const v = (await values.astype(np.float32).data()) as Float32Array;
      const per = v.length / mask.length;
      for (let s = 0; s < mask.length; s++) if (!mask[s]) for (let k = 0; k < per; k++) v[s * per + k] = garbage(s * per + k);
      return { v: Float32Array.from(v), shape };
    };
    const f32 = ({ v, shape }: { v: Float32Array; shape: number[] }) => np.array(v).reshape(shape);
    const i32 = ({ v, shape }: { v: Float32Array; shape: number[] }) => np.array(Int32Array.from(v), { dtype: np.int32 }).reshape(shape);
    d.molFeatures = f32(await fill(d.molFeatures, molMask, (i) => (i % 7) / 3));
    d.nameIds = i32(await fill(d.nameIds, nameMask, (i) => 1 + (i % 60)));
    d.nameWeights = f32(await fill(d.nameWeights, nameMask, () => 0.5));
    d.icdIds = i32(await fill(d.icdIds, icdMask, (i) => 1 + (i % 19)));
    d.icdWeights = f32(await fill(d.icdWeights, icdMask, () => 1));
    return d;
  };
  const dmParams = () =>
    ({
      molecule: tree.ref(params.molecule),
      unknownMolecule: params.unknownMolecule.ref,
      nameEmb: params.nameEmb.ref,
      icdEmb: params.icdEmb.ref,
      typeEmb: params.typeEmb.ref,
    }) as CladmopParams;
  const check = dmOnly();
  assert.deepEqual([...(await host(check.molUnknown.ref))], [0, 1, 0, 0], 'trial 1 has no molecule');
  tree.dispose(check);
  const tokClean = dmTokens(C, dmParams(), dmOnly());
  const tokDirty = dmTokens(C, dmParams(), await dirtyDm());
  assert.ok(maxAbsDiff(await host(tokClean.tokens), await host(tokDirty.tokens)) > 0.1, 'garbage reached the masked token slots');
  assert.deepEqual(await host(tokClean.mask.astype(np.float32)), await host(tokDirty.mask.astype(np.float32)));
  const crit = () => packCriteria(items.map((i) => i.criteria), { size: B, maxCriteria: L }).batch;
  const zClean = await host(classifyLogits(C, tree.ref(params), null, { ...crit(), ...dmOnly() }));
  const zDirty = await host(classifyLogits(C, tree.ref(params), null, { ...crit(), ...(await dirtyDm()) }));
  assert.ok(maxAbsDiff(zClean, zDirty) < 1e-5, `masked DM slots changed logits by ${maxAbsDiff(zClean, zDirty)}`);
  assert.deepEqual(zClean, z16);
  const sClean = await host(ownPairScores(C, tree.ref(params), { ...crit(), ...dmOnly() }));
  const sDirty = await host(ownPairScores(C, tree.ref(params), { ...crit(), ...(await dirtyDm()) }));
  assert.ok(maxAbsDiff(sClean, sDirty) < 1e-5, `masked DM slots changed pair scores by ${maxAbsDiff(sClean, sDirty)}`);
});

test('InfoNCE: identical logits give log B, a confident diagonal gives ~0', async () => {
  for (const n of [4, 16]) {
    const flat = await host(infoNce(np.full([n, n], 0.7)));
    assert.ok(Math.abs(flat[0] - Math.log(n)) < 1e-6, `n=${n}: ${flat[0]} vs log n = ${Math.log(n)}`);
  }
  const diag = await host(infoNce(np.eye(4).mul(50)));
  assert.ok(diag[0] >= 0 && diag[0] < 1e-6, `diagonal: ${diag[0]}`);
  // A wrong diagonal is worse than chance.
  const anti = await host(infoNce(np.eye(4).mul(-5)));
  assert.ok(anti[0] > Math.log(4));
});

test('pairLogits: [B, B], row = criteria, column = drugs/diseases; diagonal = ownPairScores', async () => {
  const S = pairLogits(C, tree.ref(params), packBatch(items, { size: B, maxCriteria: L }).batch);
  assert.deepEqual(S.shape, [B, B]);
  const s = await host(S);
  const own = await host(ownPairScores(C, tree.ref(params), packBatch(items, { size: B, maxCriteria: L }).batch));
  const diag = Array.from({ length: B }, (_, i) => s[i * B + i]);
  assert.ok(maxAbsDiff(diag, own) < 1e-5, `diagonal vs ownPairScores: ${maxAbsDiff(diag, own)}`);
  // Off-diagonal (i, j) = own score of a trial made of criteria i and DM j.
  const pairs = [[0, 1], [2, 3], [3, 0], [1, 2]];
  const crit = packCriteria(pairs.map(([i]) => items[i].criteria), { size: B, maxCriteria: L }).batch;
  const mixed = await host(ownPairScores(C, tree.ref(params), { ...crit, ...packDm(pairs.map(([, j]) => items[j].dm)) } as CladmopBatch));
  const expected = pairs.map(([i, j]) => s[i * B + j]);
  assert.ok(maxAbsDiff(mixed, expected) < 1e-5, `S[i, j] vs own score of (crit i, DM j): ${maxAbsDiff(mixed, expected)}`);
  // |S| <= exp(logit scale) (cosine similarities).
  assert.ok(s.every((v) => Math.abs(v) <= Math.exp(C.initLogitScale) + 1e-5));
  assert.ok(new Set(s).size > B, 'scores vary across pairs');
});

test('weightedBce: matches a hand computation with pos_weight; weight-0 rows contribute nothing', async () => {
  const z = [1.5, -0.5, 0.25, -2, 3];
  const y = [1, 0, 0, 1, 1];
  const w = [1, 1, 0.5, 2, 0];
  const pw = 3;
  const logSig = (v: number) => -Math.log1p(Math.exp(-v));
  let num = 0;
  let den = 0;
  z.forEach((v, i) => {
    num += w[i] * -(pw * y[i] * logSig(v) + (1 - y[i]) * logSig(-v));
    den += w[i];
  });
  const got = (await host(weightedBce(np.array(z), np.array(y), pw, np.array(w))))[0];
  assert.ok(Math.abs(got - num / den) < 1e-6, `${got} vs ${num / den}`);
  // The weight-0 row may hold anything (it is padding).
  const z2 = [...z.slice(0, 4), -40];
  const y2 = [...y.slice(0, 4), 0];
  const got2 = (await host(weightedBce(np.array(z2), np.array(y2), pw, np.array(w))))[0];
  assert.ok(Math.abs(got2 - got) < 1e-6);
  // All-zero weights: 0, not NaN.
  const none = (await host(weightedBce(np.array(z), np.array(y), pw, np.zeros([5]))))[0];
  assert.equal(none, 0);
  // Gradient on padding rows is exactly 0.
  const g = await host(grad((zz: Array) => weightedBce(zz, np.array(y), pw, np.array(w)))(np.array(z)));
  assert.equal(g[4], 0);
  assert.ok(Math.abs(g[0] - (w[0] / den) * pw * -(1 - 1 / (1 + Math.exp(-z[0])))) < 1e-6);
});
