/**
 * What `predict` accepts and how files and request bodies become it.
 *
 * Three input shapes, all turned into a `Trial` by an allow-list of fields (outcome fields such as status,
 * why_stop, overallStatus, whyStopped, results or label are never read, so they cannot change a prediction):
 *  - a TOP benchmark CSV (`nctid,...,phase,diseases,icdcodes,drugs,smiless,criteria`; label optional);
 *  - ClinicalTrials.gov API v2 JSON: one study, or one page `{ "studies": [...] }` (see data/ctgov.ts);
 *  - a TOP-like JSON record `{ nctid, phase, diseases, icdcodes, drugs, smiless, criteria }`, whose list fields
 *    are JSON arrays or TOP's Python list literals (`"['a', 'b']"`).
 * NDJSON files hold one study, page or TOP-like record per line.
 */
import { closeSync, createReadStream, openSync, readFileSync, readSync, statSync } from 'node:fs';
import type { Readable } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';
import { constants as zlibConstants, createGunzip, gunzipSync } from 'node:zlib';
import { parseCtgovJson, parseCtgovStudy, parseCtgovValue, type CtgovReport, type RecordError } from '../data/ctgov.ts';
import { parseNestedStringList, parsePythonStringList } from '../data/python-literal.ts';
import { streamTopCsv, type RowError } from '../data/top-csv.ts';
import { NCT_ID, type Trial } from '../data/trial.ts';
import { escapeControl } from '../runtime/safe-text.ts';

/** One trial to predict, with what its reader found out about it. */
export interface PredictInput {
  trial: Trial;
  /** Mapping report of a ClinicalTrials.gov record (unmapped drugs, conditions without ICD-10 code, ...). */
  report?: CtgovReport;
  /** Reader warnings for this record. */
  warnings?: string[];
  /** Where the record came from, e.g. "trials.csv row 3". */
  source?: string;
}

/** A `Trial` or a `PredictInput`. */
export type InputLike = Trial | PredictInput;

export function toPredictInput(x: InputLike): PredictInput {
  return 'trial' in x && typeof (x as PredictInput).trial === 'object' ? (x as PredictInput) : { trial: x as Trial };
}

/** A record that could not be read. `field` names the offending field (a JSON path or a CSV column). */
export interface InputError {
  source: string;
  /** "row 3 (line 7)", "line 5", "record 2 NCT01234567", ... */
  location?: string;
  field: string;
  message: string;
}

/** One line naming source, location and field; control characters from the input are escaped. */
export function formatInputError(e: InputError): string {
  return escapeControl(`${e.source}: ${e.location ? `${e.location}, ` : ''}field "${e.field}": ${e.message}`);
}


/**
 * Items of a list field (drugs, diseases, SMILES, ICD-10 code lists) and characters of one item, the same whether
 * the list is a JSON array or a Python list-literal string. Why both shapes: a 35 KB request with 3,200 drugs in
 * one list-literal string got past the array's limit and froze the service for a minute (measured).
 */
export const MAX_LIST_ITEMS = 200;
export const MAX_ITEM_CHARS = 20000;
/** Characters of a criteria text or of a list field sent as one string (the HTTP schema's limit). */
export const MAX_TEXT_CHARS = 200000;

/** Why a parsed list breaks the limits, or null. */
function listProblem(items: readonly string[]): string | null {
  if (items.length > MAX_LIST_ITEMS) return `has ${items.length} items; at most ${MAX_LIST_ITEMS} are accepted, as a JSON array or as a list literal`;
  const long = items.findIndex((x) => x.length > MAX_ITEM_CHARS);
  if (long >= 0) return `item ${long} has ${items[long].length} characters; at most ${MAX_ITEM_CHARS} are accepted`;
  return null;
}

export interface RecordOptions {
  source?: string;
  /** Location prefix of errors, e.g. "line 4". */
  location?: string;
  /** JSON path prefix of fields, e.g. "records[2]" (no trailing dot). */
  path?: string;
}

