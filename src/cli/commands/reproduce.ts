/**
 * `cladmop reproduce`: the paper's experiments on TOP in one command (see train/reproduce.ts).
 */
import path from 'node:path';
import type { Command } from 'commander';
import { CliError } from '../cli-error.ts';
import { requireCheckout } from '../checkout.ts';
import { DEFAULT_PRETRAIN_EPOCHS } from '../../train/variants.ts';
import { PHASES } from '../../data/splits.ts';
import type { BenchmarkPhase } from '../../data/trial.ts';
import { progressBar, type Progress } from '../progress.ts';

export function register(program: Command): void {
  program
    .command('reproduce')
    .description('encoder cache -> pair-matching pre-training -> LoRA fine-tuning -> evaluation beside the paper and the TF-IDF baselines')
    .option('--phase <phase>', 'I, II, III or all', 'I')
    .requiredOption('--out <dir>', 'output directory (report.md, metrics.json, phase_*/predictions_test.csv, phase_*/model/)')
    .option('--quick', 'smoke run: subsampled data, 1 pre-training epoch, 3 fine-tuning epochs, 1 seed')
    .option('--encoder <spec>', 'criteria encoder: lm (shipped), lm:DIR, or onnx:DIR (a local Hugging Face ONNX export of a real LLM)', 'lm')
    .option('--seeds <list>', 'fine-tuning seeds', '1,2,3')
    .option('--molecules <source>', 'molecule source: top (TOP SMILES as given) or names (re-derived from drug names)', 'top')
    .option('--pretrain-epochs <n>', 'pre-training epochs (~6 min each on 2 cores; the paper does not give its number; held-out retrieval is flat after 1; valid prefers 3 for phases II and III, see results/pretrain_epochs)', (v) => parseInt(v, 10), DEFAULT_PRETRAIN_EPOCHS)
    .option('--ablations <list>', 'ablation variants to run too: all, or a comma list of no-pretrain,G1S2,G3S0,fine-only,full-ft,all-trials-pretrain', '')
    .option('--variant <name>', 'default: CLaDMoP with the [ours] lexical level (TF-IDF + logistic-regression offset); paper: the paper-faithful model without it', 'default')
    .option('--no-paper', 'with --variant default, skip fine-tuning the paper variant beside it (its row in the table)')
    .option('--no-few-shot', 'skip the few-shot experiment (k = 16, 64, 256 x 5 draws), e.g. in an ablation run')
    .option('--workers <n>', 'fine-tuning worker processes (default: one per core, at most 2)', (v) => parseInt(v, 10))
    .option('--data <dir>', 'TOP data directory')
    .addHelpText(
      'after',
      `
Examples:
  $ cladmop reproduce --phase I --out runs/phase_I
  $ cladmop reproduce --phase I --variant paper --out runs/phase_I_paper
  $ cladmop reproduce --phase all --out runs/all
  $ cladmop reproduce --quick --out /tmp/smoke
  $ cladmop reproduce --phase I --ablations all --out runs/phase_I_ablations
  $ cladmop reproduce --phase I --seeds 1 --no-few-shot --ablations all --out runs/ablations_I`,
    )
    .action(async (opts: { phase: string; out: string; quick?: boolean; encoder: string; seeds: string; molecules: string; pretrainEpochs: number; ablations: string; fewShot: boolean; workers?: number; data?: string; variant: string; paper: boolean }) => {
      if (opts.variant !== 'default' && opts.variant !== 'paper') throw new CliError(`--variant must be default or paper, got "${opts.variant}"`);
      requireCheckout('reproduce');
      const phases = opts.phase === 'all' ? [...PHASES] : [opts.phase.toUpperCase() as BenchmarkPhase];
      if (phases.some((p) => !PHASES.includes(p))) throw new CliError(`--phase must be I, II, III or all, got "${opts.phase}"`);
      const seeds = opts.seeds.split(',').map((s) => parseInt(s, 10));
      if (seeds.some((s) => !Number.isInteger(s))) throw new CliError(`--seeds must be comma-separated integers, got "${opts.seeds}"`);
      if (opts.workers !== undefined && !(Number.isInteger(opts.workers) && opts.workers >= 1)) throw new CliError('--workers must be a positive integer');
      if (opts.molecules !== 'top' && opts.molecules !== 'names') throw new CliError(`--molecules must be top or names, got "${opts.molecules}"`);
      const { reproduce } = await import('../../train/reproduce.ts');
      const { VARIANTS, variantByName } = await import('../../train/variants.ts');
      const ablations = opts.ablations === 'all' ? VARIANTS.map((v) => v.name).filter((n) => n !== 'main') : opts.ablations.split(',').filter(Boolean);
      for (const a of ablations) {
        try {
          variantByName(a);
        } catch (err) {
          throw new CliError((err as Error).message);
        }
      }
      let bar: { label: string; p: Progress } | null = null;
      const result = await reproduce({
        phases,
        outDir: path.resolve(opts.out),
        quick: !!opts.quick,
        dataDir: opts.data,
        encoder: opts.encoder,
        seeds,
        moleculeSource: opts.molecules,
        pretrainEpochs: opts.pretrainEpochs,
        ablations,
        fewShot: opts.fewShot,
        workers: opts.workers,
        variant: opts.variant,
        paperBeside: opts.paper,
        log: (line) => {
          bar?.p.stop();
          bar = null;
          process.stderr.write(line + '\n');
        },
        progress: (label, done, total) => {
          if (!bar || bar.label !== label) {
            bar?.p.stop();
            bar = { label, p: progressBar(label, total) };
          }
          bar.p.update(done);
          if (done >= total) {
            bar.p.stop();
            bar = null;
          }
        },
      });
      (bar as { p: Progress } | null)?.p.stop();
      process.stdout.write(`wrote ${result.reportFile} and ${result.metricsFile}\n`);
    });
}
