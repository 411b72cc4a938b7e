/**
 * Parses one numeric CSV field strictly. `Number()` alone would read "" and " " as 0, "0x1" as 1 and
 * "1e" as NaN without saying why; a missing probability silently becoming 0 would corrupt an evaluation.
 *
 * @param where prefix naming the file, row, line and field, e.g. `preds.csv: row 3 (line 4), field "probability"`
 * @returns the number, or throws an Error starting with `where` that says what the text was
 */
export function parseCsvNumber(text: string, where: string): number {
  const trimmed = text.trim();
  if (trimmed === '') throw new Error(`${where}: empty value, expected a number`);
  if (/^[+-]?(nan|inf|infinity)$/i.test(trimmed)) {
    throw new Error(`${where}: ${JSON.stringify(text)} is not a finite number`);
  }
  if (!/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(trimmed)) {
    throw new Error(`${where}: ${JSON.stringify(text)} is not a number`);
  }
  const value = Number(trimmed);
  // Decimal text can still overflow a double, e.g. "1e400".
  if (!Number.isFinite(value)) throw new Error(`${where}: ${JSON.stringify(text)} is not a finite number`);
  return value;
}
