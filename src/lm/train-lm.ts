/**
 * Trains the criteria language model (next-token prediction) and writes the shipped model directory:
 *   tokenizer.json, config.json, model.safetensors, training_log.json, README.md (model card).
 *
 * Long runs: a checkpoint (weights + Adam moments + the training state, in one safetensors file written
 * atomically) is saved every `checkpointSeconds`; `resume` continues from it and, for a given seed, reaches the
 * same weights as an uninterrupted run would (data order and dropout keys are functions of the step number).
 */
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { sha256Hex } from '../runtime/hash.ts';
import { jit, numpy as np, random, tree, valueAndGrad } from '@jax-js/jax';
import { adamInit, adamUpdate, DEFAULT_ADAM, type AdamState } from '../train/adam.ts';
import { createRng } from '../eval/rng.ts';
import { readSafetensors, writeSafetensors, type Tensor } from '../runtime/safetensors.ts';
import { removeStaleTemps, writeFileAtomic } from '../runtime/atomic-write.ts';
import { buildLmCorpus, type LmCorpus } from './corpus.ts';
import { BOS_ID, CriteriaTokenizer, EOS_ID, trainTokenizer } from './tokenizer.ts';
import { countParameters, initParams, lmLoss, maskedLmLoss, paramsFromFlat, paramsToFlat, parameterShapes, type LmConfig, type LmParams } from './model.ts';
import { arraysToTensors, tensorsToArrays } from './params-io.ts';
import { resolveDataDir } from '../data/splits.ts';

type NpArray = np.Array;

export interface LmTrainOptions {
  dataDir?: string;
  /** Where the finished model is written (and the checkpoint kept while training). */
  outDir: string;
  seed: number;
  model: LmConfig;
  batchSize: number;
  /** Total optimisation steps (each sees batchSize x model.maxLen tokens). */
  steps: number;
  lr: number;
  warmupSteps: number;
  /** Final learning rate as a fraction of `lr` (cosine decay). */
  minLrRatio: number;
  weightDecay: number;
  clipNorm: number;
  vocabSize: number;
  checkpointSeconds: number;
  evalEverySteps: number;
  /** Held-out tokens used for the periodic perplexity (the final one uses all of them). */
  evalTokens: number;
  resume: boolean;
  /** Train a new tokenizer even if `outDir/tokenizer.json` exists. */
  retrainTokenizer?: boolean;
  /** Stop (with a checkpoint) after this many seconds; the run continues with `resume`. */
  maxSeconds?: number;
  log?: (line: string) => void;
}

export const DEFAULT_LM_TRAIN: Omit<LmTrainOptions, 'outDir'> = {
  seed: 20251125,
  model: { vocabSize: 8192, dModel: 192, nLayers: 6, nHeads: 3, dFf: 768, maxLen: 512, dropout: 0.1 },
  batchSize: 2,
  steps: 5000,
  lr: 6e-4,
  warmupSteps: 200,
  minLrRatio: 0.1,
  weightDecay: 0.01,
  clipNorm: 1.0,
  vocabSize: 8192,
  checkpointSeconds: 240,
  evalEverySteps: 500,
  evalTokens: 16384,
  resume: true,
};

export interface CurvePoint {
  step: number;
  tokens: number;
  seconds: number;
  trainLoss: number;
  heldOutLoss?: number;
  lr: number;
}

interface TrainState {
  step: number;
  seconds: number;
  curve: CurvePoint[];
  optionsHash: string;
  tokenizerHash: string;
  /**
   * Training losses summed since the last logged curve point, so that a resumed run logs the same average as an
   * uninterrupted one (without them the first point after a resume averaged only the steps since the resume).
   * Optional: checkpoints written before these existed resume with an empty window.
   */
  windowLoss?: number;
  windowSteps?: number;
  /**
   * sha256 of the training and held-out documents. The options hash does not cover the data, so without this a
   * resume after a corpus change (other --data, an edited corpus.ts) silently continued on another token stream.
   * Optional for the same reason as above: older checkpoints carry none and are resumed unchecked.
   */
  corpusHash?: string;
}

