import { test } from 'node:test';
import assert from 'node:assert/strict';
import { init, numpy as np } from '@jax-js/jax';
import { MAX_ANCESTORS, MAX_DISEASES, MAX_DRUGS, MAX_MOLECULES, MAX_NGRAMS, MOLECULE_INPUT, type DmFeatures } from './dm-features.ts';
import type { EncodedCriteria } from './criteria-encoder.ts';
import { keptTokens, packBatch, packCriteria, packDm, packGrouped, type TrialInput } from './trial-batch.ts';

await init('wasm');

type NpArray = np.Array;

const seg = (nInc: number, nExc: number) => Uint8Array.from({ length: nInc + nExc }, (_, t) => (t < nInc ? 0 : 1));
const range = (a: number, b: number) => Array.from({ length: b - a }, (_, i) => a + i);

test('keptTokens: short criteria are kept whole', () => {
  assert.deepEqual(keptTokens(seg(3, 2), 8), [0, 1, 2, 3, 4]);
  assert.deepEqual(keptTokens(seg(4, 4), 8), range(0, 8));
  assert.deepEqual(keptTokens(seg(0, 0), 8), []);
});

test('keptTokens: long inclusion only keeps its first `budget` tokens', () => {
  assert.deepEqual(keptTokens(seg(20, 0), 8), range(0, 8));
  assert.deepEqual(keptTokens(seg(0, 20), 8), range(0, 8), 'long exclusion only, likewise');
});

test('keptTokens: both long -> both sections kept, budget shared equally', () => {
  assert.deepEqual(keptTokens(seg(20, 30), 8), [...range(0, 4), ...range(20, 24)]);
  // Odd budget: inclusion gets floor(budget / 2), exclusion the rest.
  assert.deepEqual(keptTokens(seg(20, 30), 9), [...range(0, 4), ...range(20, 25)]);
});

test('keptTokens: a short section leaves its unused share to the other', () => {
  // Short exclusion (2 tokens): inclusion gets 8 - 2 = 6.
  assert.deepEqual(keptTokens(seg(20, 2), 8), [...range(0, 6), 20, 21]);
  // Short inclusion (1 token): exclusion gets 7.
  assert.deepEqual(keptTokens(seg(1, 20), 8), [0, ...range(1, 8)]);
  // Exactly half each.
  assert.deepEqual(keptTokens(seg(4, 20), 8), [...range(0, 4), ...range(4, 8)]);
});

test('keptTokens: interleaved segments keep each section in order, never more than the budget', () => {
  const s = Uint8Array.from([0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1]);
  const kept = keptTokens(s, 6);
  assert.deepEqual(kept, [0, 2, 4, 1, 3, 5]);
  for (let budget = 1; budget <= 14; budget++) {
    for (const [i, e] of [[0, 9], [9, 0], [3, 9], [9, 3], [7, 7], [1, 1], [5, 6]]) {
      const k = keptTokens(seg(i, e), budget);
      const half = Math.floor(budget / 2);
      assert.equal(k.length, Math.min(budget, i + e), `${i}+${e} in ${budget}`);
      const inc = k.filter((t) => t < i);
      const exc = k.filter((t) => t >= i);
      // Each section keeps a prefix of itself, at least its share of the budget (or all of it).
      assert.deepEqual(inc, range(0, inc.length));
      assert.deepEqual(exc, range(i, i + exc.length));
      assert.ok(inc.length >= Math.min(i, half), `${i}+${e} in ${budget}: inclusion ${inc.length}`);
      assert.ok(exc.length >= Math.min(e, budget - half), `${i}+${e} in ${budget}: exclusion ${exc.length}`);
    }
  }
});

const D = 3;
/** Criteria whose token t at level l holds the vector [100 l + t, 100 l + t + 0.25, 100 l + t + 0.5]. */
function criteria(nInc: number, nExc: number): EncodedCriteria {
  const T = nInc + nExc;
  return {
    levels: [0, 1, 2].map((l) => Float32Array.from({ length: T * D }, (_, i) => 100 * l + Math.floor(i / D) + (i % D) / 4)),
    tokens: range(1, T + 1),
    segments: seg(nInc, nExc),
    dim: D,
  };
}

function dm(nMol: number, drugs: number[][], diseases: number[][]): DmFeatures {
  return {
    molecules: Float32Array.from({ length: nMol * MOLECULE_INPUT }, (_, i) => 1 + Math.floor(i / MOLECULE_INPUT)),
    nMolecules: nMol,
    drugNgrams: drugs,
    diseaseAncestors: diseases,
    report: { invalidSmiles: [], placeboDropped: 0, unknownIcdCodes: [], truncated: [] },
  };
}

const host = async (a: NpArray) => [...((await a.data()) as Float32Array)];
const bools = async (a: NpArray) => [...((await a.astype(np.int32).data()) as Int32Array)];

