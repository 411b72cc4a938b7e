import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  accuracyScore,
  averagePrecision,
  brierScore,
  confusionAtThreshold,
  expectedCalibrationError,
  f1Score,
  logLoss,
  precisionScore,
  recallScore,
  rocAuc,
  validateBinaryInputs,
} from './index.ts';

// The reference values (scikit-learn 1.2.1; provenance in test/fixtures/metrics/README.md), copied from the team's
// shared folder so the metric tests run without it.
const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const fixturePath = path.resolve(repoRoot, 'test/fixtures/metrics/metrics_reference.json');

interface ReferenceCase {
  name: string;
  labels: number[];
  scores: number[];
  expected: {
    roc_auc: number | null;
    average_precision: number | null;
    'f1_at_0.5': number;
    'accuracy_at_0.5': number;
    brier: number;
    log_loss: number;
    n: number;
    positives: number;
    'tp_fp_tn_fn_at_0.5': [number, number, number, number];
  };
}
interface ReferenceFile {
  conventions: { threshold: number; log_loss_clip: number; prediction_rule: string };
  cases: ReferenceCase[];
}

const reference = JSON.parse(readFileSync(fixturePath, 'utf8')) as ReferenceFile;
const TOLERANCE = 1e-12;

function assertClose(actual: number, expected: number, what: string, tolerance = TOLERANCE): void {
  assert.ok(
    Math.abs(actual - expected) <= tolerance,
    `${what}: got ${actual}, expected ${expected} (difference ${actual - expected})`,
  );
}

test('the reference fixture has the 14 cases and the conventions its README describes', () => {
  // A truncated or regenerated fixture should fail here rather than silently test less.
  assert.equal(reference.cases.length, 14);
  assert.equal(reference.conventions.threshold, 0.5);
  assert.equal(reference.conventions.log_loss_clip, 1e-15);
  assert.match(reference.conventions.prediction_rule, />= 0\.5/);
});

for (const c of reference.cases) {
  test(`scikit-learn reference case ${c.name}`, () => {
    const { labels, scores, expected } = c;
    assert.equal(labels.length, expected.n);
    assert.equal(validateBinaryInputs(labels, scores, c.name), expected.positives);
    const negatives = expected.n - expected.positives;

    if (expected.roc_auc === null) {
      assert.throws(
        () => rocAuc(labels, scores),
        new Error(
          `ROC-AUC is undefined: only one class (${expected.positives} positives, ${negatives} negatives)`,
        ),
      );
    } else {
      assertClose(rocAuc(labels, scores), expected.roc_auc, 'ROC-AUC');
    }
    if (expected.average_precision === null) {
      assert.throws(() => averagePrecision(labels, scores), /Average precision is undefined: no positive labels/);
    } else {
      assertClose(averagePrecision(labels, scores), expected.average_precision, 'average precision');
    }

    const [tp, fp, tn, fn] = expected['tp_fp_tn_fn_at_0.5'];
    assert.deepEqual(confusionAtThreshold(labels, scores), { tp, fp, tn, fn });
    assertClose(f1Score(labels, scores), expected['f1_at_0.5'], 'F1');
    assertClose(accuracyScore(labels, scores), expected['accuracy_at_0.5'], 'accuracy');
    // The fixture has no precision/recall; sklearn's zero_division=0 values follow from its counts.
    assertClose(precisionScore(labels, scores), tp + fp === 0 ? 0 : tp / (tp + fp), 'precision');
    assertClose(recallScore(labels, scores), tp + fn === 0 ? 0 : tp / (tp + fn), 'recall');
    assertClose(brierScore(labels, scores), expected.brier, 'Brier');
    assertClose(logLoss(labels, scores), expected.log_loss, 'log-loss');
  });
}

test('ROC-AUC and average precision of the scikit-learn documentation example', () => {
  const labels = [0, 0, 1, 1];
  const scores = [0.1, 0.4, 0.35, 0.8];
  assert.equal(rocAuc(labels, scores), 0.75);
  // The trapezoid area under this PR curve would be 0.7916…; AP is the step-wise sum 0.8333….
  assertClose(averagePrecision(labels, scores), 0.8333333333333333, 'AP');
});

test('ranking metrics accept any finite score, e.g. logits, and only depend on the order', () => {
  const labels = [0, 1, 0, 1, 1, 0];
  const probabilities = [0.2, 0.7, 0.55, 0.9, 0.4, 0.1];
  const logits = probabilities.map((p) => Math.log(p / (1 - p)));
  assertClose(rocAuc(labels, logits), rocAuc(labels, probabilities), 'ROC-AUC');
  assertClose(averagePrecision(labels, logits), averagePrecision(labels, probabilities), 'AP');
  // 8 of the 9 (positive, negative) pairs are ordered correctly: 0.4 < 0.55 is the exception.
  assertClose(rocAuc(labels, probabilities), 8 / 9, 'ROC-AUC by hand');
});

