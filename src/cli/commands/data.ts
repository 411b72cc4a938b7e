/**
 * `cladmop data ...`: look at and obtain the TOP benchmark data.
 *
 *   data inspect [--data DIR] [--json]   rows / positives / official counts / completeness per phase and split
 *   data fetch   [--data DIR] [--force]  download the official TOP files (pinned commit), sha256-checked
 */
import type { Command } from 'commander';
import { CliError } from '../cli-error.ts';
import { describeSplit, loadSplit, PHASES, readManifest, resolveDataDir, SPLITS, type LoadedSplit, type SplitName } from '../../data/splits.ts';
import { formatRowError } from '../../data/top-csv.ts';
import { fetchTopFiles, OfflineError, type FetchFn } from '../../data/fetch.ts';
import type { BenchmarkPhase } from '../../data/trial.ts';
import { existsSync } from 'node:fs';
import path from 'node:path';

export interface SplitSummary {
  phase: BenchmarkPhase;
  split: SplitName;
  rows: number;
  positives: number;
  negatives: number;
  officialRows: number;
  /** From MANIFEST.json official_counts; null when the manifest is absent. */
  officialPositives: number | null;
  officialNegatives: number | null;
  completeness: 'complete' | 'partial';
  /** rows / officialRows. */
  share: number;
  sources: { file: string; kind: string }[];
  loadErrors: number;
  description: string;
}

export interface InspectReport {
  dataDir: string;
  splits: SplitSummary[];
  /** Rows skipped over all splits because they could not be read. */
  loadErrors: number;
  /** The first few load errors, formatted (file, row, line, field). */
  errorSamples: string[];
}

const MAX_ERROR_SAMPLES = 20;

export function inspectData(dataDir: string): InspectReport {
  const manifestFile = path.join(dataDir, 'MANIFEST.json');
  const officialCounts = existsSync(manifestFile) ? readManifest(dataDir).official_counts : undefined;
  const splits: SplitSummary[] = [];
  const errorSamples: string[] = [];
  let loadErrors = 0;
  for (const phase of PHASES) {
    for (const split of SPLITS) {
      const s: LoadedSplit = loadSplit(phase, split, dataDir);
      const official = officialCounts?.[`phase_${phase}_${split}`];
      // A split is complete only if it is the official file AND every official row was read.
      const complete = !s.partial && s.rows.length === s.officialRows;
      splits.push({
        phase,
        split,
        rows: s.rows.length,
        positives: s.positives,
        negatives: s.rows.length - s.positives,
        officialRows: s.officialRows,
        officialPositives: official ? official[1] : null,
        officialNegatives: official ? official[0] - official[1] : null,
        completeness: complete ? 'complete' : 'partial',
        share: s.rows.length / s.officialRows,
        sources: s.sources.map((src) => ({ file: src.file, kind: src.kind })),
        loadErrors: s.errors.length,
        description: describeSplit(s),
      });
      loadErrors += s.errors.length;
      for (const e of s.errors) if (errorSamples.length < MAX_ERROR_SAMPLES) errorSamples.push(formatRowError(e));
    }
  }
  return { dataDir, splits, loadErrors, errorSamples };
}

function formatInspect(report: InspectReport): string {
  const lines: string[] = [`TOP data: ${report.dataDir}`, ''];
  const header = ['phase', 'split', 'rows', 'positives', 'official rows (pos/neg)', 'completeness', 'load errors'];
  const table = report.splits.map((s) => [
    s.phase,
    s.split,
    String(s.rows),
    String(s.positives),
    s.officialPositives === null ? String(s.officialRows) : `${s.officialRows} (${s.officialPositives}/${s.officialNegatives})`,
    s.completeness === 'complete' ? 'complete' : `partial (${(100 * s.share).toFixed(1)}%)`,
    String(s.loadErrors),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...table.map((r) => r[i].length)));
  const fmt = (r: string[]) => r.map((c, i) => c.padEnd(widths[i])).join('  ').trimEnd();
  lines.push(fmt(header), fmt(widths.map((w) => '-'.repeat(w))), ...table.map(fmt), '');
  for (const s of report.splits) lines.push(s.description);
  lines.push('', `load errors: ${report.loadErrors}`);
  for (const e of report.errorSamples) lines.push(`  ${e}`);
  if (report.loadErrors > report.errorSamples.length) lines.push(`  ... and ${report.loadErrors - report.errorSamples.length} more`);
  return lines.join('\n') + '\n';
}

