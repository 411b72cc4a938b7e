/**
 * `cladmop baseline`: the practitioner baselines CLaDMoP is compared with — TF-IDF over criteria, drug names and
 * ICD codes, then L2 logistic regression or a random forest, tuned by 5-fold CV on train+valid, scored on test.
 */
import type { Command } from 'commander';
import cliProgress from 'cli-progress';
import { CliError } from '../cli-error.ts';
import { DataDirError } from '../../data/splits.ts';
import type { BenchmarkPhase } from '../../data/trial.ts';
import { formatReportTable, type EvaluationReport } from '../../eval/evaluate.ts';
import { runBaseline, type BaselineProgress, type RunBaselineResult } from '../../baselines/run-baseline.ts';
import { BASELINE_MODELS, type BaselineModelName } from '../../baselines/models.ts';

interface BaselineCommandOptions {
  phase: string;
  model: string;
  data?: string;
  seed: string;
  out: string;
  json?: boolean;
}

const EXAMPLES = `
Examples:
  # Logistic regression on phase I (C chosen by 5-fold CV on train+valid)
  $ cladmop baseline --phase I --out runs/baseline/I-lr

  # Random forest on phase III, another seed, JSON on stdout
  $ cladmop baseline --phase III --model forest --seed 7 --out runs/baseline/III-forest --json > m.json

Writes OUT/predictions_test.csv (nctid,probability,label) and OUT/metrics.json. Phase II train/test and
phase III train are partial reconstructions of the missing official files; such splits are marked [partial].
`;

const STAGE_LABELS: Record<BaselineProgress['stage'], string> = {
  load: 'loading splits',
  cv: 'cross-validation fits',
  refit: 'refit on train+valid',
  predict: 'predicting test',
  write: 'writing files',
};

/**
 * Progress: split descriptions are printed as the splits load (before any long work), then a cli-progress bar on
 * stderr when it is a terminal; nothing else otherwise, so logs and pipes stay clean.
 */
function progressReporter(
  barEnabled: boolean,
  info: (line: string) => void,
): { onProgress: (p: BaselineProgress) => void; stop: () => void } {
  const bar = barEnabled
    ? new cliProgress.SingleBar(
        {
          format: 'baseline {stage} [{bar}] {value}/{total} | {duration_formatted}',
          stream: process.stderr,
          clearOnComplete: true,
          hideCursor: true,
        },
        cliProgress.Presets.shades_classic,
      )
    : null;
  let stage: BaselineProgress['stage'] | null = null;
  return {
    onProgress: (p) => {
      if (p.stage === 'load') {
        if (p.message) info(p.message);
        return;
      }
      if (!bar) return;
      if (stage === null) bar.start(p.total, p.done, { stage: STAGE_LABELS[p.stage] });
      else if (stage !== p.stage) bar.setTotal(p.total);
      stage = p.stage;
      bar.update(p.done, { stage: STAGE_LABELS[p.stage] });
    },
    stop: () => {
      if (bar && stage !== null) bar.stop();
    },
  };
}

/** The run's test metrics in the shape `formatReportTable` prints (same table as `cladmop evaluate`). */
export function toEvaluationReport(result: RunBaselineResult): EvaluationReport {
  const m = result.metrics;
  const b = m.test.bootstrap;
  return {
    predictions: result.predictionsPath,
    truth: `phase ${m.phase} test labels (${m.splits.test.note})`,
    n: m.test.allPositive.n,
    positives: m.test.allPositive.positives,
    prevalence: m.test.allPositive.prevalence,
    threshold: 0.5,
    bootstrap: { resamples: b.resamples, fraction: b.fraction, sampleSize: Math.round(b.fraction * m.test.rows), seed: b.seed, eceBins: 10 },
    metrics: b.metrics,
    allPositive: m.test.allPositive,
  };
}

