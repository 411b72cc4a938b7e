import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadSplit, resolveDataDir } from '../data/splits.ts';
import { createRng } from '../eval/rng.ts';
import { buildReport, type BuiltReport } from './build-report.ts';

const root = mkdtempSync(path.join(os.tmpdir(), 'cladmop-report-'));
after(() => rmSync(root, { recursive: true, force: true }));

const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

interface SyntheticRun {
  dir: string;
  /** Optional files to write besides the two required ones. */
  valid?: boolean;
  trainingLog?: boolean;
  comparison?: boolean;
  partialTest?: boolean;
}

/**
 * A run directory over the first 160 trials of the real phase I test split (so the group tables find their
 * ICD codes), with the split's labels and probabilities that rank successes somewhat higher.
 */
// Read once: parsing the split (criteria text and all) is the slow part of writing a run.
const splitRows = loadSplit('I', 'test', resolveDataDir()).rows.slice(0, 160);

function writeRun(options: SyntheticRun): void {
  const rows = splitRows;
  const rng = createRng(99);
  const line = (id: string, label: number) => `${id},${Math.min(1, Math.max(0, 0.4 + 0.2 * label + 0.5 * (rng() - 0.5))).toFixed(4)},${label}`;
  const csv = (entries: [string, number][]) => `nctid,probability,label\n${entries.map(([id, y]) => line(id, y)).join('\n')}\n`;
  writeFileSync(path.join(options.dir, 'predictions_test.csv'), csv(rows.map((r) => [r.trial.nctid, r.label])));
  const metrics: Record<string, unknown> = {
    phase: 'I',
    model: 'synthetic',
    seed: 5,
    splits: {
      train: { partial: false, description: 'phase I train: official' },
      test: { partial: options.partialTest === true, description: 'phase I test: first 160 rows of the official file' },
    },
  };
  if (options.comparison) {
    metrics.comparison = [
      { method: 'CLaDMoP (paper)', f1: 0.7, prAuc: { mean: 0.68, std: 0.02 }, rocAuc: 0.61, source: 'Table 2 of the paper' },
      { method: 'HINT (paper)', f1: 0.598, prAuc: 0.665, rocAuc: null, source: 'HINT paper' },
    ];
  }
  writeFileSync(path.join(options.dir, 'metrics.json'), JSON.stringify(metrics));
  if (options.valid) {
    const valid = Array.from({ length: 40 }, (_, i): [string, number] => [`NCTV${String(i).padStart(7, '0')}`, i % 3 === 0 ? 0 : 1]);
    writeFileSync(path.join(options.dir, 'predictions_valid.csv'), csv(valid));
  }
  if (options.trainingLog) {
    const epochs = Array.from({ length: 6 }, (_, i) => ({ epoch: i + 1, trainLoss: 0.7 - 0.05 * i, validPrAuc: 0.6 + 0.02 * i }));
    writeFileSync(path.join(options.dir, 'training_log.json'), JSON.stringify({ curves: { finetune: epochs } }));
  }
}

function assertValidPng(bytes: Uint8Array, what: string): void {
  assert.deepEqual([...bytes.subarray(0, 8)], PNG_SIGNATURE, `${what}: PNG signature`);
  assert.ok(bytes.length > 10_000, `${what}: only ${bytes.length} bytes`);
  // IHDR width (bytes 16-19, big-endian): the renderer scales every figure to 800 px.
  assert.equal(Buffer.from(bytes).readUInt32BE(16), 800, `${what}: width`);
}

let full: BuiltReport;
let bare: BuiltReport;
const fullDir = path.join(root, 'full');
const bareDir = path.join(root, 'bare');

before(async () => {
  mkdirSync(fullDir);
  mkdirSync(bareDir);
  writeRun({ dir: fullDir, valid: true, trainingLog: true, comparison: true, partialTest: true });
  writeRun({ dir: bareDir });
  // Few curve resamples: the test checks plumbing, not band precision, and must stay fast.
  full = await buildReport({ runDir: fullDir, curveResamples: 30 });
  bare = await buildReport({ runDir: bareDir, curveResamples: 30 });
});

