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
import path from 'node:path';
import { parse } from 'csv-parse/sync';
import type { LabelledTrial, OutcomeLabel, Trial } from './trial.ts';
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
}

export interface TopCsvOptions {
  /** Column holding the label; `label_top` is used by the reconstructed "approx" files. Default "label". */
  labelColumn?: string;
  /** Rows without a label are allowed (label becomes undefined and the row is returned in `unlabelled`). */
  requireLabel?: boolean;
}

const REQUIRED_COLUMNS = ['nctid', 'phase', 'diseases', 'icdcodes', 'drugs', 'smiless', 'criteria'] as const;
const NCTID = /^NCT\d{8}$/;

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
  if (text.trim().length === 0) {
    errors.push({ file: source, row: 0, line: 1, field: '(file)', message: 'file is empty' });
    return { rows, errors };
  }
  let records: { record: string[]; info: { lines: number } }[];
  try {
    records = parse(text, {
      info: true,
      relax_column_count: true,
      skip_empty_lines: true,
    }) as unknown as { record: string[]; info: { lines: number } }[];
  } catch (err) {
    const e = err as Error & { lines?: number; code?: string };
    errors.push({
      file: source,
      row: 0,
      line: e.lines ?? 0,
      field: '(csv)',
      message: `cannot parse CSV: ${e.message}`,
    });
    return { rows, errors };
  }
  if (records.length === 0) {
    errors.push({ file: source, row: 0, line: 1, field: '(header)', message: 'no header row' });
    return { rows, errors };
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
    return { rows, errors };
  }
  let startLine = records[0].info.lines + 1;
  for (let r = 1; r < records.length; r++) {
    const { record, info } = records[r];
    const line = startLine;
    startLine = info.lines + 1;
    const fail = (field: string, message: string) => errors.push({ file: source, row: r, line, field, message });
    if (record.length !== header.length) {
      fail('(row)', `has ${record.length} fields, header has ${header.length}`);
      continue;
    }
    const get = (name: string) => record[index.get(name)!];
    const nctid = get('nctid').trim();
    if (!NCTID.test(nctid)) {
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
    if (requireLabel) {
      const raw = get(labelColumn).trim();
      if (raw === '1' || raw === '1.0') label = 1;
      else if (raw === '0' || raw === '0.0') label = 0;
      else {
        fail(labelColumn, `label must be 0 or 1, got ${JSON.stringify(raw.slice(0, 20))}`);
        bad = true;
      }
    }
    if (bad) continue;
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
    rows.push({ trial, label: label ?? 0 });
  }
  return { rows, errors };
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
  return parseTopCsv(text, path.basename(file) === file ? file : file, options);
}