const join = (prefix: string | undefined, field: string) => (prefix ? `${prefix}.${field}` : field);

/** Reads a list field given as a JSON array of strings or as a Python list literal. */
function stringList(value: unknown, field: string, fail: (field: string, message: string) => void): string[] | undefined {
  if (value === undefined || value === null) return [];
  if (typeof value === 'string') {
    const text = value.trim();
    if (text === '' || text === 'nan') return [];
    let items: string[];
    try {
      items = parsePythonStringList(text).map((s) => s.trim()).filter(Boolean);
    } catch (err) {
      fail(field, `expected an array of strings or a Python list literal (${(err as Error).message})`);
      return undefined;
    }
    const problem = listProblem(items);
    if (problem) {
      fail(field, problem);
      return undefined;
    }
    return items;
  }
  if (!Array.isArray(value)) {
    fail(field, `expected an array of strings, got ${jsonType(value)}`);
    return undefined;
  }
  if (value.length > MAX_LIST_ITEMS) {
    fail(field, `has ${value.length} items; at most ${MAX_LIST_ITEMS} are accepted`);
    return undefined;
  }
  const out: string[] = [];
  for (let i = 0; i < value.length; i++) {
    if (typeof value[i] !== 'string') {
      fail(`${field}[${i}]`, `expected a string, got ${jsonType(value[i])}`);
      return undefined;
    }
    const s = (value[i] as string).trim();
    if (s) out.push(s);
  }
  return out;
}

/** icdcodes: string[][], or string[] (each a code or a list literal), or TOP's nested literal. */
function icdList(value: unknown, field: string, fail: (field: string, message: string) => void): string[][] | undefined {
  if (value === undefined || value === null) return [];
  if (typeof value === 'string') {
    const text = value.trim();
    if (text === '' || text === 'nan') return [];
    let lists: string[][];
    try {
      lists = parseNestedStringList(text).map((codes) => codes.map((c) => c.trim()).filter(Boolean));
    } catch (err) {
      fail(field, `expected a list of ICD-10 code lists (${(err as Error).message})`);
      return undefined;
    }
    const problem = lists.length > MAX_LIST_ITEMS ? `has ${lists.length} code lists; at most ${MAX_LIST_ITEMS} are accepted` : lists.map(listProblem).find(Boolean);
    if (problem) {
      fail(field, problem);
      return undefined;
    }
    return lists;
  }
  if (!Array.isArray(value)) {
    fail(field, `expected an array (one entry of ICD-10 codes per disease), got ${jsonType(value)}`);
    return undefined;
  }
  if (value.length > MAX_LIST_ITEMS) {
    fail(field, `has ${value.length} entries; at most ${MAX_LIST_ITEMS} are accepted`);
    return undefined;
  }
  const out: string[][] = [];
  for (let i = 0; i < value.length; i++) {
    const item = value[i];
    const at = `${field}[${i}]`;
    if (typeof item === 'string') {
      const text = item.trim();
      if (text.startsWith('[')) {
        let codes: string[];
        try {
          codes = parsePythonStringList(text).map((c) => c.trim()).filter(Boolean);
        } catch (err) {
          fail(at, `not a list literal of ICD-10 codes (${(err as Error).message})`);
          return undefined;
        }
        const problem = listProblem(codes);
        if (problem) {
          fail(at, problem);
          return undefined;
        }
        out.push(codes);
      } else out.push(text ? [text] : []);
    } else if (Array.isArray(item)) {
      const codes = stringList(item, at, fail);
      if (!codes) return undefined;
      out.push(codes);
    } else {
      fail(at, `expected an array of ICD-10 codes or a code, got ${jsonType(item)}`);
      return undefined;
    }
  }
  return out;
}

/**
 * A TOP-like JSON record -> PredictInput. Only the allow-listed fields are read: nctid, phase, diseases,
 * icdcodes, drugs, smiless (or smiles), criteria, title.
 */
