import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { parse } from 'csv-parse/sync';
import { formatRowError, parseTopCsv, readTopCsv, type TopCsvResult } from './top-csv.ts';
import { readManifest, resolveDataDir } from './splits.ts';
import { PACKAGE_ROOT } from '../settings.ts';

const DATA = resolveDataDir();
const FIXTURES = path.join(PACKAGE_ROOT, 'test/fixtures/top');
const SAMPLE = path.join(FIXTURES, 'phase_I_valid.sample.csv');
const SAMPLE_IDS = ['NCT01451632', 'NCT00374985', 'NCT00450138', 'NCT00279240', 'NCT00647972', 'NCT00515866'];

function withTempDir<T>(fn: (dir: string) => T): T {
  const dir = mkdtempSync(path.join(tmpdir(), 'cladmop-top-csv-'));
  try {
    return fn(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** 1-based line of the first line starting with `prefix` (how a person would find a row in an editor). */
function lineOf(text: string, prefix: string): number {
  const i = text.split('\n').findIndex((l) => l.startsWith(prefix));
  assert.ok(i >= 0, `no line starts with ${prefix}`);
  return i + 1;
}

test('real rows: multi-line quoted criteria, list columns, labels', () => {
  const { rows, errors } = readTopCsv(SAMPLE);
  assert.deepEqual(errors, []);
  assert.deepEqual(
    rows.map((r) => r.trial.nctid),
    SAMPLE_IDS,
  );
  assert.deepEqual(
    rows.map((r) => r.label),
    [1, 1, 1, 1, 0, 1],
  );
  const first = rows[0].trial;
  assert.equal(first.phase, 'phase 1');
  assert.deepEqual(first.drugs, ['mm-121', 'irinotecan', 'cetuximab']);
  assert.equal(first.diseases.length, 5);
  assert.deepEqual(first.icdcodes[0], ['C05.2', 'C10.0', 'C16.0', 'C16.4', 'C17.0', 'C17.1', 'C17.2']);
  // The quoted criteria cell keeps its line breaks and indentation verbatim.
  assert.ok(first.criteria.startsWith('\n        Inclusion Criteria:\n\n          -  No standard options remaining\n'));
  assert.ok(first.criteria.includes('cetuximab or irinotecan\n      '));
  assert.equal(rows[1].trial.phase, 'phase 1/phase 2');
});

test('a file with bad rows keeps the valid rows and names file, row, line and field', () => {
  const file = path.join(FIXTURES, 'bad-rows.csv');
  const text = readFileSync(file, 'utf8');
  const { rows, errors } = readTopCsv(file);
  assert.deepEqual(
    rows.map((r) => r.trial.nctid),
    ['NCT01451632', 'NCT00515866'],
  );
  assert.deepEqual(
    errors.map((e) => [e.row, e.line, e.field]),
    [
      [2, lineOf(text, 'NCT00374985'), 'diseases'],
      [3, lineOf(text, 'NCT0045013,'), 'nctid'],
      [4, lineOf(text, 'NCT00279240'), '(row)'],
      [5, lineOf(text, 'NCT00647972'), 'label'],
    ],
  );
  // The rows start on lines 19, 36, 45 and 56: multi-line criteria make row != line - 1.
  assert.deepEqual(
    errors.map((e) => e.line),
    [19, 36, 45, 56],
  );
  for (const e of errors) assert.equal(e.file, file);
  assert.match(errors[0].message, /not a Python list of strings .*at character \d+/);
  assert.match(errors[1].message, /not an NCT id: "NCT0045013"/);
  assert.match(errors[2].message, /has 9 fields, header has 10/);
  assert.match(errors[3].message, /label must be 0 or 1, got "yes"/);
  assert.equal(formatRowError(errors[3]), `${file}: row 5 (line 56), field "label": label must be 0 or 1, got "yes"`);
});

test('line numbers stay right after blank lines between records', () => {
  const header = 'nctid,label,phase,diseases,icdcodes,drugs,smiless,criteria\n';
  const ok = (id: string, criteria: string) => `${id},1,phase 1,['d'],"[""['A00']""]",['x'],['C'],"${criteria}"\n`;
  // Lines: 1 header, 2-4 first record, 5-6 blank, 7 the bad record, 8 the last record.
  const text = header + ok('NCT00000001', 'a\nb\nc') + '\n\n' + 'NCT3,1,phase 1,[],[],[],[],z\n' + ok('NCT00000002', 'x');
  const { rows, errors } = parseTopCsv(text, 'mem.csv');
  assert.equal(rows.length, 2);
  assert.deepEqual(errors.map((e) => [e.row, e.line, e.field]), [[2, 7, 'nctid']]);
});

test('CSV-level damage: a stray quote is text, an unclosed quote costs only its own row, and the error names the lines lost', () => {
  const header = 'nctid,label,phase,diseases,icdcodes,drugs,smiless,criteria\n';
  const row = (id: string, criteria: string) => `${id},1,phase 1,[],[],[],[],${criteria}\n`;
  // Python's csv module reads a quote inside an unquoted field as a character; so do we.
  const stray = parseTopCsv(header + row('NCT00000001', 'age 5" or more') + row('NCT00000002', 'x'), 'stray.csv');
  assert.deepEqual(stray.errors, []);
  assert.equal(stray.rows[0].trial.criteria, 'age 5" or more');
  // An opening quote that is never closed swallows the rest of the file; the reader resumes at the next line that
  // starts a record, so only the broken row is lost, and the error says which lines. (It cost the rows after it.)
  const open = parseTopCsv(header + row('NCT00000001', 'x') + row('NCT00000002', '"never closed') + row('NCT00000003', 'y'), 'open.csv');
  assert.deepEqual(
    open.rows.map((r) => r.trial.nctid),
    ['NCT00000001', 'NCT00000003'],
  );
  assert.equal(open.errors.length, 1);
  assert.deepEqual([open.errors[0].row, open.errors[0].line, open.errors[0].field], [2, 3, '(csv)']);
  assert.match(open.errors[0].message, /Quote Not Closed: a quoted cell is opened and never closed: line 3 could not be read as a row and was skipped; reading resumed at line 4/);
  // The quote closes later, in a quoted cell of the next row: the merged record has too many fields (the row
  // after the broken one was lost silently before).
  const merged = parseTopCsv(header + row('NCT00000001', '"a\nb"') + row('NCT00000002', '"broken') + row('NCT00000003', '"c"') + row('NCT00000004', 'd'), 'merged.csv');
  assert.deepEqual(
    merged.rows.map((r) => r.trial.nctid),
    ['NCT00000001', 'NCT00000003', 'NCT00000004'],
  );
  assert.deepEqual(merged.errors.map((e) => [e.row, e.line, e.field]), [[2, 4, '(csv)']]);
  assert.match(merged.errors[0].message, /line 4 could not be read as a row and was skipped; reading resumed at line 5/);
  // Rows keep their own numbers after the broken one.
  const later = parseTopCsv(header + row('NCT00000001', '"broken') + row('NCT00000002', 'x') + row('NCT0000003', 'y'), 'later.csv');
  assert.deepEqual(later.errors.map((e) => [e.row, e.line, e.field]), [[1, 2, '(csv)'], [3, 4, 'nctid']]);
});

test('empty file, header only, missing column', () => {
  for (const text of ['', '  \n\n']) {
    const r = parseTopCsv(text, 'empty.csv');
    assert.deepEqual(r.rows, []);
    assert.deepEqual(r.errors, [{ file: 'empty.csv', row: 0, line: 1, field: '(file)', message: 'file is empty' }]);
  }
  const headerOnly = parseTopCsv('nctid,status,why_stop,label,phase,diseases,icdcodes,drugs,smiless,criteria\n', 'h.csv');
  assert.deepEqual(headerOnly, { rows: [], errors: [] });
  const sample = readFileSync(SAMPLE, 'utf8');
  const noCriteria = parseTopCsv(sample.replace(',criteria\n', ',criteriaX\n'), 'nocrit.csv');
  assert.equal(noCriteria.rows.length, 0);
  assert.equal(noCriteria.errors.length, 1);
  assert.equal(noCriteria.errors[0].field, 'criteria');
  assert.match(noCriteria.errors[0].message, /missing column\(s\) criteria/);
  const noLabel = parseTopCsv(sample.replace('why_stop,label,', 'why_stop,outcome,'), 'nolabel.csv');
  assert.equal(noLabel.errors[0].field, 'label');
});

test('requireLabel: false returns label-less rows as unlabelled, never with an invented label', () => {
  const header = 'nctid,label,phase,diseases,icdcodes,drugs,smiless,criteria\n';
  const text = header + 'NCT00000001,1,phase 1,[],[],[],[],a\nNCT00000002,,phase 2,[],[],[],[],b\nNCT00000003,7,phase 2,[],[],[],[],c\n';
  const r = parseTopCsv(text, 'u.csv', { requireLabel: false });
  assert.deepEqual(
    r.rows.map((x) => [x.trial.nctid, x.label]),
    [['NCT00000001', 1]],
  );
  assert.deepEqual(
    r.unlabelled?.map((t) => t.nctid),
    ['NCT00000002'],
  );
  assert.deepEqual(r.errors.map((e) => [e.row, e.field]), [[3, 'label']]);
  // With the default (label required) the empty label is an error.
  assert.deepEqual(parseTopCsv(text, 'u.csv').errors.map((e) => e.row), [2, 3]);
  // No label column at all: everything is unlabelled.
  const noCol = parseTopCsv(text.replace(/,label,/, ',lbl,'), 'n.csv', { requireLabel: false });
  assert.equal(noCol.rows.length, 0);
  assert.equal(noCol.unlabelled?.length, 3);
});

test('a repeated nctid is reported and counted once', () => {
  const sample = readFileSync(SAMPLE, 'utf8');
  const lines = sample.split('\n');
  const lastRowStart = lines.findIndex((l) => l.startsWith('NCT00515866'));
  const doubled = sample + lines.slice(lastRowStart).join('\n');
  const r = parseTopCsv(doubled, 'dup.csv');
  assert.equal(r.rows.length, 6);
  assert.deepEqual(r.errors.map((e) => [e.row, e.field]), [[7, 'nctid']]);
  assert.match(r.errors[0].message, /duplicate NCT00515866 \(first seen in row 6\)/);
});

test('.gz, BOM and invalid UTF-8 are read like the plain file', () => {
  const plain = readTopCsv(SAMPLE);
  const bytes = readFileSync(SAMPLE);
  withTempDir((dir) => {
    const gz = path.join(dir, 'sample.csv.gz');
    writeFileSync(gz, gzipSync(bytes));
    assert.deepEqual(readTopCsv(gz).rows, plain.rows);

    const bom = path.join(dir, 'bom.csv');
    writeFileSync(bom, Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), bytes]));
    assert.deepEqual(readTopCsv(bom).rows, plain.rows);
    // A BOM in text handed straight to parseTopCsv is also ignored.
    assert.deepEqual(parseTopCsv('\ufeff' + bytes.toString('utf8'), SAMPLE).rows, plain.rows);

    // Invalid bytes inside a criteria cell: decoded as U+FFFD, the row survives.
    const at = bytes.indexOf('No standard options remaining');
    const broken = Buffer.concat([bytes.subarray(0, at), Buffer.from([0xff, 0xfe, 0xc3]), bytes.subarray(at)]);
    const badUtf8 = path.join(dir, 'bad-utf8.csv');
    writeFileSync(badUtf8, broken);
    const r = readTopCsv(badUtf8);
    assert.deepEqual(r.errors, []);
    assert.equal(r.rows.length, 6);
    assert.ok(r.rows[0].trial.criteria.includes('\ufffd\ufffd\ufffdNo standard options remaining'));
  });
  const missing = readTopCsv(path.join(FIXTURES, 'no-such-file.csv'));
  assert.equal(missing.rows.length, 0);
  assert.equal(missing.errors[0].field, '(file)');
  assert.match(missing.errors[0].message, /cannot read: ENOENT/);
});

