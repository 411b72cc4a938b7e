import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { parse } from 'csv-parse/sync';
import { init } from '@jax-js/jax';
import { resolveDataDir } from '../data/splits.ts';
import { readTextFile } from '../data/top-csv.ts';
import { readSafetensors } from '../runtime/safetensors.ts';
import { buildLmCorpus } from './corpus.ts';
import { criteriaDocuments } from './criteria-text.ts';
import { DEFAULT_LM_TRAIN, learningRate, trainLm, type LmTrainOptions } from './train-lm.ts';
import { sha256Hex as sha256 } from '../runtime/hash.ts';

await init('wasm');

const REAL = resolveDataDir();

/**
 * A miniature TOP data directory made of real rows: every file buildLmCorpus reads, each cut down to a few rows
 * with short criteria. The full corpus would cost ~10 s of tokenisation and ~40 s of held-out evaluation per run.
 */
function buildMiniDataDir(dir: string): void {
  const csv = (file: string, rows: number, maxCriteria: number) => {
    const records = parse(readTextFile(path.join(REAL, file)), { raw: true, relax_column_count: true }) as unknown as { record: string[]; raw: string }[];
    const criteriaCol = records[0].record.indexOf('criteria');
    const picked = records
      .slice(1)
      .filter((r) => criteriaCol < 0 || (r.record[criteriaCol].length < maxCriteria && criteriaDocuments(r.record[criteriaCol]).length > 0))
      .slice(0, rows);
    const text = [records[0], ...picked].map((r) => r.raw.replace(/\r$/, '')).join('\n') + '\n';
    mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
    writeFileSync(path.join(dir, file), file.endsWith('.gz') ? gzipSync(text) : text);
  };
  for (const f of ['phase_I_test.csv', 'phase_III_test.csv', 'reconstructed/phase_II_test.partial_exact.csv', 'reconstructed/phase_II_test.partial_approx_himanshu2023.csv.gz']) csv(f, 2, 2000);
  csv('reconstructed/phase_II_test_labels.csv', 3, Infinity);
  for (const f of ['phase_I_valid.csv', 'phase_II_valid.csv', 'phase_III_valid.csv']) csv(f, 1, 700);
  // Train files: one short trial in four of them, none (header only) in the others: a corpus of
  // ~4 windows of 128 tokens, 2 steps per epoch, so 8 steps cross three epoch boundaries.
  for (const f of ['phase_I_train.csv', 'reconstructed/phase_II_train.partial_approx_himanshu2023.csv.gz', 'reconstructed/phase_III_train.partial_exact.csv', 'toy_train.csv']) csv(f, 1, 350);
  for (const f of ['reconstructed/phase_II_train.partial_exact.csv', 'reconstructed/phase_III_train.partial_approx_himanshu2023.csv.gz', 'toy_valid.csv', 'toy_test.csv']) csv(f, 0, 0);
  const drugs = JSON.parse(gunzipSync(readFileSync(path.join(REAL, 'aux/drugs/lifted_drug_description.json.gz'))).toString('utf8')) as Record<string, string>;
  const few = Object.fromEntries(Object.entries(drugs).filter(([, d]) => d && d.length < 200).slice(0, 1));
  mkdirSync(path.join(dir, 'aux/drugs'), { recursive: true });
  writeFileSync(path.join(dir, 'aux/drugs/lifted_drug_description.json.gz'), gzipSync(JSON.stringify(few)));
  mkdirSync(path.join(dir, 'aux/icd'), { recursive: true });
  const icd = readFileSync(path.join(REAL, 'aux/icd/icd_10_direct_mapping.csv'), 'utf8').split('\n').slice(0, 3).join('\n') + '\n';
  writeFileSync(path.join(dir, 'aux/icd/icd_10_direct_mapping.csv'), icd);
}

const root = mkdtempSync(path.join(tmpdir(), 'cladmop-lmtrain-'));
process.on('exit', () => rmSync(root, { recursive: true, force: true }));
const dataDir = path.join(root, 'data');
buildMiniDataDir(dataDir);

const VOCAB = 300;
const options = (outDir: string, extra: Partial<LmTrainOptions> = {}): LmTrainOptions => ({
  ...DEFAULT_LM_TRAIN,
  dataDir,
  outDir,
  seed: 99,
  // Dropout on: the per-step dropout keys are part of what a resumed run must reproduce.
  model: { vocabSize: VOCAB, dModel: 32, nLayers: 2, nHeads: 2, dFf: 64, maxLen: 128, dropout: 0.1 },
  vocabSize: VOCAB,
  batchSize: 2,
  steps: 8,
  warmupSteps: 2,
  evalEverySteps: 3,
  evalTokens: 128,
  checkpointSeconds: 1e9, // checkpoints only when `maxSeconds` interrupts
  resume: true,
  log: () => {},
  ...extra,
});

