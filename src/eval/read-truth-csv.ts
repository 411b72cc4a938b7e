import { parseCsvNumber } from './parse-csv-number.ts';
import { readCsvRecords } from './read-csv-records.ts';

export interface TruthRecord {
  nctid: string;
  label: 0 | 1;
  /** 1-based data row and file line, for error messages. */
  row: number;
  line: number;
}

export interface TruthTable {
  path: string;
  records: TruthRecord[];
}

/**
 * Reads the true outcomes: any CSV with columns `nctid` and `label` (1 = success, 0 = failure). A TOP split
 * file such as `phase_I_test.csv` qualifies as it is; its other columns are ignored.
 *
 * @throws Error naming the file, the 1-based data row, its line and the field, for: an empty or duplicate
 *   nctid, and a label that is not 0 or 1 ("1.0" is accepted as 1, as pandas may write it).
 */
export function readTruthCsv(file: string): TruthTable {
  const table = readCsvRecords(file, ['nctid', 'label']);
  const seen = new Map<string, TruthRecord>();
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
    const field = `${where}, field "label"`;
    let value: number;
    try {
      value = parseCsvNumber(values.label, field);
    } catch {
      throw new Error(`${field}: ${JSON.stringify(values.label)} is not 0 or 1`);
    }
    if (value !== 0 && value !== 1) throw new Error(`${field}: ${JSON.stringify(values.label)} is not 0 or 1`);
    const record: TruthRecord = { nctid, label: value === 1 ? 1 : 0, row, line };
    seen.set(nctid, record);
    return record;
  });
  return { path: file, records };
}