test('the HTML is a single self-contained file with every figure inlined', () => {
  const html = readFileSync(full.htmlPath, 'utf8');
  assert.doesNotMatch(html, /https?:\/\//, 'no external URL of any kind');
  assert.doesNotMatch(html, /<script|<link|@import|url\(/i, 'no scripts, stylesheets or CSS fetches');
  const sources = [...html.matchAll(/<img src="([^"]+)"/g)].map((m) => m[1]);
  assert.equal(sources.length, 4, 'ROC, PR, calibration, training');
  for (const src of sources) {
    assert.ok(src.startsWith('data:image/png;base64,'));
    assertValidPng(Buffer.from(src.slice('data:image/png;base64,'.length), 'base64'), 'inlined figure');
  }
  // The inlined ROC image is the PNG written beside report.md.
  const roc = readFileSync(path.join(fullDir, 'report', 'roc.png'));
  assert.ok(sources.includes(`data:image/png;base64,${roc.toString('base64')}`));
});

test('PNG files exist, are valid, and are the ones report.md links', () => {
  const md = readFileSync(full.markdownPath, 'utf8');
  const links = [...md.matchAll(/!\[[^\]]*\]\(([^)]+)\)/g)].map((m) => m[1]);
  assert.deepEqual(links.sort(), ['report/calibration.png', 'report/pr.png', 'report/roc.png', 'report/training-finetune.png']);
  for (const link of links) assertValidPng(readFileSync(path.join(fullDir, link)), link);
  assert.deepEqual(full.imagePaths.map((p) => path.relative(fullDir, p)).sort(), links);
  // Written atomically: no temporary files left behind.
  const files = [...readdirSync(fullDir), ...readdirSync(path.join(fullDir, 'report'))];
  assert.deepEqual(files.filter((f) => f.includes('.tmp-')), []);
});

test('all sections are present when the optional files are', () => {
  const md = readFileSync(full.markdownPath, 'utf8');
  const html = readFileSync(full.htmlPath, 'utf8');
  for (const text of ['PARTIAL TEST SPLIT', 'PR-AUC and ROC-AUC decide', 'CLaDMoP (paper)', 'HINT (paper)', 'all-positive reference', 'chosen on valid (max F1', 'By ICD-10 chapter', 'Training curves', 'Calibration', 'Decision thresholds']) {
    assert.ok(md.includes(text), `report.md lacks "${text}"`);
    assert.ok(html.includes(text.replace(/&/g, '&amp;')), `report.html lacks "${text}"`);
  }
  // The warning block comes before the first section, where it cannot be missed.
  assert.ok(html.indexOf('PARTIAL TEST SPLIT') < html.indexOf('<h2>Summary</h2>'));
  // Published cells: a number, a mean ± std, and a missing value.
  assert.match(md, /\| CLaDMoP \(paper\) \| 0\.700 \| \*\*0\.680 ± 0\.020\*\* \| \*\*0\.610\*\* \|/);
  assert.match(md, /\| HINT \(paper\) \| 0\.598 \| \*\*0\.665\*\* \| \*\*—\*\* \|/);
  // Groups: 160 real trials; neoplasms are the largest phase I group.
  const g = full.model.groups!;
  assert.equal(g.matched, 160);
  assert.equal(g.chapters.rows[0].key, 'II');
  assert.ok(g.chapters.rows.every((r) => r.n >= 20));
  assert.equal(g.withoutPrediction.length, 627 - 160);
  assert.ok(full.model.warnings.some((w) => w.includes('cover 160 of 627')));
});

test('optional sections are omitted when their files are absent; the reference is always there', () => {
  const md = readFileSync(bare.markdownPath, 'utf8');
  assert.ok(!md.includes('Training curves'));
  assert.ok(!md.includes('chosen on valid (max F1'));
  assert.ok(!md.includes('PARTIAL'));
  assert.ok(md.includes('all-positive reference'));
  assert.ok(md.includes('no comparison section'));
  assert.equal(bare.imagePaths.length, 3);
  assert.deepEqual(bare.model.comparison.map((c) => c.kind), ['run', 'reference']);
  // No bootstrap settings in metrics.json: the protocol's 10 × 80%, seed 2023; the bands use the run's seed.
  assert.deepEqual(bare.model.summary.bootstrap, { resamples: 10, fraction: 0.8, seed: 2023 });
  assert.equal(bare.model.curves!.bands.seed, 5);
});

test('metrics.json values that disagree with the predictions file are flagged', async () => {
  const dir = path.join(root, 'mismatch');
  mkdirSync(dir);
  writeRun({ dir });
  const metrics = JSON.parse(readFileSync(path.join(dir, 'metrics.json'), 'utf8'));
  metrics.test = { point: { prAuc: 0.123, rocAuc: bare.model.summary.metrics.rocAuc.point } };
  writeFileSync(path.join(dir, 'metrics.json'), JSON.stringify(metrics));
  const built = await buildReport({ runDir: dir, curveResamples: 10 });
  const warning = built.model.warnings.find((w) => w.includes('differ from those recomputed'));
  assert.ok(warning?.includes('prAuc') && !warning.includes('rocAuc'), warning);
});

test('a missing data directory omits the group tables with a warning, not an error', async () => {
  const built = await buildReport({ runDir: bareDir, dataDir: path.join(root, 'no-such-data'), curveResamples: 10 });
  assert.equal(built.model.groups, null);
  assert.ok(built.model.warnings.some((w) => w.startsWith('Per-disease-group tables omitted')));
  assert.ok(existsSync(built.htmlPath));
});
