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
import type { Readable } from 'node:stream';
import { parse } from 'csv-parse/sync';
import { parse as parseStream } from 'csv-parse';
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

/** csv-parse options of every TOP read (sync or streamed). */
const CSV_OPTIONS = {
  bom: true,
  relax_column_count: true,
  // A stray quote inside an unquoted field is kept as text, as Python's csv module (which wrote TOP) does.
  relax_quotes: true,
  skip_empty_lines: true,
  skip_records_with_error: true,
  // Each record's source text: line numbers are counted from it (see TopCsvRows), and a broken record is re-read
  // from it line by line.
  raw: true,
} as const;

/**
 * A streamed record longer than this stops the read (a quote never closed in a 6 GB file would otherwise grow
 * one field until memory runs out). TOP's largest criteria cell is ~40 KB; a 1 MB cell is tested to read.
 * (csv-parse's own max_record_size is not used: past it, csv-parse re-reports the same record on every chunk,
 * which made a 20 MB file take 22 s, measured.)
 */
export const MAX_STREAMED_RECORD_BYTES = 4 * 1024 * 1024;

/** An `on_record` hook that sees each record with its raw text (csv-parse's types assume neither) and drops it. */
export const onRecord = (f: (r: { record: string[]; raw: string }) => void) =>
  ((r: unknown) => {
    f(r as { record: string[]; raw: string });
    return null;
  }) as unknown as (record: string[]) => null;

/** A csv-parse error as a row error message (its own line numbers count CRs inside quotes, so they are dropped). */
export function skipMessage(err: (Error & { code?: string }) | undefined): string {
  if (err?.code === 'CSV_QUOTE_NOT_CLOSED') return 'Quote Not Closed: a quoted cell is opened and never closed';
  return (err?.message ?? 'unreadable CSV record').replace(/ at line \d+/g, '');
}

/** Matches a line that starts a TOP record when nctid is the first column. */
const RECORD_START = /^[ \t]*"?NCT\d{8}"?[ \t]*,/;
const LINE_END = /\r\n|\r|\n/g;
const countLineEnds = (text: string) => text.match(LINE_END)?.length ?? 0;
const leadingLineEnds = (text: string) => countLineEnds(/^[\r\n]*/.exec(text)![0]);

/** Start lines of consecutive raw record texts. A CRLF split between two of them is one line end. */
class LineTracker {
  private pendingCr = false;
  constructor(private lines = 0) {}

  /** The line after the last record fed. */
  peekLine(): number {
    return this.lines + 1;
  }

  /** The line where `raw` (the next record's text) starts its record. */
  next(raw: string): number {
    const text = this.pendingCr && raw.startsWith('\n') ? raw.slice(1) : raw;
    const start = this.lines + leadingLineEnds(text) + 1;
    this.lines += countLineEnds(text);
    if (text.length > 0) this.pendingCr = text.endsWith('\r');
    return start;
  }
}

/** One output of the row reader, in file order. */
export type TopCsvItem = { trial: Trial; label?: OutcomeLabel; error?: undefined } | { error: RowError; trial?: undefined };

/**
 * The TOP row logic shared by the whole-text and the streamed reader: fed csv-parse records (with their raw text)
 * in order, it keeps line numbers, checks each row and re-reads broken records.
 *
 * Line numbers come from the raw text of each record, not from csv-parse's `info.lines`: csv-parse counts every
 * CR and LF inside a quoted field as a line break, so a CRLF in a criteria cell counted twice. Lines end with CRLF,
 * LF or a lone CR, as editors and Python's universal newlines see them.
 *
 * A quote opened and never closed swallows the records after it into one field (or, at the end of the file, into
 * a skipped record). Such a record (wrong field count, skipped, or holding a line that starts a record) is re-read
 * from the first following line that starts with an NCT id and parses into whole rows: only the lines before it
 * are lost, and the error names them.
 */