/** TOP-format CSV files of the data directory with their MANIFEST counts (official and reconstructed). */
function manifestCsvFiles(): { name: string; rows: number; positives: number }[] {
  const manifest = readManifest(DATA);
  return Object.entries(manifest.files)
    .filter(([name, f]) => !name.startsWith('aux/') && /\.csv(\.gz)?$/.test(name) && f.rows !== null && f.positives !== null)
    .filter(([name]) => !name.includes('_labels') && !name.includes('candidates'))
    .map(([name, f]) => ({ name, rows: f.rows!, positives: f.positives! }));
}

function read(name: string): TopCsvResult {
  // The approx files carry the re-run's label and TOP's label; MANIFEST counts TOP's.
  return readTopCsv(path.join(DATA, name), { labelColumn: name.includes('approx') ? 'label_top' : 'label' });
}

test('every official and reconstructed TOP file: rows and positives equal MANIFEST.json, no errors', () => {
  const manifest = readManifest(DATA);
  const files = manifestCsvFiles();
  // 9 official files (6 splits + 3 toy) and 6 reconstructed files with features.
  assert.equal(files.length, 15);
  for (const f of files) {
    const r = read(f.name);
    assert.deepEqual(r.errors, [], f.name);
    assert.equal(r.rows.length, f.rows, `${f.name} rows`);
    assert.equal(r.rows.reduce((s, x) => s + x.label, 0), f.positives, `${f.name} positives`);
    const split = /^phase_(I|II|III)_(train|valid|test)\.csv$/.exec(f.name);
    if (split) {
      assert.deepEqual([r.rows.length, f.positives], manifest.official_counts[`phase_${split[1]}_${split[2]}`], f.name);
    }
  }
});

