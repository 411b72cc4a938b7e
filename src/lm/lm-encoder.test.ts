import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { numpy as np } from '@jax-js/jax';
import { initJax } from '../runtime/jax-init.ts';
import { criteriaDocuments } from './criteria-text.ts';
import { evenlySpacedLayers, jaxParams, LmCriteriaEncoder, loadCriteriaLm, ModelLoadError } from './lm-encoder.ts';
import { forward } from './model.ts';
import { BOS_ID } from './tokenizer.ts';
import { TINY_LM_CONFIG, tinyLmCriteria, writeTinyLm } from './testing/tiny-lm.ts';

await initJax();

const CONFIG = TINY_LM_CONFIG;
const realCriteria = tinyLmCriteria();
const writeTinyLmDir = (dir: string, seed: number) => writeTinyLm(dir, seed);

const root = mkdtempSync(path.join(tmpdir(), 'cladmop-lmenc-'));
process.on('exit', () => rmSync(root, { recursive: true, force: true }));
const lmDir = path.join(root, 'lm');
await writeTinyLmDir(lmDir, 1);
const lm = loadCriteriaLm(lmDir);
const encoder = new LmCriteriaEncoder(lm);

const mixed = [
  'Inclusion Criteria:\n - age >= 18\n - ECOG 0-1\nExclusion Criteria:\n - pregnant',
  'Exclusion Criteria:\n - pregnant\n - HIV', // exclusion only
  '', // no criteria at all
  'Inclusion Criteria:\n\n  - ANC ≥ 1.5 x 10^9/L\n\n  - Platelets ≥ 100 x 10^9/L\n\nExclusion Criteria:\n\n  - Prior therapy',
  ...realCriteria.slice(0, 6), // real, mostly long: truncated sections, several buckets
];

test('loads the directory: config, tokenizer, weights; the hash covers all three files', () => {
  assert.deepEqual(lm.config, CONFIG);
  assert.equal(lm.tokenizer.vocabSize, CONFIG.vocabSize);
  assert.match(lm.hash, /^[0-9a-f]{64}$/);
  assert.deepEqual(encoder.layers, [1, 2, 3]);
  assert.deepEqual(evenlySpacedLayers(6), [2, 4, 6]);
  assert.equal(encoder.dim, 16);
  assert.equal(encoder.maxTokensPerSection, 159);
  assert.ok(encoder.id.startsWith(`cladmop-lm:${lm.hash.slice(0, 32)}:layers=1,2,3:max=159`), encoder.id);
  // Other layers, other id (the cache must not mix them).
  assert.notEqual(new LmCriteriaEncoder(lm, { layers: [0, 1, 3] }).id, encoder.id);
  assert.throws(() => new LmCriteriaEncoder(lm, { layers: [1, 2] }), /three indices in 0\.\.3/);
  assert.throws(() => new LmCriteriaEncoder(lm, { layers: [1, 2, 4] }), /three indices in 0\.\.3, got \[1,2,4\]/);
  // The hash reads config.json too: the same weights under another config text give another id.
  const copy = path.join(root, 'lm-copy');
  mkdirSync(copy, { recursive: true });
  for (const f of ['tokenizer.json', 'model.safetensors']) copyFileSync(path.join(lmDir, f), path.join(copy, f));
  writeFileSync(path.join(copy, 'config.json'), JSON.stringify(JSON.parse(readFileSync(path.join(lmDir, 'config.json'), 'utf8'))));
  const lmCopy = loadCriteriaLm(copy);
  assert.notEqual(lmCopy.hash, lm.hash);
  // ...and loading is deterministic.
  const again = loadCriteriaLm(lmDir);
  assert.equal(again.hash, lm.hash);
});

test('levels are 3 x tokens x d; inclusion tokens precede exclusion tokens; segments say which is which', async () => {
  const out = await encoder.encodeMany(mixed);
  assert.equal(out.length, mixed.length);
  for (let i = 0; i < mixed.length; i++) {
    const e = out[i];
    let docs = criteriaDocuments(mixed[i]);
    // No criteria: the encoder reads the bare inclusion header (one section, so the trial still has tokens).
    if (docs.length === 0) docs = [{ section: 'inclusion', text: 'inclusion criteria:', statements: [] }];
    const ids = await lm.tokenizer.encodeBatch(docs.map((d) => d.text));
    // Each section: its first maxLen - 1 tokens (the <s> takes one position, and is not returned).
    const expectedTokens = ids.flatMap((s) => s.slice(0, CONFIG.maxLen - 1));
    const expectedSegs = docs.flatMap((d, k) => Array(Math.min(ids[k].length, CONFIG.maxLen - 1)).fill(d.section === 'inclusion' ? 0 : 1));
    assert.deepEqual(e.tokens, expectedTokens, `trial ${i}`);
    assert.deepEqual([...e.segments], expectedSegs, `trial ${i}`);
    // Inclusion (0) first, then exclusion (1): the segment sequence is sorted.
    assert.ok(e.segments.every((s, t) => t === 0 || s >= e.segments[t - 1]), `trial ${i}: segments ordered`);
    assert.equal(e.dim, 16);
    assert.equal(e.levels.length, 3);
    for (const lv of e.levels) assert.equal(lv.length, e.tokens.length * 16);
    assert.ok(e.levels.every((lv) => lv.every(Number.isFinite)));
  }
  // The cases the fixture is meant to cover are really there.
  assert.deepEqual([...new Set(out[1].segments)], [1], 'exclusion only');
  assert.deepEqual([...new Set(out[2].segments)], [0], 'empty criteria -> inclusion header');
  assert.equal(out[2].tokens.length, (await lm.tokenizer.encode('inclusion criteria:')).length);
  assert.ok(out.some((e) => e.tokens.length > 2 * (CONFIG.maxLen - 1) - 5), 'some trial has both sections truncated or near the limit');
  assert.ok(out.some((e) => e.segments.filter((s) => s === 0).length === CONFIG.maxLen - 1), 'an inclusion section was truncated');
  // Levels differ from each other (three depths, not three copies).
  assert.notDeepEqual(out[0].levels[0], out[0].levels[2]);
});

