/**
 * The shipped criteria LM as a frozen multi-level criteria encoder.
 *
 * Levels: residual-stream outputs after three evenly spaced layers (default 2, 4, 6 of 6: coarse, medium,
 * fine), for every token of each section except the leading <s>. Causal attention and right padding mean a
 * token's outputs never depend on the padding after it (a test checks this).
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { createHash } from 'node:crypto';
import { jit, numpy as np, tree } from '@jax-js/jax';
import type { CriteriaEncoder, EncodedCriteria } from '../features/criteria-encoder.ts';
import { readSafetensors } from '../runtime/safetensors.ts';
import { criteriaDocuments } from './criteria-text.ts';
import { forward, paramsFromFlat, parameterShapes, type LmConfig, type LmParams } from './model.ts';
import { tensorsToArrays } from './params-io.ts';
import { BOS_ID, CriteriaTokenizer, PAD_ID } from './tokenizer.ts';

type Array = np.Array;

export interface LoadedLm {
  dir: string;
  config: LmConfig;
  params: LmParams;
  tokenizer: CriteriaTokenizer;
  /** sha256 over config, tokenizer and weights files. */
  hash: string;
}

export class ModelLoadError extends Error {}

/** Loads a criteria LM directory (config.json, tokenizer.json, model.safetensors), checking hashes. */
export function loadCriteriaLm(dir: string): LoadedLm {
  const configFile = path.join(dir, 'config.json');
  if (!existsSync(configFile)) {
    const unfinished = existsSync(path.join(dir, 'checkpoint.safetensors'));
    throw new ModelLoadError(
      unfinished
        ? `the criteria LM in ${dir} has not finished training (only a checkpoint is there); continue it with \`cladmop lm train\``
        : `no criteria LM in ${dir}: config.json is missing (train one with \`cladmop lm train\`)`,
    );
  }
  const config = JSON.parse(readFileSync(configFile, 'utf8'));
  if (config.format !== 'cladmop-criteria-lm' || config.formatVersion !== 1) {
    throw new ModelLoadError(`${configFile}: format ${config.format} v${config.formatVersion} is not cladmop-criteria-lm v1`);
  }
  const tokText = readFileSync(path.join(dir, config.tokenizer.file), 'utf8');
  const weightsBytes = readFileSync(path.join(dir, config.weights.file));
  const sha = (b: string | Uint8Array) => createHash('sha256').update(b).digest('hex');
  if (sha(tokText) !== config.tokenizer.sha256) throw new ModelLoadError(`${dir}: tokenizer.json does not match the sha256 in config.json`);
  if (sha(weightsBytes) !== config.weights.sha256) throw new ModelLoadError(`${dir}: ${config.weights.file} does not match the sha256 in config.json (corrupted or replaced)`);
  const model = config.model as LmConfig;
  const { tensors } = readSafetensors(path.join(dir, config.weights.file));
  const params = paramsFromFlat(model, tensorsToArrays(tensors, parameterShapes(model), '', path.join(dir, config.weights.file)));
  return {
    dir,
    config: model,
    params,
    tokenizer: CriteriaTokenizer.fromJson(tokText),
    hash: createHash('sha256').update(readFileSync(configFile)).update(tokText).update(weightsBytes).digest('hex'),
  };
}

export interface LmEncoderOptions {
  /** 1-based layer indices of the levels; default three evenly spaced depths. */
  layers?: number[];
  /** Tokens per forward batch (sequences are bucketed by length). */
  batchTokens?: number;
}

export function evenlySpacedLayers(nLayers: number): number[] {
  return [1, 2, 3].map((k) => Math.max(1, Math.round((k * nLayers) / 3)));
}

export class LmCriteriaEncoder implements CriteriaEncoder {
  readonly id: string;
  readonly name: string;
  readonly dim: number;
  readonly layers: number[];
  readonly maxTokensPerSection: number;
  private readonly batchTokens: number;
  private readonly forwardJit: (p: LmParams, tokens: Array) => Array[];

