import { parseCsvNumber } from './parse-csv-number.ts';
import { readCsvRecords } from './read-csv-records.ts';

export interface PredictionRecord {
  nctid: string;
  /** Predicted probability that the trial succeeds, in [0, 1]. */
  probability: number;
  /** 1-based data row and file line, for error messages. */
  row: number;
  line: number;
}

export interface PredictionTable {
  path: string;
  records: PredictionRecord[];
}

export interface ReadPredictionsOptions {
  /** Column holding the probability; "probability" by default (TOP's HINT outputs call it "hint_prediction"). */
  probabilityColumn?: string;
}

/**
 * Reads a predictions CSV: columns `nctid` and `probability` (any other columns, e.g. a `label` copied for
 * convenience, are ignored — the truth file alone supplies labels).
 *
 * @throws Error naming the file, the 1-based data row, its line and the field, for: an empty nctid, a
 *   duplicate nctid (with the row of its first occurrence), and a probability that is empty, not a
 *   number, not finite, or outside [0, 1].
 */
export function readPredictionsCsv(file: string, options: ReadPredictionsOptions = {}): PredictionTable {
  const probabilityColumn = options.probabilityColumn ?? 'probability';
  const table = readCsvRecords(file, ['nctid', probabilityColumn]);
  const seen = new Map<string, PredictionRecord>();
  const records = table.records.map(({ values, row, line }) => {
    const where = `${file}: row ${row} (line ${line})`;
    const nctid = values.nctid.trim();
    if (nctid === '') throw new Error(`${where}, field "nctid": empty id`);
    const first = seen.get(nctid);
    if (first) {
      throw new Error(
        `${where}, field "nctid": duplicate id ${nctid} (first at row ${first.row}, line ${first.line})`,
      );
    }
    const field = `${where}, field "${probabilityColumn}"`;
    const probability = parseCsvNumber(values[probabilityColumn], field);
    if (probability < 0 || probability > 1) {
      throw new Error(`${field}: ${probability} is outside [0, 1], expected a probability`);
    }
    const record = { nctid, probability, row, line };
    seen.set(nctid, record);
    return record;
  });
  return { path: file, records };
}
