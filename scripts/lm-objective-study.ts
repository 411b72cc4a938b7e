/**
 * Causal or masked? The measurement behind the criteria LM's objective (issue: "choose, and say why with a
 * measurement"). Trains the shipped architecture twice from the same seed, tokenizer, corpus and step budget,
 * once per objective, then compares what CLaDMoP uses the LM for: how much outcome signal a linear probe finds
 * in the frozen fine-level states on phase I, scored on the valid split only (train/valid; test is never read,
 * since this is a design choice). Perplexities of the two objectives are not comparable and are not compared.
 *
 *   node bin/run-ts.mjs scripts/lm-objective-study.ts [--steps 600] [--out models/criteria-lm/objective-study.json]
 *
 * Resumable: each run checkpoints in .scratch/lm-objective/<objective>/ like `cladmop lm train`.
 */
import { copyFileSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { resolveDataDir } from '../src/data/splits.ts';
import { PACKAGE_ROOT } from '../src/settings.ts';
import { LmCriteriaEncoder, loadCriteriaLm } from '../src/lm/lm-encoder.ts';
import { linearProbe } from '../src/lm/probe.ts';
import { DEFAULT_LM_TRAIN, trainLm } from '../src/lm/train-lm.ts';
import { writeFileAtomic } from '../src/runtime/atomic-write.ts';
import { initJax } from '../src/runtime/jax-init.ts';

const arg = (name: string, fallback: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 && process.argv[i + 1] ? process.argv[i + 1] : fallback;
};
const steps = parseInt(arg('steps', '600'), 10);
const outFile = path.resolve(arg('out', path.join(PACKAGE_ROOT, 'models/criteria-lm/objective-study.json')));
const shippedTokenizer = path.join(PACKAGE_ROOT, 'models/criteria-lm/tokenizer.json');

await initJax();
const dataDir = resolveDataDir();
const results = [];
for (const objective of ['causal', 'masked'] as const) {
  const dir = path.join(PACKAGE_ROOT, '.scratch/lm-objective', objective);
  mkdirSync(dir, { recursive: true });
  // The same tokenizer for both (and as shipped).
  if (!existsSync(path.join(dir, 'tokenizer.json'))) copyFileSync(shippedTokenizer, path.join(dir, 'tokenizer.json'));
  if (!existsSync(path.join(dir, 'config.json'))) {
    await trainLm({ ...DEFAULT_LM_TRAIN, outDir: dir, dataDir, steps, evalEverySteps: steps, model: { ...DEFAULT_LM_TRAIN.model, objective } });
  }
  const config = JSON.parse(readFileSync(path.join(dir, 'config.json'), 'utf8'));
  const encoder = new LmCriteriaEncoder(loadCriteriaLm(dir));
  const probe = await linearProbe(encoder, null, 'I', { dataDir, test: false });
  await encoder.dispose();
  results.push({ objective, steps, trainingSeconds: config.training?.seconds ?? null, heldOutPerplexity: config.heldOutPerplexity ?? null, probe: { validPrAuc: probe.valid.probe, chosenC: probe.chosenC.probe, cv: probe.cv }, tfidfValidPrAuc: probe.valid.tfidf, rows: probe.rows });
  process.stderr.write(`${objective}: probe valid PR-AUC ${probe.valid.probe.toFixed(3)} (TF-IDF ${probe.valid.tfidf.toFixed(3)}); 5-fold CV on train+valid PR-AUC ${probe.cv.prAuc.mean.toFixed(3)} ± ${probe.cv.prAuc.std.toFixed(3)}, ROC-AUC ${probe.cv.rocAuc.toFixed(3)}\n`);
}
writeFileAtomic(
  outFile,
  JSON.stringify(
    {
      question: 'causal (BioGPT-like) or masked (BERT-like) objective for the criteria LM?',
      protocol: `shipped architecture and tokenizer, seed ${DEFAULT_LM_TRAIN.seed}, ${steps} steps of 2 x 512 tokens each; linear probe on pooled fine-level states, phase I: train -> valid PR-AUC (C chosen on valid, the same way for both) and 5-fold stratified CV over train + valid (${results[0]?.probe.cv.rows} rows, C by mean CV PR-AUC); the test split is not read`,
      results,
      date: new Date().toISOString(),
    },
    null,
    2,
  ) + '\n',
);
process.stderr.write(`wrote ${outFile}\n`);
