import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  CANCER_ORGANS,
  CONDITION_ALIASES,
  IcdTableError,
  conditionCandidates,
  formatIcdCode,
  loadIcdTable,
} from './icd-table.ts';
import { readTopCsv } from './top-csv.ts';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const dataDir = path.resolve(repoRoot, '../shared/data/top');
const table = loadIcdTable(dataDir);

test('codes are written in TOP dotted form', () => {
  assert.equal(formatIcdCode('C509'), 'C50.9');
  assert.equal(formatIcdCode(' c61 '), 'C61');
  assert.equal(formatIcdCode('C50.9'), 'C50.9');
  assert.equal(formatIcdCode('E11'), 'E11');
});

test('describe and isKnownCode accept dotted and dot-less codes', () => {
  assert.equal(table.describe('C50'), 'Malignant neoplasm of breast');
  assert.equal(table.describe('C50.9'), 'Malignant neoplasm of breast of unspecified site');
  assert.equal(table.describe('c509'), 'Malignant neoplasm of breast of unspecified site');
  assert.equal(table.isKnownCode('J45'), true);
  assert.equal(table.isKnownCode('E11.9'), true);
  assert.equal(table.isKnownCode('Z99.999'), false);
  assert.equal(table.isKnownCode('not a code'), false);
  assert.equal(table.describe('Q00.00'), undefined);
  assert.equal(table.size, 24628);
});

test('condition names map to ICD-10 categories', () => {
  const cases: [string, string[]][] = [
    ['Asthma', ['J45']],
    ['breast cancer', ['C50']],
    ['Carcinoma, Non-Small-Cell Lung', ['C34']],
    ['diabetes mellitus, type 2', ['E11']],
    ['stage iv pancreatic cancer', ['C25']],
    ['recurrent grade 2 follicular lymphoma', ['C82']],
    ['colorectal cancer', ['C18', 'C20']],
    ["Crohn's Disease", ['K50.9']],
    ['acute lymphoblastic leukemia', ['C91.0']],
    ['chronic myeloid leukemia', ['C92.1']],
    ['myelodysplastic syndromes', ['D46']],
    ['obesity', ['E66.9']],
    ['hiv infections', ['B20']],
  ];
  for (const [name, codes] of cases) assert.deepEqual(table.lookup(name), codes, name);
});

test('names with no ICD meaning stay unmapped', () => {
  assert.equal(table.lookup('healthy'), undefined);
  assert.equal(table.lookup('EGFR Wild-type Tumor Marker'), undefined);
  assert.equal(table.lookup(''), undefined);
  assert.equal(table.lookup('   '), undefined);
});

test('candidates go from literal to generic', () => {
  const c = conditionCandidates('Chronic Myeloid Leukemia').map((g) => g.join(' + '));
  // The alias (C92.1) must come before the modifier-stripped "myeloid leukemia" (C92).
  const alias = c.indexOf('chronic myeloid leukemia, bcr/abl-positive');
  assert.ok(alias >= 0 && alias < c.indexOf('myeloid leukemia'), c.join(' | '));
  assert.equal(c[0], 'chronic myeloid leukemia');
  assert.ok(conditionCandidates('colorectal cancer').some((g) => g.length === 2), 'colon + rectum group');
});

test('every alias and organ rewrite lands on a real ICD title', () => {
  for (const [name, title] of Object.entries(CONDITION_ALIASES)) {
    assert.ok(table.hasTitle(title), `alias ${name} -> ${title}`);
  }
  for (const [word, organs] of Object.entries(CANCER_ORGANS)) {
    for (const organ of organs) assert.ok(table.hasTitle(`malignant neoplasm of ${organ}`), `${word} -> ${organ}`);
    assert.ok(table.lookup(`${word} cancer`), `${word} cancer`);
  }
});

test('every returned code is a known code in dotted form', () => {
  const { rows } = readTopCsv(path.join(dataDir, 'phase_I_valid.csv'));
  for (const disease of new Set(rows.flatMap((r) => r.trial.diseases))) {
    for (const code of table.lookup(disease) ?? []) {
      assert.match(code, /^[A-Z][0-9][0-9A-Z](?:\.[0-9A-Z]{1,4})?$/, `${disease} -> ${code}`);
      assert.ok(table.isKnownCode(code), code);
    }
  }
});

test('one table per data directory; a missing directory is a clear error', () => {
  assert.equal(loadIcdTable(dataDir + path.sep), table);
  assert.throws(() => loadIcdTable(path.join(repoRoot, 'no-such-data-dir')), IcdTableError);
});

test('coverage of TOP phase I train disease names stays at the measured level', () => {
  // Measured when written: 37.1% of distinct names, 58.4% of mentions (TOP names are lay terms and many
  // oncology names carry stage/histology detail ICD-10 has no title for).
  const { rows } = readTopCsv(path.join(dataDir, 'phase_I_train.csv'));
  const counts = new Map<string, number>();
  for (const r of rows) for (const d of r.trial.diseases) counts.set(d, (counts.get(d) ?? 0) + 1);
  const total = [...counts.values()].reduce((a, b) => a + b, 0);
  let mapped = 0;
  let mentions = 0;
  for (const [name, n] of counts) {
    if (table.lookup(name)) {
      mapped++;
      mentions += n;
    }
  }
  assert.ok(mapped / counts.size >= 0.35, `distinct ${mapped}/${counts.size}`);
  assert.ok(mentions / total >= 0.55, `mentions ${mentions}/${total}`);
});