/** Learning rate at `step`: linear warm-up, then cosine decay to minLrRatio * lr. */
export function learningRate(o: Pick<LmTrainOptions, 'lr' | 'warmupSteps' | 'steps' | 'minLrRatio'>, step: number): number {
  if (step < o.warmupSteps) return (o.lr * (step + 1)) / o.warmupSteps;
  const t = Math.min(1, (step - o.warmupSteps) / Math.max(1, o.steps - o.warmupSteps));
  return o.lr * (o.minLrRatio + (1 - o.minLrRatio) * 0.5 * (1 + Math.cos(Math.PI * t)));
}

/** Documents -> one token stream `<s> doc </s> <s> doc </s> ...` in the given order. */
function packStream(docs: number[][], order: number[]): Int32Array {
  let n = 0;
  for (const i of order) n += docs[i].length + 2;
  const out = new Int32Array(n);
  let p = 0;
  for (const i of order) {
    out[p++] = BOS_ID;
    out.set(docs[i], p);
    p += docs[i].length;
    out[p++] = EOS_ID;
  }
  return out;
}

function permutation(n: number, seed: number): number[] {
  const rng = createRng(seed);
  const a = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(rng() * (i + 1));
    [a[i], a[j]] = [a[j], a[i]];
  }
  return a;
}

/** Which fields of the options change the result (a checkpoint is only resumed under the same ones). */
function resultOptions(o: LmTrainOptions): object {
  const { seed, model, batchSize, steps, lr, warmupSteps, minLrRatio, weightDecay, clipNorm, vocabSize } = o;
  return { seed, model, batchSize, steps, lr, warmupSteps, minLrRatio, weightDecay, clipNorm, vocabSize };
}

export interface LmTrainResult {
  outDir: string;
  steps: number;
  heldOutPerplexity: number;
  seconds: number;
  finished: boolean;
}