export function parseTopRecord(value: unknown, o: RecordOptions = {}): { input?: PredictInput; errors: InputError[] } {
  const source = o.source ?? '<input>';
  const errors: InputError[] = [];
  const fail = (field: string, message: string) => errors.push({ source, ...(o.location ? { location: o.location } : {}), field: join(o.path, field), message });
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    errors.push({ source, ...(o.location ? { location: o.location } : {}), field: o.path || '$', message: `expected a trial record object, got ${jsonType(value)}` });
    return { errors };
  }
  const r = value as Record<string, unknown>;
  if (r.nctid === undefined) fail('nctid', 'missing');
  else if (typeof r.nctid !== 'string') fail('nctid', `expected a string, got ${jsonType(r.nctid)}`);
  else if (!NCT_ID.test(r.nctid.trim())) fail('nctid', `not an NCT id (NCT + 8 digits): ${JSON.stringify(r.nctid.slice(0, 40))}`);
  if (r.phase === undefined) fail('phase', 'missing (e.g. "phase 1", "phase 1/phase 2")');
  else if (typeof r.phase !== 'string') fail('phase', `expected a string, got ${jsonType(r.phase)}`);
  if (r.criteria !== undefined && r.criteria !== null && typeof r.criteria !== 'string') fail('criteria', `expected a string, got ${jsonType(r.criteria)}`);
  if (r.title !== undefined && r.title !== null && typeof r.title !== 'string') fail('title', `expected a string, got ${jsonType(r.title)}`);
  const diseases = stringList(r.diseases, 'diseases', fail);
  const icdcodes = icdList(r.icdcodes, 'icdcodes', fail);
  const drugs = stringList(r.drugs, 'drugs', fail);
  const smilesField = r.smiless !== undefined ? 'smiless' : 'smiles';
  const smiles = stringList(r[smilesField], smilesField, fail);
  if (errors.length > 0) return { errors };
  const trial: Trial = {
    nctid: (r.nctid as string).trim(),
    phase: (r.phase as string).trim().toLowerCase(),
    diseases: diseases!,
    icdcodes: icdcodes!,
    drugs: drugs!,
    smiles: smiles!,
    criteria: (r.criteria as string | undefined) ?? '',
  };
  if (typeof r.title === 'string' && r.title.trim()) trial.title = r.title.trim();
  const input: PredictInput = { trial };
  if (o.location) input.source = `${source} ${o.location}`;
  return { input, errors };
}

function fromRecordError(e: RecordError, location?: string): InputError {
  const where = [location, e.nctid].filter(Boolean).join(' ');
  return { source: e.source, ...(where ? { location: where } : {}), field: e.path || '$', message: e.message };
}

export interface JsonRecordOptions extends RecordOptions {
  /** TOP data directory (aux/drugs, aux/icd) for ClinicalTrials.gov records. */
  dataDir: string;
}

/** Whether a parsed JSON value is a ClinicalTrials.gov study or page (rather than a TOP-like record). */
export function isCtgovValue(value: unknown): boolean {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && ('protocolSection' in value || 'studies' in value);
}

/** One parsed JSON value: an API v2 study, an API v2 page, or a TOP-like record. */
export function parseJsonRecord(value: unknown, o: JsonRecordOptions): { inputs: PredictInput[]; errors: InputError[] } {
  const source = o.source ?? '<input>';
  if (!isCtgovValue(value)) {
    const r = parseTopRecord(value, o);
    return { inputs: r.input ? [r.input] : [], errors: r.errors };
  }
  try {
    const parsed = o.path
      ? (() => {
          const r = parseCtgovStudy(value, { dataDir: o.dataDir, source, path: o.path });
          return { trials: r.result ? [r.result] : [], errors: r.errors };
        })()
      : parseCtgovValue(value, { dataDir: o.dataDir, source });
    return {
      inputs: parsed.trials.map(({ trial, report }) => ({ trial, report, ...(o.location ? { source: `${source} ${o.location}` } : {}) })),
      errors: parsed.errors.map((e) => fromRecordError(e, o.location)),
    };
  } catch (err) {
    // The drug and ICD tables live in the TOP data directory; without it a registry record cannot be mapped.
    return {
      inputs: [],
      errors: [{ source, ...(o.location ? { location: o.location } : {}), field: o.path || '$', message: `cannot map a ClinicalTrials.gov record: ${(err as Error).message}` }],
    };
  }
}

