import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { loadEncoder } from '../features/encoder-spec.ts';
import { exportHfOnnx } from './export-hf.ts';
import { HfOnnxCriteriaEncoder } from './hf-onnx-encoder.ts';
import { LmCriteriaEncoder, loadCriteriaLm } from './lm-encoder.ts';
import { lmToOnnx } from './onnx-export.ts';
import { tinyLmCriteria, writeTinyLm } from './testing/tiny-lm.ts';

// The test builds its own tiny model (random weights, a tokenizer trained on 40 real criteria), exports it as a
// Hugging Face ONNX directory, and reads it back through transformers.js: the `onnx:DIR` path, offline.
const root = mkdtempSync(path.join(tmpdir(), 'cladmop-hfonnx-'));
process.on('exit', () => rmSync(root, { recursive: true, force: true }));
const lmDir = path.join(root, 'lm');
await writeTinyLm(lmDir, 3);
const lm = loadCriteriaLm(lmDir);
const hfDir = path.join(root, 'hf');
exportHfOnnx(lm, hfDir);
const texts = [
  'Inclusion Criteria:\n - age >= 18\n - ECOG 0-1\nExclusion Criteria:\n - pregnant',
  'Exclusion Criteria:\n - pregnant\n - HIV',
  '',
  ...tinyLmCriteria().slice(0, 5),
];

test('export-onnx writes a Hugging Face layout, and refuses to overwrite', () => {
  for (const f of ['config.json', 'tokenizer.json', 'tokenizer_config.json', 'onnx/model.onnx']) assert.ok(existsSync(path.join(hfDir, f)), f);
  const config = JSON.parse(readFileSync(path.join(hfDir, 'config.json'), 'utf8'));
  assert.equal(config.hidden_size, 16);
  assert.equal(config.num_hidden_layers, 3);
  assert.throws(() => exportHfOnnx(lm, hfDir), /already exists/);
  assert.ok(!existsSync(`${hfDir}.tmp-${process.pid}`));
});

test('onnx:DIR through transformers.js gives the same tokens, segments and levels as the native encoder', async () => {
  const viaHf = await loadEncoder(`onnx:${hfDir}`);
  assert.ok(viaHf instanceof HfOnnxCriteriaEncoder);
  assert.deepEqual(viaHf.layers, [1, 2, 3]);
  assert.equal(viaHf.dim, 16);
  assert.match(viaHf.id, /^hf-onnx:[0-9a-f]{32}:outputs=hidden_states\.1,hidden_states\.2,hidden_states\.3:max=160/);
  assert.match(viaHf.name, /levels = layers 1\/2\/3/);
  const native = new LmCriteriaEncoder(lm);
  const a = await viaHf.encodeMany(texts);
  const b = await native.encodeMany(texts);
  for (let i = 0; i < texts.length; i++) {
    // transformers.js's own tokenizer (JS) reads our tokenizer.json exactly as the Rust `tokenizers` does.
    assert.deepEqual(a[i].tokens, b[i].tokens, `trial ${i} tokens`);
    assert.deepEqual(a[i].segments, b[i].segments, `trial ${i} segments`);
    for (let l = 0; l < 3; l++) {
      let maxDiff = 0;
      for (let j = 0; j < a[i].levels[l].length; j++) maxDiff = Math.max(maxDiff, Math.abs(a[i].levels[l][j] - b[i].levels[l][j]));
      assert.ok(maxDiff < 1e-5, `trial ${i} level ${l}: ${maxDiff}`);
    }
  }
  // Chosen layers; 0 is the embedding output.
  const chosen = await HfOnnxCriteriaEncoder.load(hfDir, { layers: [0, 1, 3] });
  const [c] = await chosen.encodeMany([texts[0]]);
  assert.deepEqual(c.levels[2], a[0].levels[2]);
  assert.notDeepEqual(c.levels[0], a[0].levels[0]);
  await assert.rejects(HfOnnxCriteriaEncoder.load(hfDir, { layers: [1, 2, 7] }), /three of the exported hidden states \[0,1,2,3\], got \[1,2,7\]/);
  await viaHf.dispose();
  await chosen.dispose();
});

test('an export with only last_hidden_state (Optimum default) uses it at all three levels, and says so', async () => {
  const dir = path.join(root, 'last-only');
  exportHfOnnx(lm, dir);
  // Rebuild the graph with no intermediate outputs, as a standard feature-extraction export has.
  const weights = lm.weights;
  writeFileSync(path.join(dir, 'onnx/model.onnx'), lmToOnnx(lm.config, weights, { hiddenLayers: [] }));
  const enc = await HfOnnxCriteriaEncoder.load(dir);
  assert.match(enc.name, /single depth: the export has only last_hidden_state/);
  const [e] = await enc.encodeMany([texts[0]]);
  assert.deepEqual(e.levels[0], e.levels[2]);
  await assert.rejects(HfOnnxCriteriaEncoder.load(dir, { layers: [1, 2, 3] }), /has no hidden_states\.\{i\} outputs/);
  await enc.dispose();
});

test('a directory that is not an ONNX export is refused with the missing file named; nothing is fetched', async () => {
  await assert.rejects(loadEncoder(`onnx:${lmDir}`), /onnx\/model\.onnx is missing \(expected a Hugging Face ONNX export/);
  await assert.rejects(loadEncoder('onnx:'), /onnx: needs a directory/);
  await assert.rejects(loadEncoder('bert'), /unknown encoder "bert": use lm, lm:DIR or onnx:DIR/);
});
