/**
 * The frozen criteria encoder interface (CLaDMoP's "LLM branch"): eligibility criteria in, token-level hidden
 * states at three depths out (coarse / medium / fine).
 *
 * Inclusion and exclusion are encoded in separate passes (each its own document "inclusion criteria:\n- ..."),
 * then concatenated; `segments` says which section each token came from (0 = inclusion, 1 = exclusion). A
 * section is truncated to the encoder's context window (its first tokens are kept: sponsors list the main
 * criteria first), so exclusion criteria are never pushed out by a long inclusion section.
 */
import { EmbeddingCache } from './embedding-cache.ts';
import { float32ToHalf, halfToFloat32 } from '../runtime/float16.ts';

export interface EncodedCriteria {
  /** One array per level, each tokens x dim, row-major. */
  levels: Float32Array[];
  /** Token ids (encoder vocabulary), length = tokens. */
  tokens: number[];
  /** 0 = inclusion, 1 = exclusion, per token. */
  segments: Uint8Array;
  dim: number;
}

export interface CriteriaEncoder {
  /** Stable id: a hash of everything that determines the outputs (weights, tokenizer, layers, truncation). */
  readonly id: string;
  /** Human-readable name for reports, e.g. "cladmop criteria LM (6 layers, d=192)". */
  readonly name: string;
  readonly dim: number;
  /** Layer indices of the levels, coarse to fine. */
  readonly layers: number[];
  /** Maximum tokens per section. */
  readonly maxTokensPerSection: number;
  /** Encodes many criteria texts (batched internally). */
  encodeMany(criteria: string[], onProgress?: (done: number) => void): Promise<EncodedCriteria[]>;
}

/** The token mask of a padded batch: 1 for a real token. */
export function paddingMask(lengths: number[], maxLen: number): Uint8Array {
  const mask = new Uint8Array(lengths.length * maxLen);
  lengths.forEach((n, b) => mask.fill(1, b * maxLen, b * maxLen + Math.min(n, maxLen)));
  return mask;
}

/** Encoder outputs rounded to float16, exactly as the embedding cache stores them. */
export function roundLikeCache(e: EncodedCriteria): EncodedCriteria {
  return { ...e, levels: e.levels.map((l) => halfToFloat32(float32ToHalf(l))) };
}

/**
 * Encodes through the cache: entries present are read, the rest are computed in one batched call and stored.
 * Returns results in input order and how many were computed. Computed results are rounded to float16 like
 * cache entries (with or without a cache), so a result never depends on what the cache held: training reads
 * the cache, and a prediction is the same whether its criteria were cached or not.
 */
export async function encodeWithCache(
  encoder: CriteriaEncoder,
  cache: EmbeddingCache | null,
  criteria: string[],
  onProgress?: (done: number, total: number) => void,
): Promise<{ encoded: EncodedCriteria[]; computed: number }> {
  const out: (EncodedCriteria | null)[] = criteria.map((t) => (cache ? cache.get(t) : null));
  const missing: number[] = [];
  const seen = new Map<string, number>();
  out.forEach((v, i) => {
    if (v === null && !seen.has(criteria[i])) {
      seen.set(criteria[i], i);
      missing.push(i);
    }
  });
  let done = criteria.length - missing.length;
  onProgress?.(done, criteria.length);
  // Compute in chunks so the cache fills as we go (an interrupted `embed` keeps what it computed).
  const chunk = 64;
  for (let s = 0; s < missing.length; s += chunk) {
    const idx = missing.slice(s, s + chunk);
    const encoded = await encoder.encodeMany(idx.map((i) => criteria[i]));
    idx.forEach((i, j) => {
      out[i] = roundLikeCache(encoded[j]);
      cache?.put(criteria[i], out[i]!);
    });
    done += idx.length;
    onProgress?.(done, criteria.length);
  }
  for (let i = 0; i < out.length; i++) if (out[i] === null) out[i] = out[seen.get(criteria[i])!];
  return { encoded: out as EncodedCriteria[], computed: missing.length };
}
