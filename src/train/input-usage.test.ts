import { test } from 'node:test';
import assert from 'node:assert/strict';
import { blankFamily, inputUsageTable } from './input-usage.ts';
import type { Trial } from '../data/trial.ts';

const trial: Trial = {
  nctid: 'NCT00000001',
  phase: 'phase 1',
  diseases: ['lung cancer'],
  icdcodes: [['C34.90']],
  drugs: ['cisplatin'],
  smiles: ['N.N.Cl[Pt]Cl'],
  criteria: 'Inclusion Criteria:\n- adults',
};

test('blanking removes exactly one family', () => {
  assert.deepEqual(blankFamily(trial, 'criteria'), { ...trial, criteria: '' });
  assert.deepEqual(blankFamily(trial, 'drugs'), { ...trial, drugs: [], smiles: [] });
  assert.deepEqual(blankFamily(trial, 'diseases'), { ...trial, diseases: [], icdcodes: [] });
  assert.equal(trial.drugs.length, 1, 'the original is not changed');
});

test('a family the ranking depends on shows a negative delta; an unused one shows none', () => {
  const labels = [0, 0, 1, 1];
  const full = [0.1, 0.2, 0.8, 0.9];
  const rows = inputUsageTable(labels, full, { criteria: [0.9, 0.8, 0.2, 0.1], drugs: full, diseases: [0.2, 0.3, 0.9, 1.0] });
  const by = Object.fromEntries(rows.map((r) => [r.blanked, r]));
  assert.equal(by.none.rocAuc, 1);
  assert.equal(by.criteria.deltaRocAuc, -1);
  assert.equal(by.drugs.deltaRocAuc, 0);
  assert.equal(by.drugs.meanAbsChange, 0);
  assert.equal(by.diseases.deltaRocAuc, 0);
  assert.ok(Math.abs(by.diseases.meanAbsChange - 0.1) < 1e-12);
});
