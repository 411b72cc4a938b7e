import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { init, numpy as np, tree } from '@jax-js/jax';
import { treeToTensors } from '../runtime/param-tree.ts';
import { readSafetensors, writeSafetensors } from '../runtime/safetensors.ts';
import { createHash } from 'node:crypto';
import { BUNDLE_SCHEMA_VERSION, BundleError, loadBundle, saveBundle, type BundleConfig } from './bundle.ts';
import { initCladmop, initLoraParams, type CladmopConfig, type CladmopLora } from './cladmop.ts';
import { TINY_CLADMOP } from './testing/tiny-config.ts';

await init('wasm');

type NpArray = np.Array;

// Tiny architecture (no batch is built here, so the molecule input need not be the real 2059 wide).
const C: CladmopConfig = { ...TINY_CLADMOP, moleculeInput: 12, icdVocab: 5 };
const VOCAB = ['<unk>', 'C', 'C34', 'C34.9', 'C34.90'];

const root = mkdtempSync(path.join(os.tmpdir(), 'cladmop-bundle-test-'));
process.on('exit', () => rmSync(root, { recursive: true, force: true }));

let counter = 0;
let original: Promise<{ dir: string; config: BundleConfig }> | null = null;
/** A fresh copy of one saved bundle (saved once: building the parameters is the slow part). */
async function saved(): Promise<{ dir: string; config: BundleConfig }> {
  original ??= save(path.join(root, 'original'));
  const { dir: from, config } = await original;
  const dir = path.join(root, `b${counter++}`);
  cpSync(from, dir, { recursive: true });
  return { dir, config };
}

async function save(dir: string): Promise<{ dir: string; config: BundleConfig }> {
  const params = initCladmop(C, 7);
  // Nonzero LoRA B, so a loader that re-initialised the adapters (B = 0) would be caught.
  const lora = tree.map((a: NpArray) => a.add(0.25), initLoraParams(C, 7) as never) as CladmopLora;
  const config = await saveBundle({
    dir,
    params,
    lora,
    icdVocabulary: VOCAB,
    config: {
      architecture: C,
      encoder: { spec: 'lm:test', id: 'enc-1234', name: 'test encoder' },
      phase: 'II',
      dmFeatures: { moleculeSource: 'top', nameBuckets: C.nameBuckets },
      maxCriteria: 16,
      training: { seed: 1 },
      metrics: { prAuc: 0.5 },
      codeVersion: 'test',
    },
  });
  tree.dispose([params, lora]);
  return { dir, config };
}

const editConfig = (dir: string, edit: (c: Record<string, unknown>) => void) => {
  const file = path.join(dir, 'config.json');
  const c = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
  edit(c);
  writeFileSync(file, JSON.stringify(c));
};

test('saveBundle then loadBundle round-trips every weight, the LoRA adapters, the vocabulary and the config', async () => {
  const { dir, config } = await saved();
  assert.equal(config.schemaVersion, BUNDLE_SCHEMA_VERSION);
  assert.deepEqual(Object.keys(config.files).sort(), ['icd_vocabulary.json', 'weights.safetensors']);
  const loaded = loadBundle(dir);
  assert.deepEqual(loaded.icdVocabulary, VOCAB);
  assert.deepEqual(loaded.config.architecture, C);
  assert.equal(loaded.config.phase, 'II');
  assert.deepEqual(loaded.config.metrics, { prAuc: 0.5 });
  const expectedParams = initCladmop(C, 7);
  const expectedLora = tree.map((a: NpArray) => a.add(0.25), initLoraParams(C, 7) as never) as CladmopLora;
  const [gotP, wantP, gotL, wantL] = await Promise.all([
    treeToTensors(loaded.params),
    treeToTensors(expectedParams),
    treeToTensors(loaded.lora),
    treeToTensors(expectedLora),
  ]);
  assert.deepEqual(Object.keys(gotP).sort(), Object.keys(wantP).sort());
  for (const name of Object.keys(wantP)) assert.deepEqual(gotP[name], wantP[name], name);
  for (const name of Object.keys(wantL)) assert.deepEqual(gotL[name], wantL[name], name);
  // A few leaves by hand, including the scalar logit scale.
  assert.ok(Math.abs((gotP.logitScale.data as Float32Array)[0] - 0.6) < 1e-7);
  assert.deepEqual(gotP['grouping.1.layers.2.centroids'].shape, [3, 16]);
  assert.ok((gotL['fusionCross.1.v.b'].data as Float32Array).every((v) => v === 0.25));
  tree.dispose([loaded.params, loaded.lora, expectedParams, expectedLora]);
});

test('a flipped byte in weights.safetensors is refused (sha256)', async () => {
  const { dir } = await saved();
  const file = path.join(dir, 'weights.safetensors');
  const bytes = readFileSync(file);
  bytes[bytes.length - 5] ^= 0x01;
  writeFileSync(file, bytes);
  assert.throws(() => loadBundle(dir), (err: Error) => err instanceof BundleError && /weights\.safetensors is corrupted/.test(err.message) && /sha256/.test(err.message));
});

test('a changed vocabulary file is refused too', async () => {
  const { dir } = await saved();
  writeFileSync(path.join(dir, 'icd_vocabulary.json'), JSON.stringify([...VOCAB, 'D']));
  assert.throws(() => loadBundle(dir), (err: Error) => err instanceof BundleError && /icd_vocabulary\.json is corrupted/.test(err.message));
});

