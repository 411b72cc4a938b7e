/**
 * `cladmop lm train|info|probe|export-onnx`: the criteria language model that stands in for BioGPT (no pretrained LLM weights can
 * be downloaded on the machines this project targets).
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { CliError } from '../cli-error.ts';
import { settings } from '../../settings.ts';

// Read when the command line is built, so CLADMOP_LM / CLADMOP_MODELS set before the run count.
const DEFAULT_LM_DIR = settings.lmDir;

export function register(program: Command): void {
  const lm = program.command('lm').description('the criteria language model (our frozen stand-in for BioGPT)');
  lm.command('train')
    .description('train the criteria LM from a seed and write it to --out (checkpoints every few minutes; resumes)')
    .option('--out <dir>', 'model directory', DEFAULT_LM_DIR)
    .option('--data <dir>', 'TOP data directory')
    .option('--seed <n>', 'random seed', (v) => parseInt(v, 10))
    .option('--steps <n>', 'optimisation steps of 2 x 512 tokens', (v) => parseInt(v, 10))
    .option('--no-resume', 'start over even if a checkpoint exists')
    .option('--max-minutes <m>', 'stop with a checkpoint after this many minutes', parseFloat)
    .addHelpText(
      'after',
      `
Examples:
  $ cladmop lm train                      # reproduces models/criteria-lm from the shipped seed (~2.5 h on 2 cores)
  $ cladmop lm train --max-minutes 60     # train for an hour, checkpoint, stop; run again to continue`,
    )
    .action(async (opts: { out: string; data?: string; seed?: number; steps?: number; resume: boolean; maxMinutes?: number }) => {
      // The default --out is the shipped LM itself; in an installed package that is inside node_modules.
      if (settings.installed && path.resolve(opts.out).startsWith(settings.root + path.sep)) {
        throw new CliError(`--out ${opts.out} is inside the installed package (${settings.root}); pass --out DIR elsewhere, then --encoder lm:DIR`);
      }
      const { init } = await import('@jax-js/jax');
      await init('wasm');
      const { trainLm, DEFAULT_LM_TRAIN } = await import('../../lm/train-lm.ts');
      const result = await trainLm({
        ...DEFAULT_LM_TRAIN,
        outDir: path.resolve(opts.out),
        dataDir: opts.data,
        seed: opts.seed ?? DEFAULT_LM_TRAIN.seed,
        steps: opts.steps ?? DEFAULT_LM_TRAIN.steps,
        resume: opts.resume,
        maxSeconds: opts.maxMinutes !== undefined ? opts.maxMinutes * 60 : undefined,
      });
      if (result.finished) {
        process.stdout.write(`trained ${result.steps} steps in ${(result.seconds / 60).toFixed(1)} min; held-out perplexity ${result.heldOutPerplexity.toFixed(2)}; model in ${result.outDir}\n`);
      } else {
        process.stdout.write(`stopped at step ${result.steps} with a checkpoint; run the same command again to continue\n`);
      }
    });
  lm.command('probe')
    .description('diagnostic linear probe: pooled fine-level features + logistic regression vs TF-IDF on one phase')
    .option('--phase <phase>', 'I, II or III', 'I')
    .option('--encoder <spec>', 'criteria encoder: lm, lm:DIR or onnx:DIR', 'lm')
    .option('--data <dir>', 'TOP data directory')
    .option('--json', 'machine-readable output')
    .addHelpText(
      'after',
      `
Examples:
  $ cladmop lm probe --phase I                    # the shipped LM vs TF-IDF on the same rows (encodes into the cache)
  $ cladmop lm probe --phase III --encoder lm:models/criteria-lm --json > probe.json`,
    )
    .action(async (opts: { phase: string; encoder: string; data?: string; json?: boolean }) => {
      const phase = opts.phase.toUpperCase();
      if (!['I', 'II', 'III'].includes(phase)) throw new CliError(`--phase must be I, II or III, got "${opts.phase}"`);
      const { loadEncoder, defaultCacheDir } = await import('../../features/encoder-spec.ts');
      const { EmbeddingCache } = await import('../../features/embedding-cache.ts');
      const { linearProbe } = await import('../../lm/probe.ts');
      const { progressBar } = await import('../progress.ts');
      const encoder = await loadEncoder(opts.encoder);
      let bar: ReturnType<typeof progressBar> | null = null;
      const r = await linearProbe(encoder, new EmbeddingCache(defaultCacheDir(), encoder.id), phase as 'I' | 'II' | 'III', {
        dataDir: opts.data,
        onProgress: (d, t) => {
          bar ??= progressBar(`encode phase ${phase}`, t);
          bar.update(d);
        },
      });
      (bar as ReturnType<typeof progressBar> | null)?.stop();
      if (opts.json) process.stdout.write(JSON.stringify(r, null, 2) + '\n');
      else
        process.stdout.write(
          `linear probe, phase ${phase} (train ${r.rows.train}, C on valid ${r.rows.valid}, test ${r.rows.test}); encoder: ${r.encoder}\n` +
            `  pooled fine-level LM features + LR (C=${r.chosenC.probe}): test PR-AUC ${r.test!.probe.prAuc.toFixed(3)} ROC-AUC ${r.test!.probe.rocAuc.toFixed(3)}\n` +
            `  TF-IDF + LR, same rows     (C=${r.chosenC.tfidf}): test PR-AUC ${r.test!.tfidf.prAuc.toFixed(3)} ROC-AUC ${r.test!.tfidf.rocAuc.toFixed(3)}\n`,
        );
    });
  lm.command('info')
    .description('size, corpus and held-out perplexity of a criteria LM')
    .option('--model <dir>', 'model directory', DEFAULT_LM_DIR)
    .option('--json', 'machine-readable output')
    .addHelpText(
      'after',
      `
Examples:
  $ cladmop lm info                               # the shipped criteria LM (models/criteria-lm)
  $ cladmop lm info --model models/criteria-lm --json`,
    )
    .action((opts: { model: string; json?: boolean }) => {
      const file = path.join(opts.model, 'config.json');
      if (!existsSync(file)) {
        const ckpt = path.join(opts.model, 'checkpoint.safetensors');
        throw new CliError(
          existsSync(ckpt)
            ? `${opts.model} holds an unfinished training checkpoint; finish it with \`cladmop lm train --out ${opts.model}\``
            : `no criteria LM in ${opts.model} (missing config.json); train one with \`cladmop lm train\``,
        );
      }
      const config = JSON.parse(readFileSync(file, 'utf8'));
      const weights = path.join(opts.model, config.weights.file);
      const info = {
        dir: path.resolve(opts.model),
        parameters: config.parameters,
        weightsBytes: existsSync(weights) ? readFileSync(weights).length : null,
        model: config.model,
        tokenizer: config.tokenizer,
        corpus: config.corpus,
        heldOutPerplexity: config.heldOutPerplexity,
        training: config.training,
        command: config.command,
      };
      if (opts.json) process.stdout.write(JSON.stringify(info, null, 2) + '\n');
      else {
        process.stdout.write(
          `criteria LM in ${info.dir}\n` +
            `  ${info.parameters} parameters (${info.model.nLayers} layers, d=${info.model.dModel}, ${info.model.nHeads} heads, context ${info.model.maxLen}, vocab ${info.model.vocabSize})\n` +
            `  corpus: ${info.corpus.trainTrials} trials + ${info.corpus.drugDescriptions} drug descriptions + ICD-10, ${info.corpus.trainTokens} tokens\n` +
            `  held-out perplexity: ${info.heldOutPerplexity.toFixed(2)} on ${info.corpus.heldOutTokens} tokens of valid-split criteria\n`,
        );
      }
    });
  lm.command('export-onnx')
    .description('write the criteria LM as a Hugging Face-style ONNX directory (config, tokenizer, onnx/model.onnx)')
    .option('--model <dir>', 'criteria LM directory', DEFAULT_LM_DIR)
    .requiredOption('--out <dir>', 'new output directory')
    .addHelpText(
      'after',
      `
The export has outputs last_hidden_state and hidden_states.0 .. hidden_states.L, and reads back with
\`--encoder onnx:DIR\` (transformers.js), giving the same levels as the shipped encoder.

Example:
  $ cladmop lm export-onnx --out criteria-lm-onnx && cladmop embed --phase I --encoder onnx:criteria-lm-onnx`,
    )
    .action(async (opts: { model: string; out: string }) => {
      const { loadCriteriaLm } = await import('../../lm/lm-encoder.ts');
      const { exportHfOnnx } = await import('../../lm/export-hf.ts');
      const r = exportHfOnnx(loadCriteriaLm(opts.model), opts.out);
      process.stdout.write(`wrote ${path.resolve(opts.out)}: ${r.files.join(', ')} (model.onnx ${(r.onnxBytes / 1e6).toFixed(1)} MB)\n`);
    });
}
