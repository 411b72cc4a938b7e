import { readFileSync } from 'node:fs';
import { parse } from 'csv-parse/sync';

/** One data row of a CSV file, with where it is, for error messages. */
export interface CsvRecord {
  /** Field values by header name (names trimmed of surrounding spaces). */
  values: Record<string, string>;
  /** 1-based data row: the first row after the header is row 1. */
  row: number;
  /** 1-based line of the file where the row starts (rows with quoted line breaks span several lines). */
  line: number;
}

export interface CsvTable {
  path: string;
  /** Header names, trimmed. */
  columns: string[];
  records: CsvRecord[];
}

/**
 * Reads a CSV file with a header line into records, checking that the required columns are present.
 *
 * Quoted fields may contain commas, quotes and line breaks (TOP's `criteria` column spans dozens of
 * lines), so "row" and "line" differ; both are kept so that an error can point an editor at the row.
 * csv-parse's own line counter is not used for this: it reports the line where a record ends, and
 * miscounts with CRLF files. Instead each record's start is found from the byte offset where the previous
 * record ended (csv-parse's `info.bytes`), skipping the blank lines csv-parse skips.
 *
 * @throws Error naming the file when it cannot be read or parsed, lacks a required column, or has none
 *   of the data rows.
 */
export function readCsvRecords(file: string, requiredColumns: readonly string[]): CsvTable {
  let buffer: Buffer;
  try {
    buffer = readFileSync(file);
  } catch (err) {
    throw new Error(`${file}: cannot read the file (${(err as NodeJS.ErrnoException).code ?? String(err)})`);
  }

  // csv-parse's typings do not model `info: true`, which wraps each record as { record, info }.
  let header: { record: string[]; info: { bytes: number } }[];
  let rows: { record: Record<string, string>; info: { bytes: number } }[];
  try {
    // The header alone, to learn where it ends: `columns: true` consumes it without reporting its offset.
    header = parse(buffer, { bom: true, to: 1, info: true, skip_empty_lines: true }) as unknown as typeof header;
    rows = parse(buffer, { bom: true, columns: true, info: true, skip_empty_lines: true }) as unknown as typeof rows;
  } catch (err) {
    throw new Error(`${file}: cannot parse as CSV: ${(err as Error).message}`);
  }
  if (header.length === 0) {
    throw new Error(`${file}: the file is empty; expected a header line with columns ${requiredColumns.join(', ')}`);
  }

  const rawColumns = header[0].record;
  const columns = rawColumns.map((c) => c.trim());
  for (const name of requiredColumns) {
    const count = columns.filter((c) => c === name).length;
    if (count === 0) {
      throw new Error(
        `${file}: no column "${name}" in the header (columns: ${columns.join(', ')}); expected ${requiredColumns.join(', ')}`,
      );
    }
    if (count > 1) throw new Error(`${file}: column "${name}" appears ${count} times in the header`);
  }
  if (rows.length === 0) throw new Error(`${file}: the file has a header but no data rows`);

  // Line numbers: advance a single cursor through the buffer, counting '\n' (also ends CRLF lines).
  let cursor = 0;
  let cursorLine = 1;
  const lineAt = (offset: number): number => {
    for (; cursor < offset; cursor++) if (buffer[cursor] === 0x0a) cursorLine++;
    return cursorLine;
  };
  let previousEnd = header[0].info.bytes;
  const records: CsvRecord[] = rows.map((r, index) => {
    let start = previousEnd;
    while (start < buffer.length && (buffer[start] === 0x0a || (buffer[start] === 0x0d && buffer[start + 1] === 0x0a))) {
      start += buffer[start] === 0x0a ? 1 : 2;
    }
    previousEnd = r.info.bytes;
    const values: Record<string, string> = {};
    for (let c = 0; c < rawColumns.length; c++) values[columns[c]] = r.record[rawColumns[c]];
    return { values, row: index + 1, line: lineAt(start) };
  });
  return { path: file, columns, records };
}