test('the miniature data directory gives a small corpus with held-out text', () => {
  const c = buildLmCorpus(dataDir);
  assert.ok(c.stats.trainTrials >= 3 && c.stats.heldOutTrials === 3, JSON.stringify(c.stats));
  assert.ok(c.train.length > 5 && c.heldOut.length >= 3);
});

test('learning rate: linear warm-up to lr, cosine decay to minLrRatio x lr', () => {
  const o = { lr: 1e-3, warmupSteps: 10, steps: 110, minLrRatio: 0.1 };
  assert.equal(learningRate(o, 0), 1e-4);
  assert.equal(learningRate(o, 9), 1e-3);
  assert.ok(Math.abs(learningRate(o, 10) - 1e-3) < 1e-15);
  assert.ok(Math.abs(learningRate(o, 60) - 0.55e-3) < 1e-12);
  assert.ok(Math.abs(learningRate(o, 110) - 1e-4) < 1e-15);
  assert.ok(Math.abs(learningRate(o, 500) - 1e-4) < 1e-15);
});

test('interrupted and resumed training reaches the same weights, bit for bit, as an uninterrupted run', async () => {
  const lines: string[] = [];
  const dirA = path.join(root, 'a');
  const a = await trainLm(options(dirA, { log: (l) => lines.push(l) }));
  assert.equal(a.finished, true);
  assert.equal(a.steps, 8);
  assert.ok(Number.isFinite(a.heldOutPerplexity) && a.heldOutPerplexity > 1 && a.heldOutPerplexity < 2 * VOCAB, `${a.heldOutPerplexity}`);
  // The run trained its own tokenizer (none was there), and the corpus is small enough to see several epochs.
  const tokJson = readFileSync(path.join(dirA, 'tokenizer.json'), 'utf8');
  assert.equal(JSON.parse(tokJson).model.merges.length, VOCAB - 259);
  const stepsPerEpoch = Number(/(\d+) steps per epoch/.exec(lines.join('\n'))![1]);
  assert.ok(stepsPerEpoch >= 1 && stepsPerEpoch < 8, `${stepsPerEpoch} steps per epoch: the run should cross an epoch boundary`);
  assert.ok(!existsSync(path.join(dirA, 'checkpoint.safetensors')), 'checkpoint removed once finished');

  // Run B: same options and tokenizer (the `tokenizers` trainer breaks frequency ties in a per-process hash
  // order, so B reuses A's file, as a resumed run reuses its own), stopped after every step or two.
  const dirB = path.join(root, 'b');
  mkdirSync(dirB, { recursive: true });
  copyFileSync(path.join(dirA, 'tokenizer.json'), path.join(dirB, 'tokenizer.json'));
  const stops: number[] = [];
  for (;;) {
    // maxSeconds 0: stop (with a checkpoint) after the first step of each call.
    const r = await trainLm(options(dirB, stops.length < 3 ? { maxSeconds: 0 } : {}));
    stops.push(r.steps);
    if (r.finished) {
      assert.equal(r.heldOutPerplexity, a.heldOutPerplexity);
      break;
    }
    assert.ok(existsSync(path.join(dirB, 'checkpoint.safetensors')));
    assert.equal(Number.isNaN(r.heldOutPerplexity), true);
  }
  assert.deepEqual(stops, [1, 2, 3, 8]);

  const weightsA = readFileSync(path.join(dirA, 'model.safetensors'));
  const weightsB = readFileSync(path.join(dirB, 'model.safetensors'));
  assert.equal(sha256(weightsB), sha256(weightsA), 'model.safetensors differs between the uninterrupted and the resumed run');
  // The training curve (losses, held-out losses, learning rates) is the same too; only wall-clock seconds differ.
  const curve = (dir: string) =>
    (JSON.parse(readFileSync(path.join(dir, 'training_log.json'), 'utf8')).curve as { seconds: number }[]).map(({ seconds: _s, ...rest }) => rest);
  assert.deepEqual(curve(dirB), curve(dirA));

  // config.json describes the run and pins the files by sha256 (what loadCriteriaLm checks).
  const config = JSON.parse(readFileSync(path.join(dirB, 'config.json'), 'utf8'));
  assert.equal(config.format, 'cladmop-criteria-lm');
  assert.equal(config.formatVersion, 1);
  assert.deepEqual(config.model, options(dirB).model);
  assert.equal(config.weights.sha256, sha256(weightsB));
  assert.equal(config.tokenizer.sha256, sha256(tokJson));
  assert.equal(config.training.stepsDone, 8);
  assert.equal(config.heldOutPerplexity, a.heldOutPerplexity);
  const { tensors, metadata } = readSafetensors(path.join(dirB, 'model.safetensors'));
  assert.equal(metadata.format, 'cladmop-criteria-lm-v1');
  assert.deepEqual(tensors.tokEmb.shape, [VOCAB, 32]);
});