test('threshold metrics by hand, including a score exactly at the threshold', () => {
  const labels = [1, 1, 0, 0, 1];
  const scores = [0.9, 0.4, 0.6, 0.2, 0.5];
  // predictions 1,0,1,0,1 -> tp 2, fp 1, tn 1, fn 1
  assert.deepEqual(confusionAtThreshold(labels, scores), { tp: 2, fp: 1, tn: 1, fn: 1 });
  assert.equal(precisionScore(labels, scores), 2 / 3);
  assert.equal(recallScore(labels, scores), 2 / 3);
  assert.equal(f1Score(labels, scores), 4 / 6);
  assert.equal(accuracyScore(labels, scores), 3 / 5);
  // Above every score nothing is predicted positive: precision and F1 are 0 (zero_division=0), not NaN.
  assert.deepEqual(confusionAtThreshold(labels, scores, 0.95), { tp: 0, fp: 0, tn: 2, fn: 3 });
  assert.equal(precisionScore(labels, scores, 0.95), 0);
  assert.equal(recallScore(labels, scores, 0.95), 0);
  assert.equal(f1Score(labels, scores, 0.95), 0);
  assert.equal(accuracyScore(labels, scores, 0.95), 2 / 5);
  // No positive labels and none predicted: recall and F1 are 0/0 -> 0.
  assert.equal(recallScore([0, 0], [0.1, 0.2]), 0);
  assert.equal(f1Score([0, 0], [0.1, 0.2]), 0);
});

test('log-loss clips probabilities of exactly 0 and 1 at 1e-15', () => {
  assertClose(logLoss([1], [0]), -Math.log(1e-15), 'label 1, score 0');
  assertClose(logLoss([0], [1]), -Math.log(1 - (1 - 1e-15)), 'label 0, score 1');
  assert.equal(logLoss([1, 0], [1, 0]), -Math.log(1 - 1e-15));
  assertClose(logLoss([1, 0], [0.5, 0.5]), Math.LN2, 'coin flip');
  assert.ok(Number.isFinite(logLoss([1], [0], 0)) === false, 'eps = 0 gives the unclipped, infinite loss');
});

test('expected calibration error by hand', () => {
  const labels = [0, 1, 1, 0];
  const scores = [0.05, 0.15, 0.95, 1.0];
  // bin 0: |0 - 0.05|, bin 1: |1 - 0.15|, bin 9 (0.95 and 1.0): |1 - 1.95|; weighted by n_b/n = 1/4 each row
  assertClose(expectedCalibrationError(labels, scores), (0.05 + 0.85 + 0.95) / 4, 'ECE, 10 bins');
  assertClose(expectedCalibrationError(labels, scores, 1), Math.abs(2 - 2.15) / 4, 'ECE, 1 bin');
  assert.equal(expectedCalibrationError([0, 1, 0, 1], [0.5, 0.5, 0.5, 0.5]), 0);
  // A score written 0.3 is in bin [0.3, 0.4) with its 0.35 neighbour: |1 - 0.65| / 2.
  assertClose(expectedCalibrationError([1, 0], [0.3, 0.35]), 0.35 / 2, 'ECE at a bin edge');
});

test('input errors name what is wrong', () => {
  assert.throws(() => rocAuc([0, 1], [0.5]), new Error('ROC-AUC: labels and scores differ in length (2 labels, 1 scores)'));
  assert.throws(() => f1Score([], []), /no samples/);
  assert.throws(() => averagePrecision([0, 2, 1], [0.1, 0.2, 0.3]), new Error('Average precision: labels[1] is 2, expected 0 or 1'));
  assert.throws(() => rocAuc([0, 1], [0.1, Number.NaN]), new Error('ROC-AUC: scores[1] is NaN, expected a finite number'));
  assert.throws(() => accuracyScore([0, 1], [0.1, Infinity]), /scores\[1\] is Infinity, expected a finite number/);
  assert.throws(() => rocAuc([0, 1], [0.1, '0.3' as unknown as number]), /scores\[1\] is 0\.3, expected a finite number/);
  assert.throws(() => brierScore([0, 1], [0.1, 1.5]), new Error('Brier score: scores[1] is 1.5, expected a probability in [0, 1]'));
  assert.throws(() => logLoss([0, 1], [-0.1, 0.5]), /Log-loss: scores\[0\] is -0\.1, expected a probability/);
  assert.throws(() => expectedCalibrationError([0, 1], [0.2, 0.5], 0), /bins is 0, expected a positive integer/);
  assert.throws(() => confusionAtThreshold([0, 1], [0.2, 0.5], Number.NaN), /threshold is NaN/);
  assert.throws(() => rocAuc([1, 1, 1], [0.2, 0.5, 0.9]), new Error('ROC-AUC is undefined: only one class (3 positives, 0 negatives)'));
  assert.throws(() => averagePrecision([0, 0], [0.2, 0.5]), new Error('Average precision is undefined: no positive labels (0 positives, 2 negatives)'));
});
