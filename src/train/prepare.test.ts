import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { loadSplit } from '../data/splits.ts';
import type { CriteriaEncoder, EncodedCriteria } from '../features/criteria-encoder.ts';
import { IcdVocabulary } from '../features/dm-features.ts';
import { EmbeddingCache } from '../features/embedding-cache.ts';
import { MoleculeFeaturizer } from '../features/molecule.ts';
import { prepareTrials, type FeatureContext } from './prepare.ts';

const DIM = 3;

/** Deterministic states: a few tokens per text, values from the text's characters (no model needed). */
class TinyEncoder implements CriteriaEncoder {
  readonly id = 'tiny-test-encoder';
  readonly name = 'tiny';
  readonly dim = DIM;
  readonly layers = [1, 2, 3];
  readonly maxTokensPerSection = 16;
  async encodeMany(criteria: string[]): Promise<EncodedCriteria[]> {
    return criteria.map((text) => {
      const n = 1 + (text.length % 7);
      const tokens = Array.from({ length: n }, (_, i) => text.charCodeAt(i % Math.max(1, text.length)) || 0);
      const levels = [0, 1, 2].map((l) => Float32Array.from({ length: n * DIM }, (_, j) => Math.cos(tokens[Math.floor(j / DIM)] + j + l)));
      return { levels, tokens, segments: new Uint8Array(n), dim: DIM };
    });
  }
}

test('prepareTrials with statesOnDisk: same trials, tokens, states and DM features as in memory, across chunk boundaries; progress reaches the total', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'cladmop-prepare-'));
  try {
    // 300 real phase I rows: more than one 256-row chunk.
    const rows = loadSplit('I', 'train').rows.slice(0, 300);
    const encoder = new TinyEncoder();
    const ctx: FeatureContext = {
      encoder,
      cache: new EmbeddingCache(dir, encoder.id),
      featurizer: await MoleculeFeaturizer.create(),
      icd: IcdVocabulary.fromEntries(['<unk>']),
      dm: { moleculeSource: 'top', nameBuckets: 1024 },
    };
    const progress: [number, number][] = [];
    const onDisk = await prepareTrials(rows, ctx, (d, t) => progress.push([d, t]), { statesOnDisk: true });
    const inMemory = await prepareTrials(rows, ctx);
    assert.equal(onDisk.length, rows.length);
    assert.deepEqual(progress.at(-1), [300, 300]);
    assert.ok(progress.every(([d], i) => i === 0 || d >= progress[i - 1][0]), 'progress never goes back');
    onDisk.forEach((t, i) => {
      const m = inMemory[i];
      assert.equal(t.nctid, rows[i].trial.nctid);
      assert.equal(t.label, rows[i].label);
      assert.deepEqual(t.input.criteria.tokens, m.input.criteria.tokens);
      assert.deepEqual(t.input.criteria.levels, m.input.criteria.levels);
      assert.deepEqual(t.input.dm, m.input.dm);
    });
    // The states are not held: each read is a fresh array.
    assert.notEqual(onDisk[0].input.criteria.levels[0], onDisk[0].input.criteria.levels[0]);
    assert.equal(inMemory[0].input.criteria.levels[0], inMemory[0].input.criteria.levels[0]);
    // Without a cache the option cannot apply: the states stay in memory.
    const noCache = await prepareTrials(rows.slice(0, 3), { ...ctx, cache: null }, undefined, { statesOnDisk: true });
    assert.equal(noCache[0].input.criteria.levels[0], noCache[0].input.criteria.levels[0]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