test('packBatch: shapes, criteria values and masks, padding rows', async () => {
  const items: TrialInput[] = [
    { criteria: criteria(3, 2), dm: dm(2, [[5, 6, 7, 8], [9]], [[1, 2]]) },
    { criteria: criteria(10, 4), dm: dm(0, [], [[3], [4, 5, 6, 7]]) },
  ];
  const L = 8;
  const { batch, rowWeights, length } = packBatch(items, { size: 3, maxCriteria: L });
  assert.equal(length, L);
  assert.deepEqual([...rowWeights], [1, 1, 0]);
  assert.equal(batch.crit.length, 3);
  for (const c of batch.crit) assert.deepEqual(c.shape, [3, L, D]);
  assert.deepEqual(batch.critMask.shape, [3, L]);
  assert.deepEqual(batch.critSegment.shape, [3, L]);
  assert.deepEqual(batch.molFeatures.shape, [3, MAX_MOLECULES, MOLECULE_INPUT]);
  assert.deepEqual(batch.molMask.shape, [3, MAX_MOLECULES]);
  assert.deepEqual(batch.molUnknown.shape, [3]);
  assert.deepEqual(batch.nameIds.shape, [3, MAX_DRUGS, MAX_NGRAMS]);
  assert.deepEqual(batch.nameWeights.shape, [3, MAX_DRUGS, MAX_NGRAMS]);
  assert.deepEqual(batch.nameMask.shape, [3, MAX_DRUGS]);
  assert.deepEqual(batch.icdIds.shape, [3, MAX_DISEASES, MAX_ANCESTORS]);
  assert.deepEqual(batch.icdWeights.shape, [3, MAX_DISEASES, MAX_ANCESTORS]);
  assert.deepEqual(batch.icdMask.shape, [3, MAX_DISEASES]);
  assert.equal(batch.critMask.dtype, np.bool);
  assert.equal(batch.critSegment.dtype, np.int32);
  assert.equal(batch.nameIds.dtype, np.int32);

  const mask = await bools(batch.critMask);
  assert.deepEqual(mask, [1, 1, 1, 1, 1, 0, 0, 0, ...Array(8).fill(1), 1, 1, 1, 1, 1, 0, 0, 0]);
  // Row 1 is cut from 10 + 4 tokens to 4 + 4: inclusion tokens 0..3, exclusion 10..13.
  assert.deepEqual(await bools(batch.critSegment), [0, 0, 0, 1, 1, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 0, 0, 0, 1, 1, 0, 0, 0]);
  const levels = await Promise.all(batch.crit.map(host));
  const tokenAt = (l: number, b: number, j: number) => levels[l][(b * L + j) * D];
  assert.deepEqual(range(0, 8).map((j) => tokenAt(2, 1, j)), [200, 201, 202, 203, 210, 211, 212, 213]);
  assert.deepEqual(levels[1].slice((L + 4) * D, (L + 5) * D), [110, 110.25, 110.5]);
  // Padding positions are zero; the padding row is a copy of row 0.
  assert.deepEqual(range(5, 8).map((j) => tokenAt(0, 0, j)), [0, 0, 0]);
  for (const lv of levels) assert.deepEqual(lv.slice(2 * L * D), lv.slice(0, L * D));

  // DM: row 0 has 2 molecules, row 1 none (the unknown-molecule token takes slot 0).
  assert.deepEqual(await host(batch.molUnknown), [0, 1, 0]);
  const molMask = await bools(batch.molMask);
  assert.deepEqual(molMask.slice(0, 8), [1, 1, 0, 0, 0, 0, 0, 0]);
  assert.deepEqual(molMask.slice(8, 16), [1, 0, 0, 0, 0, 0, 0, 0]);
  const mol = await host(batch.molFeatures);
  const molAt = (b: number, m: number) => mol[(b * MAX_MOLECULES + m) * MOLECULE_INPUT + 7];
  assert.deepEqual([molAt(0, 0), molAt(0, 1), molAt(0, 2), molAt(1, 0), molAt(2, 1)], [1, 2, 0, 0, 2]);
  assert.deepEqual((await bools(batch.nameMask)).slice(0, 16), [1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
  const ids = [...((await batch.nameIds.data()) as Int32Array)];
  const w = await host(batch.nameWeights);
  assert.deepEqual(ids.slice(0, 5), [5, 6, 7, 8, 0]);
  assert.deepEqual(w.slice(0, 5), [0.5, 0.5, 0.5, 0.5, 0], 'weights 1 / sqrt(4)');
  assert.deepEqual([ids[MAX_NGRAMS], w[MAX_NGRAMS], w[MAX_NGRAMS + 1]], [9, 1, 0]);
  assert.deepEqual((await bools(batch.icdMask)).slice(0, 16), [1, 0, 0, 0, 0, 0, 0, 0, 1, 1, 0, 0, 0, 0, 0, 0]);
  const icdIds = [...((await batch.icdIds.data()) as Int32Array)];
  const icdW = await host(batch.icdWeights);
  const row1dis1 = (1 * MAX_DISEASES + 1) * MAX_ANCESTORS;
  assert.deepEqual(icdIds.slice(row1dis1, row1dis1 + 5), [4, 5, 6, 7, 0]);
  assert.deepEqual(icdW.slice(row1dis1, row1dis1 + 5), [0.5, 0.5, 0.5, 0.5, 0]);
});

test('packCriteria: an empty criteria text keeps one (zero) token so attention has a key', async () => {
  const { batch, rowWeights } = packCriteria([criteria(0, 0), criteria(2, 0)], { size: 2, maxCriteria: 4 });
  assert.deepEqual([...rowWeights], [1, 1]);
  assert.deepEqual(await bools(batch.critMask), [1, 0, 0, 0, 1, 1, 0, 0]);
  assert.deepEqual((await host(batch.crit[0])).slice(0, 4 * D), Array(4 * D).fill(0));
  batch.crit.slice(1).forEach((a) => a.dispose());
  batch.critSegment.dispose();
  assert.throws(() => packCriteria([], { size: 2, maxCriteria: 4 }), /no items/);
});

test('packDm: molUnknown only when no molecule; every row has a real DM token', async () => {
  const b = packDm([dm(0, [], []), dm(1, [], []), dm(0, [[3]], [])]);
  assert.deepEqual(await host(b.molUnknown), [1, 0, 1]);
  const molMask = await bools(b.molMask);
  for (let r = 0; r < 3; r++) assert.equal(molMask[r * MAX_MOLECULES], 1, `row ${r} slot 0`);
  assert.equal(molMask.reduce((a, v) => a + v, 0), 3);
  // Unknown rows carry no molecule features.
  const mol = await host(b.molFeatures);
  assert.ok(mol.slice(0, MOLECULE_INPUT).every((v) => v === 0));
  assert.ok(mol.slice(MAX_MOLECULES * MOLECULE_INPUT, (MAX_MOLECULES + 1) * MOLECULE_INPUT).every((v) => v === 1));
  for (const a of [b.nameIds, b.nameWeights, b.nameMask, b.icdIds, b.icdWeights, b.icdMask]) a.dispose();
});

test('packDm: more than MAX_* entries are cut, never spilled into the next row', async () => {
  const many = dm(MAX_MOLECULES + 2, Array.from({ length: MAX_DRUGS + 3 }, (_, i) => [i + 1]), Array.from({ length: MAX_DISEASES + 1 }, (_, i) => [i + 1]));
  const b = packDm([many, dm(1, [[2]], [[3]])]);
  const molMask = await bools(b.molMask);
  assert.deepEqual(molMask.slice(MAX_MOLECULES), [1, 0, 0, 0, 0, 0, 0, 0]);
  const mol = await host(b.molFeatures);
  assert.equal(mol[MAX_MOLECULES * MOLECULE_INPUT], 1, 'row 1, molecule 0 is its own');
  assert.equal(mol[(MAX_MOLECULES + 1) * MOLECULE_INPUT], 0);
  assert.deepEqual((await bools(b.nameMask)).slice(0, MAX_DRUGS), Array(MAX_DRUGS).fill(1));
  // An over-long n-gram list is cut to MAX_NGRAMS and its weights normalised over what is kept.
  const long = packDm([dm(1, [range(1, MAX_NGRAMS + 32)], [])]);
  const w = await host(long.nameWeights);
  assert.ok(Math.abs(w.slice(0, MAX_NGRAMS).reduce((a, v) => a + v * v, 0) - 1) < 1e-6, 'sum of squared weights is 1');
  for (const a of [long.molFeatures, long.molMask, long.molUnknown, long.nameIds, long.nameMask, long.icdIds, long.icdWeights, long.icdMask]) a.dispose();
  assert.deepEqual((await bools(b.icdMask)).slice(0, MAX_DISEASES), Array(MAX_DISEASES).fill(1));
  for (const a of [b.molUnknown, b.nameIds, b.nameWeights, b.icdIds, b.icdWeights]) a.dispose();
});

test('packGrouped stacks per-trial grouped criteria', async () => {
  const rows = [
    [Float32Array.of(1, 2, 3, 4), Float32Array.of(5, 6)],
    [Float32Array.of(7, 8, 9, 10), Float32Array.of(11, 12)],
  ];
  const [a, b] = packGrouped(rows, [[2, 2], [1, 2]]);
  assert.deepEqual(a.shape, [2, 2, 2]);
  assert.deepEqual(b.shape, [2, 1, 2]);
  assert.deepEqual(await host(a), [1, 2, 3, 4, 7, 8, 9, 10]);
  assert.deepEqual(await host(b), [5, 6, 11, 12]);
});