  constructor(
    readonly lm: LoadedLm,
    options: LmEncoderOptions = {},
  ) {
    const c = lm.config;
    this.layers = options.layers ?? evenlySpacedLayers(c.nLayers);
    if (this.layers.length !== 3 || this.layers.some((l) => l < 0 || l > c.nLayers)) {
      throw new Error(`layers must be three indices in 0..${c.nLayers}, got [${this.layers}]`);
    }
    this.dim = c.dModel;
    this.maxTokensPerSection = c.maxLen - 1;
    // Measured: 1,024 tokens per forward batch is fastest, and wasm memory grows ~1.2 GB per extra 1,024 tokens
    // (jax-js keeps a jitted program's intermediates; its wasm heap is capped at 4 GiB).
    this.batchTokens = options.batchTokens ?? 1024;
    this.id = `cladmop-lm:${lm.hash.slice(0, 32)}:layers=${this.layers.join(',')}:max=${this.maxTokensPerSection}:sections=v1`;
    this.name = `cladmop criteria LM (own, trained on TOP non-test criteria; ${c.nLayers} layers, d=${c.dModel}; levels = layers ${this.layers.join('/')})`;
    const layers = this.layers;
    this.forwardJit = jit((p: LmParams, tokens: Array) => forward(c, p, tokens, { key: null, logits: false, returnLayers: layers }).hidden) as never;
  }

  /** Token ids of each section of one criteria text: [<s>, ...] truncated to the context window. */
  async sectionTokens(criteria: string): Promise<{ section: 0 | 1; ids: number[] }[]> {
    let docs = criteriaDocuments(criteria);
    if (docs.length === 0) docs = [{ section: 'inclusion', text: 'inclusion criteria:', statements: [] }];
    const ids = await this.lm.tokenizer.encodeBatch(docs.map((d) => d.text));
    return docs.map((d, i) => ({ section: d.section === 'inclusion' ? 0 : 1, ids: [BOS_ID, ...ids[i]].slice(0, this.lm.config.maxLen) }));
  }

  async encodeMany(criteria: string[], onProgress?: (done: number) => void): Promise<EncodedCriteria[]> {
    const perTrial = await Promise.all(criteria.map((c) => this.sectionTokens(c)));
    const seqs: { trial: number; part: number; ids: number[] }[] = [];
    perTrial.forEach((sections, trial) => sections.forEach((s, part) => seqs.push({ trial, part, ids: s.ids })));
    // Hidden states of each sequence, without its <s>: levels x (n-1) x d.
    const results: Float32Array[][] = new Array(seqs.length);
    const order = seqs.map((_, i) => i).sort((a, b) => seqs[a].ids.length - seqs[b].ids.length);
    const d = this.dim;
    let i = 0;
    let trialsDone = 0;
    while (i < order.length) {
      const bucket = Math.min(this.lm.config.maxLen, 64 * Math.ceil(seqs[order[i]].ids.length / 64));
      const maxB = Math.max(1, Math.floor(this.batchTokens / bucket));
      const batch: number[] = [];
      while (i < order.length && batch.length < maxB && seqs[order[i]].ids.length <= bucket) batch.push(order[i++]);
      const toks = new Int32Array(batch.length * bucket).fill(PAD_ID);
      batch.forEach((s, b) => toks.set(seqs[s].ids, b * bucket));
      const hidden = this.forwardJit(tree.ref(this.lm.params), np.array(toks, { dtype: np.int32 }).reshape([batch.length, bucket]));
      const data = await Promise.all(hidden.map((h) => h.data() as Promise<Float32Array>));
      batch.forEach((s, b) => {
        const n = seqs[s].ids.length;
        results[s] = data.map((lv) => lv.slice((b * bucket + 1) * d, (b * bucket + n) * d));
      });
      trialsDone += batch.length;
      onProgress?.(Math.min(criteria.length, Math.floor((trialsDone / seqs.length) * criteria.length)));
    }
    return perTrial.map((sections, trial) => {
      const parts = seqs.map((s, idx) => ({ s, idx })).filter(({ s }) => s.trial === trial);
      const tokens: number[] = [];
      const segs: number[] = [];
      for (const { s } of parts) {
        tokens.push(...s.ids.slice(1));
        for (let t = 1; t < s.ids.length; t++) segs.push(sections[s.part].section);
      }
      const levels = [0, 1, 2].map((l) => {
        const out = new Float32Array(tokens.length * d);
        let off = 0;
        for (const { idx } of parts) {
          out.set(results[idx][l], off);
          off += results[idx][l].length;
        }
        return out;
      });
      return { levels, tokens, segments: Uint8Array.from(segs), dim: d };
    });
  }
}
