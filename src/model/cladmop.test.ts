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
import { TINY_CLADMOP } from './testing/tiny-config.ts';

await init('wasm');

type NpArray = np.Array;

// Tiny model: every test here shares these shapes (B = 4 rows, 16 criteria tokens), so the wasm heap reuses buffers.
// Two of the three levels (fewer blocks to compile): level index != position, and level 1 is left unused.
const C: CladmopConfig = TINY_CLADMOP;
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

/** Four different trials: 10, 5, 12 and 4 criteria tokens (the last without exclusion criteria); trial 1 has no molecule. */
function trials(seed = 11): TrialInput[] {
  const rng = createRng(seed);
  return [
    { criteria: criteria(rng, 6, 4), dm: dm(rng, 2, 2, 1) },
    { criteria: criteria(rng, 3, 2), dm: dm(rng, 0, 1, 2) },
    { criteria: criteria(rng, 9, 3), dm: dm(rng, 1, 3, 1) },
    { criteria: criteria(rng, 4, 0), dm: dm(rng, 3, 1, 0) },
  ];
}

const host = async (a: NpArray) => Float32Array.from((await a.data()) as Float32Array);
const maxAbsDiff = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  assert.equal(a.length, b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
};
/** A tree shaped like `t` (not consumed) with the given host tensors as leaves. */
const fromTensors = <T>(t: T, tensors: Record<string, Tensor>): T =>
  treeFromTensors(tree.map((a: NpArray) => np.zerosLike(a), tree.ref(t as never)) as T, tensors);
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
const batchOf = (rows: TrialInput[] = items, maxCriteria = L) => packBatch(rows, { size: B, maxCriteria }).batch;
const critOf = (maxCriteria = L) => packCriteria(items.map((i) => i.criteria), { size: B, maxCriteria }).batch;
const dmOf = (rows: TrialInput[] = items) => packDm(rows.map((i) => i.dm));

// Compiled once per process (eager execution compiles every kernel separately and is ~10x slower).
const classify = jit((p: CladmopParams, l: CladmopLora, b: CladmopBatch) => classifyLogits(C, p, l, b));
const group = jit((g: LevelGroupingParams[], b: CriteriaBatch) => groupCriteria(C, g, b.crit, b.critMask, b.critSegment));
const pairs = jit((p: CladmopParams, b: CladmopBatch) => pairLogits(C, p, b));
const own = jit((p: CladmopParams, b: CladmopBatch) => ownPairScores(C, p, b));
const zeroLora = () => tree.map((a: NpArray) => np.zerosLike(a), initLoraParams(C, 5) as never) as CladmopLora;

test('fresh LoRA (B = 0) gives exactly the base model (no LoRA, or A = B = 0); a nonzero B changes the logits', async () => {
  const base = await host(classify(tree.ref(params), zeroLora(), batchOf()));
  // `lora: null` cannot pass through a jit boundary (jax-js trees hold no null) but can be closed over.
  const noLora = jit((p: CladmopParams, b: CladmopBatch) => classifyLogits(C, p, null, b));
  assert.deepEqual(await host(noLora(tree.ref(params), batchOf())), base, 'A = B = 0 is the base model');
  noLora.dispose();
  const freshLogits = await host(classify(tree.ref(params), initLoraParams(C, 5), batchOf()));
  assert.deepEqual(freshLogits, base, 'A random, B = 0: x A B = 0 exactly, so W + 0 = W bit for bit');
  // A nonzero B in a single adapter (the first DM block's query) moves the logits.
  const fresh = initLoraParams(C, 5);
  fresh.dmBlocks[0].q.b = fresh.dmBlocks[0].q.b.add(0.3);
  const moved = await host(classify(tree.ref(params), fresh, batchOf()));
  assert.ok(maxAbsDiff(moved, base) > 1e-3, `nonzero LoRA B must change logits (max diff ${maxAbsDiff(moved, base)})`);
  // ... and so does one in the fusion cross-attention's value projection (LoRA reaches the fusion blocks too).
  const fresh2 = initLoraParams(C, 5);
  fresh2.fusionCross[1].v.b = fresh2.fusionCross[1].v.b.add(0.3);
  const moved2 = await host(classify(tree.ref(params), fresh2, batchOf()));
  assert.ok(maxAbsDiff(moved2, base) > 1e-3, `fusion LoRA B must change logits (max diff ${maxAbsDiff(moved2, base)})`);
  assert.ok(base.every(Number.isFinite));
});

