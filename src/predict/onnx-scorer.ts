/**
 * Scores trials with the bundle's classifier as an ONNX graph in onnxruntime-node (model/onnx-export.ts).
 *
 * By default each trial is its own onnxruntime run, at its own criteria length: its probability is then the
 * same bit for bit whatever it is predicted with (onnxruntime's matmul kernels depend on the shape, so batch-
 * mates and padding move the last bits; a test checks both). Batching buys little here: the per-trial work
 * (grouping blocks, DM branch) dominates, and measured 16 trials cost 222 ms as one batch of 16 vs 299 ms as
 * 16 single runs (2 cores under load). `batchSize` > 1 pads each run to its longest trial (equal to 1e-6).
 */
import type { InferenceSession, Tensor as OrtTensor } from 'onnxruntime-node';
import { keptLength, packCriteriaHost, packDmHost, type TrialInput } from '../features/trial-batch.ts';
import { MAX_ANCESTORS, MAX_DISEASES, MAX_DRUGS, MAX_MOLECULES, MAX_NGRAMS } from '../features/dm-features.ts';
import type { CladmopConfig } from '../model/cladmop.ts';
import { cladmopClassifierToOnnx, SINGLE_MODEL, type OnnxMemberNames } from '../model/onnx-export.ts';
import type { Tensor } from '../runtime/safetensors.ts';
import { intraOpThreads } from '../settings.ts';

export interface OnnxScorerOptions {
  /** Trials per onnxruntime run (default 1: bit-identical per trial). */
  batchSize?: number;
  /** onnxruntime intra-op threads (default: settings.threads, i.e. $CLADMOP_THREADS, else all cores). */
  threads?: number;
  /** Ensemble members in the tensors (default: one model, base.* + lora.*). */
  members?: OnnxMemberNames[];
}

const big = (a: ArrayLike<number>) => BigInt64Array.from(a as ArrayLike<number>, (v) => BigInt(v));

export class OnnxScorer {
  private queue: Promise<unknown> = Promise.resolve();
  private released = false;

  private constructor(
    private readonly c: CladmopConfig,
    private readonly maxCriteria: number,
    private readonly session: InferenceSession,
    private readonly ort: typeof import('onnxruntime-node'),
    private readonly batchSize: number,
    /** Ensemble members: `logits` has this many values per trial. */
    readonly members: number,
  ) {}

  static async create(c: CladmopConfig, tensors: Record<string, Tensor>, maxCriteria: number, options: OnnxScorerOptions = {}): Promise<OnnxScorer> {
    const ort = await import('onnxruntime-node');
    const members = options.members ?? SINGLE_MODEL;
    const graph = cladmopClassifierToOnnx(c, tensors, members);
    const session = await ort.InferenceSession.create(graph, { graphOptimizationLevel: 'all', ...intraOpThreads(options.threads) });
    return new OnnxScorer(c, maxCriteria, session, ort, options.batchSize ?? 1, members.length);
  }

  /**
   * Success probabilities, in input order: the mean over members of sigmoid(member logit + `TrialInput.offset`).
   * Calls are served one at a time.
   */
  score(inputs: TrialInput[]): Promise<Float64Array> {
    const run = this.queue.then(() => this.run(inputs));
    this.queue = run.catch(() => undefined);
    return run;
  }

  /** Raw logits without `TrialInput.offset`, [inputs, members] row-major, in input order. */
  async logits(inputs: TrialInput[]): Promise<Float32Array> {
    if (this.released) throw new Error('model was disposed');
    const out = new Float32Array(inputs.length * this.members);
    for (let s = 0; s < inputs.length; s += this.batchSize) {
      const items = inputs.slice(s, s + this.batchSize);
      out.set(await this.runBatch(items), s * this.members);
    }
    return out;
  }

  private async run(inputs: TrialInput[]): Promise<Float64Array> {
    const z = await this.logits(inputs);
    const n = this.members;
    return Float64Array.from(inputs, (x, i) => {
      let sum = 0;
      for (let m = 0; m < n; m++) sum += 1 / (1 + Math.exp(-(z[i * n + m] + (x.offset ?? 0))));
      return sum / n;
    });
  }

  private async runBatch(items: TrialInput[]): Promise<Float32Array> {
    const B = items.length;
    const L = Math.max(...items.map((i) => keptLength(i.criteria, this.maxCriteria)));
    const crit = packCriteriaHost(items.map((i) => i.criteria), { size: B, maxCriteria: this.maxCriteria }, L);
    const dm = packDmHost(items.map((i) => i.dm));
    const T = (type: 'float32' | 'int64', data: Float32Array | BigInt64Array, dims: number[]): OrtTensor => new this.ort.Tensor(type, data, dims);
    const feeds: Record<string, OrtTensor> = {
      crit_mask: T('int64', big(crit.mask), [B, L]),
      crit_segment: T('int64', big(crit.segment), [B, L]),
      mol_features: T('float32', dm.molFeatures, [B, MAX_MOLECULES, this.c.moleculeInput]),
      mol_mask: T('int64', big(dm.molMask), [B, MAX_MOLECULES]),
      mol_unknown: T('float32', dm.molUnknown, [B]),
      name_ids: T('int64', big(dm.nameIds), [B, MAX_DRUGS, MAX_NGRAMS]),
      name_weights: T('float32', dm.nameWeights, [B, MAX_DRUGS, MAX_NGRAMS]),
      name_mask: T('int64', big(dm.nameMask), [B, MAX_DRUGS]),
      icd_ids: T('int64', big(dm.icdIds), [B, MAX_DISEASES, MAX_ANCESTORS]),
      icd_weights: T('float32', dm.icdWeights, [B, MAX_DISEASES, MAX_ANCESTORS]),
      icd_mask: T('int64', big(dm.icdMask), [B, MAX_DISEASES]),
    };
    for (const level of this.c.levels) feeds[`crit_${level}`] = T('float32', crit.levels[level], [B, L, crit.d]);
    const out = await this.session.run(feeds);
    return Float32Array.from(out.logits.data as Float32Array);
  }

  async dispose(): Promise<void> {
    if (this.released) return;
    this.released = true;
    await this.queue;
    await this.session.release();
  }
}
