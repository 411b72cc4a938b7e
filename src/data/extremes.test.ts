/**
 * Extreme inputs to the data layer, each timed: a 1,000,000-character criteria text, 10,000 drugs in one row, an
 * invalid SMILES string, unknown ICD codes, non-UTF-8 bytes in a CSV file, an empty file and a header-only file.
 * Each must finish within its limit and give rows or clear errors.
 *
 * Where the code accepts something absurd (10,000 drugs, a SMILES it cannot parse), the test name and comments
 * say what happens today; limits belong to the layer that has a reason for them (dm-features caps what a model
 * sees), not to the readers.
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseCriteria } from './criteria.ts';
import { loadIcdTable } from './icd-table.ts';
import { parseTopCsv, readTopCsv, type TopCsvResult } from './top-csv.ts';
import { PACKAGE_ROOT } from '../settings.ts';
import { dmFeatures, IcdVocabulary, MAX_DRUGS } from '../features/dm-features.ts';
import { MoleculeFeaturizer } from '../features/molecule.ts';

const dataDir = path.resolve(PACKAGE_ROOT, '../shared/data/top');
const HEADER = 'nctid,status,why_stop,label,phase,diseases,icdcodes,drugs,smiless,criteria\n';

/** Runs `fn`, fails if it took longer than `limitMs`, and reports the time in the TAP output. */
function within<T>(t: TestContext, label: string, limitMs: number, fn: () => T): T {
  const t0 = performance.now();
  const result = fn();
  const ms = performance.now() - t0;
  t.diagnostic(`${label}: ${ms.toFixed(0)} ms`);
  assert.ok(ms < limitMs, `${label} took ${ms.toFixed(0)} ms (limit ${limitMs} ms)`);
  return result;
}

