/**
 * Analytical FLOP counts (multiply-adds count 2) of the criteria LM, for the "fraction of the matmul ceiling"
 * numbers. Only matrix products are counted: LayerNorm, softmax, GELU, dropout and the optimiser are a few
 * percent at these sizes and are left out, so the achieved GFLOP/s is a slight underestimate.
 */
import type { LmConfig } from '../src/lm/model.ts';

export interface LmFlops {
  /** Per sequence of T tokens. */
  projections: number;
  /** QK^T and attention x V, dense T x T (the causal mask is applied to a full score matrix). */
  attention: number;
  /** Tied output projection to the vocabulary. */
  logits: number;
  total: number;
}

/** Forward FLOPs of one sequence of length T; `logits` false = encoder use (hidden states only). */
export function lmForwardFlops(c: LmConfig, T: number, logits: boolean): LmFlops {
  const d = c.dModel;
  const perLayerProj = 2 * T * d * (3 * d) + 2 * T * d * d + 2 * (2 * T * d * c.dFf);
  const perLayerAtt = 2 * (2 * T * T * d);
  const projections = c.nLayers * perLayerProj;
  const attention = c.nLayers * perLayerAtt;
  const logitFlops = logits ? 2 * T * d * c.vocabSize : 0;
  return { projections, attention, logits: logitFlops, total: projections + attention + logitFlops };
}

/** Training-step FLOPs of one sequence: forward with logits + backward (2x forward), the usual 3x rule. */
export function lmTrainFlops(c: LmConfig, T: number): number {
  return 3 * lmForwardFlops(c, T, true).total;
}
