/**
 * Reader for TOP benchmark CSV files (HINT, Fu et al. 2022): columns
 * `nctid,status,why_stop,label,phase,diseases,icdcodes,drugs,smiless,criteria` (extra columns allowed).
 *
 * - Quoted fields span several lines (criteria); `.csv.gz` files are read through gunzip.
 * - List columns are Python literals (see python-literal.ts); `icdcodes` is a list of list literals.
 * - `status` and `why_stop` are never read: TOP labels are partly derived from them. Trials are built from an
 *   allow-list of fields, so no feature code can reach them.
 * - A bad row is reported with file, row and field, and skipped; the valid rows are kept.
 */
import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { parse } from 'csv-parse/sync';
import { NCT_ID, type LabelledTrial, type OutcomeLabel, type Trial } from './trial.ts';
import { parseNestedStringList, parsePythonStringList, PythonLiteralError } from './python-literal.ts';

/** A problem with one row (or the whole file when `row` is 0). */
export interface RowError {
  file: string;
  /** 1-based data row (the header is row 0). */
  row: number;
  /** 1-based line in the file where the row starts. */
  line: number;
  field: string;
  message: string;
}

export function formatRowError(e: RowError): string {
  return `${e.file}: row ${e.row} (line ${e.line}), field "${e.field}": ${e.message}`;
}

export interface TopCsvResult {
  rows: LabelledTrial[];
  errors: RowError[];
  /**
   * Only with `requireLabel: false`: trials whose label cell is empty (or whose file has no label column). They are
   * never put in `rows` with an invented label.
   */
  unlabelled?: Trial[];
}

export interface TopCsvOptions {
  /** Column holding the label; `label_top` is used by the reconstructed "approx" files. Default "label". */
  labelColumn?: string;
  /**
   * Default true. When false, rows without a label are allowed: they are returned in `unlabelled` (rows with a
   * valid label still go to `rows`; a label cell holding anything but 0/1 is still an error).
   */
  requireLabel?: boolean;
}

const REQUIRED_COLUMNS = ['nctid', 'phase', 'diseases', 'icdcodes', 'drugs', 'smiless', 'criteria'] as const;

/** Reads file bytes as UTF-8 text, gunzipping `.gz` files. Invalid UTF-8 becomes U+FFFD, never a crash. */
export function readTextFile(file: string): string {
  let bytes: Buffer = readFileSync(file);
  if (file.endsWith('.gz')) bytes = gunzipSync(bytes);
  let text = new TextDecoder('utf-8', { fatal: false }).decode(bytes);
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  return text;
}