function withTempDir<T>(fn: (dir: string) => T): T {
  const dir = mkdtempSync(path.join(tmpdir(), 'cladmop-extremes-'));
  try {
    return fn(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const csvQuote = (s: string) => `"${s.replace(/"/g, '""')}"`;
const pyList = (items: string[]) => `[${items.map((s) => `'${s}'`).join(', ')}]`;
function topRow(fields: { nctid?: string; drugs?: string[]; smiles?: string[]; icd?: string[][]; criteria?: string }): string {
  const icd = pyList((fields.icd ?? [['C34']]).map((codes) => pyList(codes)).map((s) => s.replace(/'/g, "\\'")));
  return [
    fields.nctid ?? 'NCT00000001',
    'completed',
    '',
    '1',
    'phase 2',
    csvQuote(pyList(['lung cancer'])),
    csvQuote(icd),
    csvQuote(pyList(fields.drugs ?? ['cisplatin'])),
    csvQuote(pyList(fields.smiles ?? [])),
    csvQuote(fields.criteria ?? 'Inclusion Criteria:\n\n  -  Adults'),
  ].join(',') + '\n';
}

function only(result: TopCsvResult) {
  assert.deepEqual(result.errors, []);
  assert.equal(result.rows.length, 1);
  return result.rows[0].trial;
}

// --- criteria -------------------------------------------------------------------------------------------------

test('a 1,000,000-character criteria text is split in under 2 s, in a CSV cell and on its own', (t) => {
  // A real TOP criteria text (7 inclusion, 4 exclusion statements) repeated to a megabyte: the statements come
  // out as many times as the text was repeated, so nothing is lost or merged at this size.
  const one = readFileSync(path.join(PACKAGE_ROOT, 'test/fixtures/top/criteria/standard_NCT01187615.txt'), 'utf8');
  const copies = Math.ceil(1_000_000 / one.length);
  const text = one.repeat(copies);
  assert.ok(text.length >= 1_000_000);
  const { inclusion, exclusion } = within(t, `parseCriteria, ${text.length} chars`, 2000, () => parseCriteria(text));
  assert.equal(inclusion.length, 7 * copies);
  assert.equal(exclusion.length, 4 * copies);

  // The same text as TOP stores it: one quoted, multi-line CSV cell of a row, read from disk.
  withTempDir((dir) => {
    const file = path.join(dir, 'huge-criteria.csv');
    writeFileSync(file, HEADER + topRow({ criteria: text }) + topRow({ nctid: 'NCT00000002' }));
    const { rows, errors } = within(t, 'readTopCsv, 1 MB criteria cell', 2000, () => readTopCsv(file));
    assert.deepEqual(errors, []);
    assert.equal(rows.length, 2);
    assert.equal(rows[0].trial.criteria, text);
  });

  // Worst case for per-line patterns: a single 1 MB line, no line breaks. (Lines built to make the header pattern
  // backtrack are in criteria.property.test.ts, which runs them in a worker it can kill: here a regression would
  // hang this file instead of failing it.)
  const line = 'patients with adequate organ function '.repeat(27_000);
  const r = within(t, 'one 1 MB line of words', 2000, () => parseCriteria(line));
  assert.deepEqual(r, { inclusion: [line.trim()], exclusion: [] });
});

// --- drugs, SMILES, ICD codes ---------------------------------------------------------------------------------

test('10,000 drugs in one row: the reader keeps all 10,000 (no cap in the data layer); dm-features uses 8 and says so', async (t) => {
  const drugs = Array.from({ length: 10_000 }, (_, i) => `drug ${i}`);
  const text = HEADER + topRow({ drugs });
  const trial = only(within(t, 'parseTopCsv, 10,000 drugs', 1000, () => parseTopCsv(text, 'many-drugs.csv')));
  // Current behaviour: an absurd drug count is accepted silently by parseTopCsv.
  assert.equal(trial.drugs.length, 10_000);
  assert.deepEqual(trial.drugs.slice(0, 2), ['drug 0', 'drug 1']);
  // The feature layer is where the size is bounded, and it reports the truncation.
  const featurizer = await MoleculeFeaturizer.create();
  const icd = IcdVocabulary.fromEntries(['<unk>']);
  const f = within(t, 'dmFeatures, 10,000 drugs', 1000, () => dmFeatures(trial, featurizer, icd, { moleculeSource: 'top', nameBuckets: 1024 }));
  assert.equal(f.drugNgrams.length, MAX_DRUGS);
  assert.deepEqual(f.report.truncated, [`drugs 10000 > ${MAX_DRUGS}`]);
});

test('an invalid SMILES string is kept verbatim by the reader (no chemistry check) and reported by dm-features', async (t) => {
  const smiles = ['C1CC1(', 'not a smiles', 'CCO'];
  const trial = only(parseTopCsv(HEADER + topRow({ smiles }), 'bad-smiles.csv'));
  assert.deepEqual(trial.smiles, smiles);
  const featurizer = await MoleculeFeaturizer.create();
  const f = within(t, 'dmFeatures, 2 invalid + 1 valid SMILES', 2000, () =>
    dmFeatures(trial, featurizer, IcdVocabulary.fromEntries(['<unk>']), { moleculeSource: 'top', nameBuckets: 1024 }),
  );
  // Invalid structures are skipped and named; the valid one is still featurised.
  assert.deepEqual(f.report.invalidSmiles, ['C1CC1(', 'not a smiles']);
  assert.equal(f.nMolecules, 1);
  // A megabyte "SMILES" is not parsed at all (molecule.ts skips strings over 2,000 characters).
  assert.equal(within(t, 'featurize a 1 MB SMILES', 500, () => featurizer.featurize('C'.repeat(1_000_000))), null);
});

test('unknown ICD codes are kept verbatim by the reader and reported as unknown by the ICD table and dm-features', async (t) => {
  const trial = only(parseTopCsv(HEADER + topRow({ icd: [['Z99.99X', 'NOTACODE'], ['C34']] }), 'icd.csv'));
  assert.deepEqual(trial.icdcodes, [['Z99.99X', 'NOTACODE'], ['C34']]);
  const table = loadIcdTable(dataDir);
  assert.equal(table.isKnownCode('NOTACODE'), false);
  assert.equal(table.isKnownCode('Z99.99X'), false);
  assert.equal(table.describe('NOTACODE'), undefined);
  assert.equal(table.isKnownCode('C34'), true);
  const vocabulary = within(t, 'IcdVocabulary.fromDataDir', 2000, () => IcdVocabulary.fromDataDir(dataDir));
  const f = dmFeatures(trial, await MoleculeFeaturizer.create(), vocabulary, { moleculeSource: 'top', nameBuckets: 1024 });
  assert.deepEqual(f.report.unknownIcdCodes, ['Z99.99X', 'NOTACODE']);
  // "NOTACODE" contributes nothing; "Z99.99X" only the prefixes the vocabulary knows; "C34" all of its own.
  assert.equal(f.diseaseAncestors.length, 2);
  assert.ok(f.diseaseAncestors[0].every((id) => vocabulary.entries[id].startsWith('Z')));
  assert.deepEqual(f.diseaseAncestors[1], [vocabulary.id('C'), vocabulary.id('C34')]);
});

// --- bytes and empty files ------------------------------------------------------------------------------------

test('non-UTF-8 bytes (0xff 0xfe) in a CSV file: read as U+FFFD, never a crash; the row or the header is reported', (t) => {
  withTempDir((dir) => {
    const write = (name: string, ...parts: (string | Buffer)[]) => {
      const file = path.join(dir, name);
      writeFileSync(file, Buffer.concat(parts.map((p) => (typeof p === 'string' ? Buffer.from(p, 'utf8') : p))));
      return file;
    };
    const bad = Buffer.from([0xff, 0xfe]);
    const second = topRow({ nctid: 'NCT00000002' });

    // In a criteria cell: the row is kept, the undecodable bytes become U+FFFD.
    const inCell = within(t, 'readTopCsv, 0xff 0xfe in criteria', 500, () =>
      readTopCsv(write('cell.csv', HEADER, topRow({ criteria: 'Inclusion ' }).slice(0, -2), bad, '"\n', second)),
    );
    assert.deepEqual(inCell.errors, []);
    assert.equal(inCell.rows.length, 2);
    assert.equal(inCell.rows[0].trial.criteria, 'Inclusion \ufffd\ufffd');

    // In the nctid: that row is an error with its row, line and field; the next row is kept.
    const inId = readTopCsv(write('id.csv', HEADER, 'NCT0000000', bad, topRow({}).slice('NCT00000001'.length), second));
    assert.deepEqual(
      inId.errors.map((e) => [e.row, e.line, e.field]),
      [[1, 2, 'nctid']],
    );
    assert.match(inId.errors[0].message, /not an NCT id: "NCT0000000\ufffd\ufffd"/);
    assert.deepEqual(inId.rows.map((r) => r.trial.nctid), ['NCT00000002']);

    // At the start of the file (a UTF-16 little-endian byte-order mark): the header is unreadable, which is one
    // whole-file error naming the missing column, not rows of garbage.
    const atStart = readTopCsv(write('bom16.csv', bad, HEADER, topRow({})));
    assert.deepEqual(atStart.rows, []);
    assert.equal(atStart.errors.length, 1);
    assert.equal(atStart.errors[0].row, 0);
    assert.match(atStart.errors[0].message, /missing column\(s\) nctid/);

    // A whole file in UTF-16LE: same, a clear header error.
    const utf16 = readTopCsv(write('utf16.csv', Buffer.from('\ufeff' + HEADER + topRow({}), 'utf16le')));
    assert.deepEqual(utf16.rows, []);
    assert.equal(utf16.errors.length, 1);
    assert.equal(utf16.errors[0].row, 0);
    assert.match(utf16.errors[0].message, /missing column\(s\)/);

    // Random bytes, 200 KB: no crash, no hang, and every error says where.
    let state = 12345;
    const noise = Buffer.alloc(200_000);
    for (let i = 0; i < noise.length; i++) noise[i] = (state = (Math.imul(state, 1103515245) + 12345) >>> 0) >>> 24;
    const random = within(t, 'readTopCsv, 200 KB of random bytes after a header', 2000, () => readTopCsv(write('noise.csv', HEADER, noise)));
    assert.equal(random.rows.length, 0);
    for (const e of random.errors) assert.ok(e.file.endsWith('noise.csv') && e.row >= 0 && e.line >= 1 && e.field.length > 0);
  });
});

test('an empty file is one clear whole-file error', (t) => {
  withTempDir((dir) => {
    for (const [name, content] of [
      ['empty.csv', ''],
      ['blank.csv', ' \n\r\n\n'],
    ]) {
      const file = path.join(dir, name);
      writeFileSync(file, content);
      const r = within(t, `readTopCsv, ${name}`, 200, () => readTopCsv(file));
      assert.deepEqual(r, { rows: [], errors: [{ file, row: 0, line: 1, field: '(file)', message: 'file is empty' }] });
    }
  });
});

test('a header-only file is an empty data set today: no rows and no errors', (t) => {
  withTempDir((dir) => {
    for (const [name, content] of [
      ['header.csv', HEADER],
      ['header-no-newline.csv', HEADER.trimEnd()],
      ['header-crlf.csv', HEADER.replace('\n', '\r\n')],
    ]) {
      const file = path.join(dir, name);
      writeFileSync(file, content);
      // Current behaviour: nothing to report, as for a split with no trials; callers that need rows must check.
      assert.deepEqual(within(t, `readTopCsv, ${name}`, 200, () => readTopCsv(file)), { rows: [], errors: [] });
    }
  });
});
