import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  evaluatePredictions,
  formatReportTable,
  readPredictionsCsv,
  readTruthCsv,
  type PredictionTable,
  type TruthTable,
} from './evaluate.ts';
import { bootstrapMetrics } from './bootstrap.ts';

const dir = mkdtempSync(path.join(os.tmpdir(), 'cladmop-eval-'));
after(() => rmSync(dir, { recursive: true, force: true }));

let fileCount = 0;
function writeCsv(text: string): string {
  const file = path.join(dir, `f${fileCount++}.csv`);
  writeFileSync(file, text);
  return file;
}

test('readTruthCsv reads a TOP-style file: extra columns, quoted multi-line fields, 1-based rows and start lines', () => {
  const file = writeCsv(
    'nctid,status,label,criteria\n' +
      'NCT001,completed,1,"Inclusion:\n - age > 18, ""adult""\n"\n' +
      '\n' +
      'NCT002,terminated,0,short\n' +
      'NCT003,completed,1.0,"a\nb"\n',
  );
  const truth = readTruthCsv(file);
  assert.deepEqual(truth.records, [
    { nctid: 'NCT001', label: 1, row: 1, line: 2 },
    { nctid: 'NCT002', label: 0, row: 2, line: 6 },
    { nctid: 'NCT003', label: 1, row: 3, line: 7 },
  ]);
});

test('readPredictionsCsv: CRLF, BOM, spaces, an extra label column, another probability column', () => {
  const file = writeCsv('\ufeffnctid, probability ,label\r\nNCT001, 0.25 ,1\r\n\r\nNCT002,1e-3,0\r\nNCT003,1,1\r\n');
  const pred = readPredictionsCsv(file);
  assert.deepEqual(pred.records, [
    { nctid: 'NCT001', probability: 0.25, row: 1, line: 2 },
    { nctid: 'NCT002', probability: 0.001, row: 2, line: 4 },
    { nctid: 'NCT003', probability: 1, row: 3, line: 5 },
  ]);
  const hint = writeCsv('nctid,hint_prediction\nNCT001,0.7\n');
  assert.equal(readPredictionsCsv(hint, { probabilityColumn: 'hint_prediction' }).records[0].probability, 0.7);
  assert.throws(() => readPredictionsCsv(hint), /no column "probability" in the header \(columns: nctid, hint_prediction\)/);
});

test('prediction errors name file, row, line and field', () => {
  const cases: [string, RegExp][] = [
    ['nctid,probability\nA,0.1\nB,0.2\nA,0.3\n', /: row 3 \(line 4\), field "nctid": duplicate id A \(first at row 1, line 2\)/],
    ['nctid,probability\nA,"x\ny",\n', /Invalid Record Length|cannot parse as CSV/],
    ['nctid,probability\nA,0.1\nB,NaN\n', /: row 2 \(line 3\), field "probability": "NaN" is not a finite number/],
    ['nctid,probability\nA,inf\n', /: row 1 \(line 2\), field "probability": "inf" is not a finite number/],
    ['nctid,probability\nA,1e400\n', /"1e400" is not a finite number/],
    ['nctid,probability\nA,\n', /: row 1 \(line 2\), field "probability": empty value, expected a number/],
    ['nctid,probability\nA,0x1\n', /field "probability": "0x1" is not a number/],
    ['nctid,probability\nA,0.2\nB,1.5\n', /: row 2 \(line 3\), field "probability": 1\.5 is outside \[0, 1\]/],
    ['nctid,probability\nA,-0.1\n', /field "probability": -0\.1 is outside \[0, 1\]/],
    ['nctid,probability\n,0.5\n', /: row 1 \(line 2\), field "nctid": empty id/],
    ['nctid,probability,probability\nA,0.5,0.4\n', /column "probability" appears 2 times in the header/],
    ['nctid,probability\n', /has a header but no data rows/],
    ['', /the file is empty/],
  ];
  for (const [text, pattern] of cases) {
    const file = writeCsv(text);
    assert.throws(() => readPredictionsCsv(file), (err: Error) => {
      assert.ok(err.message.startsWith(file), `message should start with the file: ${err.message}`);
      assert.match(err.message, pattern);
      return true;
    });
  }
  assert.throws(() => readPredictionsCsv(path.join(dir, 'absent.csv')), /absent\.csv: cannot read the file \(ENOENT\)/);
});