test('schema version 3 and a foreign format are refused with a clear message', async () => {
  const { dir } = await saved();
  editConfig(dir, (c) => (c.schemaVersion = 3));
  assert.throws(() => loadBundle(dir), (err: Error) => err instanceof BundleError && /schema version 3 is not supported/.test(err.message) && /reads versions 1 and 2/.test(err.message));
  editConfig(dir, (c) => {
    c.schemaVersion = 2;
    c.format = 'something-else';
  });
  assert.throws(() => loadBundle(dir), (err: Error) => err instanceof BundleError && /format is "something-else"/.test(err.message));
});

test('missing files and unreadable config are named', async () => {
  assert.throws(() => loadBundle(path.join(root, 'nope')), (err: Error) => err instanceof BundleError && /config\.json is missing/.test(err.message));
  const { dir } = await saved();
  unlinkSync(path.join(dir, 'weights.safetensors'));
  assert.throws(() => loadBundle(dir), (err: Error) => err instanceof BundleError && /weights\.safetensors is missing/.test(err.message));
  writeFileSync(path.join(dir, 'config.json'), '{ not json');
  assert.throws(() => loadBundle(dir), (err: Error) => err instanceof BundleError && /not valid JSON/.test(err.message));
});

test('an architecture that does not match the weights is refused, naming the tensor', async () => {
  const { dir } = await saved();
  editConfig(dir, (c) => ((c.architecture as CladmopConfig).dModel = 32));
  assert.throws(() => loadBundle(dir), (err: Error) => err instanceof BundleError && /has shape \[.*\], expected \[.*\]/.test(err.message));
  editConfig(dir, (c) => {
    (c.architecture as CladmopConfig).dModel = 16;
    (c.architecture as CladmopConfig).dmLayers = 2;
  });
  assert.throws(() => loadBundle(dir), (err: Error) => err instanceof BundleError && /dmBlocks\.1\..* is missing/.test(err.message));
  // Fewer layers than stored: not silently loaded without them.
  editConfig(dir, (c) => ((c.architecture as CladmopConfig).dmLayers = 0));
  assert.throws(() => loadBundle(dir), (err: Error) => err instanceof BundleError && /tensor\(s\) the architecture .* does not use \(base\.dmBlocks\.0\./.test(err.message));
});

test('a schema-1 bundle (one model: base.* + lora.*) still loads, with the same weights as the schema-2 one it was made from', async () => {
  const { dir } = await saved();
  const two = loadBundle(dir);
  // Rewrite as schema 1: member 0's adapters become lora.*, its head is base.head.* already.
  const file = path.join(dir, 'weights.safetensors');
  const { tensors } = readSafetensors(file);
  const renamed = Object.fromEntries(
    Object.entries(tensors)
      .filter(([n]) => !n.startsWith('members.0.head.'))
      .map(([n, t]) => [n.startsWith('members.0.lora.') ? n.slice('members.0.'.length) : n, t]),
  );
  writeSafetensors(file, renamed, { format: 'cladmop-model-v1' });
  const bytes = readFileSync(file);
  editConfig(dir, (c) => {
    c.schemaVersion = 1;
    delete c.members;
    (c.files as Record<string, { sha256: string; bytes: number }>)['weights.safetensors'] = { sha256: createHash('sha256').update(bytes).digest('hex'), bytes: bytes.length };
  });
  const one = loadBundle(dir);
  assert.equal(one.members.length, 1);
  assert.deepEqual(Object.keys(one.tensors).sort(), Object.keys(two.tensors).sort());
  for (const [name, t] of Object.entries(two.tensors)) assert.deepEqual(one.tensors[name].data, t.data, name);
  tree.dispose([one.params, one.lora, two.params, two.lora]);
});

test('every ensemble member is checked: a later member missing an adapter tensor is refused', async () => {
  const dir = path.join(root, `m${counter++}`);
  const params = initCladmop(C, 7);
  const members = [0, 1].map((i) => ({ lora: initLoraParams(C, 7 + i), head: initCladmop(C, 8 + i).head, info: { seed: 7 + i } }));
  await saveBundle({ dir, params, members, icdVocabulary: VOCAB, config: { architecture: C, encoder: { spec: 'lm:test', id: 'enc-1234', name: 'test encoder' }, phase: 'II', dmFeatures: { moleculeSource: 'top', nameBuckets: C.nameBuckets }, maxCriteria: 16, training: {}, metrics: {}, codeVersion: 'test' } });
  const ok = loadBundle(dir);
  assert.equal(ok.members.length, 2);
  tree.dispose([ok.params, ok.lora]);
  const file = path.join(dir, 'weights.safetensors');
  const { tensors } = readSafetensors(file);
  const dropped = Object.keys(tensors).find((n) => n.startsWith('members.1.lora.'))!;
  delete tensors[dropped];
  writeSafetensors(file, tensors, { format: 'cladmop-model-v2' });
  const bytes = readFileSync(file);
  editConfig(dir, (c) => {
    (c.files as Record<string, { sha256: string; bytes: number }>)['weights.safetensors'] = { sha256: createHash('sha256').update(bytes).digest('hex'), bytes: bytes.length };
  });
  assert.throws(() => loadBundle(dir), (err: Error) => err instanceof BundleError && /member 1\): tensor lora\..* is missing/.test(err.message));
  tree.dispose([params, ...members.map((m) => [m.lora, m.head])]);
});
