/**
 * Scores trials with the bundle's classifier as an ONNX graph in onnxruntime-node (model/onnx-export.ts).
 *
 * Batches of up to `batchSize` trials. By default every run has one shape (batchSize rows padded with copies,
 * maxCriteria tokens; padding keys are masked, so they never change a score): onnxruntime's matmul kernels
 * depend on the row count, and at one shape a trial's probability is the same alone or in any batch, bit for
 * bit (a test checks it). `fixedShape: false` pads only to the batch's longest trial (faster, equal to 1e-6).
 */
import type { InferenceSession, Tensor as OrtTensor } from 'onnxruntime-node';
import { keptLength, packCriteriaHost, packDmHost, type TrialInput } from '../features/trial-batch.ts';
import { MAX_ANCESTORS, MAX_DISEASES, MAX_DRUGS, MAX_MOLECULES, MAX_NGRAMS } from '../features/dm-features.ts';
import type { CladmopConfig } from '../model/cladmop.ts';
import { cladmopClassifierToOnnx } from '../model/onnx-export.ts';
import type { Tensor } from '../runtime/safetensors.ts';

export interface OnnxScorerOptions {
  /** Trials per onnxruntime run (default 16). */
  batchSize?: number;
  /** onnxruntime intra-op threads (default: all cores). */
  threads?: number;
  /**
   * Run every batch at one shape (batchSize rows, maxCriteria tokens): a trial's score is then bit-identical
   * whatever it is batched with (onnxruntime's matmul kernels depend on the row count). Default true.
   */
  fixedShape?: boolean;
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
    private readonly fixedShape: boolean,
  ) {}

  static async create(c: CladmopConfig, tensors: Record<string, Tensor>, maxCriteria: number, options: OnnxScorerOptions = {}): Promise<OnnxScorer> {
    const ort = await import('onnxruntime-node');
    const graph = cladmopClassifierToOnnx(c, tensors);
    const session = await ort.InferenceSession.create(graph, { graphOptimizationLevel: 'all', ...(options.threads ? { intraOpNumThreads: options.threads } : {}) });
    return new OnnxScorer(c, maxCriteria, session, ort, options.batchSize ?? 16, options.fixedShape ?? true);
  }

  /** Success probabilities (sigmoid of the logits), in input order. Calls are served one at a time. */
  score(inputs: TrialInput[]): Promise<Float64Array> {
    const run = this.queue.then(() => this.run(inputs));
    this.queue = run.catch(() => undefined);
    return run;
  }

  /** Raw logits, in input order. */
  async logits(inputs: TrialInput[]): Promise<Float32Array> {
    if (this.released) throw new Error('model was disposed');
    const out = new Float32Array(inputs.length);
    for (let s = 0; s < inputs.length; s += this.batchSize) {
      const items = inputs.slice(s, s + this.batchSize);
      out.set(await this.runBatch(items), s);
    }
    return out;
  }

  private async run(inputs: TrialInput[]): Promise<Float64Array> {
    const z = await this.logits(inputs);
    return Float64Array.from(z, (v) => 1 / (1 + Math.exp(-v)));
  }

  private async runBatch(items: TrialInput[]): Promise<Float32Array> {
    const B = this.fixedShape ? this.batchSize : items.length;
    const L = this.fixedShape ? this.maxCriteria : Math.max(...items.map((i) => keptLength(i.criteria, this.maxCriteria)));
    const crit = packCriteriaHost(items.map((i) => i.criteria), { size: B, maxCriteria: this.maxCriteria }, L);
    const dm = packDmHost(Array.from({ length: B }, (_, i) => (items[i] ?? items[0]).dm));
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
    return Float32Array.from((out.logits.data as Float32Array).subarray(0, items.length));
  }

  async dispose(): Promise<void> {
    if (this.released) return;
    this.released = true;
    await this.queue;
    await this.session.release();
  }
}