export class TopCsvRows {
  readonly out: TopCsvItem[] = [];
  private header: string[] | null = null;
  private index = new Map<string, number>();
  private hasLabel = false;
  private fatal = false;
  private readonly lines = new LineTracker();
  private row = 0;
  private readonly seen = new Map<string, number>();
  private readonly labelColumn: string;
  private readonly requireLabel: boolean;

  constructor(
    private readonly source: string,
    options: TopCsvOptions = {},
  ) {
    this.labelColumn = options.labelColumn ?? 'label';
    this.requireLabel = options.requireLabel ?? true;
  }

  /** Whether a header was read (an input with none gets one error at `finish`). */
  get started(): boolean {
    return this.header !== null;
  }

  /**
   * The reading stops at the record that starts after the last one fed (it grew past a limit): say so, naming
   * the row and line where the unread part begins.
   */
  stopHere(why: string): void {
    const line = this.lines.peekLine();
    if (!this.header) {
      if (!this.fatal) this.fileError(line, '(header)', `no header row: ${why}`);
      this.fatal = true;
      return;
    }
    this.out.push({ error: { file: this.source, row: this.row + 1, line, field: '(csv)', message: `${why}; the rest of the file, from line ${line} on, was not read` } });
    this.fatal = true;
  }

  /** A record csv-parse read. */
  record(record: string[], raw: string): void {
    this.recordAt(record, raw, this.lines.next(raw), 0);
  }

  /** A record csv-parse could not read (e.g. a quote never closed): re-read from its raw text. */
  skipped(message: string, raw: string): void {
    this.skippedAt(message, raw.replace(/^[\r\n]+/, ''), this.lines.next(raw), 0);
  }

  private skippedAt(message: string, body: string, line: number, depth: number): void {
    if (this.fatal) return;
    if (!this.header) {
      this.fileError(line, '(header)', `no header row: ${message}`);
      this.fatal = true;
      return;
    }
    if (depth < 8 && this.recover(body, line, message, depth)) return;
    this.lost(line, line + Math.max(0, countLineEnds(body.replace(/[\r\n]+$/, ''))), message, '');
  }

  /** Call once after the last record. */
  finish(): void {
    if (!this.header && !this.fatal) this.fileError(1, '(header)', 'no header row');
  }

  private fileError(line: number, field: string, message: string): void {
    this.out.push({ error: { file: this.source, row: 0, line, field, message } });
  }

  private recordAt(record: string[], raw: string, line: number, depth: number): void {
    if (this.fatal) return;
    if (!this.header) {
      const header = record.map((h) => h.trim());
      const missing = [...REQUIRED_COLUMNS, ...(this.requireLabel ? [this.labelColumn] : [])].filter((c) => !header.includes(c));
      if (missing.length > 0) {
        this.fileError(1, missing.join(','), `missing column(s) ${missing.join(', ')}; header is ${header.join(',')}`);
        this.fatal = true;
        return;
      }
      this.header = header;
      this.index = new Map(header.map((h, i) => [h, i]));
      this.hasLabel = this.index.has(this.labelColumn);
      return;
    }
    const body = raw.replace(/^[\r\n]+/, '').replace(/[\r\n]+$/, '');
    const multiLine = LINE_END.test(body);
    LINE_END.lastIndex = 0;
    const swallows = multiLine && this.swallowsRecords(body);
    if (multiLine && depth < 8 && (record.length !== this.header.length || swallows)) {
      const why = record.length !== this.header.length ? `has ${record.length} fields, header has ${this.header.length}` : 'holds a line that starts another record (a quote left open?)';
      if (this.recover(body, line, why, depth)) return;
      if (swallows) {
        // The record it swallowed ends beyond this one: neither can be read, but the loss must not be silent
        // (accepting this row would also give it the other row's text as criteria).
        const last = line + countLineEnds(body);
        this.row++;
        this.out.push({ error: { file: this.source, row: this.row, line, field: '(csv)', message: `${why}: lines ${line}-${last} could not be read as a row and were skipped` } });
        return;
      }
    }
    this.check(record, line);
  }

