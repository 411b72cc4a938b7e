import { test } from 'node:test';
import assert from 'node:assert/strict';
import { grad, init, numpy as np, random, tree } from '@jax-js/jax';
import { createRng } from '../eval/rng.ts';
import { countParameters, forward, initParams, lmLoss, maskedLmLoss, parameterShapes, paramsFromFlat, paramsToFlat, type LmConfig, type LmParams } from './model.ts';

await init('wasm');

type NpArray = np.Array;

const C: LmConfig = { vocabSize: 64, dModel: 16, nLayers: 2, nHeads: 2, dFf: 32, maxLen: 16, dropout: 0 };

const ints = (vals: number[], shape: number[]) => np.array(Int32Array.from(vals), { dtype: np.int32 }).reshape(shape);
const leafRefCounts = (p: LmParams) => (tree.leaves(p) as NpArray[]).map((a) => a.refCount);

/** Max |a - b| over the first `count` values (row-major [T, d] data: the positions before count / d). */
function maxDiff(a: ArrayLike<number>, b: ArrayLike<number>, count: number): number {
  let m = 0;
  for (let i = 0; i < count; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

test('parameter shapes and count; flat <-> tree conversion keeps every leaf', () => {
  const shapes = parameterShapes(C);
  assert.deepEqual(shapes.tokEmb, [64, 16]);
  assert.deepEqual(shapes.posEmb, [16, 16]);
  assert.deepEqual(shapes['layers.1.wqkv'], [16, 48]);
  assert.deepEqual(shapes['layers.0.w2'], [32, 16]);
  assert.equal(Object.keys(shapes).length, 4 + 12 * C.nLayers);
  // tied output projection: no separate [d, V] matrix.
  const perLayer = 2 * 16 + 16 * 48 + 48 + 16 * 16 + 16 + 2 * 16 + 16 * 32 + 32 + 32 * 16 + 16;
  assert.equal(countParameters(C), 64 * 16 + 16 * 16 + 2 * perLayer + 2 * 16);
  const p = initParams(C, 3);
  const flat = paramsToFlat(p);
  assert.deepEqual(Object.keys(flat).sort(), Object.keys(shapes).sort());
  for (const [k, a] of Object.entries(flat)) assert.deepEqual(a.shape, shapes[k], k);
  tree.dispose(paramsFromFlat(C, flat));
});

test('initParams: seeded, LayerNorm gains 1, biases 0, weights ~ N(0, 0.02) with scaled residual projections', async () => {
  const a = paramsToFlat(initParams(C, 5));
  const b = paramsToFlat(initParams(C, 5));
  const other = paramsToFlat(initParams(C, 6));
  const std = (x: Float32Array) => Math.sqrt(x.reduce((s, v) => s + v * v, 0) / x.length);
  for (const k of Object.keys(a)) {
    const va = (await a[k].data()) as Float32Array;
    const vb = (await b[k].data()) as Float32Array;
    const vo = (await other[k].data()) as Float32Array;
    assert.deepEqual(va, vb, `${k}: same seed, same values`);
    const leaf = k.split('.').pop()!;
    if (/^ln.*g$/.test(leaf)) assert.ok(va.every((v) => v === 1), k);
    else if (/^(ln.*b|b.*)$/.test(leaf)) assert.ok(va.every((v) => v === 0), k);
    else {
      assert.notDeepEqual(va, vo, `${k}: another seed, other values`);
      const expected = leaf === 'wo' || leaf === 'w2' ? 0.02 / Math.sqrt(2 * C.nLayers) : 0.02;
      assert.ok(Math.abs(std(va) - expected) < 0.25 * expected, `${k}: std ${std(va)} vs ${expected}`);
    }
  }
});

test('forward: shapes of logits and returned layers; consumes exactly the references it is given', async () => {
  const p = initParams(C, 1);
  const B = 3;
  const T = 10;
  const toks = ints(Array.from({ length: B * T }, (_, i) => (i * 7) % 64), [B, T]);
  const r = forward(C, tree.ref(p), toks.ref, { key: null, returnLayers: [0, 1, 2] });
  assert.deepEqual(r.logits!.shape, [B, T, 64]);
  assert.deepEqual(r.hidden.map((h) => h.shape), [[B, T, 16], [B, T, 16], [B, T, 16]]);
  const logits = (await r.logits!.data()) as Float32Array;
  assert.ok(logits.every(Number.isFinite));
  r.hidden.forEach((h) => h.dispose());
  assert.deepEqual(leafRefCounts(p), leafRefCounts(p).map(() => 1), 'params keep their own reference');
  // Without logits: no final LayerNorm / projection, only the requested layers (in request order of depth).
  const r2 = forward(C, tree.ref(p), toks.ref, { key: null, logits: false, returnLayers: [2] });
  assert.equal(r2.logits, null);
  assert.deepEqual(r2.hidden.map((h) => h.shape), [[B, T, 16]]);
  r2.hidden.forEach((h) => h.dispose());
  assert.deepEqual(leafRefCounts(p), leafRefCounts(p).map(() => 1));
  // A sequence of exactly maxLen tokens works.
  const full = forward(C, tree.ref(p), ints(Array(16).fill(5), [1, 16]), { key: null });
  assert.deepEqual(full.logits!.shape, [1, 16, 64]);
  full.logits!.dispose();
  toks.dispose();
  tree.dispose(p);
});

test('causal: changing tokens t+1..T never changes hidden states or logits at positions <= t (bit for bit)', async () => {
  const p = initParams(C, 2);
  const T = 12;
  const rng = createRng(9);
  const base = Array.from({ length: T }, () => Math.floor(rng() * 64));
  const run = async (seq: number[]) => {
    const r = forward(C, tree.ref(p), ints(seq, [1, T]), { key: null, returnLayers: [1, 2] });
    return { logits: (await r.logits!.data()) as Float32Array, hidden: await Promise.all(r.hidden.map((h) => h.data() as Promise<Float32Array>)) };
  };
  const ref = await run(base);
  for (const t of [0, 4, 10]) {
    const changed = base.map((v, i) => (i > t ? (v + 1 + i) % 64 : v));
    const out = await run(changed);
    assert.equal(maxDiff(out.logits, ref.logits, (t + 1) * 64), 0, `logits up to ${t}`);
    out.hidden.forEach((h, l) => assert.equal(maxDiff(h, ref.hidden[l], (t + 1) * 16), 0, `layer ${l + 1} up to ${t}`));
    // ...and the change does reach position t+1 (the comparison above is not vacuous).
    const next = Array.from({ length: 64 }, (_, j) => Math.abs(out.logits[(t + 1) * 64 + j] - ref.logits[(t + 1) * 64 + j]));
    assert.ok(Math.max(...next) > 1e-4, `position ${t + 1} changed`);
  }
  tree.dispose(p);
});

test('right padding never changes the outputs of the real tokens; batching never changes a row', async () => {
  const p = initParams(C, 4);
  const seq = [1, 17, 33, 8, 50, 9, 2];
  const n = seq.length;
  const alone = forward(C, tree.ref(p), ints(seq, [1, n]), { key: null, returnLayers: [2] });
  const aloneLogits = (await alone.logits!.data()) as Float32Array;
  const aloneHidden = (await alone.hidden[0].data()) as Float32Array;
  // Padded to 16 with PAD (0) and, separately, with arbitrary tokens: the first n positions must not care.
  for (const pad of [0, 63]) {
    const padded = forward(C, tree.ref(p), ints([...seq, ...Array(16 - n).fill(pad)], [1, 16]), { key: null, returnLayers: [2] });
    const pl = (await padded.logits!.data()) as Float32Array;
    const ph = (await padded.hidden[0].data()) as Float32Array;
    // Not bit for bit: another sequence length changes the order of some float32 reductions (measured ~5e-8).
    assert.ok(maxDiff(pl, aloneLogits, n * 64) < 1e-5, `logits, pad ${pad}`);
    assert.ok(maxDiff(ph, aloneHidden, n * 16) < 1e-5, `hidden, pad ${pad}`);
  }
  // In a batch with another (different) row of the same length: identical, bit for bit.
  const other = [5, 5, 5, 5, 5, 5, 5];
  const batch = forward(C, tree.ref(p), ints([...other, ...seq], [2, n]), { key: null });
  const bl = (await batch.logits!.data()) as Float32Array;
  assert.equal(maxDiff(bl.subarray(n * 64), aloneLogits, n * 64), 0);
  tree.dispose(p);
});

test('lmLoss at initialisation is close to log(vocab) (near-uniform predictions)', async () => {
  const p = initParams(C, 7);
  const rng = createRng(3);
  const toks = ints(Array.from({ length: 2 * 13 }, () => Math.floor(rng() * 64)), [2, 13]);
  const loss = (await lmLoss(C, p, toks, np.ones([2, 12]), null).data())[0];
  assert.ok(Math.abs(loss - Math.log(64)) < 0.05, `loss ${loss} vs log 64 = ${Math.log(64)}`);
});

test('lmLoss ignores targets whose weight is 0 and is 0 when every weight is 0', async () => {
  const p = initParams(C, 8);
  const w = np.array(Float32Array.from([1, 1, 1, 0, 0, 1, 1, 1, 1, 1, 0, 0])).reshape([2, 6]);
  const a = [3, 4, 5, 6, 7, 8, 9, /**/ 10, 11, 12, 13, 14, 15, 16];
  // Row 1, positions 4 and 5 have weight 0. Its tokens 5 and 6 are the targets of those positions, and token 5 is
  // also the input of position 5 -- which, by causality, reaches no earlier (weighted) position. So changing them
  // may not move the loss at all.
  const b = [...a];
  b[7 + 5] = 60;
  b[7 + 6] = 61;
  const la = (await lmLoss(C, tree.ref(p), ints(a, [2, 7]), w.ref, null).data())[0];
  const lb = (await lmLoss(C, tree.ref(p), ints(b, [2, 7]), w.ref, null).data())[0];
  assert.equal(la, lb);
  // Changing a weighted target does change the loss.
  const c = [...a];
  c[2] = 40;
  const lc = (await lmLoss(C, tree.ref(p), ints(c, [2, 7]), w, null).data())[0];
  assert.notEqual(lc, la);
  const zero = (await lmLoss(C, p, ints(a, [2, 7]), np.zeros([2, 6]), null).data())[0];
  assert.equal(zero, 0);
});

test('dropout: deterministic for a key, different across keys, off without a key or at rate 0', async () => {
  const cd = { ...C, dropout: 0.3 };
  const p = initParams(cd, 1);
  const toks = ints([1, 2, 3, 4, 5, 6, 7, 8], [1, 8]);
  const run = async (cfg: LmConfig, key: NpArray | null) => (await forward(cfg, tree.ref(p), toks.ref, { key }).logits!.data()) as Float32Array;
  const k1a = await run(cd, random.key(11));
  const k1b = await run(cd, random.key(11));
  const k2 = await run(cd, random.key(12));
  const none = await run(cd, null);
  const rate0 = await run(C, random.key(11));
  assert.deepEqual(k1a, k1b);
  assert.ok(maxDiff(k1a, k2, k1a.length) > 1e-3);
  assert.ok(maxDiff(k1a, none, k1a.length) > 1e-3);
  assert.deepEqual(rate0, none);
  toks.dispose();
  tree.dispose(p);
});

/**
 * Finite-difference gradient check of lmLoss. Parameters are drawn larger than at init (std 0.3) so attention,
 * LayerNorm and GELU are in their non-linear range and every gradient entry is well away from 0.
 */
async function gradientCheck(eps: number, tol: (g: number) => number): Promise<void> {
  const c: LmConfig = { vocabSize: 11, dModel: 8, nLayers: 2, nHeads: 2, dFf: 16, maxLen: 10, dropout: 0 };
  const shapes = parameterShapes(c);
  const rng = createRng(17);
  const normal = () => Math.sqrt(-2 * Math.log(1 - rng())) * Math.cos(2 * Math.PI * rng());
  const host: Record<string, Float32Array> = {};
  for (const [k, s] of Object.entries(shapes)) {
    const n = s.reduce((a, b) => a * b, 1);
    host[k] = Float32Array.from({ length: n }, () => (/ln.g$/.test(k) ? 1 : 0) + 0.3 * normal());
  }
  const build = () => paramsFromFlat(c, Object.fromEntries(Object.entries(host).map(([k, v]) => [k, np.array(Float32Array.from(v)).reshape(shapes[k])])));
  // T = 8 < maxLen = 10: the last two positional embeddings are unused, their gradient must be exactly 0.
  const toks = ints([1, 4, 7, 2, 9, 3, 0, 0, 5, 5, 6, 10, 8, 1, 2, 3, 4, 0], [2, 9]);
  const w = np.array(Float32Array.from([1, 1, 1, 1, 1, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1])).reshape([2, 8]);
  const loss = async () => (await lmLoss(c, build(), toks.ref, w.ref, null).data())[0];
  const g = paramsToFlat(grad((pp: LmParams) => lmLoss(c, pp, toks.ref, w.ref, null))(build()));
  const gHost: Record<string, Float64Array> = {};
  for (const [k, a] of Object.entries(g)) gHost[k] = Float64Array.from((await a.data()) as Float32Array);
  // One entry of every parameter kind, plus entries of the tied embedding (input and output use) and positions.
  const probes: [string, number][] = [
    ['tokEmb', 4 * 8 + 3],
    ['tokEmb', 10 * 8 + 0],
    ['posEmb', 2 * 8 + 5],
    ['posEmb', 7 * 8 + 1],
    ['posEmb', 9 * 8 + 2], // unused position
    ...['ln1g', 'ln1b', 'wqkv', 'bqkv', 'wo', 'bo', 'ln2g', 'ln2b', 'w1', 'b1', 'w2', 'b2'].map((k, i): [string, number] => [`layers.${i % 2}.${k}`, (5 * i + 3) % 8]),
    ['lnFg', 6],
    ['lnFb', 1],
  ];
  for (const [k, i] of probes) {
    const orig = host[k][i];
    host[k][i] = orig + eps;
    const xUp = host[k][i]; // as rounded to float32: the step actually taken
    const up = await loss();
    host[k][i] = orig - eps;
    const xDown = host[k][i];
    const down = await loss();
    host[k][i] = orig;
    const fd = (up - down) / (xUp - xDown);
    const an = gHost[k][i];
    const row = `${k}[${i}] analytic ${an.toExponential(4)} numeric ${fd.toExponential(4)}`;
    if (k === 'posEmb' && i >= 8 * 8) {
      assert.equal(an, 0, `${row}: unused position`);
      assert.equal(fd, 0, row);
    } else assert.ok(Math.abs(an - fd) <= tol(an), row);
  }
  toks.dispose();
  w.dispose();
}

test('gradient of lmLoss matches central finite differences (float32, as trained)', async () => {
  // eps trades loss rounding (~3e-7 / 2 eps) against curvature (~eps^2); measured |analytic - numeric| <= 8e-5
  // at eps 3e-3, so the tolerance has a ~3x margin while a wrong factor or sign (errors ~|g|) cannot pass.
  // (float64 would be no tighter: measured, jax-js 0.1.25 on wasm computes exp/tanh/log of float64 arrays only to
  // ~1e-7, float32 accuracy.)
  await gradientCheck(3e-3, (g) => 3e-4 + 1e-2 * Math.abs(g));
});

test('masked objective: attention goes both ways; maskedLmLoss starts near log V, is seeded, and only counts masked real positions', async () => {
  const M: LmConfig = { ...C, objective: 'masked' };
  const p = initParams(M, 3);
  const base = Array.from({ length: 12 }, (_, i) => (i * 7 + 3) % 60 + 2);
  const later = base.map((t, i) => (i >= 8 ? (t + 5) % 60 + 2 : t));
  const hidden = async (toks: number[]) => (await forward(M, tree.ref(p), ints(toks, [1, 12]), { key: null, logits: false, returnLayers: [2] }).hidden[0].data()) as Float32Array;
  // Changing tokens 8.. changes the states at positions before 8 (a causal model would not).
  assert.ok(maxDiff(await hidden(base), await hidden(later), 8 * C.dModel) > 1e-4);
  const w = np.ones([2, 12]);
  const toks = ints([...base, ...later], [2, 12]);
  const loss = async (key: number, weights: np.Array) => (await maskedLmLoss(M, tree.ref(p), toks.ref, weights, random.key(key), null).data())[0];
  const a = await loss(1, w.ref);
  assert.ok(Math.abs(a - Math.log(C.vocabSize)) < 0.3, `initial masked loss ${a} vs log V ${Math.log(C.vocabSize)}`);
  assert.equal(await loss(1, w.ref), a, 'same mask key, same loss');
  assert.notEqual(await loss(2, w.ref), a, 'another mask key, other positions');
  assert.equal(await loss(1, np.zeros([2, 12])), 0, 'no real positions: nothing to predict');
  w.dispose();
  toks.dispose();
  tree.dispose(p);
});
