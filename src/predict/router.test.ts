import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { resolveDataDir } from '../data/splits.ts';
import type { Trial } from '../data/trial.ts';
import { predict } from './predict.ts';
import { ModelRouter, routePhase } from './router.ts';
import { FakeEncoder, writeTinyBundle } from './testing/fixtures.ts';

const dataDir = resolveDataDir();
const encoder = new FakeEncoder();
const root = mkdtempSync(path.join(os.tmpdir(), 'cladmop-router-'));
let router: ModelRouter;
before(async () => {
  // Different seeds per phase, so the models give different probabilities for the same trial.
  await writeTinyBundle({ encoder, dir: path.join(root, 'phase-I'), phase: 'I', seed: 1 });
  await writeTinyBundle({ encoder, dir: path.join(root, 'phase-II'), phase: 'II', seed: 2 });
  router = await ModelRouter.load(root, { encoder, dataDir });
});
after(() => {
  router.dispose();
  rmSync(root, { recursive: true, force: true });
});

const trial = (nctid: string, phase: string): Trial => ({
  nctid,
  phase,
  diseases: ['lung cancer'],
  icdcodes: [['C34.90']],
  drugs: ['metformin'],
  smiles: [],
  criteria: 'Inclusion Criteria:\n\n- adults\n\nExclusion Criteria:\n\n- pregnant',
});

test('routePhase: a two-phase trial goes to the later phase; unphased to none', () => {
  assert.equal(routePhase('phase 1'), 'I');
  assert.equal(routePhase('phase 1/phase 2'), 'II');
  assert.equal(routePhase('phase 2/phase 3'), 'III');
  assert.equal(routePhase('phase 4'), null);
  assert.equal(routePhase(''), null);
});

test('each trial is scored by its phase model, in input order, with the same number as that model alone', async () => {
  const trials = [trial('NCT00000001', 'phase 2'), trial('NCT00000002', 'phase 1'), trial('NCT00000003', 'phase 1/phase 2'), trial('NCT00000004', 'phase 3'), trial('NCT00000005', 'phase 4')];
  const out = await router.predict(trials);
  assert.deepEqual(out.map((p) => p.nctid), trials.map((t) => t.nctid));
  assert.deepEqual(out.map((p) => p.status), ['ok', 'ok', 'ok', 'refused', 'refused']);
  assert.deepEqual(out.slice(0, 3).map((p) => p.phase.model), ['II', 'I', 'II']);
  assert.match(out[3].refusal!, /no phase III model is loaded/);
  assert.match(out[4].refusal!, /outside phases I–III/);
  const alone = await predict(router.models.I!, [trials[1]]);
  assert.equal(out[1].probability, alone[0].probability);
  const alone2 = await predict(router.models.II!, [trials[0]]);
  assert.equal(out[0].probability, alone2[0].probability);
  assert.notEqual(out[0].probability, (await predict(router.models.I!, [trials[0]]))[0].probability, 'the models differ');
  assert.ok(out[2].warnings.some((w) => /scored by the phase II model \(the later phase\)/.test(w)));
  assert.ok(!out[2].warnings.some((w) => /but this model was trained on/.test(w)));
});

test('an empty models directory says where it looked and what to do', async () => {
  const empty = mkdtempSync(path.join(os.tmpdir(), 'cladmop-router-empty-'));
  try {
    await assert.rejects(ModelRouter.load(empty, { encoder, dataDir }), /no default models in .*CLADMOP_MODELS or pass --model/);
  } finally {
    rmSync(empty, { recursive: true, force: true });
  }
});

