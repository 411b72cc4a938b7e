/**
 * Reads an evaluation run directory (written by `cladmop baseline` or `cladmop reproduce`):
 *   predictions_test.csv   required: nctid, probability, label
 *   metrics.json           required: the run's facts (phase, splits with partial flags, test metrics, ...)
 *   predictions_valid.csv  optional: same columns, for the threshold chosen on valid
 *   training_log.json      optional: training curves (read by training-log.ts)
 *
 * metrics.json is produced by several commands, so it is read as loosely typed JSON and only the fields the
 * report uses are picked out, each checked for its type; an absent optional field omits its section.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { readPredictionsCsv } from '../eval/read-predictions-csv.ts';
import { readTruthCsv } from '../eval/read-truth-csv.ts';

export const RUN_FILES = {
  testPredictions: 'predictions_test.csv',
  validPredictions: 'predictions_valid.csv',
  metrics: 'metrics.json',
  trainingLog: 'training_log.json',
} as const;

/** A missing or unreadable input file; the message names the file and what writes it. */
export class RunDirError extends Error {}

export interface LabelledPredictions {
  file: string;
  ids: string[];
  probabilities: Float64Array;
  labels: Uint8Array;
}

/** Predictions with their labels from one file, validated by the evaluation readers (row/line in errors). */
export function readLabelledPredictions(file: string): LabelledPredictions {
  let predictions: ReturnType<typeof readPredictionsCsv>;
  let truth: ReturnType<typeof readTruthCsv>;
  try {
    predictions = readPredictionsCsv(file);
    // The same file's label column read as a truth table: the readers check ids, duplicates and 0/1 labels.
    truth = readTruthCsv(file);
  } catch (err) {
    // The readers' messages already name the file, row, line and field.
    throw new RunDirError(err instanceof Error ? err.message : String(err));
  }
  return {
    file,
    ids: predictions.records.map((r) => r.nctid),
    probabilities: Float64Array.from(predictions.records, (r) => r.probability),
    labels: Uint8Array.from(truth.records, (r) => r.label),
  };
}

export interface ComparisonEntry {
  method: string;
  f1: MetricCell;
  prAuc: MetricCell;
  rocAuc: MetricCell;
  source: string;
}

/** A value as published: a number, a mean ± std, or missing. */
export type MetricCell = { mean: number; std: number | null } | null;

export interface SplitNote {
  split: string;
  partial: boolean;
  text: string;
}

export interface RunMetrics {
  /** The parsed file, for the --json output and fields not interpreted here. */
  raw: Record<string, unknown>;
  phase: 'I' | 'II' | 'III' | null;
  model: string | null;
  seed: number | null;
  dataDir: string | null;
  splitNotes: SplitNote[];
  /** True when metrics.json flags the test set or any split as partial. */
  partial: boolean;
  /** Protocol bootstrap settings of the run, if it recorded them. */
  bootstrap: { resamples: number; fraction: number; seed: number } | null;
  /** Point metrics as the run recorded them, to cross-check against the predictions file. */
  point: Record<string, number | null> | null;
  /** A decision threshold the run recorded (top-level `threshold`), if any. */
  threshold: number | null;
  comparison: ComparisonEntry[];
}

export interface RunDir {
  dir: string;
  test: LabelledPredictions;
  valid: LabelledPredictions | null;
  metrics: RunMetrics;
  /** Parsed training_log.json, or null when absent. */
  trainingLog: unknown;
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const num = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);
const str = (v: unknown): string | null => (typeof v === 'string' ? v : null);

function metricCell(v: unknown): MetricCell {
  if (num(v) !== null) return { mean: v as number, std: null };
  if (isRecord(v) && num(v.mean) !== null) return { mean: v.mean as number, std: num(v.std) };
  return null;
}

/** Picks the fields the report needs out of metrics.json. Exported for tests. */
export function interpretMetrics(raw: Record<string, unknown>): RunMetrics {
  const phaseText = str(raw.phase)?.trim().toUpperCase();
  const phase = phaseText === 'I' || phaseText === 'II' || phaseText === 'III' ? phaseText : null;
  const splitNotes: SplitNote[] = [];
  if (isRecord(raw.splits)) {
    for (const [split, facts] of Object.entries(raw.splits)) {
      if (!isRecord(facts)) continue;
      const text = str(facts.description) ?? str(facts.note) ?? '';
      splitNotes.push({ split, partial: facts.partial === true, text });
    }
  }
  const test = isRecord(raw.test) ? raw.test : {};
  const partial = raw.partial === true || test.partial === true || splitNotes.some((s) => s.partial);
  const b = isRecord(test.bootstrap) ? test.bootstrap : null;
  const bootstrap =
    b && num(b.resamples) !== null && num(b.fraction) !== null && num(b.seed) !== null
      ? { resamples: b.resamples as number, fraction: b.fraction as number, seed: b.seed as number }
      : null;
  const point = isRecord(test.point)
    ? Object.fromEntries(Object.entries(test.point).map(([k, v]) => [k, num(v)]))
    : null;
  const comparison: ComparisonEntry[] = [];
  // `comparison` may be the rows themselves or an object holding them under `rows`.
  const rows = Array.isArray(raw.comparison) ? raw.comparison : isRecord(raw.comparison) && Array.isArray(raw.comparison.rows) ? raw.comparison.rows : [];
  for (const row of rows) {
    if (!isRecord(row) || str(row.method) === null) continue;
    comparison.push({
      method: row.method as string,
      f1: metricCell(row.f1),
      prAuc: metricCell(row.prAuc),
      rocAuc: metricCell(row.rocAuc),
      source: str(row.source) ?? '',
    });
  }
  const threshold = num(raw.threshold);
  return {
    raw,
    phase,
    model: str(raw.model),
    seed: num(raw.seed),
    dataDir: str(raw.dataDir),
    splitNotes,
    partial,
    bootstrap,
    point,
    threshold: threshold !== null && threshold > 0 && threshold < 1 ? threshold : null,
    comparison,
  };
}

function readJson(file: string, writer: string): unknown {
  if (!existsSync(file)) throw new RunDirError(`missing ${file} (${writer})`);
  try {
    return JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new RunDirError(`${file}: not valid JSON (${(err as Error).message})`);
  }
}

export function readRunDir(dir: string): RunDir {
  if (!existsSync(dir)) throw new RunDirError(`run directory not found: ${dir}`);
  const writer = 'written by `cladmop baseline --out DIR` or `cladmop reproduce`';
  const testFile = path.join(dir, RUN_FILES.testPredictions);
  if (!existsSync(testFile)) throw new RunDirError(`missing ${testFile} (${writer}; columns nctid,probability,label)`);
  const raw = readJson(path.join(dir, RUN_FILES.metrics), writer);
  if (!isRecord(raw)) throw new RunDirError(`${path.join(dir, RUN_FILES.metrics)}: expected a JSON object`);
  const validFile = path.join(dir, RUN_FILES.validPredictions);
  const logFile = path.join(dir, RUN_FILES.trainingLog);
  return {
    dir,
    test: readLabelledPredictions(testFile),
    valid: existsSync(validFile) ? readLabelledPredictions(validFile) : null,
    metrics: interpretMetrics(raw),
    trainingLog: existsSync(logFile) ? readJson(logFile, 'optional') : null,
  };
}