export type InputFormat = 'csv' | 'json' | 'ndjson';

/** Input format from the file name (.csv, .ndjson, .jsonl), else from its first lines (`head`, ~4 KB). */
export function detectFormat(file: string, head: string): InputFormat {
  const name = file.toLowerCase().replace(/\.gz$/, '');
  if (name.endsWith('.ndjson') || name.endsWith('.jsonl')) return 'ndjson';
  if (name.endsWith('.csv')) return 'csv';
  const text = head.replace(/^\uFEFF/, '').trimStart();
  if (text.startsWith('{') || text.startsWith('[')) {
    // A JSON document spans lines freely; NDJSON has one complete object on its first line (even in a .json file).
    const first = text.split('\n', 1)[0].trim();
    try {
      JSON.parse(first);
      return text.split('\n').filter((l) => l.trim()).length > 1 ? 'ndjson' : 'json';
    } catch {
      return 'json';
    }
  }
  return 'csv';
}

/** A reader warning about the whole input (e.g. bytes that are not UTF-8). */
export type InputItem = { input: PredictInput; error?: undefined; warning?: undefined } | { error: InputError; input?: undefined; warning?: undefined } | { warning: string; input?: undefined; error?: undefined };

export interface ReadInputOptions {
  dataDir: string;
  format?: InputFormat;
  /** Name of the input in messages (default: the file path), e.g. "stdin" for a spooled standard input. */
  source?: string;
}

/** Bytes read to guess the format. */
export const HEAD_BYTES = 4096;
/** A JSON document (not NDJSON) is parsed whole: larger ones must be NDJSON. */
export const MAX_JSON_DOCUMENT_BYTES = 256 * 1024 * 1024;
/** One NDJSON line. */
export const MAX_NDJSON_LINE_CHARS = 16 * 1024 * 1024;

/**
 * Why `file` cannot be read as an input, or null. Only regular files (or links to them): a FIFO blocked the
 * reader silently and /dev/zero was read until 6.2 GB of memory (measured). Standard input comes as "-", which
 * the CLI copies to a temporary regular file.
 */
export function inputFileProblem(file: string): string | null {
  let st;
  try {
    st = statSync(file);
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    return `cannot read (${e.code === 'ENOENT' ? 'no such file' : e.code === 'EACCES' ? 'permission denied' : e.message})`;
  }
  if (st.isFile()) return null;
  const kind = st.isDirectory()
    ? 'a directory'
    : st.isFIFO()
      ? 'a named pipe (FIFO)'
      : st.isCharacterDevice()
        ? 'a character device'
        : st.isBlockDevice()
          ? 'a block device'
          : st.isSocket()
            ? 'a socket'
            : 'not a regular file';
  return `is ${kind}: pass a regular file, or "-" to read standard input`;
}

/** The first HEAD_BYTES bytes of a file (decompressed for .gz), read without reading the rest. */
export function readHeadBytes(file: string): Buffer {
  const fd = openSync(file, 'r');
  try {
    const want = file.endsWith('.gz') ? 64 * 1024 : HEAD_BYTES;
    const buf = Buffer.alloc(want);
    const n = readSync(fd, buf, 0, want, 0);
    if (!file.endsWith('.gz')) return buf.subarray(0, n);
    // A partial gzip stream: inflate what is there without requiring its end.
    return gunzipSync(buf.subarray(0, n), { finishFlush: zlibConstants.Z_SYNC_FLUSH }).subarray(0, HEAD_BYTES);
  } finally {
    closeSync(fd);
  }
}

