import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Trial } from '../data/trial.ts';
import { dmFeatures, fnv1a, icdAncestors, IcdVocabulary, MAX_DISEASES, MAX_DRUGS, MAX_MOLECULES, MAX_NGRAMS, MOLECULE_INPUT, nameNgrams } from './dm-features.ts';
import { FP_BITS, MoleculeFeaturizer } from './molecule.ts';

test('icdAncestors: the code spells its own hierarchy; dotless, lower-case and padded input; invalid -> []', () => {
  assert.deepEqual(icdAncestors('C34.90'), ['C', 'C34', 'C34.9', 'C34.90']);
  assert.deepEqual(icdAncestors('C3490'), ['C', 'C34', 'C34.9', 'C34.90']);
  assert.deepEqual(icdAncestors(' c34.90 '), ['C', 'C34', 'C34.9', 'C34.90']);
  assert.deepEqual(icdAncestors('C34'), ['C', 'C34']);
  assert.deepEqual(icdAncestors('C34.'), ['C', 'C34']);
  assert.deepEqual(icdAncestors('S72.001A'), ['S', 'S72', 'S72.0', 'S72.00', 'S72.001', 'S72.001A']);
  for (const bad of ['', '  ', 'C', 'C3', '34.90', 'C34.90.1', 'C34-90', 'C34.90123', 'Lung cancer', '[C34]']) {
    assert.deepEqual(icdAncestors(bad), [], JSON.stringify(bad));
  }
});

test('fnv1a: reference values of 32-bit FNV-1a', () => {
  assert.equal(fnv1a(''), 0x811c9dc5);
  assert.equal(fnv1a('a'), 0xe40c292c);
  assert.equal(fnv1a('foobar'), 0xbf9cf968);
});

test('nameNgrams: deterministic, normalised, within [1, buckets), at most MAX_NGRAMS', () => {
  const a = nameNgrams('Metformin', 4096);
  assert.deepEqual(nameNgrams('Metformin', 4096), a);
  assert.deepEqual(nameNgrams('  METFORMIN ', 4096), a, 'case and outer whitespace do not matter');
  assert.deepEqual(nameNgrams('insulin  glargine', 4096), nameNgrams('insulin glargine', 4096));
  // "<metformin>" (11 characters): the whole name, 9 trigrams and 8 four-grams (hash collisions aside).
  assert.ok(a.length <= 18 && a.length >= 16, `${a.length}`);
  assert.equal(new Set(a).size, a.length);
  assert.notDeepEqual(nameNgrams('metformin', 4096), nameNgrams('metoprolol', 4096));
  for (const buckets of [2, 7, 64, 4096]) {
    for (const name of ['a', 'metformin', 'pembrolizumab 200 mg iv q3w', 'x'.repeat(300)]) {
      const ids = nameNgrams(name, buckets);
      assert.ok(ids.length >= 1 && ids.length <= MAX_NGRAMS);
      assert.ok(ids.every((id) => Number.isInteger(id) && id >= 1 && id < buckets), `${name} / ${buckets}: ${ids}`);
    }
  }
  assert.equal(nameNgrams('a very long combination regimen name with many distinct n-grams', 4096).length, MAX_NGRAMS);
});

test('IcdVocabulary: id 0 is <unk>, prefixes map to their index', () => {
  const v = IcdVocabulary.fromEntries(['<unk>', 'C', 'C34', 'C34.9']);
  assert.equal(v.size, 4);
  assert.equal(v.id('C34'), 2);
  assert.equal(v.id('C34.90'), undefined);
});

const trial = (over: Partial<Trial>): Trial => ({
  nctid: 'NCT00000001',
  phase: 'phase 2',
  diseases: [],
  icdcodes: [],
  drugs: [],
  smiles: [],
  criteria: '',
  ...over,
});

const ASPIRIN = 'CC(=O)Oc1ccccc1C(=O)O';
const VALID = ['CCO', 'CCN', 'CCC', 'CCCC', 'c1ccccc1', 'CC(C)O', 'OC(=O)C', 'CN(C)C', 'ClCCl', 'C1CCCCC1'];
const featurizer = await MoleculeFeaturizer.create();
const vocab = IcdVocabulary.fromEntries(['<unk>', 'C', 'C34', 'C34.9', 'C34.90', 'E', 'E11', 'E11.9']);
const opts = { moleculeSource: 'top' as const, nameBuckets: 64 };

test('dmFeatures: placebo-like names are dropped unless combined with a drug', () => {
  const f = dmFeatures(
    trial({ drugs: ['Placebo', 'aspirin', 'placebo plus metformin', 'Sham procedure', 'Matching placebo tablets', 'vehicle cream', 'placebo + insulin'] }),
    featurizer,
    vocab,
    opts,
  );
  assert.equal(f.report.placeboDropped, 4);
  assert.deepEqual(f.drugNgrams, ['aspirin', 'placebo plus metformin', 'placebo + insulin'].map((d) => nameNgrams(d, 64)));
});

