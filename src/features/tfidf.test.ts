import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TfidfVectorizer, TrialTfidf, compareTerms, trialTokens, wordNgrams, wordTokens } from './tfidf.ts';
import { csrToDense, validateCsr } from './sparse.ts';
import type { Trial } from '../data/trial.ts';

const close = (a: number, b: number, tol = 1e-12) => assert.ok(Math.abs(a - b) <= tol, `${a} != ${b}`);

// Three documents whose sklearn TF-IDF was worked out by hand (n = 3; df: bird 1, cat 2, dog 1, fish 1):
//   idf(cat) = ln(4/3) + 1 = 1.2876820724517808, idf(other) = ln(4/2) + 1 = 1.6931471805599454
//   doc 0 (cat, dog x2): raw (1.28768, 3.38629) / 3.62285 -> (0.35543246785041743, 0.9347019636214327)
//   doc 1 (cat, fish):   (1.28768, 1.69315) / 2.12722 -> (0.6053485081062916, 0.7959605415681652)
//   doc 2 (bird):        (1)
const DOCS = [['cat', 'dog', 'dog'], ['cat', 'fish'], ['bird']];

test('wordTokens follows sklearn token_pattern (lower case, runs of >= 2 word characters)', () => {
  assert.deepEqual(wordTokens('Age >= 18 years; a B-cell x_y ECOG 0-2'), ['age', '18', 'years', 'cell', 'x_y', 'ecog']);
  assert.deepEqual(wordTokens('Café über-Dosis'), ['café', 'über', 'dosis']);
});

test('wordNgrams emits unigrams then bigrams joined by a space', () => {
  assert.deepEqual(wordNgrams(['a', 'b', 'c'], 1, 2), ['a', 'b', 'c', 'a b', 'b c']);
  assert.deepEqual(wordNgrams(['a'], 2, 2), []);
  assert.throws(() => wordNgrams(['a'], 2, 1));
});

test('TF-IDF matches the hand-computed sklearn example (smooth idf, raw tf, L2 rows)', () => {
  const v = new TfidfVectorizer({ minDf: 1, maxFeatures: null, sublinearTf: false });
  const x = v.fitTransform(DOCS);
  validateCsr(x);
  assert.deepEqual(v.vocabulary, ['bird', 'cat', 'dog', 'fish']);
  close(v.idf[0], 1.6931471805599454);
  close(v.idf[1], 1.2876820724517808);
  const d = csrToDense(x);
  close(d[0][1], 0.35543246785041743);
  close(d[0][2], 0.9347019636214327);
  assert.equal(d[0][0], 0);
  assert.equal(d[0][3], 0);
  close(d[1][1], 0.6053485081062916);
  close(d[1][3], 0.7959605415681652);
  assert.deepEqual(d[2], [1, 0, 0, 0]);
});

test('sublinear tf uses 1 + ln(tf)', () => {
  const v = new TfidfVectorizer({ minDf: 1, maxFeatures: null, sublinearTf: true });
  const d = csrToDense(v.fitTransform(DOCS));
  close(d[0][1], 0.4097416099937816);
  close(d[0][2], 0.9122016295971542);
});

test('unsmoothed idf is ln(n/df) + 1', () => {
  const v = new TfidfVectorizer({ minDf: 1, maxFeatures: null, smoothIdf: false });
  v.fit(DOCS);
  close(v.idf[1], Math.log(3 / 2) + 1);
  close(v.idf[0], Math.log(3) + 1);
});

test('min_df, max_df and max_features prune the vocabulary like sklearn', () => {
  assert.deepEqual(new TfidfVectorizer({ minDf: 2, maxFeatures: null }).fit(DOCS).vocabulary, ['cat']);
  // max_features keeps the largest corpus counts: cat 2, dog 2 (tie broken by term), then bird/fish 1.
  assert.deepEqual(new TfidfVectorizer({ minDf: 1, maxFeatures: 2 }).fit(DOCS).vocabulary, ['cat', 'dog']);
  // max_df = 0.5 of 3 documents drops cat (df 2 > 1.5).
  assert.deepEqual(new TfidfVectorizer({ minDf: 1, maxDfRatio: 0.5, maxFeatures: null }).fit(DOCS).vocabulary, ['bird', 'dog', 'fish']);
  assert.throws(() => new TfidfVectorizer({ minDf: 5 }).fit(DOCS), /no term left/);
});

