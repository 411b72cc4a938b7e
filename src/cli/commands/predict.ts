/**
 * `cladmop predict`: success probabilities of your own trials with a saved model bundle.
 *
 * Input: a TOP CSV, ClinicalTrials.gov API v2 JSON (one study or a page), or NDJSON of studies / TOP-like
 * records. Records are read and predicted in chunks; bad records are reported (file, row or line, field) and
 * skipped, the others are still predicted. Output (CSV or NDJSON) is written atomically.
 */
import { writeFileAtomic } from '../../runtime/atomic-write.ts';
import type { Command } from 'commander';
import { CliError } from '../cli-error.ts';
import { progressBar } from '../progress.ts';
import type { CriteriaEncoder } from '../../features/criteria-encoder.ts';
import { resolveDataDir } from '../../data/splits.ts';
import { loadModel } from '../../predict/model.ts';
import type { Prediction } from '../../predict/predict.ts';
import type { Explanation } from '../../predict/explain.ts';
import { ModelRouter } from '../../predict/router.ts';
import { settings } from '../../settings.ts';
import { countRecords, detectFormat, formatInputError, readInputFile, type InputError, type InputItem, type PredictInput } from '../../predict/inputs.ts';
import { readFileSync } from 'node:fs';

export interface PredictCommandDeps {
  /** Criteria encoder to use instead of the bundle's (tests inject a fake one; its id must still match). */
  encoder?: CriteriaEncoder;
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

  # One bundle for every trial: your own run, or the TF-IDF + logistic-regression baseline bundle
  $ cladmop predict --model runs/phase_I/model --input my_trials.csv
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

export async function runPredict(opts: PredictCommandOptions, deps: PredictCommandDeps = {}): Promise<{ predicted: number; refused: number; errors: InputError[] }> {
  const format = parseFormat(opts);
  const chunk = Number(opts.chunk);
  if (!Number.isInteger(chunk) || chunk < 1) throw new CliError(`--chunk must be a positive integer, got "${opts.chunk}"`);
  let head: string;
  try {
    head = readFileSync(opts.input).subarray(0, 4096).toString('utf8');
  } catch (err) {
    throw new CliError(`--input ${opts.input}: cannot read (${(err as Error).message})`);
  }
  const dataDir = resolveDataDir(opts.data);
  const inputFormat = detectFormat(opts.input, head);
  const models = await openModels(opts, deps);
  const errors: InputError[] = [];
  const chunks: string[] = [format === 'csv' ? csvHeader(!!opts.explain) : ''];
  let predicted = 0;
  let refused = 0;
  try {
    // NDJSON is streamed line by line (its records are counted first for the progress bar); CSV and JSON
    // documents are parsed whole, then predicted chunk by chunk.
    let items: AsyncIterable<InputItem> | InputItem[] = readInputFile(opts.input, { dataDir, format: inputFormat });
    let total = await countRecords(opts.input, inputFormat);
    if (total === undefined) {
      const all: InputItem[] = [];
      for await (const item of items) all.push(item);
      items = all;
      total = all.filter((i) => i.input).length;
    }
    const bar = progressBar(`predict${opts.explain ? ' + explain' : ''}`, total);
    let done = 0;
    let pending: PredictInput[] = [];
    const flush = async () => {
      if (pending.length === 0) return;
      if (opts.explain) {
        for (const input of pending) {
          const e = await models.explain(input);
          chunks.push(format === 'csv' ? csvRow(e.prediction, e) : ndjsonLine(e.prediction, e));
          count(e.prediction);
          bar.update(++done);
        }
      } else {
        for (const p of await models.predict(pending)) {
          chunks.push(format === 'csv' ? csvRow(p) : ndjsonLine(p));
          count(p);
        }
        done += pending.length;
        bar.update(done);
      }
      pending = [];
    };
    const count = (p: Prediction) => (p.status === 'ok' ? predicted++ : refused++);
    for await (const item of items) {
      if (item.error) {
        errors.push(item.error);
        continue;
      }
      pending.push(item.input);
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
  if (opts.out) writeFileAtomic(opts.out, chunks);
  else process.stdout.write(chunks.join(''));
  if (errors.length > 0) {
    const shown = errors.slice(0, 20).map(formatInputError).join('\n  ');
    const more = errors.length > 20 ? `\n  ... and ${errors.length - 20} more` : '';
    throw new CliError(
      `${errors.length} input record(s) could not be read and were skipped; the other ${predicted + refused} were ` +
        `${opts.out ? `written to ${opts.out}` : 'written to stdout'}:\n  ${shown}${more}`,
    );
  }
  return { predicted, refused, errors };
}

export function register(program: Command, deps: PredictCommandDeps = {}): void {
  program
    .command('predict')
    .description('predict the success probability of trials (TOP CSV, ClinicalTrials.gov API v2 JSON, or NDJSON) with a saved model bundle')
    .option('--model <dir>', 'one model bundle for every trial (e.g. runs/phase_I/model from `cladmop reproduce`, or a tfidf-lr baseline bundle); default: the shipped models/phase-I, -II, -III, each trial scored by its phase\'s model')
    .requiredOption('--input <file>', 'TOP CSV (.csv/.csv.gz), API v2 JSON (study or page), or NDJSON (.ndjson/.jsonl)')
    .option('--out <file>', 'output file (written atomically); stdout when absent')
    .option('--format <fmt>', 'csv or ndjson (default: from --out, else csv)')
    .option('--explain', 'add leave-one-out attributions of criteria statements, drugs and diseases (slower)')
    .option('--data <dir>', 'TOP data directory with aux/drugs and aux/icd (needed for API v2 records)')
    .option('--encoder <spec>', "criteria encoder spec, when the bundle's recorded one does not resolve here (its id must match)")
    .option('--chunk <n>', 'trials predicted per chunk', '64')
    .option('--cache [dir]', 'embedding cache directory (default: $CLADMOP_CACHE, else .cache/embeddings in a checkout, ~/.cache/cladmop/embeddings installed)')
    .option('--no-cache', 'do not read or write the embedding cache')
    .addHelpText('after', EXAMPLES)
    .action(async (opts: PredictCommandOptions) => {
      const r = await runPredict(opts, deps);
      process.stderr.write(`cladmop predict: ${r.predicted} predicted, ${r.refused} refused${opts.out ? `, written to ${opts.out}` : ''}\n`);
    });
}