export function formatBaselineSummary(result: RunBaselineResult): string {
  const m = result.metrics;
  const lines = [
    `Model: ${m.model === 'lr' ? 'L2 logistic regression' : 'random forest'} on TF-IDF (${m.features.vocabularySize} features), seed ${m.seed}`,
    `Selection: ${m.selection.method}`,
    ...m.selection.candidates.map(
      (c) =>
        `  ${c.label === m.selection.chosenLabel ? '*' : ' '} ${c.label.padEnd(48)} CV PR-AUC ${c.meanPrAuc.toFixed(4)} ± ${c.stdPrAuc.toFixed(4)}  ROC-AUC ${c.meanRocAuc.toFixed(4)}`,
    ),
    `Chosen: ${m.selection.chosenLabel}`,
    '',
    formatReportTable(toEvaluationReport(result)),
    '',
  ];
  const partial = (['train', 'valid', 'test'] as const).filter((s) => m.splits[s].partial);
  if (partial.length > 0) {
    // Say what partial means for these numbers: a partial test set changes what is measured, a partial train set
    // only what the model learned from.
    lines.push(
      `Note: partial ${partial.join(', ')} split(s) (reconstructed rows). ` +
        (m.splits.test.partial
          ? 'Test metrics are on a subset of the official test split and are not comparable to published numbers.'
          : 'The model saw fewer training rows than the official split; the test split is official.'),
    );
  }
  lines.push(`Wrote ${result.predictionsPath} and ${result.metricsPath} (${(m.timingsMs.total / 1000).toFixed(1)} s).`);
  return lines.join('\n');
}

export function register(program: Command): void {
  program
    .command('baseline')
    .description(
      'Fit a TF-IDF baseline (logistic regression or random forest) on a TOP phase: hyper-parameters by 5-fold CV ' +
        'on train+valid, refit, then test metrics with the bootstrap and the all-positive reference.',
    )
    .requiredOption('--phase <phase>', 'benchmark phase: I, II or III')
    .option('--model <model>', 'lr (L2 logistic regression) or forest (random forest)', 'lr')
    .option('--data <dir>', 'TOP data directory (default: $CLADMOP_DATA or ../shared/data/top)')
    .option('--seed <n>', 'seed of folds, forest and bootstrap', '2023')
    .requiredOption('--out <dir>', 'output directory for predictions_test.csv and metrics.json')
    .option('--json', 'print metrics.json to stdout instead of the table')
    .addHelpText('after', EXAMPLES)
    .action(async (options: BaselineCommandOptions) => {
      const phase = options.phase.trim().toUpperCase();
      if (phase !== 'I' && phase !== 'II' && phase !== 'III') {
        throw new CliError(`--phase: ${JSON.stringify(options.phase)} is not valid, expected I, II or III`);
      }
      if (!(BASELINE_MODELS as readonly string[]).includes(options.model)) {
        throw new CliError(`--model: ${JSON.stringify(options.model)} is not valid, expected ${BASELINE_MODELS.join(' or ')}`);
      }
      const seedText = options.seed.trim();
      const seed = seedText === '' ? Number.NaN : Number(seedText);
      if (!Number.isSafeInteger(seed)) throw new CliError(`--seed: ${JSON.stringify(options.seed)} is not valid, expected an integer`);

      // With --json, stdout carries only the JSON document; the split lines go to stderr.
      const info = (line: string) => (options.json ? process.stderr : process.stdout).write(`${line}\n`);
      const progress = progressReporter(Boolean(process.stderr.isTTY), info);
      let result: RunBaselineResult;
      try {
        result = await runBaseline({
          phase: phase as BenchmarkPhase,
          model: options.model as BaselineModelName,
          dataDir: options.data,
          seed,
          outDir: options.out,
          onProgress: progress.onProgress,
        });
      } catch (err) {
        if (err instanceof DataDirError || err instanceof RangeError || (err as NodeJS.ErrnoException)?.code) {
          throw new CliError(err instanceof Error ? err.message : String(err));
        }
        throw err;
      } finally {
        progress.stop();
      }
      info('');
      process.stdout.write(options.json ? `${JSON.stringify(result.metrics, null, 2)}\n` : `${formatBaselineSummary(result)}\n`);
    });
}