test('truth errors name file, row, line and field', () => {
  const cases: [string, RegExp][] = [
    ['nctid,label\nA,1\nB,2\n', /: row 2 \(line 3\), field "label": "2" is not 0 or 1/],
    ['nctid,label\nA,yes\n', /field "label": "yes" is not 0 or 1/],
    ['nctid,label\nA,0.5\n', /field "label": "0.5" is not 0 or 1/],
    ['nctid,label\nA,\n', /field "label": "" is not 0 or 1/],
    ['nctid,label,criteria\nA,1,"multi\nline"\nA,0,x\n', /: row 2 \(line 4\), field "nctid": duplicate id A \(first at row 1, line 2\)/],
    ['id,label\nA,1\n', /no column "nctid"/],
  ];
  for (const [text, pattern] of cases) {
    const file = writeCsv(text);
    assert.throws(() => readTruthCsv(file), pattern);
  }
});

function tables(
  truthRows: [string, 0 | 1][],
  predRows: [string, number][],
): { truth: TruthTable; pred: PredictionTable } {
  return {
    truth: { path: 'truth.csv', records: truthRows.map(([nctid, label], i) => ({ nctid, label, row: i + 1, line: i + 2 })) },
    pred: { path: 'pred.csv', records: predRows.map(([nctid, probability], i) => ({ nctid, probability, row: i + 1, line: i + 2 })) },
  };
}

test('evaluatePredictions: a missing prediction names the truth row; unknown ids are listed (up to 5)', () => {
  const { truth, pred } = tables(
    [['A', 1], ['B', 0], ['C', 1]],
    [['A', 0.9], ['C', 0.2]],
  );
  assert.throws(
    () => evaluatePredictions(pred, truth),
    new Error('pred.csv: no prediction for nctid B (truth.csv row 2, line 3, field "nctid"); 1 of 3 truth ids have none: B'),
  );
  const extra = tables(
    [['A', 1], ['B', 0]],
    [['A', 0.9], ['B', 0.1], ['X1', 0.5], ['X2', 0.5], ['X3', 0.5], ['X4', 0.5], ['X5', 0.5], ['X6', 0.5], ['X7', 0.5]],
  );
  assert.throws(
    () => evaluatePredictions(extra.pred, extra.truth),
    new Error(
      'pred.csv: row 3 (line 4), field "nctid": prediction for X1, which is not in truth.csv; ' +
        '7 predicted ids are not in the truth file: X1, X2, X3, X4, X5 and 2 more',
    ),
  );
  const disjoint = tables([['A', 1], ['B', 0]], [['Y', 0.9], ['Z', 0.1]]);
  assert.throws(() => evaluatePredictions(disjoint.pred, disjoint.truth), /\nThe two files share no nctid: are they from the same split and phase\?$/);
  const both = tables([['A', 1], ['B', 0]], [['A', 0.9], ['Z', 0.1]]);
  assert.throws(() => evaluatePredictions(both.pred, both.truth), /no prediction for nctid B[^]*\npred\.csv: row 2 \(line 3\), field "nctid": prediction for Z/);
});