test('transform uses only fitted statistics: unseen terms are ignored and idf does not move', () => {
  const v = new TfidfVectorizer({ minDf: 1, maxFeatures: null, sublinearTf: false }).fit(DOCS);
  const idfBefore = [...v.idf];
  const x = v.transform([['zebra', 'cat'], ['zebra']]);
  assert.deepEqual([...v.idf], idfBefore);
  const d = csrToDense(x);
  assert.deepEqual(d[0], [0, 1, 0, 0]);
  assert.deepEqual(d[1], [0, 0, 0, 0]);
});

test('state round-trips through JSON', () => {
  const v = new TfidfVectorizer({ minDf: 1, maxFeatures: null }).fit(DOCS);
  const w = TfidfVectorizer.fromState(JSON.parse(JSON.stringify(v.toState())));
  assert.deepEqual(csrToDense(w.transform(DOCS)), csrToDense(v.transform(DOCS)));
});

test('compareTerms orders by code point', () => {
  assert.ok(compareTerms('a', 'b') < 0);
  assert.ok(compareTerms('ab', 'a') > 0);
  // U+FF61 (BMP) sorts before U+1F600 by code point, although its UTF-16 unit is larger than the surrogate's.
  assert.ok(compareTerms('\uff61', '\u{1f600}') < 0);
});

const TRIAL: Trial = {
  nctid: 'NCT00000001',
  phase: 'phase 1',
  diseases: ['Breast Cancer'],
  icdcodes: [['C50.911', 'D02']],
  drugs: ['Imatinib  Mesylate', 'Placebo'],
  smiles: [],
  criteria: 'Inclusion Criteria:\n\n  -  Age >= 18 years\n\nExclusion Criteria:\n\n  -  Prior chemotherapy\n',
};

test('trialTokens: criteria n-grams within statements, drug words and names, ICD codes with categories', () => {
  const tokens = trialTokens(TRIAL);
  const set = new Set(tokens);
  for (const t of ['age', '18', 'years', 'age 18', '18 years', 'prior', 'chemotherapy', 'prior chemotherapy']) assert.ok(set.has(t), t);
  // No bigram across the inclusion/exclusion boundary, and no header words.
  assert.ok(!set.has('years prior'));
  assert.ok(!set.has('inclusion'));
  for (const t of ['drug:imatinib', 'drug:mesylate', 'drug:imatinib mesylate', 'drug:placebo']) assert.ok(set.has(t), t);
  // A one-word name is not counted twice.
  assert.equal(tokens.filter((t) => t === 'drug:placebo').length, 1);
  for (const t of ['icd:c50.911', 'icd:c50', 'icd:d02']) assert.ok(set.has(t), t);
  assert.equal(tokens.filter((t) => t === 'icd:d02').length, 1);
  assert.ok(!tokens.some((t) => t.startsWith('dx:')));
  assert.ok(trialTokens(TRIAL, { diseaseWords: true }).includes('dx:breast'));
  assert.ok(!trialTokens(TRIAL, { criteriaMaxN: 1 }).includes('age 18'));
  assert.ok(!trialTokens(TRIAL, { drugTokens: 'names' }).includes('drug:imatinib'));
  assert.ok(!trialTokens(TRIAL, { drugTokens: 'words' }).includes('drug:imatinib mesylate'));
});

test('TrialTfidf produces unit-norm rows over trials', () => {
  const other: Trial = { ...TRIAL, nctid: 'NCT00000002', drugs: ['aspirin'], icdcodes: [['I21.9']], criteria: '- Age >= 65 years' };
  const f = new TrialTfidf({ tfidf: { minDf: 1 } });
  const x = f.fitTransform([TRIAL, other]);
  for (const row of csrToDense(x)) close(Math.hypot(...row), 1, 1e-12);
  assert.ok(f.vectorizer.vocabulary.includes('drug:aspirin'));
});