  /** Whether a multi-line record holds a later line that starts a whole, valid-looking record. */
  private swallowsRecords(body: string): boolean {
    if (this.index.get('nctid') !== 0) return false;
    return body.split(LINE_END).slice(1).some((l) => RECORD_START.test(l));
  }

  /**
   * Re-reads a broken record's text from the first later line that starts a record and parses into whole rows;
   * the lines before it are reported lost. Returns false (reporting nothing) when there is no such line.
   */
  /** Records lines `line`..`last` as one unreadable row (an error naming them), counted as a row. */
  private lost(line: number, last: number, why: string, suffix: string): void {
    this.row++;
    this.out.push({
      error: {
        file: this.source,
        row: this.row,
        line,
        field: '(csv)',
        message: `${why}: line${last > line ? `s ${line}-${last}` : ` ${line}`} could not be read as a row and ${last > line ? 'were' : 'was'} skipped${suffix}`,
      },
    });
  }

  private recover(body: string, line: number, why: string, depth: number): boolean {
    const header = this.header!;
    const parts = body.split(/(?<=\r\n|\r(?!\n)|\n)/);
    if (this.index.get('nctid') === 0) {
      let offset = parts[0].length;
      // Each try re-parses the rest of the record: a bounded number keeps a garbage file from costing n² time.
      let tries = 0;
      for (let k = 1; k < parts.length && tries < 16; offset += parts[k].length, k++) {
        if (!RECORD_START.test(parts[k])) continue;
        tries++;
        const rest = body.slice(offset);
        const events: { record?: string[]; raw: string; skip?: string }[] = [];
        try {
          parse(rest, {
            ...CSV_OPTIONS,
            on_record: onRecord((r) => events.push({ record: r.record, raw: r.raw })),
            on_skip: (err, raw) => void events.push({ skip: skipMessage(err), raw: raw ?? '' }),
          });
        } catch {
          continue;
        }
        if (events.length === 0 || events[0].record?.length !== header.length) continue;
        const last = line + k - 1;
        this.lost(line, last, why, `; reading resumed at line ${last + 1}`);
        const lines = new LineTracker(line + k - 1);
        for (const ev of events) {
          const start = lines.next(ev.raw);
          if (ev.record) this.recordAt(ev.record, ev.raw, start, depth + 1);
          else this.skippedAt(ev.skip!, ev.raw.replace(/^[\r\n]+/, ''), start, depth + 1);
        }
        return true;
      }
    }
    return false;
  }

