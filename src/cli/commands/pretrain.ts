/**
 * `cladmop pretrain`: pair-matching pre-training on the SCT-like corpus, cached under .cache/pretrain/<key>/
 * (resumes from its checkpoint after an interruption). `reproduce` runs this in a child process.
 */
import type { Command } from 'commander';
import { CliError } from '../cli-error.ts';
import { requireCheckout } from '../checkout.ts';
import { DEFAULT_PRETRAIN_EPOCHS, VARIANTS } from '../../train/variants.ts';
import { loadEncoder } from '../../features/encoder-spec.ts';
import { progressBar, type Progress } from '../progress.ts';

export function register(program: Command): void {
  program
    .command('pretrain')
    .description('pair-matching pre-training (symmetric InfoNCE, no outcome labels) on the SCT-like corpus; result cached')
    .option('--encoder <spec>', 'criteria encoder: lm (shipped), lm:DIR, or onnx:DIR (a local Hugging Face ONNX export of a real LLM)', 'lm')
    .option('--epochs <n>', 'pre-training epochs (the paper does not give its number)', (v) => parseInt(v, 10), DEFAULT_PRETRAIN_EPOCHS)
    .option('--molecules <source>', 'top or names', 'top')
    .option('--quick', 'a 64-trial sample and one epoch (smoke test)')
    .option('--data <dir>', 'TOP data directory')
    .option('--variant <name>', `ablation variant: ${VARIANTS.filter((v) => v.pretrain).map((v) => v.name).join(', ')}`, 'main')
    .option('--print-file', 'only print where the result is (or would be) cached')
    .addHelpText(
      'after',
      `
Examples:
  $ cladmop pretrain                              # the main variant on the shipped LM; prints the cached result's path
  $ cladmop pretrain --quick                      # smoke test: 64 trials, one epoch
  $ cladmop pretrain --epochs 3 --variant G3S0 --print-file

Variants (--variant):
${VARIANTS.filter((v) => v.pretrain)
  .map((v) => `  ${v.name.padEnd(20)} ${v.description}`)
  .join('\n')}`,
    )
    .action(async (opts: { encoder: string; epochs: number; molecules: string; quick?: boolean; data?: string; variant: string; printFile?: boolean }) => {
      requireCheckout('pretrain');
      if (opts.molecules !== 'top' && opts.molecules !== 'names') throw new CliError(`--molecules must be top or names, got "${opts.molecules}"`);
      const { planPretraining, runPretraining, featureContext, MoleculeFeaturizer } = await import('../../train/run-pretraining.ts');
      const { resolveDataDir } = await import('../../data/splits.ts');
      const encoder = await loadEncoder(opts.encoder);
      const { variantByName } = await import('../../train/variants.ts');
      let variant;
      try {
        variant = variantByName(opts.variant);
      } catch (err) {
        throw new CliError((err as Error).message);
      }
      if (!variant.pretrain) throw new CliError(`variant ${variant.name} has no pre-training`);
      const plan = planPretraining({ encoder, dataDir: opts.data, quick: !!opts.quick, epochs: opts.epochs, moleculeSource: opts.molecules, variant });
      if (opts.printFile) {
        process.stdout.write(plan.file + '\n');
        return;
      }
      const ctx = featureContext(encoder, resolveDataDir(opts.data), opts.molecules, await MoleculeFeaturizer.create());
      let bar: { label: string; p: Progress } | null = null;
      await runPretraining(
        plan,
        ctx,
        (line) => {
          bar?.p.stop();
          bar = null;
          process.stderr.write(line + '\n');
        },
        (label, done, total) => {
          if (!bar || bar.label !== label) {
            bar?.p.stop();
            bar = { label, p: progressBar(label, total) };
          }
          bar.p.update(done);
        },
      );
      (bar as { p: Progress } | null)?.p.stop();
      process.stdout.write(plan.file + '\n');
    });
}