export async function trainLm(options: LmTrainOptions): Promise<LmTrainResult> {
  const o = options;
  const log = o.log ?? ((line: string) => process.stderr.write(line + '\n'));
  const dataDir = resolveDataDir(o.dataDir);
  mkdirSync(o.outDir, { recursive: true });
  const ckptFile = path.join(o.outDir, 'checkpoint.safetensors');
  removeStaleTemps(ckptFile);
  const tokFile = path.join(o.outDir, 'tokenizer.json');
  const optionsHash = sha256Hex(JSON.stringify(resultOptions(o)));

  const corpus: LmCorpus = buildLmCorpus(dataDir);
  log(`corpus: ${corpus.stats.trainTrials} trials' criteria + ${corpus.stats.drugDescriptions} drug descriptions + ICD-10 descriptions, ${corpus.stats.trainWords} words; held out: ${corpus.stats.heldOutTrials} valid trials, ${corpus.stats.heldOutWords} words`);

  let tokJson: string;
  const resuming = o.resume && existsSync(ckptFile);
  // The `tokenizers` trainer breaks ties between equally frequent pairs in hash order, which differs between
  // processes (measured: one token of 2.5 M differs between two runs). So an existing tokenizer.json -- the
  // shipped one -- is reused, and weights are reproducible given it; `retrainTokenizer` builds a new one.
  if (existsSync(tokFile) && (resuming || !o.retrainTokenizer)) tokJson = readFileSync(tokFile, 'utf8');
  else {
    tokJson = trainTokenizer(corpus.train, { vocabSize: o.vocabSize });
    writeFileAtomic(tokFile, tokJson);
  }
  const tokenizer = CriteriaTokenizer.fromJson(tokJson);
  const tokenizerHash = sha256Hex(tokJson);
  if (tokenizer.vocabSize !== o.model.vocabSize) {
    throw new Error(`tokenizer has ${tokenizer.vocabSize} entries, model expects ${o.model.vocabSize}`);
  }
  const trainDocs = await tokenizer.encodeBatch(corpus.train);
  const heldDocs = await tokenizer.encodeBatch(corpus.heldOut);
  const T = o.model.maxLen;
  const B = o.batchSize;
  const trainTokens = trainDocs.reduce((s, d) => s + d.length + 2, 0);
  const windowsPerEpoch = Math.floor((trainTokens - 1) / T);
  const stepsPerEpoch = Math.floor(windowsPerEpoch / B);
  const heldStream = packStream(heldDocs, heldDocs.map((_, i) => i));
  log(`tokens: train ${trainTokens}, held-out ${heldStream.length}; ${stepsPerEpoch} steps per epoch of ${B}x${T}; ${o.steps} steps = ${(o.steps / stepsPerEpoch).toFixed(2)} epochs; ${countParameters(o.model)} parameters`);

  const c = o.model;
  const shapes = parameterShapes(c);
  let params: LmParams;
  let adam: AdamState<LmParams>;
  const corpusHash = sha256Hex(JSON.stringify([corpus.train, corpus.heldOut]));
  let state: TrainState = { step: 0, seconds: 0, curve: [], optionsHash, tokenizerHash, corpusHash };
  if (resuming) {
    const ck = readSafetensors(ckptFile);
    const saved = JSON.parse(ck.metadata.state ?? '{}') as TrainState;
    if (saved.optionsHash !== optionsHash || saved.tokenizerHash !== tokenizerHash) {
      throw new Error(`${ckptFile} was written with other training options or another tokenizer; delete it or pass the same options (or --no-resume)`);
    }
    if (saved.corpusHash !== undefined && saved.corpusHash !== corpusHash) {
      throw new Error(`${ckptFile} was written for another training corpus (other data directory or corpus code); delete it or use the same data (or --no-resume)`);
    }
    state = { ...saved, corpusHash };
    params = paramsFromFlat(c, tensorsToArrays(ck.tensors, shapes, 'params.', ckptFile));
    const m = paramsFromFlat(c, tensorsToArrays(ck.tensors, shapes, 'adam_m.', ckptFile));
    const v = paramsFromFlat(c, tensorsToArrays(ck.tensors, shapes, 'adam_v.', ckptFile));
    adam = { m, v, step: np.array(state.step) };
    log(`resumed from ${ckptFile} at step ${state.step} (${(state.seconds / 60).toFixed(1)} min trained)`);
  } else {
    params = initParams(c, o.seed);
    adam = adamInit(tree.ref(params));
  }
  // Weight decay on matrices only (not biases, LayerNorm gains).
  const decayFlat = Object.fromEntries(Object.entries(shapes).map(([k, s]) => [k, s.length === 2]));
  const decayMask = paramsFromFlat(c, decayFlat as never) as never;

  // The objective's loss: next-token (causal, toks [B, T+1]; the step key is the dropout key, as the shipped
  // model was trained) or masked tokens (the first T of each row; the step key splits into dropout and mask).
  const objectiveLoss = (pp: LmParams, toks: NpArray, w: NpArray, key: NpArray | null, maskKey: NpArray | null) => {
    if (c.objective !== 'masked') {
      maskKey?.dispose();
      return lmLoss(c, pp, toks, w, key);
    }
    if (maskKey === null) {
      const [dropKey, mk] = np.split(random.split(key!, 2), 2, 0).map((k) => k.reshape([2]));
      return maskedLmLoss(c, pp, toks.slice([], [0, T]), w, mk, dropKey);
    }
    key?.dispose();
    return maskedLmLoss(c, pp, toks.slice([], [0, T]), w, maskKey, null);
  };
  const trainStep = jit((p: LmParams, s: AdamState<LmParams>, toks: NpArray, w: NpArray, key: NpArray, lr: NpArray) => {
    const [loss, grads] = valueAndGrad((pp: LmParams) => objectiveLoss(pp, toks, w, key, null))(tree.ref(p));
    const [p2, s2, norm] = adamUpdate(p, grads, s, lr, { ...DEFAULT_ADAM, weightDecay: o.weightDecay }, o.clipNorm, decayMask);
    return [p2, s2, loss, norm] as [LmParams, AdamState<LmParams>, NpArray, NpArray];
  });
  // Held-out masks are fixed (one key per batch position in the held-out stream), so evaluations compare.
  const evalLoss = jit((p: LmParams, toks: NpArray, w: NpArray, maskKey: NpArray) => objectiveLoss(p, toks, w, null, maskKey));

  const batchFrom = (stream: Int32Array, starts: number[]): [NpArray, NpArray] => {
    const toks = new Int32Array(starts.length * (T + 1));
    const w = new Float32Array(starts.length * T);
    starts.forEach((start, b) => {
      const n = Math.max(0, Math.min(T + 1, stream.length - start));
      toks.set(stream.subarray(start, start + n), b * (T + 1));
      for (let t = 0; t < n - 1; t++) w[b * T + t] = 1;
    });
    return [np.array(toks, { dtype: np.int32 }).reshape([starts.length, T + 1]), np.array(w).reshape([starts.length, T])];
  };

  const heldOutLoss = async (maxTokens: number): Promise<number> => {
    let total = 0;
    let count = 0;
    const limit = Math.min(heldStream.length - 1, maxTokens);
    for (let start = 0; start < limit; start += B * T) {
      const starts = Array.from({ length: B }, (_, b) => start + b * T).filter((s) => s < limit);
      while (starts.length < B) starts.push(heldStream.length); // all-padding rows keep the jitted shape
      const [toks, w] = batchFrom(heldStream, starts);
      const n = (await w.ref.sum().data())[0];
      const loss = (await evalLoss(tree.ref(params), toks, w, random.key(o.seed + start)).data())[0];
      total += loss * n;
      count += n;
    }
    return total / Math.max(1, count);
  };

  const saveCheckpoint = async () => {
    const tensors: Record<string, Tensor> = {
      ...(await arraysToTensors(paramsToFlat(params), 'params.')),
      ...(await arraysToTensors(paramsToFlat(adam.m), 'adam_m.')),
      ...(await arraysToTensors(paramsToFlat(adam.v), 'adam_v.')),
    };
    writeSafetensors(ckptFile, tensors, { state: JSON.stringify(state), format: 'cladmop-lm-checkpoint-v1' });
  };

  let epochStream: Int32Array | null = null;
  let streamEpoch = -1;
  const started = Date.now();
  const baseSeconds = state.seconds;
  let lastCkpt = Date.now();
  let windowLoss = state.windowLoss ?? 0;
  let windowSteps = state.windowSteps ?? 0;
  while (state.step < o.steps) {
    const step = state.step;
    const epoch = Math.floor(step / stepsPerEpoch);
    if (epoch !== streamEpoch) {
      epochStream = packStream(trainDocs, permutation(trainDocs.length, o.seed * 1000 + epoch));
      streamEpoch = epoch;
    }
    const k = step % stepsPerEpoch;
    const starts = Array.from({ length: B }, (_, b) => (k * B + b) * T);
    const [toks, w] = batchFrom(epochStream!, starts);
    const lr = learningRate(o, step);
    const key = random.key((o.seed * 7919 + step) >>> 0);
    const [p2, s2, loss, norm] = trainStep(params, adam, toks, w, key, np.array(lr));
    params = p2;
    adam = s2;
    const lossValue = (await loss.data())[0];
    norm.dispose();
    if (!Number.isFinite(lossValue)) throw new Error(`training diverged at step ${step}: loss ${lossValue}`);
    windowLoss += lossValue;
    windowSteps++;
    state.step = step + 1;
    state.seconds = baseSeconds + (Date.now() - started) / 1000;
    const logNow = state.step % 25 === 0 || state.step === o.steps;
    const evalNow = state.step % o.evalEverySteps === 0 || state.step === o.steps;
    if (logNow || evalNow) {
      const point: CurvePoint = {
        step: state.step,
        tokens: state.step * B * T,
        seconds: Math.round(state.seconds),
        trainLoss: windowLoss / windowSteps,
        lr,
      };
      windowLoss = 0;
      windowSteps = 0;
      if (evalNow) point.heldOutLoss = await heldOutLoss(state.step === o.steps ? Infinity : o.evalTokens);
      state.curve.push(point);
      const tps = (state.step * B * T) / Math.max(1, state.seconds);
      log(`step ${state.step}/${o.steps} loss ${point.trainLoss.toFixed(3)}${point.heldOutLoss !== undefined ? ` held-out ${point.heldOutLoss.toFixed(3)} (ppl ${Math.exp(point.heldOutLoss).toFixed(1)})` : ''} lr ${lr.toExponential(2)} ${tps.toFixed(0)} tok/s ${(state.seconds / 60).toFixed(1)} min rss ${(process.memoryUsage().rss / 1e9).toFixed(2)} GB`);
    }
    const outOfTime = o.maxSeconds !== undefined && (Date.now() - started) / 1000 > o.maxSeconds;
    if (Date.now() - lastCkpt > o.checkpointSeconds * 1000 || outOfTime) {
      state.windowLoss = windowLoss;
      state.windowSteps = windowSteps;
      await saveCheckpoint();
      lastCkpt = Date.now();
      log(`checkpoint saved at step ${state.step}`);
      if (outOfTime) {
        return { outDir: o.outDir, steps: state.step, heldOutPerplexity: NaN, seconds: state.seconds, finished: false };
      }
    }
  }
  const last = state.curve[state.curve.length - 1];
  const heldOutPerplexity = Math.exp(last?.heldOutLoss ?? (await heldOutLoss(Infinity)));
  await writeModelDir(o, params, state, corpus, tokenizerHash, heldOutPerplexity, trainTokens, heldStream.length);
  rmSync(ckptFile, { force: true });
  return { outDir: o.outDir, steps: state.step, heldOutPerplexity, seconds: state.seconds, finished: true };
}