export interface DataCommandDeps {
  /** Replaces the global fetch for `data fetch` (tests). */
  fetchImpl?: FetchFn;
}

export function register(program: Command, deps: DataCommandDeps = {}): void {
  const data = program.command('data').description('Inspect or download the TOP benchmark data');

  data
    .command('inspect')
    .description('Rows, positives, official counts and completeness of every phase/split')
    .option('--data <dir>', 'TOP data directory (default: $CLADMOP_DATA or ../shared/data/top)')
    .option('--json', 'print the report as JSON')
    .addHelpText(
      'after',
      `
Examples:
  $ cladmop data inspect                                   # the data at $CLADMOP_DATA or ../shared/data/top
  $ cladmop data inspect --data ../shared/data/top --json > inspect.json`,
    )
    .action((opts: { data?: string; json?: boolean }) => {
      const dataDir = resolveDataDir(opts.data);
      let report: InspectReport;
      try {
        report = inspectData(dataDir);
      } catch (err) {
        throw new CliError((err as Error).message);
      }
      process.stdout.write(opts.json ? JSON.stringify(report, null, 2) + '\n' : formatInspect(report));
    });

  data
    .command('fetch')
    .description(
      'Download the official TOP files (futianfan/clinical-trial-outcome-prediction @ 8dc0497f) and check their sha256',
    )
    .option('--data <dir>', 'TOP data directory (default: $CLADMOP_DATA or ../shared/data/top)')
    .option('--force', 'download again and replace files that are already present')
    .option('--timeout <seconds>', 'per-file download timeout in seconds', '120')
    .addHelpText(
      'after',
      `
Examples:
  $ cladmop data fetch --data ../shared/data/top           # downloads what is missing, checks every sha256
  $ cladmop data fetch --data /tmp/top --force --timeout 300

Needs network access to github.com; offline, it says which files it could not get and changes nothing else.`,
    )
    .action(async (opts: { data?: string; force?: boolean; timeout: string }) => {
      const dataDir = resolveDataDir(opts.data);
      const timeoutSeconds = Number(opts.timeout);
      if (!Number.isFinite(timeoutSeconds) || timeoutSeconds <= 0) throw new CliError(`--timeout must be a positive number, got ${opts.timeout}`);
      let report;
      try {
        report = await fetchTopFiles({
          dataDir,
          force: opts.force,
          fetchImpl: deps.fetchImpl,
          timeoutMs: timeoutSeconds * 1000,
          log: (line) => process.stdout.write(`${line}\n`),
        });
      } catch (err) {
        if (err instanceof OfflineError) {
          const saved = err.savedBefore.length > 0 ? `only ${err.savedBefore.join(', ')} saved before the failure` : 'no file changed';
          throw new CliError(`${err.message} (${saved} in ${dataDir})`);
        }
        throw new CliError((err as Error).message);
      }
      const bad = report.outcomes.filter((o) => o.status === 'refused' || o.status === 'failed');
      const unverified = report.outcomes.filter((o) => o.status === 'unverified').map((o) => o.name);
      if (unverified.length > 0) {
        process.stdout.write(`unverified (no published sha256): ${unverified.join(', ')}\n`);
      }
      if (bad.length > 0) {
        throw new CliError(`${bad.length} file(s) not obtained:\n${bad.map((o) => `  ${o.name}: ${o.message}`).join('\n')}`);
      }
    });
}