test('training lowers the loss on a repeated tiny corpus', async () => {
  // Same mini corpus (4 epochs in 8 steps), a higher learning rate: the loss must fall well below log V.
  const dir = path.join(root, 'c');
  await trainLm(options(dir, { lr: 1e-2, steps: 8, evalEverySteps: 1, evalTokens: 256 }));
  const curve = JSON.parse(readFileSync(path.join(dir, 'training_log.json'), 'utf8')).curve as { step: number; trainLoss: number; heldOutLoss: number }[];
  assert.deepEqual(curve.map((p) => p.step), [1, 2, 3, 4, 5, 6, 7, 8]);
  assert.ok(Math.abs(curve[0].trainLoss - Math.log(VOCAB)) < 0.1, `first loss ${curve[0].trainLoss} vs log V ${Math.log(VOCAB)}`);
  // Measured 5.71 -> 4.50 (train) and 5.63 -> 4.46 (held-out, which shares the corpus' vocabulary and format).
  assert.ok(curve[7].trainLoss < curve[0].trainLoss - 0.8, `loss ${curve[0].trainLoss} -> ${curve[7].trainLoss}`);
  assert.ok(curve[7].heldOutLoss < curve[0].heldOutLoss - 0.5, `held-out ${curve[0].heldOutLoss} -> ${curve[7].heldOutLoss}`);
});

test('the masked objective trains too (bidirectional, masked-token loss starting near log V and falling)', async () => {
  const dir = path.join(root, 'masked');
  const base = options(dir);
  await trainLm(options(dir, { lr: 1e-2, steps: 8, evalEverySteps: 4, evalTokens: 256, model: { ...base.model, objective: 'masked' } }));
  const curve = JSON.parse(readFileSync(path.join(dir, 'training_log.json'), 'utf8')).curve as { step: number; trainLoss: number; heldOutLoss?: number }[];
  const config = JSON.parse(readFileSync(path.join(dir, 'config.json'), 'utf8'));
  assert.equal(config.model.objective, 'masked');
  assert.ok(Math.abs(curve[0].trainLoss - Math.log(VOCAB)) < 0.3, `first loss ${curve[0].trainLoss}`);
  assert.ok(curve.at(-1)!.trainLoss < curve[0].trainLoss - 0.3, `loss ${curve[0].trainLoss} -> ${curve.at(-1)!.trainLoss}`);
  assert.ok(curve.filter((p) => p.heldOutLoss !== undefined).every((p) => Number.isFinite(p.heldOutLoss)));
});

test('resume refuses a checkpoint written with other options, another tokenizer or another corpus', async () => {
  const dir = path.join(root, 'd');
  mkdirSync(dir, { recursive: true });
  copyFileSync(path.join(root, 'a', 'tokenizer.json'), path.join(dir, 'tokenizer.json'));
  const first = await trainLm(options(dir, { maxSeconds: 0 }));
  assert.equal(first.finished, false);
  await assert.rejects(trainLm(options(dir, { lr: 1e-4 })), /checkpoint\.safetensors was written with other training options or another tokenizer/);
  // Another tokenizer file in the directory (same size, other merges) is refused too.
  const tok = JSON.parse(readFileSync(path.join(dir, 'tokenizer.json'), 'utf8'));
  tok.model.merges.reverse();
  writeFileSync(path.join(dir, 'tokenizer.json'), JSON.stringify(tok));
  await assert.rejects(trainLm(options(dir)), /other training options or another tokenizer/);
  // A checkpoint written for another corpus is refused (the options hash does not cover the data).
  const otherData = path.join(root, 'data2');
  buildMiniDataDir(otherData);
  const icdFile = path.join(otherData, 'aux/icd/icd_10_direct_mapping.csv');
  writeFileSync(icdFile, readFileSync(icdFile, 'utf8') + 'Z999,"one more description"\n');
  const dirF = path.join(root, 'f');
  mkdirSync(dirF, { recursive: true });
  copyFileSync(path.join(root, 'a', 'tokenizer.json'), path.join(dirF, 'tokenizer.json'));
  assert.equal((await trainLm(options(dirF, { maxSeconds: 0 }))).finished, false);
  await assert.rejects(trainLm(options(dirF, { dataDir: otherData })), /was written for another training corpus/);
  // A model/tokenizer vocabulary mismatch is refused before any training.
  await assert.rejects(
    trainLm(options(path.join(root, 'e'), { model: { ...options(dir).model, vocabSize: VOCAB + 1 } })),
    /tokenizer has 300 entries, model expects 301/,
  );
});