test('dmFeatures: molecules featurised once per distinct SMILES, invalid ones counted, unknown molecule when none', () => {
  const f = dmFeatures(trial({ smiles: [ASPIRIN, 'not a smiles', ` ${ASPIRIN} `, 'CCO', '', 'C1CC'] }), featurizer, vocab, opts);
  assert.equal(f.nMolecules, 2);
  assert.equal(f.molecules.length, 2 * MOLECULE_INPUT);
  assert.deepEqual(f.report.invalidSmiles, ['not a smiles', 'C1CC']);
  assert.deepEqual(f.report.truncated, []);
  const aspirin = featurizer.featurize(ASPIRIN)!;
  assert.deepEqual([...f.molecules.subarray(0, FP_BITS)], [...aspirin.fingerprint]);
  assert.deepEqual([...f.molecules.subarray(FP_BITS, MOLECULE_INPUT)], [...aspirin.descriptors]);
  assert.ok(f.molecules.subarray(0, FP_BITS).every((v) => v === 0 || v === 1));
  assert.ok(f.molecules.every(Number.isFinite));

  const none = dmFeatures(trial({ smiles: ['???'] }), featurizer, vocab, opts);
  assert.equal(none.nMolecules, 0);
  assert.equal(none.molecules.length, 0);
  assert.deepEqual(none.report.invalidSmiles, ['???']);
});

test('dmFeatures: molecules, drugs and diseases are capped at MAX_* and the cut is reported', () => {
  const f = dmFeatures(
    trial({
      smiles: VALID,
      drugs: Array.from({ length: MAX_DRUGS + 2 }, (_, i) => `drug ${i}`),
      diseases: Array.from({ length: MAX_DISEASES + 1 }, (_, i) => `disease ${i}`),
      icdcodes: Array.from({ length: MAX_DISEASES + 1 }, () => ['C34.90']),
    }),
    featurizer,
    vocab,
    opts,
  );
  assert.equal(f.nMolecules, MAX_MOLECULES);
  assert.equal(f.molecules.length, MAX_MOLECULES * MOLECULE_INPUT);
  assert.equal(f.drugNgrams.length, MAX_DRUGS);
  assert.equal(f.diseaseAncestors.length, MAX_DISEASES);
  assert.deepEqual(f.report.truncated, [`molecules ${VALID.length} > ${MAX_MOLECULES}`, `drugs ${MAX_DRUGS + 2} > ${MAX_DRUGS}`, `diseases ${MAX_DISEASES + 1} > ${MAX_DISEASES}`]);
  // Invalid SMILES do not count as cut molecules, and are all reported even past the cap.
  const g = dmFeatures(trial({ smiles: ['bad1', ...VALID.slice(0, MAX_MOLECULES), 'bad2'] }), featurizer, vocab, opts);
  assert.equal(g.nMolecules, MAX_MOLECULES);
  assert.deepEqual(g.report.truncated, []);
  assert.deepEqual(g.report.invalidSmiles, ['bad1', 'bad2']);
});

test('dmFeatures: diseases become the vocabulary ids of all prefix ancestors; unknown codes reported', () => {
  const f = dmFeatures(
    trial({ diseases: ['lung cancer', 'diabetes', 'mystery', 'no codes'], icdcodes: [['C34.90', 'C34.9'], ['E11.9', 'Z99.1'], ['garbage'], []] }),
    featurizer,
    vocab,
    opts,
  );
  assert.deepEqual(f.diseaseAncestors, [
    [1, 2, 3, 4],
    [5, 6, 7],
  ]);
  assert.deepEqual(f.report.unknownIcdCodes, ['Z99.1', 'garbage']);
});

test("dmFeatures: moleculeSource 'names' looks molecules up by drug name (never for placebo)", () => {
  const asked: string[] = [];
  const lookup = (name: string) => {
    asked.push(name);
    return name === 'aspirin' ? ASPIRIN : undefined;
  };
  const f = dmFeatures(trial({ drugs: ['aspirin', 'placebo', 'unknownumab'], smiles: ['CCO'] }), featurizer, vocab, { ...opts, moleculeSource: 'names', lookupSmiles: lookup });
  assert.deepEqual(asked, ['aspirin', 'unknownumab']);
  assert.equal(f.nMolecules, 1);
  assert.deepEqual([...f.molecules.subarray(0, FP_BITS)], [...featurizer.featurize(ASPIRIN)!.fingerprint]);
  assert.throws(() => dmFeatures(trial({}), featurizer, vocab, { ...opts, moleculeSource: 'names' }), /needs lookupSmiles/);
});
