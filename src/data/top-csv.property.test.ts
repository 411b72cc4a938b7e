/**
 * Property-based tests (fast-check) of the TOP CSV reader.
 *
 * - Random valid TOP rows, written as RFC 4180 CSV (quoted list cells, criteria with embedded newlines and quotes,
 *   LF or CRLF line ends, any column order, an optional title column), all come back: same trial fields, same label.
 * - One corrupted row (bad list literal, bad nctid, bad label) is reported alone, with its row number, line and
 *   field; every other row is kept.
 * - Arbitrary bytes never crash or hang the reader, and every error names the file, row and field.
 *
 * Reproduce a failure with FC_SEED=<seed printed by fast-check>.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { parseTopCsv, type RowError, type TopCsvResult } from './top-csv.ts';
import type { LabelledTrial, Trial } from './trial.ts';

const seed = process.env.FC_SEED ? Number(process.env.FC_SEED) : undefined;
const params = (numRuns: number, budgetMs: number) => ({ seed, numRuns, plugins: [fc.interruptAfterTimeLimit(budgetMs)] });

// A file of up to ~20 rows of a few KB parses in a few ms; 500 ms still catches anything super-linear.
const PER_RUN_MS = 500;
function timed<T>(fn: () => T): T {
  // At most twice: a super-linear path is slow every time, a GC pause or a busy machine (the training job shares
  // these two cores) rarely twice in a row.
  let outcome: { ok: true; value: T } | { ok: false; error: unknown } | undefined;
  let ms = Infinity;
  for (let attempt = 0; attempt < 2 && ms >= PER_RUN_MS; attempt++) {
    const t0 = performance.now();
    try {
      outcome = { ok: true, value: fn() };
    } catch (error) {
      outcome = { ok: false, error };
    }
    ms = performance.now() - t0;
  }
  assert.ok(ms < PER_RUN_MS, `took ${ms.toFixed(1)} ms, twice`);
  if (!outcome!.ok) throw outcome!.error;
  return outcome!.value;
}

// --- writing TOP CSV like Python did ---------------------------------------------------------------------------

// Python's repr() of a str, as TOP's list cells were written. A copy of the one in python-literal.property.test.ts,
// which is checked against CPython there: importing that file would run its tests in this one too.
const NOT_PRINTABLE = /^[\p{Cc}\p{Cf}\p{Cs}\p{Co}\p{Cn}\p{Zl}\p{Zp}\p{Zs}]$/u;
const hex = (code: number, width: number) => code.toString(16).padStart(width, '0');
function pyRepr(s: string): string {
  const quote = s.includes("'") && !s.includes('"') ? '"' : "'";
  let out = quote;
  for (const ch of s) {
    const code = ch.codePointAt(0)!;
    if (ch === quote || ch === '\\') out += '\\' + ch;
    else if (ch === '\t') out += '\\t';
    else if (ch === '\n') out += '\\n';
    else if (ch === '\r') out += '\\r';
    else if (code < 0x20 || code === 0x7f) out += '\\x' + hex(code, 2);
    else if (code < 0x7f || !NOT_PRINTABLE.test(ch)) out += ch;
    else if (code <= 0xff) out += '\\x' + hex(code, 2);
    else if (code <= 0xffff) out += '\\u' + hex(code, 4);
    else out += '\\U' + hex(code, 8);
  }
  return out + quote;
}
const pyList = (items: string[]) => `[${items.map(pyRepr).join(', ')}]`;

/** RFC 4180: quote a field holding a quote, comma or line break (or always, when asked), doubling its quotes. */
function csvField(value: string, always: boolean): string {
  return always || /[",\r\n]/.test(value) ? `"${value.replace(/"/g, '""')}"` : value;
}

interface GenRow {
  nctid: string;
  status: string;
  whyStop: string;
  label: string;
  phase: string;
  diseases: string[];
  icdcodes: string[][];
  drugs: string[];
  smiless: string[];
  criteria: string;
  title: string;
  /** How an empty list is written: "[]" or an empty cell (both occur in TOP). */
  emptyAs: '[]' | '';
}

const COLUMNS = ['nctid', 'status', 'why_stop', 'label', 'phase', 'diseases', 'icdcodes', 'drugs', 'smiless', 'criteria'];

/** The cell text of `column` for a row, before CSV quoting. */
function cell(row: GenRow, column: string): string {
  const list = (items: string[]) => (items.length === 0 ? row.emptyAs : pyList(items));
  switch (column) {
    case 'nctid':
      return row.nctid;
    case 'status':
      return row.status;
    case 'why_stop':
      return row.whyStop;
    case 'label':
      return row.label;
    case 'phase':
      return row.phase;
    case 'diseases':
      return list(row.diseases);
    case 'icdcodes':
      // A list of strings, each the repr of a list of codes: ["['C34.90', 'C34.91']", "[]"].
      return list(row.icdcodes.map(pyList));
    case 'drugs':
      return list(row.drugs);
    case 'smiless':
      return list(row.smiless);
    case 'criteria':
      return row.criteria;
    case 'title':
      return row.title;
    default:
      throw new Error(column);
  }
}

/** Record line ends: LF (pandas), CRLF (Python's csv module, Windows) or CR (classic Mac). */
type Eol = '\n' | '\r\n' | '\r';

interface CsvFile {
  text: string;
  columns: string[];
  /** 1-based line on which each data row starts. */
  lines: number[];
}

function writeCsv(rows: GenRow[], columns: string[], eol: Eol, quoteAll: boolean, cells = cell): CsvFile {
  let text = columns.join(',') + eol;
  let line = 2;
  const lines: number[] = [];
  for (const row of rows) {
    lines.push(line);
    const record = columns.map((c) => csvField(cells(row, c), quoteAll)).join(',') + eol;
    text += record;
    // Line breaks inside quoted fields move the next row down too. Lines end with CRLF, LF or a lone CR, as in
    // editors and Python's universal newlines.
    line += (record.match(/\r\n|\r|\n/g) ?? []).length;
  }
  return { text, columns, lines };
}

/** What the reader must make of a generated row: list items trimmed, empty items dropped, phase lower-cased. */
function expected(row: GenRow, hasTitle: boolean): LabelledTrial {
  const clean = (items: string[]) => items.map((s) => s.trim()).filter((s) => s.length > 0);
  const trial: Trial = {
    nctid: row.nctid.trim(),
    phase: row.phase.trim().toLowerCase(),
    diseases: clean(row.diseases),
    icdcodes: row.icdcodes.map(clean),
    drugs: clean(row.drugs),
    smiles: clean(row.smiless),
    criteria: row.criteria,
  };
  if (hasTitle && row.title.trim()) trial.title = row.title.trim();
  return { trial, label: Number(row.label.trim()) as 0 | 1 };
}

// --- generators ------------------------------------------------------------------------------------------------

const anyCodeUnit = fc.integer({ min: 0, max: 0xffff }).map((c) => String.fromCharCode(c));
// List items: names with quotes, commas, brackets, backslashes, line breaks and non-ASCII text.
const ITEM_CHARS = ["'", '"', ',', '[', ']', '\\', '\n', '\r', '\t', ' ', 'a', 'Z', '0', '-', 'é', '😀', '\u2028', '\0'];
const listItem = fc.oneof(
  fc.string({ unit: fc.constantFrom(...ITEM_CHARS), maxLength: 12 }),
  fc.string({ unit: 'binary', maxLength: 12 }),
  fc.string({ unit: anyCodeUnit, maxLength: 8 }),
  fc.constantFrom('small cell lung carcinoma', "crohn's disease", 'CN\\C(NCC)=C/[N+]([O-])=O', 'C34.90'),
);
const list = fc.array(listItem, { maxLength: 5 });
// Criteria as TOP stores them: indented lines, blank lines, quotes, commas, CRLF and lone CR inside the cell.
const CRITERIA_PARTS = [
  '\n        Inclusion Criteria:\n\n',
  '          -  Age >= 18, "adult"\n',
  "          -  patient's consent\n",
  '\r\n',
  '\r',
  '""',
  ',',
  'Exclusion Criteria:\n',
  '  ',
  'nan',
];
const criteria = fc.oneof(
  fc.array(fc.constantFrom(...CRITERIA_PARTS), { maxLength: 12 }).map((p) => p.join('')),
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.string({ unit: fc.constantFrom('"', ',', '\n', '\r', ' ', 'x'), maxLength: 20 }),
);
const nctidOf = (n: number) => `NCT${String(n).padStart(8, '0')}`;
const rowFor = (nctid: string): fc.Arbitrary<GenRow> =>
  fc.record({
    nctid: fc.constant(nctid),
    status: fc.constantFrom('completed', 'terminated', 'withdrawn', 'recruiting, not yet', ''),
    whyStop: fc.constantFrom('', 'Sponsor decision', 'lack of efficacy, "futility"\nsee report'),
    label: fc.constantFrom('0', '1', '0.0', '1.0', ' 1 '),
    phase: fc.constantFrom('phase 1', 'Phase 2', 'phase 1/phase 2', ' phase 3 ', 'early phase 1', ''),
    diseases: list,
    icdcodes: fc.array(list, { maxLength: 4 }),
    drugs: list,
    smiless: list,
    criteria,
    title: fc.oneof(fc.constant(''), fc.string({ unit: fc.constantFrom('a', ' ', ',', '"', '\n'), maxLength: 12 })),
    emptyAs: fc.constantFrom('[]' as const, '' as const),
  });
const rows = fc
  .uniqueArray(fc.integer({ min: 0, max: 99_999_999 }), { minLength: 1, maxLength: 12 })
  .chain((ids) => fc.tuple(...ids.map((id) => rowFor(nctidOf(id)))));
const layout = fc.record({
  // Any column order, with or without a title column: the reader goes by header names.
  columns: fc.shuffledSubarray(['title'], { minLength: 0 }).chain((extra) =>
    fc.shuffledSubarray([...COLUMNS, ...extra], { minLength: COLUMNS.length + extra.length }),
  ),
  eol: fc.constantFrom<Eol>('\n', '\r\n', '\r'),
  quoteAll: fc.boolean(),
});

function assertSameRows(actual: LabelledTrial[], expectedRows: LabelledTrial[]) {
  assert.equal(actual.length, expectedRows.length);
  actual.forEach((r, i) => assert.deepEqual(r, expectedRows[i], `row ${i + 1} (${expectedRows[i].trial.nctid})`));
}

// --- properties ------------------------------------------------------------------------------------------------

test('random valid TOP rows written as RFC 4180 CSV parse back identically', () => {
  fc.assert(
    fc.property(rows, layout, (generated, { columns, eol, quoteAll }) => {
      const file = writeCsv(generated, columns, eol, quoteAll);
      const result = timed(() => parseTopCsv(file.text, 'gen.csv'));
      assert.deepEqual(result.errors, []);
      assertSameRows(result.rows, generated.map((r) => expected(r, columns.includes('title'))));
    }),
    params(300, 2000),
  );
});

type Corruption = { field: 'nctid' | 'label' | 'diseases' | 'icdcodes' | 'drugs' | 'smiless'; value: string };

// Values that must be rejected. Lists: broken in ways Python's ast.literal_eval rejects too.
const badNctid = fc.oneof(
  fc.constantFrom('', 'NCT123', 'NCT012345678', 'nct01234567', 'NCT0123456a', '01234567', 'NCT 01234567', 'NCT０１２３４５６７'),
  fc.string({ unit: anyCodeUnit, maxLength: 12 }).filter((s) => !/^NCT\d{8}$/.test(s.trim())),
);
const badLabel = fc.oneof(
  fc.constantFrom('', '2', '-1', 'yes', 'true', '0.5', '1.00', '01', 'nan', '１'),
  fc.string({ maxLength: 5 }).filter((s) => !['0', '1', '0.0', '1.0'].includes(s.trim())),
);
const badList = fc.tuple(list, fc.constantFrom('open', 'garbage', 'unquoted', 'unterminated', 'double comma', 'tuple', 'bad escape')).map(([items, how]) => {
  const good = pyList(items);
  switch (how) {
    case 'open':
      return good.slice(0, -1); // no closing bracket
    case 'garbage':
      return good + ' x';
    case 'unquoted':
      return `[${items.length}, abc]`;
    case 'unterminated':
      return `[${items.map(pyRepr).concat("'never closed").join(', ')}]`;
    case 'double comma':
      return `['a',, ${items.map(pyRepr).join(', ')}]`;
    case 'tuple':
      return `(${items.map(pyRepr).concat('').join(', ')})`;
    default:
      return `['\\x4', ${items.map(pyRepr).join(', ')}]`;
  }
});
// icdcodes: the outer list is fine, one inner literal is broken.
const badIcd = fc.tuple(list, badList).map(([codes, broken]) => pyList([pyList(codes), broken]));
const corruption: fc.Arbitrary<Corruption> = fc.oneof(
  badNctid.map((value) => ({ field: 'nctid' as const, value })),
  badLabel.map((value) => ({ field: 'label' as const, value })),
  fc.tuple(fc.constantFrom('diseases' as const, 'drugs' as const, 'smiless' as const), badList).map(([field, value]) => ({ field, value })),
  badIcd.map((value) => ({ field: 'icdcodes' as const, value })),
);

test('one corrupted row is reported alone, with its row, line and field; all other rows are kept', () => {
  fc.assert(
    fc.property(rows, layout, fc.nat(), corruption, (generated, { columns, eol, quoteAll }, at, bad) => {
      const k = at % generated.length;
      const cells = (row: GenRow, column: string) => (row === generated[k] && column === bad.field ? bad.value : cell(row, column));
      const file = writeCsv(generated, columns, eol, quoteAll, cells);
      const result = timed(() => parseTopCsv(file.text, 'gen.csv'));
      assert.equal(result.errors.length, 1, JSON.stringify(result.errors));
      const [error] = result.errors;
      assert.equal(error.file, 'gen.csv');
      assert.equal(error.row, k + 1);
      assert.equal(error.line, file.lines[k]);
      assert.equal(error.field, bad.field);
      assert.ok(error.message.length > 0);
      const hasTitle = columns.includes('title');
      assertSameRows(result.rows, generated.filter((_, i) => i !== k).map((r) => expected(r, hasTitle)));
    }),
    params(400, 2000),
  );
});

/** Errors always say where: the file, a row number (0 = whole file), a line and a field. */
function assertWellFormed(result: TopCsvResult, source: string) {
  assert.ok(Array.isArray(result.rows) && Array.isArray(result.errors));
  const rowsWithErrors = new Set<number>();
  for (const e of result.errors as RowError[]) {
    assert.equal(e.file, source);
    assert.ok(Number.isInteger(e.row) && e.row >= 0, `row ${e.row}`);
    assert.ok(Number.isInteger(e.line) && e.line >= 1, `line ${e.line}: ${JSON.stringify(e)}`);
    assert.ok(typeof e.field === 'string' && e.field.length > 0);
    assert.ok(typeof e.message === 'string' && e.message.length > 0);
    if (e.row > 0) rowsWithErrors.add(e.row);
  }
  // A whole-file error (row 0) means no rows at all.
  if (result.errors.some((e) => e.row === 0)) assert.equal(result.rows.length, 0);
  for (const { trial, label } of result.rows) {
    assert.match(trial.nctid, /^NCT\d{8}$/);
    assert.ok(label === 0 || label === 1);
  }
  // Kept rows and rows with errors are distinct data rows: their counts cannot exceed the highest row number.
  const maxRow = Math.max(0, ...rowsWithErrors);
  if (maxRow > 0) assert.ok(result.rows.length + rowsWithErrors.size >= maxRow, 'row numbers skip rows');
}

const HEADER = COLUMNS.join(',') + '\n';
const decode = (bytes: Uint8Array) => new TextDecoder('utf-8', { fatal: false }).decode(bytes);
// CSV-significant bytes are over-represented so that quoting, line ends and field counts get exercised.
const csvByte = fc.oneof(fc.integer({ min: 0, max: 255 }), fc.constantFrom(0x22, 0x2c, 0x0a, 0x0d, 0x5b, 0x5d, 0x27, 0x20, 0xff, 0xfe));
const bytes = fc.array(csvByte, { maxLength: 300 }).map((b) => Uint8Array.from(b));

test('arbitrary bytes never crash or hang the reader; errors name file, row, line and field', () => {
  fc.assert(
    fc.property(bytes, fc.boolean(), (body, withHeader) => {
      const text = (withHeader ? HEADER : '') + decode(body);
      assertWellFormed(timed(() => parseTopCsv(text, 'fuzz.csv')), 'fuzz.csv');
    }),
    params(1500, 2000),
  );
});

test('a valid file with random byte edits never crashes; errors name file, row, line and field', () => {
  fc.assert(
    fc.property(
      rows,
      layout,
      fc.array(fc.tuple(fc.nat(), fc.constantFrom('delete', 'insert', 'replace'), csvByte), { minLength: 1, maxLength: 4 }),
      (generated, { columns, eol, quoteAll }, edits) => {
        let text = writeCsv(generated, columns, eol, quoteAll).text;
        for (const [at, op, byte] of edits) {
          const i = at % (text.length + 1);
          const ch = String.fromCharCode(byte);
          text = op === 'delete' ? text.slice(0, i) + text.slice(i + 1) : text.slice(0, i) + ch + text.slice(op === 'insert' ? i : i + 1);
        }
        const result = timed(() => parseTopCsv(text, 'edited.csv'));
        assertWellFormed(result, 'edited.csv');
        // Edits touch at most 4 rows (a broken quote may swallow what follows, but never invents rows).
        assert.ok(result.rows.length <= generated.length);
      },
    ),
    params(500, 2000),
  );
});

test('regression: CR and CRLF inside quoted cells do not shift line numbers (a file saved with CRLF everywhere)', () => {
  // Found by the corruption property: one row whose criteria cell was "\r" had its label error reported on line 3
  // instead of 2. The reader took csv-parse's info.lines (which counts a CR inside a quoted field as a line break,
  // and a CRLF as two) minus the LFs in the row's fields. With git's autocrlf or unix2dos every multi-line
  // criteria cell holds CRLFs, so the lines of all later rows drifted by one per line of criteria above them; and
  // after the first fix (counting LFs only) the byte-edit property found a CR-delimited file where a row came out
  // on line 0.
  const header = 'nctid,label,phase,diseases,icdcodes,drugs,smiless,criteria\n';
  const row = (id: string, label: string, criteria: string) => `${id},${label},phase 1,[],[],[],[],"${criteria}"\n`;
  const lf = header + row('NCT00000001', '1', 'Inclusion Criteria:\n\n  -  a\n\n  -  b') + row('NCT00000002', 'x', 'c\rd') + row('NCT00000003', 'y', 'e');
  // Lines: 1 header, 2-6 the first row, 7-8 the second (a lone CR ends a line, as in editors), 9 the third.
  for (const [name, text] of [
    ['LF', lf],
    ['CRLF everywhere', lf.replace(/\n/g, '\r\n')],
    ['CR everywhere (classic Mac)', lf.replace(/\n/g, '\r')],
  ]) {
    const { rows, errors } = parseTopCsv(text, 'eol.csv');
    assert.equal(rows.length, 1, name);
    assert.deepEqual(
      errors.map((e) => [e.row, e.line, e.field]),
      [
        [2, 7, 'label'],
        [3, 9, 'label'],
      ],
      name,
    );
  }
  // The byte-edit counterexample: a CR-delimited header, then a row ending in CRLF, whose LF csv-parse reads as a
  // record of its own.
  const edited = 'nctid,label,diseases,smiless,tatus,phase,why_stop,drugs,icdcodes,criteria\rNCT00000024,0,,,"recruiting, not yet", phase 3 ,,,,",x\r"\r\n';
  const { errors } = parseTopCsv(edited, 'edited.csv');
  assert.ok(errors.every((e) => e.line >= 1 && e.line <= 4), JSON.stringify(errors));
});