/** Parses TOP CSV text. `source` names the file in error messages. */
export function parseTopCsv(text: string, source: string, options: TopCsvOptions = {}): TopCsvResult {
  const labelColumn = options.labelColumn ?? 'label';
  const requireLabel = options.requireLabel ?? true;
  const errors: RowError[] = [];
  const rows: LabelledTrial[] = [];
  const unlabelled: Trial[] = [];
  const result = (): TopCsvResult => (requireLabel ? { rows, errors } : { rows, errors, unlabelled });
  if (text.trim().length === 0) {
    errors.push({ file: source, row: 0, line: 1, field: '(file)', message: 'file is empty' });
    return result();
  }
  let records: { record: string[]; info: { bytes: number } }[];
  // Line numbers come from byte offsets, not from csv-parse's `info.lines`: csv-parse counts every CR and LF inside
  // a quoted field as a line break, so a CRLF in a criteria cell (a file checked out with git's autocrlf, or
  // unix2dos'd) counted twice and every later row's line drifted by one per CRLF; subtracting the row's own LFs
  // from it could even give line 0. A record starts where the previous one ended (`info.bytes`), past blank lines.
  // Parsing the UTF-8 bytes ourselves is what csv-parse's sync API does with a string anyway.
  const bytes = Buffer.from(text);
  const lineAt = lineCounter(bytes);
  const startAfter = (end: number) => {
    while (bytes[end] === 0x0a || bytes[end] === 0x0d) end++;
    return end;
  };
  // Records csv-parse could not read (e.g. `"abc"x`, or a quote never closed): reported as row errors so that the
  // other rows survive. `after` = how many records were read before this one.
  const skipped: { after: number; message: string }[] = [];
  try {
    records = parse(bytes, {
      info: true,
      bom: true,
      relax_column_count: true,
      // A stray quote inside an unquoted field is kept as text, as Python's csv module (which wrote TOP) does.
      relax_quotes: true,
      skip_empty_lines: true,
      skip_records_with_error: true,
      on_skip: (err) => {
        skipped.push({
          after: Number(err?.records ?? 0),
          message: err?.message ?? 'unreadable CSV record',
        });
        return undefined;
      },
    }) as unknown as { record: string[]; info: { bytes: number } }[];
  } catch (err) {
    const e = err as Error & { lines?: number; code?: string };
    errors.push({
      file: source,
      row: 0,
      line: e.lines ?? 0,
      field: '(csv)',
      message: `cannot parse CSV: ${e.message}`,
    });
    return result();
  }
  if (records.length === 0 || (skipped.length > 0 && skipped[0].after === 0)) {
    const why = skipped.length > 0 && skipped[0].after === 0 ? `: ${skipped[0].message}` : '';
    errors.push({ file: source, row: 0, line: 1, field: '(header)', message: `no header row${why}` });
    return result();
  }
  const header = records[0].record.map((h) => h.trim());
  const index = new Map(header.map((h, i) => [h, i]));
  const missing = [...REQUIRED_COLUMNS, ...(requireLabel ? [labelColumn] : [])].filter((c) => !index.has(c));
  if (missing.length > 0) {
    errors.push({
      file: source,
      row: 0,
      line: 1,
      field: missing.join(','),
      message: `missing column(s) ${missing.join(', ')}; header is ${header.join(',')}`,
    });
    return result();
  }
  const hasLabel = index.has(labelColumn);
  const seen = new Map<string, number>();
  // Data rows in file order: read records and skipped (unreadable) ones, numbered together.
  let row = 0;
  let nextSkip = 0;
  const reportSkipped = (upTo: number) => {
    while (nextSkip < skipped.length && skipped[nextSkip].after <= upTo) {
      const s = skipped[nextSkip++];
      row++;
      // The record starts right after the last one read (csv-parse reports where it gave up, often the file end).
      const line = lineAt(startAfter(records[Math.min(s.after, records.length) - 1].info.bytes));
      errors.push({ file: source, row, line, field: '(csv)', message: s.message });
    }
  };
  for (let r = 1; r < records.length; r++) {
    reportSkipped(r);
    const { record } = records[r];
    row++;
    // Where the record starts: info.bytes of the previous one is the offset just past it and its line end. (Only
    // a quote left open at the end of the file makes csv-parse skip a record, so none is skipped in between.)
    const line = lineAt(startAfter(records[r - 1].info.bytes));
    const fail = (field: string, message: string) => errors.push({ file: source, row, line, field, message });
    if (record.length !== header.length) {
      fail('(row)', `has ${record.length} fields, header has ${header.length}`);
      continue;
    }
    const get = (name: string) => record[index.get(name)!];
    const nctid = get('nctid').trim();
    if (!NCT_ID.test(nctid)) {
      fail('nctid', `not an NCT id: ${JSON.stringify(nctid.slice(0, 40))}`);
      continue;
    }
    const lists: Partial<Record<'diseases' | 'drugs' | 'smiless', string[]>> = {};
    let bad = false;
    for (const field of ['diseases', 'drugs', 'smiless'] as const) {
      try {
        lists[field] = parseListCell(get(field));
      } catch (err) {
        fail(field, (err as Error).message);
        bad = true;
      }
    }
    let icdcodes: string[][] = [];
    try {
      icdcodes = parseNestedListCell(get('icdcodes'));
    } catch (err) {
      fail('icdcodes', (err as Error).message);
      bad = true;
    }
    let label: OutcomeLabel | undefined;
    const rawLabel = hasLabel ? get(labelColumn).trim() : '';
    if (rawLabel === '1' || rawLabel === '1.0') label = 1;
    else if (rawLabel === '0' || rawLabel === '0.0') label = 0;
    else if (requireLabel || rawLabel !== '') {
      fail(labelColumn, `label must be 0 or 1, got ${JSON.stringify(rawLabel.slice(0, 20))}`);
      bad = true;
    }
    if (bad) continue;
    const firstRow = seen.get(nctid);
    if (firstRow !== undefined) {
      // A repeated trial would be counted (and possibly labelled) twice; the first occurrence wins.
      fail('nctid', `duplicate ${nctid} (first seen in row ${firstRow})`);
      continue;
    }
    seen.set(nctid, row);
    // Allow-list: status and why_stop are deliberately not read.
    const trial: Trial = {
      nctid,
      phase: get('phase').trim().toLowerCase(),
      diseases: lists.diseases!,
      icdcodes,
      drugs: lists.drugs!,
      smiles: lists.smiless!,
      criteria: get('criteria'),
    };
    if (index.has('title') && get('title').trim()) trial.title = get('title').trim();
    if (label === undefined) unlabelled.push(trial);
    else rows.push({ trial, label });
  }
  reportSkipped(Infinity);
  return result();
}

/**
 * `lineAt(offset)`: the 1-based line of a byte offset. Lines end with CRLF, LF or a lone CR, as editors and Python's
 * universal newlines see them (a classic-Mac file with CR line ends still gets line numbers).
 */
function lineCounter(bytes: Buffer): (offset: number) => number {
  const ends: number[] = []; // offset of the last byte of each line end
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i];
    if (b === 0x0d) {
      if (bytes[i + 1] === 0x0a) i++;
      ends.push(i);
    } else if (b === 0x0a) ends.push(i);
  }
  return (offset) => {
    // Binary search: number of line ends before `offset`.
    let lo = 0;
    let hi = ends.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (ends[mid] < offset) lo = mid + 1;
      else hi = mid;
    }
    return lo + 1;
  };
}

function parseListCell(cell: string): string[] {
  const text = cell.trim();
  if (text === '' || text === 'nan') return [];
  try {
    return parsePythonStringList(text).map((s) => s.trim()).filter((s) => s.length > 0);
  } catch (err) {
    if (err instanceof PythonLiteralError) throw new Error(`not a Python list of strings (${err.message})`);
    throw err;
  }
}

function parseNestedListCell(cell: string): string[][] {
  const text = cell.trim();
  if (text === '' || text === 'nan') return [];
  try {
    return parseNestedStringList(text).map((codes) => codes.map((c) => c.trim()).filter((c) => c.length > 0));
  } catch (err) {
    if (err instanceof PythonLiteralError) throw new Error(`not a list of ICD-10 code lists (${err.message})`);
    throw err;
  }
}

/** Reads one TOP CSV file (plain or .gz). */
export function readTopCsv(file: string, options: TopCsvOptions = {}): TopCsvResult {
  let text: string;
  try {
    text = readTextFile(file);
  } catch (err) {
    return {
      rows: [],
      errors: [{ file, row: 0, line: 0, field: '(file)', message: `cannot read: ${(err as Error).message}` }],
    };
  }
  return parseTopCsv(text, file, options);
}