/** The head of an input as text, for `detectFormat`. */
export function readHead(file: string): string {
  return new TextDecoder('utf-8', { fatal: false }).decode(readHeadBytes(file));
}

/** Tracks whether a byte stream is valid UTF-8; `note` is the warning to give, once, when it is not. */
class Utf8Check {
  private readonly decoder = new TextDecoder('utf-8', { fatal: true });
  private offset = 0;
  private badAt: number | null = null;

  feed(chunk: Uint8Array): void {
    if (this.badAt === null) {
      try {
        this.decoder.decode(chunk, { stream: true });
      } catch {
        this.badAt = this.offset;
      }
    }
    this.offset += chunk.length;
  }

  end(): void {
    if (this.badAt !== null) return;
    try {
      this.decoder.decode();
    } catch {
      this.badAt = this.offset;
    }
  }

  note(source: string): string | null {
    if (this.badAt === null) return null;
    return `${source}: not valid UTF-8 (Latin-1 or Windows-1252?): bytes that are not UTF-8 (the first near byte ${this.badAt}) were read as U+FFFD replacement characters, so names and criteria may be altered; save the file as UTF-8`;
  }
}

function byteStream(file: string, check: Utf8Check): Readable {
  const raw = createReadStream(file);
  const stream = file.endsWith('.gz') ? raw.pipe(createGunzip()) : raw;
  stream.on('data', (chunk: Buffer) => check.feed(chunk));
  return stream;
}

/** Counts the records of an input file (for a progress bar): data rows, studies or non-blank lines. */
export async function countRecords(file: string, format: InputFormat): Promise<number | undefined> {
  if (format === 'json') return undefined;
  let n = 0;
  if (format === 'csv') {
    for await (const item of streamTopCsv(byteStream(file, new Utf8Check()), file, { requireLabel: false })) if (!item.error) n++;
    return n;
  }
  for await (const line of boundedLines(byteStream(file, new Utf8Check()))) if (line.text?.trim()) n++;
  return n;
}

/**
 * Lines of a stream, each at most MAX_NDJSON_LINE_CHARS: a longer one comes out as `{ tooLong }` without its
 * text, and is never held whole (a file without line breaks would otherwise be read into one string).
 */
async function* boundedLines(stream: Readable): AsyncGenerator<{ text?: string; tooLong?: number }> {
  const decoder = new StringDecoder('utf8');
  let current = '';
  let dropped = 0;
  const take = function* (text: string): Generator<{ text?: string; tooLong?: number }> {
    let start = 0;
    for (let nl = text.indexOf('\n'); nl >= 0; nl = text.indexOf('\n', start)) {
      const piece = text.slice(start, nl);
      if (dropped > 0) yield { tooLong: dropped + piece.length };
      else if (current.length + piece.length > MAX_NDJSON_LINE_CHARS) yield { tooLong: current.length + piece.length };
      else yield { text: (current + piece).replace(/\r$/, '') };
      current = '';
      dropped = 0;
      start = nl + 1;
    }
    const rest = text.slice(start);
    if (dropped > 0 || current.length + rest.length > MAX_NDJSON_LINE_CHARS) {
      dropped += current.length + rest.length;
      current = '';
    } else current += rest;
  };
  for await (const chunk of stream) yield* take(decoder.write(chunk as Buffer));
  yield* take(decoder.end());
  if (dropped > 0) yield { tooLong: dropped };
  else if (current) yield { text: current.replace(/\r$/, '') };
}

/**
 * Reads an input file record by record: TOP CSV (streamed; labels optional, never read), API v2 JSON (study or
 * page, read whole up to MAX_JSON_DOCUMENT_BYTES), or NDJSON (streamed line by line). Bad records come out as
 * errors naming file, row/line and field; a file that is not UTF-8 gives one warning.
 */