async function writeModelDir(
  o: LmTrainOptions,
  params: LmParams,
  state: TrainState,
  corpus: LmCorpus,
  tokenizerHash: string,
  heldOutPerplexity: number,
  trainTokens: number,
  heldOutTokens: number,
): Promise<void> {
  const tensors = await arraysToTensors(paramsToFlat(params));
  writeSafetensors(path.join(o.outDir, 'model.safetensors'), tensors, { format: 'cladmop-criteria-lm-v1' });
  const weightsHash = sha256Hex(readFileSync(path.join(o.outDir, 'model.safetensors')));
  const config = {
    format: 'cladmop-criteria-lm',
    formatVersion: 1,
    architecture: 'causal pre-LN transformer, learned positions, tied embeddings, GELU',
    model: o.model,
    parameters: countParameters(o.model),
    tokenizer: { file: 'tokenizer.json', sha256: tokenizerHash, type: 'byte-level BPE', lowercase: true },
    weights: { file: 'model.safetensors', sha256: weightsHash, dtype: 'F32' },
    training: { ...resultOptions(o), stepsDone: state.step, seconds: Math.round(state.seconds) },
    corpus: { ...corpus.stats, trainTokens, heldOutTokens },
    heldOutPerplexity,
    command: `npx cladmop lm train --seed ${o.seed} --steps ${o.steps}`,
  };
  writeFileAtomic(path.join(o.outDir, 'config.json'), JSON.stringify(config, null, 2) + '\n');
  writeFileAtomic(path.join(o.outDir, 'training_log.json'), JSON.stringify({ curve: state.curve }, null, 1) + '\n');
  writeFileAtomic(path.join(o.outDir, 'README.md'), modelCard(config, state.curve));
}

