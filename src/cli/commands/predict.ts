/**
 * `cladmop predict`: success probabilities of your own trials with a saved model bundle.
 *
 * Input: a TOP CSV, ClinicalTrials.gov API v2 JSON (one study or a page), or NDJSON of studies / TOP-like
 * records. Records are read and predicted in chunks; bad records are reported (file, row or line, field) and
 * skipped, the others are still predicted. Output (CSV or NDJSON) is written atomically.
 */
import { createWriteStream, mkdtempSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { AtomicWriter } from '../../runtime/atomic-write.ts';
import { escapeControl } from '../../runtime/safe-text.ts';
import type { Command } from 'commander';
import { CliError } from '../cli-error.ts';
import { progressBar } from '../progress.ts';
import type { CriteriaEncoder } from '../../features/criteria-encoder.ts';
import { resolveDataDir } from '../../data/splits.ts';
import { loadModel } from '../../predict/model.ts';
import type { Prediction } from '../../predict/predict.ts';
import { BOUNDED_EXPLAIN, type Explanation } from '../../predict/explain.ts';
import { ModelRouter } from '../../predict/router.ts';
import { settings } from '../../settings.ts';
import { countRecords, detectFormat, formatInputError, inputFileProblem, readHead, readInputFile, type InputError, type PredictInput } from '../../predict/inputs.ts';

export interface PredictCommandDeps {
  /** Criteria encoder to use instead of the bundle's (tests inject a fake one; its id must still match). */
  encoder?: CriteriaEncoder;
  /** What `--input -` reads (default process.stdin; tests). */
  stdin?: Readable;
}

interface PredictCommandOptions {
  model?: string;
  input: string;
  out?: string;
  format?: string;
  explain?: boolean;
  data?: string;
  chunk: string;
  /** Default (undefined) and true: the default cache directory; false: no cache. */
  cache?: boolean | string;
  encoder?: string;
}

const EXAMPLES = `
Examples:
  # A TOP-format CSV (labels, status and why_stop are ignored) -> predictions CSV; each trial is scored by
  # the shipped model of its phase (phase 1/2 -> phase II model, phase 2/3 -> phase III model)
  $ cladmop predict --input my_trials.csv --out predictions.csv

  # ClinicalTrials.gov API v2 JSON (one study or a search page), with criterion-level attributions
  $ curl -s 'https://clinicaltrials.gov/api/v2/studies/NCT01234567' > study.json
  $ cladmop predict --input study.json --explain --format ndjson

  # NDJSON: one study, page or TOP-like record {nctid, phase, diseases, icdcodes, drugs, smiless, criteria} per line
  $ cladmop predict --input trials.ndjson --out predictions.ndjson

  # One bundle for every trial: a model of your own reproduce run, or the TF-IDF + logistic-regression baseline
  $ cladmop predict --model results/phase_I/baseline_lr/model --input my_trials.csv

The CSV output has columns nctid and probability, so it can be scored with
  $ cladmop evaluate --pred predictions.csv --truth outcomes.csv
A trial whose phase is outside I–III is not predicted: its row has status "refused" and the reason.
`;

const CSV_COLUMNS = [
  'nctid',
  'probability',
  'raw_probability',
  'status',
  'trial_phase',
  'model_phase',
  'calibration',
  'model_id',
  'code_version',
  'missing',
  'warnings',
  'refusal',
] as const;
const EXPLAIN_COLUMNS = ['top_positive', 'top_negative', 'drug_deltas', 'disease_deltas'] as const;

function csvCell(v: string | number | null | undefined): string {
  if (v === null || v === undefined) return '';
  const s = String(v);
  return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** One-line summary of the missing inputs of a prediction. */
export function missingSummary(p: Prediction): string {
  const m = p.missing;
  const parts: string[] = [];
  if (m.criteria) parts.push('no criteria');
  if (m.noMolecule) parts.push('no molecule');
  const list = (label: string, xs: string[]) => xs.length > 0 && parts.push(`${label}: ${xs.join(', ')}`);
  list('unmapped drugs', m.unmappedDrugs);
  list('drugs without SMILES', m.drugsWithoutSmiles);
  list('invalid SMILES', m.invalidSmiles);
  list('unknown ICD codes', m.unknownIcdCodes);
  list('conditions without ICD code', m.unmappedConditions);
  if (m.placeboDropped > 0) parts.push(`placebo dropped: ${m.placeboDropped}`);
  list('interventions not used', m.droppedInterventions.map((d) => `${d.name} (${d.reason})`));
  return parts.join('; ');
}

const signed = (x: number) => `${x >= 0 ? '+' : ''}${x.toFixed(4)}`;

export function csvHeader(withExplain: boolean): string {
  return [...CSV_COLUMNS, ...(withExplain ? EXPLAIN_COLUMNS : [])].join(',') + '\n';
}

export function csvRow(p: Prediction, e?: Explanation): string {
  const cells: (string | number | null)[] = [
    p.nctid,
    p.probability,
    p.rawProbability,
    p.status,
    p.phase.trial,
    p.phase.model,
    p.calibration,
    p.model.id,
    p.model.codeVersion,
    missingSummary(p),
    p.warnings.join(' | '),
    p.refusal ?? '',
  ];
  if (e) {
    cells.push(
      e.topPositive.map((s) => `${signed(s.delta)} ${s.section}: ${s.text}`).join(' | '),
      e.topNegative.map((s) => `${signed(s.delta)} ${s.section}: ${s.text}`).join(' | '),
      e.drugs.map((d) => `${d.name} ${signed(d.delta)}`).join(' | '),
      e.diseases.map((d) => `${d.name} ${signed(d.delta)}`).join(' | '),
    );
  }
  return cells.map(csvCell).join(',') + '\n';
}

export function ndjsonLine(p: Prediction, e?: Explanation): string {
  if (!e) return JSON.stringify(p) + '\n';
  const { prediction: _p, ...explanation } = e;
  return JSON.stringify({ ...p, explanation }) + '\n';
}

function parseFormat(opts: PredictCommandOptions): 'csv' | 'ndjson' {
  if (opts.format !== undefined) {
    if (opts.format !== 'csv' && opts.format !== 'ndjson') throw new CliError(`--format must be csv or ndjson, got "${opts.format}"`);
    return opts.format;
  }
  const out = (opts.out ?? '').toLowerCase();
  return out.endsWith('.ndjson') || out.endsWith('.jsonl') || out.endsWith('.json') ? 'ndjson' : 'csv';
}

/** `--model DIR`: that bundle for every trial; no --model: the default models, each trial routed by its phase. */
export async function openModels(opts: { model?: string; encoder?: string; data?: string; cache?: boolean | string }, deps: PredictCommandDeps): Promise<ModelRouter> {
  const what = opts.model ? `--model ${opts.model}` : `default models (${settings.modelsDir})`;
  try {
    let encoder = deps.encoder;
    if (!encoder && opts.encoder) encoder = await (await import('../../features/encoder-spec.ts')).loadEncoder(opts.encoder);
    const options = { encoder, dataDir: opts.data, cache: opts.cache ?? true };
    if (opts.model) return ModelRouter.single(await loadModel(opts.model, options));
    return await ModelRouter.load(settings.modelsDir, options);
  } catch (err) {
    throw new CliError(`${what}: ${(err as Error).message}`);
  }
}

/** Standard input copied at most this far (to a temporary file, never into memory). */
export const MAX_STDIN_BYTES = 4 * 1024 * 1024 * 1024;

/** Copies standard input to a temporary regular file, so every format can be sniffed and streamed from it. */
async function spoolStdin(stdin: Readable): Promise<{ file: string; remove: () => void }> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'cladmop-stdin-'));
  const remove = () => rmSync(dir, { recursive: true, force: true });
  const file = path.join(dir, 'stdin');
  let bytes = 0;
  try {
    await pipeline(
      stdin,
      new Transform({
        transform(chunk: Buffer, _enc, done) {
          bytes += chunk.length;
          if (bytes > MAX_STDIN_BYTES) done(new Error(`standard input is longer than ${MAX_STDIN_BYTES / 1073741824} GB`));
          else done(null, chunk);
        },
      }),
      createWriteStream(file),
    );
  } catch (err) {
    remove();
    throw new CliError(`--input -: cannot read standard input (${(err as Error).message})`);
  }
  return { file, remove };
}