export async function* readInputFile(file: string, o: ReadInputOptions): AsyncGenerator<InputItem> {
  const source = o.source ?? file;
  const problem = inputFileProblem(file);
  if (problem) {
    yield { error: { source, field: '(file)', message: problem } };
    return;
  }
  let head: string;
  try {
    head = readHead(file);
  } catch (err) {
    yield { error: { source, field: '(file)', message: `cannot read: ${(err as Error).message}` } };
    return;
  }
  const format = o.format ?? detectFormat(file, head);
  const check = new Utf8Check();
  const warnUtf8 = function* (): Generator<InputItem> {
    check.end();
    const note = check.note(source);
    if (note) yield { warning: note };
  };
  if (format === 'csv') {
    // The label column is never read (a column name no file has): a missing or odd label cannot block a row.
    for await (const item of streamTopCsv(byteStream(file, check), source, { requireLabel: false, labelColumn: '\u0000cladmop-predict-reads-no-label' })) {
      if (item.error) yield { error: fromRowError(item.error) };
      else yield { input: { trial: item.trial, source: `${source} ${item.trial.nctid}` } };
    }
    yield* warnUtf8();
    return;
  }
  if (format === 'json') {
    const size = statSync(file).size;
    if (!file.endsWith('.gz') && size > MAX_JSON_DOCUMENT_BYTES) {
      yield {
        error: {
          source,
          field: '(file)',
          message: `a JSON document of ${(size / 1048576).toFixed(0)} MB is read whole, and at most ${MAX_JSON_DOCUMENT_BYTES / 1048576} MB are accepted: write one record per line (NDJSON, .ndjson) to stream it`,
        },
      };
      return;
    }
    let bytes: Buffer = readFileSync(file);
    if (file.endsWith('.gz')) bytes = gunzipSync(bytes, { maxOutputLength: MAX_JSON_DOCUMENT_BYTES });
    check.feed(bytes);
    let text = new TextDecoder('utf-8', { fatal: false }).decode(bytes);
    if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      // NDJSON whose first line is longer than the sniffed head: one complete JSON value on the first line.
      const first = text.trimStart().split('\n', 1)[0];
      if (isJson(first)) {
        yield* readInputFile(file, { ...o, format: 'ndjson' });
        return;
      }
      // parseCtgovJson words the position of the JSON error.
      const r = parseCtgovJson(text, { dataDir: o.dataDir, source });
      for (const e of r.errors) yield { error: fromRecordError(e) };
      yield* warnUtf8();
      return;
    }
    const items: unknown[] = Array.isArray(value) ? value : [value];
    for (let i = 0; i < items.length; i++) {
      const r = parseJsonRecord(items[i], { dataDir: o.dataDir, source, ...(Array.isArray(value) ? { location: `record ${i}`, path: `[${i}]` } : {}) });
      for (const input of r.inputs) yield { input };
      for (const error of r.errors) yield { error };
    }
    yield* warnUtf8();
    return;
  }
  let lineNo = 0;
  for await (const raw of boundedLines(byteStream(file, check))) {
    lineNo++;
    if (raw.tooLong !== undefined) {
      yield { error: { source, location: `line ${lineNo}`, field: '$', message: `line of ${raw.tooLong} characters; at most ${MAX_NDJSON_LINE_CHARS} are read` } };
      continue;
    }
    const line = lineNo === 1 ? raw.text!.replace(/^\uFEFF/, '') : raw.text!;
    if (!line.trim()) continue;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch (err) {
      yield { error: { source, location: `line ${lineNo}`, field: '$', message: `invalid JSON: ${(err as Error).message}` } };
      continue;
    }
    const r = parseJsonRecord(value, { dataDir: o.dataDir, source, location: `line ${lineNo}` });
    for (const input of r.inputs) yield { input };
    for (const error of r.errors) yield { error };
  }
  yield* warnUtf8();
}

function isJson(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}

function fromRowError(e: RowError): InputError {
  return { source: e.file, ...(e.row > 0 ? { location: `row ${e.row} (line ${e.line})` } : {}), field: e.field, message: e.message };
}

function jsonType(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  return typeof v === 'object' ? 'an object' : `a ${typeof v}`;
}
