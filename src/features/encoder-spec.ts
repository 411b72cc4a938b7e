/**
 * Which criteria encoder to use, from a CLI-style spec:
 *   lm            the shipped criteria LM (settings.lmDir: models/criteria-lm inside the package)
 *   lm:DIR        a criteria LM trained with `cladmop lm train --out DIR`
 *   onnx:DIR      a local Hugging Face-style ONNX export of a real LLM, read through transformers.js
 */
import path from 'node:path';
import { settings } from '../settings.ts';
import type { CriteriaEncoder } from './criteria-encoder.ts';

/** The embedding cache directory (settings.embeddingCacheDir: $CLADMOP_CACHE, else <cacheDir>/embeddings). */
export function defaultCacheDir(): string {
  return settings.embeddingCacheDir;
}

export interface EncoderSpecOptions {
  /** Layer indices for the three levels (default: evenly spaced). */
  layers?: number[];
  /** onnxruntime execution device for onnx: encoders ("cpu", "cuda"). */
  device?: string;
}

export async function loadEncoder(spec = 'lm', options: EncoderSpecOptions = {}): Promise<CriteriaEncoder> {
  const [kind, ...rest] = spec.split(':');
  const arg = rest.join(':');
  if (kind === 'lm') {
    const { loadCriteriaLm, LmCriteriaEncoder } = await import('../lm/lm-encoder.ts');
    return new LmCriteriaEncoder(loadCriteriaLm(arg ? path.resolve(arg) : settings.lmDir), { layers: options.layers });
  }
  if (kind === 'onnx') {
    if (!arg) throw new Error('onnx: needs a directory, e.g. --encoder onnx:./biogpt-onnx');
    const { HfOnnxCriteriaEncoder } = await import('../lm/hf-onnx-encoder.ts');
    return HfOnnxCriteriaEncoder.load(arg, { layers: options.layers, device: options.device });
  }
  throw new Error(`unknown encoder "${spec}": use lm, lm:DIR or onnx:DIR`);
}
