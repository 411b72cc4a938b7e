import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parse } from 'csv-parse/sync';
import {
  allTestIds,
  DataDirError,
  describeSplit,
  loadSplit,
  PHASES,
  readManifest,
  resolveDataDir,
  splitSpec,
  SPLITS,
  type LoadedSplit,
  type SplitName,
} from './splits.ts';
import { readTextFile } from './top-csv.ts';
import type { BenchmarkPhase } from './trial.ts';

const DATA = resolveDataDir();

// Loaded once: every test below looks at the same nine splits.
const loaded = new Map<string, LoadedSplit>();
for (const phase of PHASES) for (const split of SPLITS) loaded.set(`${phase}/${split}`, loadSplit(phase, split, DATA));
const get = (phase: BenchmarkPhase, split: SplitName) => loaded.get(`${phase}/${split}`)!;

const phaseIITestLabels = parse(readTextFile(path.join(DATA, 'reconstructed/phase_II_test_labels.csv')), {
  columns: true,
  skip_empty_lines: true,
}) as { nctid: string; label: string }[];

test('rows and positives per phase and split', () => {
  // [rows, positives]. Official files: the published counts. Partial splits: the reconstructed rows with features
  // (exact rows from other splits + approximate 2023 re-run rows), per the data README (412+407, 262+673, 19+334).
  const expected: Record<string, [number, number]> = {
    'I/train': [1044, 592],
    'I/valid': [117, 67],
    'I/test': [627, 347],
    'II/train': [819, 334],
    'II/valid': [446, 208],
    'II/test': [935, 491],
    'III/train': [353, 263],
    'III/valid': [344, 229],
    'III/test': [1146, 859],
  };
  for (const [key, [rows, positives]] of Object.entries(expected)) {
    const s = loaded.get(key)!;
    assert.deepEqual(s.errors, [], key);
    assert.equal(s.rows.length, rows, `${key} rows`);
    assert.equal(s.positives, positives, `${key} positives`);
    assert.equal(s.rows.reduce((n, r) => n + r.label, 0), s.positives, `${key} positives field`);
    assert.equal(new Set(s.rows.map((r) => r.trial.nctid)).size, s.rows.length, `${key} ids unique`);
  }
});

test('complete and partial splits; official row counts equal MANIFEST.json', () => {
  const manifest = readManifest(DATA);
  for (const phase of PHASES) {
    for (const split of SPLITS) {
      const s = get(phase, split);
      const partial = (phase === 'II' && split !== 'valid') || (phase === 'III' && split === 'train');
      assert.equal(s.partial, partial, `phase ${phase} ${split} partial`);
      assert.equal(s.officialRows, manifest.official_counts[`phase_${phase}_${split}`][0]);
      if (partial) {
        assert.ok(s.rows.length < s.officialRows);
        assert.deepEqual(
          s.sources.map((x) => x.kind),
          ['exact', 'approx'],
        );
        assert.match(describeSplit(s), /\(\d+ of \d+ official rows\) \[partial\] <- PARTIAL: official phase_/);
      } else {
        // A complete split is the whole official file, byte-identical to TOP.
        assert.equal(s.rows.length, s.officialRows);
        assert.deepEqual(s.sources, [{ file: `phase_${phase}_${split}.csv`, labelColumn: 'label', kind: 'official' }]);
        assert.equal(describeSplit(s), `phase ${phase} ${split}: ${s.rows.length} rows, ${s.positives} positive <- official phase_${phase}_${split}.csv`);
      }
    }
  }
  // The approx files are read with TOP's label (label_top), not the 2023 re-run's.
  assert.equal(splitSpec('II', 'test').sources[1].labelColumn, 'label_top');
});

test('no nctid is shared between train/valid and test of a phase, nor with any test id', () => {
  const testIds = allTestIds(DATA);
  for (const phase of PHASES) {
    const phaseTest = new Set(get(phase, 'test').rows.map((r) => r.trial.nctid));
    for (const split of ['train', 'valid'] as const) {
      const shared = get(phase, split).rows.filter((r) => phaseTest.has(r.trial.nctid)).map((r) => r.trial.nctid);
      assert.deepEqual(shared, [], `phase ${phase} ${split} vs test`);
      // Across phases too: a phase 1/phase 2 trial in phase I train must not be a phase II test trial.
      const leaked = get(phase, split).rows.filter((r) => testIds.has(r.trial.nctid)).map((r) => r.trial.nctid);
      assert.deepEqual(leaked, [], `phase ${phase} ${split} vs all test ids`);
    }
    const train = new Set(get(phase, 'train').rows.map((r) => r.trial.nctid));
    assert.deepEqual(get(phase, 'valid').rows.filter((r) => train.has(r.trial.nctid)).map((r) => r.trial.nctid), []);
  }
});

test('allTestIds holds every test id, including the 1654 phase II test ids without features', () => {
  const ids = allTestIds(DATA);
  assert.equal(phaseIITestLabels.length, 1654);
  assert.equal(new Set(phaseIITestLabels.map((r) => r.nctid)).size, 1654);
  for (const r of phaseIITestLabels) assert.ok(ids.has(r.nctid), r.nctid);
  for (const phase of PHASES) for (const r of get(phase, 'test').rows) assert.ok(ids.has(r.trial.nctid));
  // 627 + 1146 official test ids, + 1654 phase II test ids of which 262 are also in phase I/III test.
  assert.equal(ids.size, 627 + 1146 + 1654 - 262);
});

test('phase II test rows agree with the exact phase II test id list and labels', () => {
  const label = new Map(phaseIITestLabels.map((r) => [r.nctid, Number(r.label)]));
  assert.equal(phaseIITestLabels.reduce((n, r) => n + Number(r.label), 0), 918);
  for (const { trial, label: l } of get('II', 'test').rows) {
    assert.equal(label.get(trial.nctid), l, trial.nctid);
  }
});

test('a missing data directory or data file is a DataDirError naming it', () => {
  assert.throws(() => loadSplit('I', 'train', '/nonexistent/top'), (err: unknown) => {
    return err instanceof DataDirError && /TOP data directory not found: \/nonexistent\/top/.test(err.message);
  });
  const dir = mkdtempSync(path.join(tmpdir(), 'cladmop-splits-'));
  try {
    copyFileSync(path.join(DATA, 'phase_I_valid.csv'), path.join(dir, 'phase_I_valid.csv'));
    assert.equal(loadSplit('I', 'valid', dir).rows.length, 117);
    mkdirSync(path.join(dir, 'reconstructed'));
    assert.throws(() => loadSplit('II', 'train', dir), (err: unknown) => {
      return err instanceof DataDirError && err.message.includes('phase_II_train.partial_exact.csv') && /phase II train/.test(err.message);
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('resolveDataDir: explicit value, then $CLADMOP_DATA, then ../shared/data/top', () => {
  const saved = process.env.CLADMOP_DATA;
  try {
    process.env.CLADMOP_DATA = '/tmp/from-env';
    assert.equal(resolveDataDir('rel/dir'), path.resolve('rel/dir'));
    assert.equal(resolveDataDir(), '/tmp/from-env');
    delete process.env.CLADMOP_DATA;
    assert.match(resolveDataDir(), /shared\/data\/top$/);
  } finally {
    if (saved === undefined) delete process.env.CLADMOP_DATA;
    else process.env.CLADMOP_DATA = saved;
  }
});
