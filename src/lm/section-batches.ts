/**
 * What every criteria encoder does around its forward pass: split each criteria text into its inclusion and
 * exclusion sections, tokenize them, run all sections of many trials in length-bucketed right-padded batches,
 * keep the returned positions (not the special tokens), and concatenate each trial's sections back together
 * (inclusion first) with a segment id per token.
 */
import type { EncodedCriteria } from '../features/criteria-encoder.ts';
import { criteriaDocuments } from './criteria-text.ts';

export interface TokenizedSection {
  /** Token ids fed to the model, already truncated to its context window. */
  ids: number[];
  /** Positions in `ids` whose hidden states are returned (e.g. all but a leading <s>). */
  keep: number[];
}

export interface SectionEncoderParts {
  dim: number;
  /** Largest sequence the model takes. */
  maxLen: number;
  /** Tokens per forward batch. */
  batchTokens: number;
  padId: number;
  /** Tokenizes section texts ("inclusion criteria:\n- ..."). */
  tokenize: (texts: string[]) => Promise<TokenizedSection[]>;
  /** Hidden states of the three levels, each [B, T, dim], for right-padded ids [B, T] with real lengths. */
  forward: (ids: Int32Array, lengths: number[], T: number) => Promise<Float32Array[]>;
}

/** Section texts of one trial; a trial without criteria reads the bare inclusion header. */
export function sectionTexts(criteria: string): { section: 0 | 1; text: string }[] {
  const docs = criteriaDocuments(criteria);
  if (docs.length === 0) return [{ section: 0, text: 'inclusion criteria:' }];
  return docs.map((d) => ({ section: d.section === 'inclusion' ? 0 : 1, text: d.text }));
}

export async function encodeSections(parts: SectionEncoderParts, criteria: string[], onProgress?: (done: number) => void): Promise<EncodedCriteria[]> {
  const perTrial = criteria.map(sectionTexts);
  const seqs: { trial: number; section: 0 | 1; tok: TokenizedSection }[] = [];
  const flat = perTrial.flatMap((sections, trial) => sections.map((s) => ({ trial, section: s.section, text: s.text })));
  const tokenized = await parts.tokenize(flat.map((f) => f.text));
  flat.forEach((f, k) => seqs.push({ trial: f.trial, section: f.section, tok: tokenized[k] }));

  const d = parts.dim;
  const results: Float32Array[][] = new Array(seqs.length);
  const order = seqs.map((_, i) => i).sort((a, b) => seqs[a].tok.ids.length - seqs[b].tok.ids.length);
  let i = 0;
  let seqsDone = 0;
  while (i < order.length) {
    // Buckets of 64 positions: few distinct shapes, little padding.
    const bucket = Math.min(parts.maxLen, 64 * Math.ceil(Math.max(1, seqs[order[i]].tok.ids.length) / 64));
    const maxB = Math.max(1, Math.floor(parts.batchTokens / bucket));
    const batch: number[] = [];
    while (i < order.length && batch.length < maxB && seqs[order[i]].tok.ids.length <= bucket) batch.push(order[i++]);
    const ids = new Int32Array(batch.length * bucket).fill(parts.padId);
    batch.forEach((s, b) => ids.set(seqs[s].tok.ids, b * bucket));
    const levels = await parts.forward(ids, batch.map((s) => seqs[s].tok.ids.length), bucket);
    batch.forEach((s, b) => {
      results[s] = levels.map((lv) => {
        const out = new Float32Array(seqs[s].tok.keep.length * d);
        seqs[s].tok.keep.forEach((p, j) => out.set(lv.subarray((b * bucket + p) * d, (b * bucket + p + 1) * d), j * d));
        return out;
      });
    });
    seqsDone += batch.length;
    onProgress?.(Math.min(criteria.length, Math.floor((seqsDone / seqs.length) * criteria.length)));
  }

  const byTrial: number[][] = perTrial.map(() => []);
  seqs.forEach((s, k) => byTrial[s.trial].push(k));
  return byTrial.map((ks) => {
    const tokens: number[] = [];
    const segs: number[] = [];
    for (const k of ks) {
      for (const p of seqs[k].tok.keep) {
        tokens.push(seqs[k].tok.ids[p]);
        segs.push(seqs[k].section);
      }
    }
    const levels = [0, 1, 2].map((l) => {
      const out = new Float32Array(tokens.length * d);
      let off = 0;
      for (const k of ks) {
        out.set(results[k][l], off);
        off += results[k][l].length;
      }
      return out;
    });
    return { levels, tokens, segments: Uint8Array.from(segs), dim: d };
  });
}