test('PyTrial copies with dates: same trials as the official files, plus the title', () => {
  for (const name of ['phase_I_valid.csv', 'phase_III_valid.csv']) {
    const official = read(name).rows;
    const withDate = readTopCsv(path.join(DATA, `aux/hint_benchmark_dataset_w_date/${name}.gz`));
    assert.deepEqual(withDate.errors, []);
    assert.equal(withDate.rows.length, official.length);
    assert.ok(withDate.rows.every((r) => typeof r.trial.title === 'string' && r.trial.title.length > 0));
    const stripped = withDate.rows.map(({ trial: { title: _title, ...trial }, label }) => ({ trial, label }));
    assert.deepEqual(stripped, official, name);
  }
});

// ---------------------------------------------------------------------------------------------------------------
// Leakage: TOP labels are partly derived from status/why_stop, so nothing parsed may depend on them.

const ALLOWED_TRIAL_KEYS = new Set(['nctid', 'phase', 'diseases', 'icdcodes', 'drugs', 'smiles', 'criteria', 'startDate', 'title']);

function csvField(value: string): string {
  return `"${value.replace(/"/g, '""')}"`;
}

test('LEAKAGE: rewriting status/why_stop of a real TOP file changes nothing that is parsed', () => {
  const source = path.join(DATA, 'phase_I_train.csv');
  const original = readTopCsv(source);
  assert.deepEqual(original.errors, []);
  const records = parse(readFileSync(source, 'utf8'), { skip_empty_lines: true }) as string[][];
  const header = records[0];
  const status = header.indexOf('status');
  const whyStop = header.indexOf('why_stop');
  assert.ok(status >= 0 && whyStop >= 0);
  // The test only means something if the rewrite really changes values, and changes them for both labels.
  const changed = records.slice(1).filter((r) => r[status] !== 'completed' || r[whyStop] !== '');
  assert.ok(changed.length > 100, `only ${changed.length} rows have a non-completed status or a why_stop`);
  assert.ok(new Set(changed.map((r) => r[header.indexOf('label')])).size === 2);

  withTempDir((dir) => {
    const rewrite = (statusValue: string, whyStopValue: string) => {
      const out = [records[0], ...records.slice(1).map((r) => r.map((v, i) => (i === status ? statusValue : i === whyStop ? whyStopValue : v)))];
      return out.map((r) => r.map(csvField).join(',')).join('\n') + '\n';
    };
    const completed = path.join(dir, 'completed.csv');
    writeFileSync(completed, rewrite('completed', ''));
    const rewritten = readTopCsv(completed);
    assert.deepEqual(rewritten.errors, []);
    assert.deepEqual(rewritten.rows, original.rows);
    assert.equal(JSON.stringify(rewritten.rows), JSON.stringify(original.rows));

    // A sentinel in both columns must not show up anywhere in the parsed output.
    const sentinel = path.join(dir, 'sentinel.csv');
    writeFileSync(sentinel, rewrite('LEAK-SENTINEL-STATUS', 'LEAK-SENTINEL-WHY-STOP'));
    const withSentinel = readTopCsv(sentinel);
    assert.equal(JSON.stringify(withSentinel.rows), JSON.stringify(original.rows));
    assert.ok(!JSON.stringify(withSentinel).includes('LEAK-SENTINEL'));
  });

  for (const { trial } of original.rows) {
    assert.ok(!('status' in trial) && !('why_stop' in trial) && !('whyStop' in trial), trial.nctid);
    for (const key of Object.keys(trial)) assert.ok(ALLOWED_TRIAL_KEYS.has(key), `unexpected Trial key ${key}`);
  }
});