test('finite differences: grouping (centroids, cross-attention weights) and LoRA (A, B) gradients', async (t) => {
  // Central differences with the model in float32 and the loss reduced on the host in float64, so the only
  // noise is float32 rounding of the outputs (~1e-7 relative): with step 1e-3 it is ~1e-4 of the measured
  // derivatives, and the truncation error (step^2 times the third derivative / 6) is of the same order.
  // Measured relative errors are printed as diagnostics; the tolerance 2e-2 leaves a wide margin and still
  // catches a wrong or missing gradient path (off by O(1)).
  const EPS = 1e-3;
  const RTOL = 2e-2;
  const check = (name: string, analytic: number, fd: number) => {
    const err = Math.abs(analytic - fd) / Math.max(Math.abs(analytic), Math.abs(fd));
    t.diagnostic(`${name}: analytic ${analytic.toExponential(4)} fd ${fd.toExponential(4)} rel err ${err.toExponential(2)}`);
    assert.ok(Math.abs(analytic) > 1e-4, `${name}: gradient should not vanish (${analytic})`);
    assert.ok(err < RTOL, `${name}: analytic ${analytic} vs finite difference ${fd} (rel err ${err})`);
  };
  const sum64 = async (xs: NpArray[]) => {
    let total = 0;
    for (const x of xs) for (const v of await host(x)) total += v;
    return total;
  };

  // (a) grouping: loss = sum of all grouped outputs.
  const groupGrad = jit(
    grad((g: LevelGroupingParams[], b: CriteriaBatch) =>
      groupCriteria(C, g, b.crit, b.critMask, b.critSegment)
        .map((x) => x.sum())
        .reduce((a, x) => a.add(x)),
    ),
  );
  const grouping = params.grouping;
  const gGrad = await treeToTensors(groupGrad(tree.ref(grouping), critOf()));
  groupGrad.dispose();
  const gTensors = await treeToTensors(grouping);
  for (const name of ['0.layers.0.centroids', '1.layers.2.centroids', '0.layers.1.cross.att.k.w', '1.layers.0.cross.att.q.w', '1.proj.w']) {
    const i = topEntries(gGrad[name], 1)[0];
    const [plus, hp] = shifted(gTensors, name, i, EPS);
    const [minus, hm] = shifted(gTensors, name, i, -EPS);
    const fp = await sum64(group(fromTensors(grouping, plus), critOf()));
    const fm = await sum64(group(fromTensors(grouping, minus), critOf()));
    check(`grouping ${name}[${i}]`, (gGrad[name].data as Float32Array)[i], (fp - fm) / (hp - hm));
  }

  // (b) LoRA: weighted BCE of the classifier wrt LoRA A and B, with B nonzero (else dL/dA = 0).
  const labels = [1, 0, 1, 0];
  const weights = [1, 1, 1, 0.5];
  const posWeight = 2.5;
  const loraGrad = jit(
    grad((l: CladmopLora, p: CladmopParams, b: CladmopBatch) =>
      weightedBce(classifyLogits(C, p, l, b), np.array(labels), posWeight, np.array(weights)),
    ),
  );
  const bce64 = (z: Float32Array) => {
    const logSig = (v: number) => -Math.log1p(Math.exp(-v));
    let num = 0;
    z.forEach((v, i) => (num += weights[i] * -(posWeight * labels[i] * logSig(v) + (1 - labels[i]) * logSig(-v))));
    return num / weights.reduce((a, w) => a + w, 0);
  };
  const lora0 = initLoraParams(C, 9);
  const loraTensors = await treeToTensors(lora0);
  const rng = createRng(4);
  for (const [name, ten] of Object.entries(loraTensors)) {
    if (name.endsWith('.b')) (ten.data as Float32Array).forEach((_, i, a) => (a[i] = 0.2 * (2 * rng() - 1)));
  }
  const lora = fromTensors(lora0, loraTensors);
  tree.dispose(lora0);
  const lGrad = await treeToTensors(loraGrad(tree.ref(lora), tree.ref(params), batchOf()));
  loraGrad.dispose();
  for (const name of ['dmBlocks.0.q.a', 'dmBlocks.0.v.b', 'fusionCross.1.k.a', 'fusionCross.0.o.b', 'fusionSelf.1.v.a']) {
    const i = topEntries(lGrad[name], 1)[0];
    const [plus, hp] = shifted(loraTensors, name, i, EPS);
    const [minus, hm] = shifted(loraTensors, name, i, -EPS);
    const fp = bce64(await host(classify(tree.ref(params), fromTensors(lora, plus), batchOf())));
    const fm = bce64(await host(classify(tree.ref(params), fromTensors(lora, minus), batchOf())));
    check(`LoRA ${name}[${i}]`, (lGrad[name].data as Float32Array)[i], (fp - fm) / (hp - hm));
  }
  tree.dispose(lora);
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

test('padding never changes outputs: criteria padding (16 vs 32 tokens), padding rows, masked DM slots', async (t) => {
  // (a) More criteria padding: masked keys get exactly zero attention weight, so the grouped criteria and the
  // logits are the same with 16 or 32 slots (trial 2 has 12 tokens, trial 3 has 4: 4 vs 20 and 12 vs 28
  // padding tokens). Only summation order may differ: 1e-5 is ~100 float32 ulps of these O(1) values.
  const g16 = group(tree.ref(params.grouping), critOf(L));
  const g32 = group(tree.ref(params.grouping), critOf(2 * L));
  for (let l = 0; l < g16.length; l++) {
    const d = maxAbsDiff(await host(g16[l]), await host(g32[l]));
    t.diagnostic(`grouped level ${l}, 16 vs 32 slots: max diff ${d}`);
    assert.ok(d < 1e-5, `grouped level ${l}: max diff ${d}`);
  }
  const z16 = await host(classify(tree.ref(params), zeroLora(), batchOf()));
  const z32 = await host(classify(tree.ref(params), zeroLora(), batchOf(items, 2 * L)));
  t.diagnostic(`logits, 16 vs 32 slots: max diff ${maxAbsDiff(z16, z32)}`);
  assert.ok(maxAbsDiff(z16, z32) < 1e-5, `logits: max diff ${maxAbsDiff(z16, z32)}`);
  assert.ok(z16.every(Number.isFinite));

  // (b) Padding rows (copies of item 0, weight 0) leave the real rows alone.
  const two = packBatch(items.slice(0, 2), { size: B, maxCriteria: L });
  assert.deepEqual([...two.rowWeights], [1, 1, 0, 0]);
  const zTwo = await host(classify(tree.ref(params), zeroLora(), two.batch));
  assert.ok(maxAbsDiff(zTwo.slice(0, 2), z16.slice(0, 2)) < 1e-6);
  assert.ok(maxAbsDiff(zTwo.slice(2), [z16[0], z16[0]]) < 1e-6, 'padding rows copy item 0');

  // (c) Masked DM slots: garbage in every masked molecule / drug / disease slot changes the tokens there but
  // not the outputs (keys masked in self-attention, masked mean pooling).
  const dirtyDm = async (): Promise<DmBatch> => {
    const d = dmOf();
    const bits = async (m: NpArray) => (await m.ref.astype(np.int32).data()) as Int32Array;
    const molMask = await bits(d.molMask);
    const nameMask = await bits(d.nameMask);
    const icdMask = await bits(d.icdMask);
    // Writes garbage(flat index) into the rows of masked slots.
    const fill = async (values: NpArray, mask: Int32Array, garbage: (i: number) => number) => {
      const shape = values.shape;
      const v: Float32Array<ArrayBuffer> = Float32Array.from((await values.astype(np.float32).data()) as Float32Array);
      const per = v.length / mask.length;
      for (let s = 0; s < mask.length; s++) if (!mask[s]) for (let k = 0; k < per; k++) v[s * per + k] = garbage(s * per + k);
      return { v, shape };
    };
    const f32 = ({ v, shape }: { v: Float32Array<ArrayBuffer>; shape: number[] }) => np.array(v).reshape(shape);
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
  const check = dmOf();
  assert.deepEqual([...(await host(check.molUnknown.ref))], [0, 1, 0, 0], 'trial 1 has no molecule');
  tree.dispose(check);
  const tokClean = dmTokens(C, dmParams(), dmOf());
  const tokDirty = dmTokens(C, dmParams(), await dirtyDm());
  assert.ok(maxAbsDiff(await host(tokClean.tokens), await host(tokDirty.tokens)) > 0.1, 'garbage reached the masked token slots');
  assert.deepEqual(await host(tokClean.mask.astype(np.float32)), await host(tokDirty.mask.astype(np.float32)));
  const zDirty = await host(classify(tree.ref(params), zeroLora(), { ...critOf(), ...(await dirtyDm()) }));
  t.diagnostic(`logits, garbage in masked DM slots: max diff ${maxAbsDiff(z16, zDirty)}`);
  assert.ok(maxAbsDiff(z16, zDirty) < 1e-5, `masked DM slots changed logits by ${maxAbsDiff(z16, zDirty)}`);
  const sClean = await host(own(tree.ref(params), batchOf()));
  const sDirty = await host(own(tree.ref(params), { ...critOf(), ...(await dirtyDm()) }));
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

test('pairLogits: [B, B], row = criteria, column = drugs/diseases; diagonal = ownPairScores', async (t) => {
  const S = pairs(tree.ref(params), batchOf());
  assert.deepEqual(S.shape, [B, B]);
  const s = await host(S);
  const ownScores = await host(own(tree.ref(params), batchOf()));
  const diag = Array.from({ length: B }, (_, i) => s[i * B + i]);
  t.diagnostic(`diagonal vs ownPairScores: max diff ${maxAbsDiff(diag, ownScores)}`);
  assert.ok(maxAbsDiff(diag, ownScores) < 1e-5, `diagonal vs ownPairScores: ${maxAbsDiff(diag, ownScores)}`);
  // Off-diagonal (i, j) = own score of a trial made of criteria i and DM j.
  const mix = [[0, 1], [2, 3], [3, 0], [1, 2]];
  const crit = packCriteria(mix.map(([i]) => items[i].criteria), { size: B, maxCriteria: L }).batch;
  const mixed = await host(own(tree.ref(params), { ...crit, ...dmOf(mix.map(([, j]) => items[j])) }));
  const expected = mix.map(([i, j]) => s[i * B + j]);
  assert.ok(maxAbsDiff(mixed, expected) < 1e-5, `S[i, j] vs own score of (crit i, DM j): ${maxAbsDiff(mixed, expected)}`);
  // Cosine similarities times exp(logit scale).
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
  const g = await host(grad((zz: NpArray) => weightedBce(zz, np.array(y), pw, np.array(w)))(np.array(z)));
  assert.equal(g[4], 0);
  assert.ok(Math.abs(g[0] - (w[0] / den) * pw * -(1 - 1 / (1 + Math.exp(-z[0])))) < 1e-6);
});