  /** Checks one data row and emits its trial or its error. */
  private check(record: string[], line: number): void {
    const header = this.header!;
    const index = this.index;
    this.row++;
    const row = this.row;
    const fail = (field: string, message: string) => this.out.push({ error: { file: this.source, row, line, field, message } });
    if (record.length !== header.length) {
      fail('(row)', `has ${record.length} fields, header has ${header.length}`);
      return;
    }
    const get = (name: string) => record[index.get(name)!];
    const nctid = get('nctid').trim();
    if (!NCT_ID.test(nctid)) {
      fail('nctid', `not an NCT id: ${JSON.stringify(nctid.slice(0, 40))}`);
      return;
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
    const rawLabel = this.hasLabel ? get(this.labelColumn).trim() : '';
    if (rawLabel === '1' || rawLabel === '1.0') label = 1;
    else if (rawLabel === '0' || rawLabel === '0.0') label = 0;
    else if (this.requireLabel || rawLabel !== '') {
      fail(this.labelColumn, `label must be 0 or 1, got ${JSON.stringify(rawLabel.slice(0, 20))}`);
      bad = true;
    }
    if (bad) return;
    const firstRow = this.seen.get(nctid);
    if (firstRow !== undefined) {
      // A repeated trial would be counted (and possibly labelled) twice; the first occurrence wins.
      fail('nctid', `duplicate ${nctid} (first seen in row ${firstRow})`);
      return;
    }
    this.seen.set(nctid, row);
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
    this.out.push(label === undefined ? { trial } : { trial, label });
  }
}

/** Parses TOP CSV text. `source` names the file in error messages. */
export function parseTopCsv(text: string, source: string, options: TopCsvOptions = {}): TopCsvResult {
  const requireLabel = options.requireLabel ?? true;
  const errors: RowError[] = [];
  const rows: LabelledTrial[] = [];
  const unlabelled: Trial[] = [];
  const result = (): TopCsvResult => (requireLabel ? { rows, errors } : { rows, errors, unlabelled });
  if (text.trim().length === 0) {
    errors.push({ file: source, row: 0, line: 1, field: '(file)', message: 'file is empty' });
    return result();
  }
  const reader = new TopCsvRows(source, options);
  try {
    parse(text.charCodeAt(0) === 0xfeff ? text.slice(1) : text, {
      ...CSV_OPTIONS,
      // Records and unreadable records reach the reader in file order; none is kept by csv-parse.
      on_record: onRecord((r) => reader.record(r.record, r.raw)),
      on_skip: (err, raw) => void reader.skipped(skipMessage(err), raw ?? ''),
    });
    reader.finish();
  } catch (err) {
    const e = err as Error & { lines?: number };
    errors.push({ file: source, row: 0, line: e.lines ?? 0, field: '(csv)', message: `cannot parse CSV: ${e.message}` });
    return result();
  }
  for (const item of reader.out) {
    if (item.error) errors.push(item.error);
    else if (item.label === undefined) unlabelled.push(item.trial);
    else rows.push({ trial: item.trial, label: item.label });
  }
  return result();
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

/**
 * Reads TOP CSV from a byte stream, yielding rows and row errors in file order as they are read: memory holds one
 * chunk and the rows not yet consumed, not the file (50,000 rows read whole took 1.71 GB, measured). Same rows,
 * errors and line numbers as `parseTopCsv` on the whole text.
 */
export async function* streamTopCsv(input: Readable, source: string, options: TopCsvOptions = {}): AsyncGenerator<TopCsvItem> {
  const reader = new TopCsvRows(source, options);
  let fed = 0;
  const parser = parseStream({
    ...CSV_OPTIONS,
    on_record: onRecord((r) => {
      fed++;
      reader.record(r.record, r.raw);
    }),
    on_skip: (err, raw) => {
      fed++;
      reader.skipped(skipMessage(err), raw ?? '');
    },
  });
  // Nothing is pushed to the readable side (on_record drops every record), but it must flow for 'end'.
  parser.resume();
  const ended = new Promise<void>((resolve, reject) => {
    parser.on('end', resolve);
    parser.on('error', reject);
  });
  let content = false;
  // Bytes read since the last record ended (at most: a record may end anywhere in the chunk that fed it).
  let open = 0;
  for await (const chunk of input) {
    const bytes = chunk as Buffer;
    if (!content && /\S/.test(bytes.toString('latin1').replace(/^\uFEFF|^\xEF\xBB\xBF/, ''))) content = true;
    const before = fed;
    // The write callback runs once the chunk is parsed: the reader then holds its rows, in order.
    await new Promise<void>((resolve, reject) => parser.write(bytes, (err) => (err ? reject(err) : resolve())));
    open = fed === before ? open + bytes.length : bytes.length;
    yield* reader.out.splice(0);
    if (open > MAX_STREAMED_RECORD_BYTES) {
      reader.stopHere(`a record longer than ${MAX_STREAMED_RECORD_BYTES} bytes starts here (a quote left open, or not a CSV file?)`);
      yield* reader.out.splice(0);
      parser.destroy();
      if ('destroy' in input && typeof input.destroy === 'function') input.destroy();
      return;
    }
  }
  parser.end();
  try {
    await ended;
  } catch (err) {
    yield { error: { file: source, row: 0, line: 0, field: '(csv)', message: `cannot parse CSV: ${(err as Error).message}` } };
    return;
  }
  if (!content) {
    yield { error: { file: source, row: 0, line: 1, field: '(file)', message: 'file is empty' } };
    return;
  }
  reader.finish();
  yield* reader.out.splice(0);
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
