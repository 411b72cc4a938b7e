/**
 * `cladmop evaluate`: scores a predictions CSV against the true outcomes with the project's evaluation
 * protocol (metrics on the full test set, seeded 10 × 80% bootstrap, all-positive reference).
 */
import type { Command } from 'commander';
import { CliError } from '../cli-error.ts';
import {
  evaluatePredictions,
  formatReportTable,
  readPredictionsCsv,
  readTruthCsv,
  type EvaluationReport,
} from '../../eval/evaluate.ts';

interface EvaluateCommandOptions {
  pred: string;
  truth: string;
  json?: boolean;
  threshold: string;
  seed: string;
  resamples: string;
  fraction: string;
  probColumn: string;
}

const EXAMPLES = `
Examples:
  # The committed phase I run's test predictions against the TOP split file (its label column is the truth)
  $ cladmop evaluate --pred results/phase_I/predictions_test.csv --truth ../shared/data/top/phase_I_test.csv

  # Machine-readable report (stdout carries only the JSON document)
  $ cladmop evaluate --pred results/phase_I/predictions_test.csv --truth ../shared/data/top/phase_I_test.csv --json > report.json

  # The TOP authors' HINT outputs, whose probability column has another name; 1000 resamples
  $ cladmop evaluate --pred ../shared/data/top/aux/hint_reference_predictions/phase_III_test_hint_pred.csv \\
      --prob-column hint_prediction --truth ../shared/data/top/phase_III_test.csv --resamples 1000

Paths assume the TOP data at ../shared/data/top beside the checkout (see README); adjust them to yours.

Files: predictions need columns nctid and probability (other columns are ignored); the truth file needs
nctid and label (0/1). Every truth trial needs exactly one prediction, and no other ids may appear.
`;

/**
 * Parses a numeric option in the action rather than with a commander argument parser, so that a bad value
 * is a CliError like every other input error of this command (exit code 1, no stack trace).
 */
function numberOption(flag: string, text: string, check: (v: number) => boolean, expected: string): number {
  const value = text.trim() === '' ? Number.NaN : Number(text);
  if (!Number.isFinite(value) || !check(value)) {
    throw new CliError(`${flag}: ${JSON.stringify(text)} is not valid, expected ${expected}`);
  }
  return value;
}

export function register(program: Command): void {
  program
    .command('evaluate')
    .description(
      'Evaluate predicted success probabilities against true outcomes: F1, PR-AUC, ROC-AUC and more, ' +
        'each with a seeded bootstrap mean ± std and 95% interval, beside the all-positive reference.',
    )
    .requiredOption('--pred <file>', 'predictions CSV with columns nctid, probability')
    .requiredOption('--truth <file>', 'outcomes CSV with columns nctid, label (e.g. a TOP split file)')
    .option('--json', 'print the report as JSON instead of a table')
    .option('--threshold <p>', 'decision threshold for F1, precision, recall, accuracy (success iff p >= threshold)', '0.5')
    .option('--seed <n>', 'bootstrap seed', '2023')
    .option('--resamples <n>', 'number of bootstrap resamples', '10')
    .option('--fraction <f>', 'bootstrap resample size as a fraction of the test set, in (0, 1]', '0.8')
    .option('--prob-column <name>', 'name of the probability column in the predictions file', 'probability')
    .addHelpText('after', EXAMPLES)
    .action((options: EvaluateCommandOptions) => {
      const threshold = numberOption('--threshold', options.threshold, (v) => v >= 0 && v <= 1, 'a number in [0, 1]');
      const seed = numberOption('--seed', options.seed, Number.isSafeInteger, 'an integer');
      const resamples = numberOption('--resamples', options.resamples, (v) => Number.isInteger(v) && v >= 1, 'a positive integer');
      const fraction = numberOption('--fraction', options.fraction, (v) => v > 0 && v <= 1, 'a number in (0, 1]');

      let report: EvaluationReport;
      try {
        const predictions = readPredictionsCsv(options.pred, { probabilityColumn: options.probColumn });
        const truth = readTruthCsv(options.truth);
        report = evaluatePredictions(predictions, truth, { threshold, seed, resamples, fraction });
      } catch (err) {
        // Input errors already name the file, row, line and field; the user needs that, not a stack.
        throw new CliError(err instanceof Error ? err.message : String(err));
      }
      process.stdout.write(
        options.json ? `${JSON.stringify(report, null, 2)}\n` : `${formatReportTable(report)}\n`,
      );
    });
}