/** The model card, generated from what was measured during training (nothing typed by hand). */
export function modelCard(config: { model: LmConfig; parameters: number; corpus: LmCorpus['stats'] & { trainTokens: number; heldOutTokens: number }; heldOutPerplexity: number; training: Record<string, unknown> & { stepsDone: number; seconds: number }; weights: { sha256: string }; command: string }, curve: CurvePoint[]): string {
  const m = config.model;
  const c = config.corpus;
  const evals = curve.filter((p) => p.heldOutLoss !== undefined);
  const lines = [
    '# cladmop criteria LM',
    '',
    'A small causal transformer language model of clinical-trial eligibility criteria, trained by cladmop as a',
    'frozen stand-in for the pretrained LLM (BioGPT) of CLaDMoP, because no pretrained language-model weights can',
    'be downloaded on the machines this project targets. Reports that use it name it as a substitute.',
    '',
    '## Model',
    '',
    `- ${m.nLayers} layers, d_model ${m.dModel}, ${m.nHeads} heads, feed-forward ${m.dFf}, context ${m.maxLen} tokens, dropout ${m.dropout}; pre-LN, learned positions, GELU, tied input/output embeddings: ${config.parameters.toLocaleString('en-US')} parameters.`,
    `- Byte-level BPE tokenizer, ${m.vocabSize} entries (\`tokenizer.json\`, Hugging Face format), NFKC + lower case.`,
    '- Causal (like BioGPT): a token only sees the tokens before it, so right padding never changes real-token states.',
    '- Weights: `model.safetensors` (float32), sha256 `' + config.weights.sha256 + '`.',
    '',
    '## Data (no test-split text)',
    '',
    `- Criteria of ${c.trainTrials} non-test trials (${c.criteriaWords.toLocaleString('en-US')} words): ${c.sources.filter((s) => s.endsWith('.csv') || s.endsWith('.csv.gz')).join(', ')}; every nctid of any test split excluded (${c.excludedTestTrials} rows dropped).`,
    `- ${c.drugDescriptions} DrugBank drug descriptions (${c.drugWords.toLocaleString('en-US')} words), without reference markers and without any sentence naming a trial id.`,
    `- ICD-10 code descriptions (${c.icdDescriptions} codes, ${c.icdWords.toLocaleString('en-US')} words).`,
    `- Training tokens: ${c.trainTokens.toLocaleString('en-US')}. Held out for perplexity: the criteria of ${c.heldOutTrials} valid-split trials (${c.heldOutTokens.toLocaleString('en-US')} tokens), never trained on.`,
    '',
    '## Training and result',
    '',
    `- ${config.training.stepsDone} steps of ${String(config.training.batchSize)} x ${m.maxLen} tokens, AdamW (lr ${String(config.training.lr)}, warm-up ${String(config.training.warmupSteps)} steps, cosine decay to ${String(config.training.minLrRatio)} x lr, weight decay ${String(config.training.weightDecay)} on matrices, gradient clipping at ${String(config.training.clipNorm)}), seed ${String(config.training.seed)}; @jax-js/jax on the CPU (wasm, 2 threads): ${(config.training.seconds / 3600).toFixed(2)} h.`,
    `- **Held-out perplexity: ${config.heldOutPerplexity.toFixed(2)}** (valid-split criteria, all ${c.heldOutTokens.toLocaleString('en-US')} tokens).`,
    '',
    '| step | tokens | train loss | held-out loss | held-out perplexity |',
    '|---|---|---|---|---|',
    ...evals.map((p) => `| ${p.step} | ${p.tokens.toLocaleString('en-US')} | ${p.trainLoss.toFixed(3)} | ${p.heldOutLoss!.toFixed(3)} | ${Math.exp(p.heldOutLoss!).toFixed(1)} |`),
    '',
    '## Reproduce',
    '',
    '```bash',
    config.command,
    '```',
    '',
    'Training checkpoints every few minutes and resumes after an interruption (run the same command again). The',
    'tokenizer file in this folder is reused: the `tokenizers` trainer breaks ties between equally frequent pairs',
    'in hash order, so a retrained tokenizer can differ by a merge; given the tokenizer, the weights are reproducible',
    'from the seed.',
    '',
  ];
  return lines.join('\n');
}