/** Whether two paths name the same file (the same path, or the same inode through a link). */
function sameFile(a: string, b: string): boolean {
  if (path.resolve(a) === path.resolve(b)) return true;
  try {
    const x = statSync(a);
    const y = statSync(b);
    return x.dev === y.dev && x.ino === y.ino;
  } catch {
    return false;
  }
}

export async function runPredict(opts: PredictCommandOptions, deps: PredictCommandDeps = {}): Promise<{ predicted: number; refused: number; errors: InputError[]; warnings: string[] }> {
  const format = parseFormat(opts);
  const chunk = Number(opts.chunk);
  if (!Number.isInteger(chunk) || chunk < 1) throw new CliError(`--chunk must be a positive integer, got "${opts.chunk}"`);
  const fromStdin = opts.input === '-';
  if (opts.out !== undefined && opts.out !== '-' && !fromStdin && sameFile(opts.out, opts.input)) {
    throw new CliError(`--out ${opts.out} is the input file (--input ${opts.input}): it would be overwritten; write the predictions elsewhere`);
  }
  // Checked before anything is computed: an input that cannot be read, an output that cannot be written.
  if (!fromStdin) {
    const problem = inputFileProblem(opts.input);
    if (problem) throw new CliError(`--input ${opts.input}: ${problem}`);
  }
  const toFile = opts.out !== undefined && opts.out !== '-';
  let writer: AtomicWriter | null = null;
  if (toFile) {
    try {
      writer = AtomicWriter.open(opts.out!);
    } catch (err) {
      throw new CliError(`--out ${opts.out}: cannot write there (${(err as Error).message})`);
    }
  }
  let spooled: { file: string; remove: () => void } | null = null;
  try {
    if (fromStdin) spooled = await spoolStdin(deps.stdin ?? process.stdin);
    const file = spooled ? spooled.file : opts.input;
    const source = spooled ? 'stdin' : opts.input;
    let head: string;
    try {
      head = readHead(file);
    } catch (err) {
      throw new CliError(`--input ${opts.input}: cannot read (${(err as Error).message})`);
    }
    const dataDir = resolveDataDir(opts.data);
    const inputFormat = detectFormat(spooled ? '' : file, head);
    const models = await openModels(opts, deps);
    const errors: InputError[] = [];
    const warnings: string[] = [];
    let predicted = 0;
    let refused = 0;
    let started = false;
    // Rows are written as they are predicted: the header goes out with the first one (no trial read: no output).
    const emit = (text: string) => {
      if (!started) {
        started = true;
        if (format === 'csv') emit(csvHeader(!!opts.explain));
      }
      if (writer) writer.write(text);
      else process.stdout.write(text);
    };
    try {
      const items = readInputFile(file, { dataDir, format: inputFormat, source });
      // The total is only for the progress bar, which only a terminal shows: no second pass otherwise.
      const total = process.stderr.isTTY && !process.env.CI ? ((await countRecords(file, inputFormat)) ?? 0) : 0;
      const bar = progressBar(`predict${opts.explain ? ' + explain' : ''}`, total);
      let done = 0;
      let pending: PredictInput[] = [];
      const count = (p: Prediction) => (p.status === 'ok' ? predicted++ : refused++);
      const flush = async () => {
        if (pending.length === 0) return;
        if (opts.explain) {
          for (const input of pending) {
            const e = await models.explain(input, BOUNDED_EXPLAIN);
            emit(format === 'csv' ? csvRow(e.prediction, e) : ndjsonLine(e.prediction, e));
            count(e.prediction);
            bar.update(++done);
          }
        } else {
          for (const p of await models.predict(pending)) {
            emit(format === 'csv' ? csvRow(p) : ndjsonLine(p));
            count(p);
          }
          done += pending.length;
          bar.update(done);
        }
        pending = [];
      };
      for await (const item of items) {
        if (item.warning) {
          warnings.push(item.warning);
          process.stderr.write(`cladmop predict: warning: ${escapeControl(item.warning)}\n`);
          continue;
        }
        if (item.error) {
          errors.push(item.error);
          continue;
        }
        pending.push(item.input!);
        if (pending.length >= chunk) await flush();
      }
      await flush();
      bar.stop();
    } finally {
      models.dispose();
    }
    if (predicted + refused === 0) {
      const shown = errors.slice(0, 20).map(formatInputError).join('\n  ');
      throw new CliError(`--input ${opts.input}: no trial could be read${errors.length > 0 ? `:\n  ${shown}` : ' (the file holds no records)'}`);
    }
    writer?.commit();
    writer = null;
    if (errors.length > 0) {
      const shown = errors.slice(0, 20).map(formatInputError).join('\n  ');
      const more = errors.length > 20 ? `\n  ... and ${errors.length - 20} more` : '';
      throw new CliError(
        `${errors.length} input record(s) could not be read and were skipped; the other ${predicted + refused} were ` +
          `${toFile ? `written to ${opts.out}` : 'written to stdout'}:\n  ${shown}${more}`,
      );
    }
    return { predicted, refused, errors, warnings };
  } finally {
    writer?.abort();
    spooled?.remove();
  }
}

