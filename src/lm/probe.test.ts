import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadSplit, resolveDataDir } from '../data/splits.ts';
import { FakeEncoder } from '../predict/testing/fixtures.ts';
import { linearProbe, pooledFeatures } from './probe.ts';

const dataDir = resolveDataDir();

test('pooledFeatures: mean of the fine level over inclusion tokens, then over exclusion tokens (zeros if absent)', () => {
  const e = { dim: 2, tokens: [1, 2, 3], segments: Uint8Array.from([0, 0, 1]), levels: [new Float32Array(6), new Float32Array(6), Float32Array.from([1, 2, 3, 4, 5, 6])] };
  assert.deepEqual([...pooledFeatures(e)], [2, 3, 5, 6]);
  const incOnly = { ...e, segments: Uint8Array.from([0, 0, 0]) };
  assert.deepEqual([...pooledFeatures(incOnly)], [3, 4, 0, 0]);
});

test('linearProbe with test: false never reads the test split; with test it scores probe and TF-IDF on the same rows', async () => {
  const encoder = new FakeEncoder();
  const train = loadSplit('I', 'train', dataDir).rows;
  const valid = loadSplit('I', 'valid', dataDir).rows;
  const nTr = train.length;
  const nVa = valid.length;
  const distinctTexts = new Set([...train, ...valid].map((r) => r.trial.criteria)).size;
  const selection = await linearProbe(encoder, null, 'I', { dataDir, test: false });
  assert.equal(selection.test, null);
  assert.deepEqual(selection.rows, { train: nTr, valid: nVa, test: 0 });
  assert.equal(encoder.textsEncoded, distinctTexts, 'only train and valid criteria were encoded (each distinct text once)');
  assert.ok(selection.valid.probe > 0 && selection.valid.probe <= 1 && selection.valid.tfidf > 0);
  // Cross-validation runs over train + valid only, and reports the fold spread.
  assert.equal(selection.cv.rows, nTr + nVa);
  assert.ok(selection.cv.prAuc.mean > 0.3 && selection.cv.prAuc.mean < 1 && selection.cv.prAuc.std > 0, JSON.stringify(selection.cv));
  const full = await linearProbe(new FakeEncoder(), null, 'I', { dataDir });
  assert.equal(full.rows.test, loadSplit('I', 'test', dataDir).rows.length);
  for (const m of [full.test!.probe, full.test!.tfidf]) assert.ok(m.prAuc > 0.4 && m.prAuc < 1 && m.rocAuc > 0.3 && m.rocAuc < 1, JSON.stringify(m));
  // Valid scores do not depend on whether test was scored.
  assert.deepEqual(full.valid, selection.valid);
  assert.deepEqual(full.cv, selection.cv);
});