test('evaluatePredictions aligns by nctid in truth order, whatever the prediction order', () => {
  const truthRows: [string, 0 | 1][] = Array.from({ length: 60 }, (_, i) => [`NCT${i}`, (i * 7) % 3 === 0 ? 0 : 1]);
  const probs = truthRows.map(([, y], i) => Math.min(1, Math.max(0, 0.3 + 0.4 * y + ((i * 37) % 11) / 25 - 0.2)));
  const inOrder = tables(truthRows, truthRows.map(([id], i) => [id, probs[i]]));
  const shuffled = tables(truthRows, truthRows.map(([id], i) => [id, probs[i]] as [string, number]).reverse());
  const report = evaluatePredictions(inOrder.pred, inOrder.truth, { seed: 3 });
  assert.deepEqual(evaluatePredictions(shuffled.pred, shuffled.truth, { seed: 3 }), report);
  const labels = truthRows.map(([, y]) => y);
  assert.deepEqual(report.metrics, bootstrapMetrics(labels, probs, { seed: 3 }));
  assert.equal(report.n, 60);
  assert.equal(report.positives, 40);
  assert.deepEqual(report.bootstrap, { resamples: 10, fraction: 0.8, sampleSize: 48, seed: 3, eceBins: 10 });
  assert.equal(report.allPositive.f1, 80 / 100);
});

test('formatReportTable shows every metric, the all-positive baseline and the reading guide', () => {
  const { truth, pred } = tables(
    [['A', 1], ['B', 0], ['C', 1], ['D', 1], ['E', 0]],
    [['A', 0.8], ['B', 0.3], ['C', 0.6], ['D', 0.4], ['E', 0.55]],
  );
  const report = evaluatePredictions(pred, truth, { resamples: 40, seed: 1 });
  const table = formatReportTable(report);
  const f1Line = table.split('\n').find((l) => l.startsWith('F1 '));
  const f1 = report.metrics.f1;
  assert.equal(
    f1Line,
    `F1             ${f1.point?.toFixed(4)}  ${f1.mean?.toFixed(4)} ± ${f1.std?.toFixed(4)}  ` +
      `[${f1.ci95?.[0].toFixed(4)}, ${f1.ci95?.[1].toFixed(4)}]  0.7500`,
  );
  for (const label of ['PR-AUC', 'ROC-AUC', 'precision', 'recall', 'accuracy', 'Brier', 'log-loss', 'ECE (10 bins)']) {
    assert.match(table, new RegExp(`^${label.replace(/[()]/g, '\\$&')} `, 'm'));
  }
  assert.match(table, /^ROC-AUC .* 0\.5000$/m);
  assert.match(table, /Trials: 5 \(3 successes, prevalence 0\.6000\)/);
  assert.match(table, /40 resamples of 4 trials \(80%, with replacement\), seed 1/);
  // With 5 rows some resamples draw one class; the table says how many were skipped.
  assert.ok(report.metrics.rocAuc.undefinedResamples > 0);
  assert.match(table, new RegExp(`ROC-AUC: undefined in ${report.metrics.rocAuc.undefinedResamples} of 40 resamples`));
  assert.match(table, /PR-AUC and ROC-AUC decide; F1 at 0\.5 mostly measures prevalence/);
});

// The real benchmark files, in the team's shared folder beside the repository (as the metric fixture).
const topDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../shared/data/top');

test('TOP test splits with the authors\' HINT predictions reproduce the ROC-AUC their README states', () => {
  for (const [phase, rows, positives, published] of [['I', 627, 347, 0.564], ['III', 1146, 859, 0.721]] as const) {
    const truth = readTruthCsv(path.join(topDir, `phase_${phase}_test.csv`));
    const pred = readPredictionsCsv(path.join(topDir, `aux/hint_reference_predictions/phase_${phase}_test_hint_pred.csv`), {
      probabilityColumn: 'hint_prediction',
    });
    const report = evaluatePredictions(pred, truth);
    assert.equal(report.n, rows);
    assert.equal(report.positives, positives);
    assert.ok(Math.abs((report.metrics.rocAuc.point ?? 0) - published) < 0.0005, `phase ${phase}: ${report.metrics.rocAuc.point}`);
  }
});