export function register(program: Command, deps: PredictCommandDeps = {}): void {
  program
    .command('predict')
    .description('predict the success probability of trials (TOP CSV, ClinicalTrials.gov API v2 JSON, or NDJSON) with a saved model bundle')
    .option('--model <dir>', 'one model bundle for every trial (e.g. runs/phase_I/model from `cladmop reproduce`, or a tfidf-lr baseline bundle); default: the shipped models/phase-I, -II, -III, each trial scored by its phase\'s model')
    .requiredOption('--input <file>', 'TOP CSV (.csv/.csv.gz), API v2 JSON (study or page), or NDJSON (.ndjson/.jsonl); - reads standard input')
    .option('--out <file>', 'output file (written atomically; checked for writability before predicting); stdout when absent')
    .option('--format <fmt>', 'csv or ndjson (default: from --out, else csv)')
    .option('--explain', 'add leave-one-out attributions of criteria statements, drugs and diseases (slower)')
    .option('--data <dir>', 'TOP data directory with aux/drugs and aux/icd (needed for API v2 records)')
    .option('--encoder <spec>', "criteria encoder spec, when the bundle's recorded one does not resolve here (its id must match)")
    .option('--chunk <n>', 'trials predicted per chunk', '64')
    .option('--cache [dir]', 'embedding cache directory (default: $CLADMOP_CACHE or .cache/embeddings)')
    .option('--no-cache', 'do not read or write the embedding cache')
    .addHelpText('after', EXAMPLES)
    .action(async (opts: PredictCommandOptions) => {
      const r = await runPredict(opts, deps);
      process.stderr.write(`cladmop predict: ${r.predicted} predicted, ${r.refused} refused${opts.out ? `, written to ${opts.out}` : ''}\n`);
    });
}