test('the levels are the residual stream of [<s>, section] at the chosen layers, without the <s> position', async () => {
  const text = mixed[0];
  const [e] = await encoder.encodeMany([text]);
  const docs = criteriaDocuments(text);
  let offset = 0;
  for (const doc of docs) {
    const ids = [BOS_ID, ...(await lm.tokenizer.encode(doc.text))];
    const toks = np.array(Int32Array.from(ids), { dtype: np.int32 }).reshape([1, ids.length]);
    const r = forward(CONFIG, jaxParams(lm), toks, { key: null, logits: false, returnLayers: [1, 2, 3] });
    const hidden = await Promise.all(r.hidden.map((h) => h.data() as Promise<Float32Array>));
    const n = ids.length - 1;
    for (let l = 0; l < 3; l++) {
      const expected = hidden[l].subarray(16, 16 * (n + 1));
      const actual = e.levels[l].subarray(offset * 16, (offset + n) * 16);
      // The encoder runs the ONNX export in onnxruntime on a 64-token bucket: equal up to float32 reduction order.
      let maxDiff = 0;
      for (let j = 0; j < expected.length; j++) maxDiff = Math.max(maxDiff, Math.abs(expected[j] - actual[j]));
      assert.ok(maxDiff < 1e-4, `${doc.section} level ${l}: max diff ${maxDiff}`);
    }
    offset += n;
  }
  assert.equal(offset, e.tokens.length);
});

test('batched encoding equals one-at-a-time encoding exactly (padding and batch-mates never change outputs)', async () => {
  const batched = await encoder.encodeMany(mixed);
  // A small batch budget forces other batch compositions and sizes; one at a time is the extreme.
  const small = await new LmCriteriaEncoder(lm, { batchTokens: 128 }).encodeMany(mixed);
  for (let i = 0; i < mixed.length; i++) {
    const [single] = await encoder.encodeMany([mixed[i]]);
    for (const other of [single, small[i]]) {
      assert.deepEqual(other.tokens, batched[i].tokens);
      assert.deepEqual(other.segments, batched[i].segments);
      other.levels.forEach((lv, l) => assert.deepEqual(lv, batched[i].levels[l], `trial ${i} level ${l}`));
    }
  }
  // Order in the batch does not matter either.
  const reversed = await encoder.encodeMany([...mixed].reverse());
  reversed.reverse().forEach((e, i) => e.levels.forEach((lv, l) => assert.deepEqual(lv, batched[i].levels[l])));
});

test('encodeMany of nothing is nothing; progress reaches the number of trials', async () => {
  assert.deepEqual(await encoder.encodeMany([]), []);
  const seen: number[] = [];
  await encoder.encodeMany(mixed.slice(0, 4), (done) => seen.push(done));
  assert.equal(seen.at(-1), 4);
  assert.ok(seen.every((d, i) => i === 0 || d >= seen[i - 1]));
});

test('loadCriteriaLm refuses a weights file whose sha256 does not match, and other broken directories', async () => {
  const bad = path.join(root, 'corrupt');
  mkdirSync(bad, { recursive: true });
  for (const f of ['config.json', 'tokenizer.json', 'model.safetensors']) copyFileSync(path.join(lmDir, f), path.join(bad, f));
  const weights = readFileSync(path.join(bad, 'model.safetensors'));
  weights[weights.length - 5] ^= 0x40; // one byte of one weight: still a valid safetensors file
  writeFileSync(path.join(bad, 'model.safetensors'), weights);
  assert.throws(
    () => loadCriteriaLm(bad),
    (err: unknown) => err instanceof ModelLoadError && /model\.safetensors does not match the sha256 in config\.json \(corrupted or replaced\)/.test(err.message) && err.message.includes(bad),
  );
  copyFileSync(path.join(lmDir, 'model.safetensors'), path.join(bad, 'model.safetensors'));
  assert.ok(loadCriteriaLm(bad)); // restored: loads again
  writeFileSync(path.join(bad, 'tokenizer.json'), readFileSync(path.join(lmDir, 'tokenizer.json'), 'utf8').replace('"<pad>"', '"<PAD>"'));
  assert.throws(() => loadCriteriaLm(bad), /tokenizer\.json does not match the sha256 in config\.json/);
  assert.throws(() => loadCriteriaLm(path.join(root, 'nowhere')), /config\.json is missing \(train one with `cladmop lm train`\)/);
  const config = JSON.parse(readFileSync(path.join(lmDir, 'config.json'), 'utf8'));
  writeFileSync(path.join(bad, 'config.json'), JSON.stringify({ ...config, formatVersion: 2 }));
  assert.throws(() => loadCriteriaLm(bad), /format cladmop-criteria-lm v2 is not cladmop-criteria-lm v1/);
});

test('another set of weights gives another encoder id and other outputs', async () => {
  const other = path.join(root, 'lm2');
  await writeTinyLmDir(other, 2);
  const lm2 = loadCriteriaLm(other);
  const enc2 = new LmCriteriaEncoder(lm2);
  assert.notEqual(enc2.id, encoder.id);
  const [a] = await encoder.encodeMany([mixed[0]]);
  const [b] = await enc2.encodeMany([mixed[0]]);
  assert.notDeepEqual(a.levels[2], b.levels[2]);
  // Same text, same tokenizer training: the tokens agree; only the states differ.
  assert.deepEqual(a.tokens, b.tokens);
});
