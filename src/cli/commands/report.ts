/**
 * `cladmop report`: a self-contained report of an evaluation run directory — HTML with inlined figures and
 * Markdown with PNGs beside it — with curves and bootstrap bands, calibration, thresholds, disease groups,
 * training curves and the comparison with published numbers. No browser is needed.
 */
import { closeSync, openSync, readSync } from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { CliError } from '../cli-error.ts';
import { buildReport, type BuiltReport } from '../../report/build-report.ts';
import { RunDirError } from '../../report/run-dir.ts';

interface ReportCommandOptions {
  run: string;
  data?: string;
  seed?: string;
  json?: boolean;
}

const EXAMPLES = `
Examples:
  # Report of a baseline run
  $ cladmop baseline --phase I --model lr --out runs/I-lr
  $ cladmop report --run runs/I-lr

  # Another TOP data directory for the disease-group tables; the report model as JSON on stdout
  $ cladmop report --run runs/I-lr --data /data/top --json > report.json

Reads RUN/predictions_test.csv (nctid,probability,label) and RUN/metrics.json; optionally
RUN/predictions_valid.csv (threshold chosen on valid) and RUN/training_log.json (training curves).
Writes RUN/report.html (single file, figures inlined), RUN/report.md and RUN/report/*.png. A report.md that
\`cladmop reproduce\` wrote (its comparison tables) is kept: the Markdown then goes to RUN/report_figures.md.

  # Figures of a reproduce run (keeps its report.md)
  $ cladmop report --run results/phase_I
`;

/** The first line of a file (at most 200 bytes read), or null when it cannot be read. */
function firstLine(file: string): string | null {
  try {
    const fd = openSync(file, 'r');
    try {
      const buf = Buffer.alloc(200);
      const n = readSync(fd, buf, 0, 200, 0);
      return buf.subarray(0, n).toString('utf8').split('\n', 1)[0];
    } finally {
      closeSync(fd);
    }
  } catch {
    return null;
  }
}

/** What this command's Markdown starts with (see report/markdown.ts): a report.md not starting so is someone else's. */
const OWN_HEADING = '# Evaluation report';

/**
 * The Markdown file name to write in `runDir`: report.md, unless a report.md is there that this command did not
 * write (reproduce's, with the comparison tables that `report` cannot rebuild): it was silently overwritten.
 */
export function markdownNameFor(runDir: string): string {
  const existing = firstLine(path.join(runDir, 'report.md'));
  return existing === null || existing.startsWith(OWN_HEADING) ? 'report.md' : 'report_figures.md';
}

export function register(program: Command): void {
  program
    .command('report')
    .description(
      'Write a self-contained report of an evaluation run (HTML + Markdown with PNG figures): ROC/PR curves with ' +
        'bootstrap bands, calibration, threshold table, per-disease-group metrics, comparison with published numbers.',
    )
    .requiredOption('--run <dir>', 'run directory holding predictions_test.csv and metrics.json')
    .option('--data <dir>', 'TOP data directory for the disease-group tables (default: $CLADMOP_DATA or ../shared/data/top)')
    .option('--seed <n>', 'seed of the curve bootstrap bands (default: the run\'s seed, else 2023)')
    .option('--json', 'print the report model as JSON on stdout instead of the file list')
    .addHelpText('after', EXAMPLES)
    .action(async (options: ReportCommandOptions) => {
      let seed: number | undefined;
      if (options.seed !== undefined) {
        const text = options.seed.trim();
        seed = text === '' ? Number.NaN : Number(text);
        if (!Number.isSafeInteger(seed)) throw new CliError(`--seed: ${JSON.stringify(options.seed)} is not valid, expected an integer`);
      }
      let built: BuiltReport;
      try {
        built = await buildReport({ runDir: options.run, dataDir: options.data, seed, markdownName: markdownNameFor(options.run) });
      } catch (err) {
        // Missing or malformed input files: their messages name the file (and row); a stack adds nothing.
        if (err instanceof RunDirError) throw new CliError(err.message);
        throw err;
      }
      const { model } = built;
      if (options.json) {
        process.stdout.write(`${JSON.stringify({ files: { html: built.htmlPath, markdown: built.markdownPath, images: built.imagePaths }, ...model }, null, 2)}\n`);
        return;
      }
      // Warnings go to stderr as well, so a partial or inconsistent run is noticed without opening the report.
      for (const w of model.warnings) process.stderr.write(`warning: ${w}\n`);
      process.stdout.write(`Wrote ${built.htmlPath}\n      ${built.markdownPath}\n      ${built.imagePaths.length} figures in ${built.imagePaths[0] ? built.imagePaths[0].replace(/[^/\\]+$/, '') : '-'}\n`);
    });
}
