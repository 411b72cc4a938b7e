import { test } from 'node:test';
import assert from 'node:assert/strict';
import { allPositiveReference } from './all-positive-reference.ts';

test('all-positive reference: closed forms 2P/(2P+N), prevalence, 0.5', () => {
  assert.deepEqual(allPositiveReference([1, 1, 1, 0, 0]), {
    n: 5,
    positives: 3,
    prevalence: 0.6,
    f1: 0.75,
    precision: 0.6,
    recall: 1,
    accuracy: 0.6,
    prAuc: 0.6,
    rocAuc: 0.5,
  });
});

test('all-positive reference at the TOP phase I test prevalence (347 of 627) already scores F1 0.7125', () => {
  // Why it must be printed beside every F1: the published phase I F1 values (.713) are at this level.
  const labels = [...new Array(347).fill(1), ...new Array(280).fill(0)];
  const ref = allPositiveReference(labels);
  assert.equal(ref.f1, 694 / 974);
  assert.equal(ref.prAuc, 347 / 627);
  assert.equal(ref.rocAuc, 0.5);
});

test('all-positive reference with one class: undefined ranking metrics are null', () => {
  const negativesOnly = allPositiveReference([0, 0]);
  assert.equal(negativesOnly.f1, 0);
  assert.equal(negativesOnly.recall, 0);
  assert.equal(negativesOnly.prAuc, null);
  assert.equal(negativesOnly.rocAuc, null);
  const positivesOnly = allPositiveReference([1, 1]);
  assert.equal(positivesOnly.f1, 1);
  assert.equal(positivesOnly.prAuc, 1);
  assert.equal(positivesOnly.rocAuc, null);
  assert.throws(() => allPositiveReference([1, 3]), /labels\[1\] is 3/);
});
