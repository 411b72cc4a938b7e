/**
 * `--encoder onnx:DIR`: a real LLM (BioGPT, BioBERT, a Llama, ...) that the user exported to ONNX in the
 * Hugging Face layout, read through transformers.js with remote loading disabled. Nothing is downloaded.
 *
 * Levels: if the export has outputs `hidden_states.{i}` (torch.onnx.export of a model called with
 * output_hidden_states=True, outputs named that way; see docs/real-llm.md), the three levels are the chosen
 * layers (default: three evenly spaced depths). An export with only `last_hidden_state` (Optimum's default)
 * gives the same last layer at all three levels, and the encoder's name says so.
 *
 * Tokens: each section is tokenized with the model's own tokenizer (its special tokens added), truncated to
 * the model's context, and the special tokens' positions are not returned.
 */
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import type { CriteriaEncoder, EncodedCriteria } from '../features/criteria-encoder.ts';
import { encodeSections } from './section-batches.ts';
import { evenlySpacedLayers } from './lm-encoder.ts';

export interface HfOnnxEncoderOptions {
  /** Layer indices of the levels (0 = embeddings); default three evenly spaced depths. */
  layers?: number[];
  /** onnxruntime execution provider: "cpu" (default), "cuda", ... */
  device?: string;
  /** Tokens per forward batch. */
  batchTokens?: number;
}

export class HfOnnxLoadError extends Error {}

type TransformersModule = typeof import('@huggingface/transformers');
// Loose types for the parts of transformers.js used here (its .d.ts models every task).
interface HfTokenizer {
  encode(text: string): number[];
  all_special_ids: number[];
  pad_token_id?: number | null;
}
interface HfModel {
  sessions: Record<string, { inputNames: string[]; outputNames: string[] }>;
  (inputs: Record<string, unknown>): Promise<Record<string, { data: Float32Array; dims: number[] }>>;
  dispose(): Promise<unknown>;
}

function hashDir(dir: string): string {
  const h = createHash('sha256');
  const files: string[] = [];
  const walk = (d: string) => {
    for (const f of readdirSync(d).sort()) {
      const p = path.join(d, f);
      if (statSync(p).isDirectory()) walk(p);
      else if (/\.(json|onnx|onnx_data|txt|model)$/.test(f)) files.push(p);
    }
  };
  walk(dir);
  for (const f of files) h.update(path.relative(dir, f)).update(readFileSync(f));
  return h.digest('hex');
}

export class HfOnnxCriteriaEncoder implements CriteriaEncoder {
  private constructor(
    readonly id: string,
    readonly name: string,
    readonly dim: number,
    readonly layers: number[],
    readonly maxTokensPerSection: number,
    private readonly outputNames: string[],
    private readonly tokenizer: HfTokenizer,
    private readonly model: HfModel,
    private readonly tf: TransformersModule,
    private readonly batchTokens: number,
    private readonly maxLen: number,
  ) {}

  static async load(dir: string, options: HfOnnxEncoderOptions = {}): Promise<HfOnnxCriteriaEncoder> {
    const root = path.resolve(dir);
    for (const f of ['config.json', 'tokenizer.json', 'onnx/model.onnx']) {
      if (!existsSync(path.join(root, f))) {
        throw new HfOnnxLoadError(`${root}: ${f} is missing (expected a Hugging Face ONNX export: config.json, tokenizer.json, tokenizer_config.json, onnx/model.onnx)`);
      }
    }
    const config = JSON.parse(readFileSync(path.join(root, 'config.json'), 'utf8'));
    const dim = config.hidden_size ?? config.n_embd ?? config.d_model ?? config.dim;
    if (!Number.isInteger(dim)) throw new HfOnnxLoadError(`${root}/config.json: no hidden_size (or n_embd, d_model, dim)`);
    const tf = await import('@huggingface/transformers');
    tf.env.allowRemoteModels = false;
    tf.env.allowLocalModels = true;
    tf.env.useFSCache = false;
    tf.env.logLevel = tf.LogLevel.ERROR;
    const tokenizer = (await tf.AutoTokenizer.from_pretrained(root, { local_files_only: true })) as unknown as HfTokenizer;
    const model = (await tf.AutoModel.from_pretrained(root, {
      local_files_only: true,
      dtype: 'fp32',
      device: (options.device ?? 'cpu') as never,
    })) as unknown as HfModel;
    const session = model.sessions.model;
    if (!session) throw new HfOnnxLoadError(`${root}: transformers.js found no "model" session in onnx/model.onnx`);
    const hiddenIdx = session.outputNames.map((n) => /^hidden_states\.(\d+)$/.exec(n)).filter((m) => m !== null).map((m) => Number(m![1])).sort((a, b) => a - b);
    let layers: number[];
    let outputNames: string[];
    let levelsNote: string;
    if (hiddenIdx.length > 0) {
      const top = hiddenIdx[hiddenIdx.length - 1];
      layers = options.layers ?? evenlySpacedLayers(top);
      const missing = layers.filter((l) => !hiddenIdx.includes(l));
      if (layers.length !== 3 || missing.length > 0) {
        throw new HfOnnxLoadError(`${root}: layers must be three of the exported hidden states [${hiddenIdx}], got [${layers}]`);
      }
      outputNames = layers.map((l) => `hidden_states.${l}`);
      levelsNote = `levels = layers ${layers.join('/')}`;
    } else if (session.outputNames.includes('last_hidden_state')) {
      if (options.layers) throw new HfOnnxLoadError(`${root}: the export has no hidden_states.{i} outputs, so --layers cannot be chosen (outputs: ${session.outputNames.join(', ')})`);
      layers = [-1, -1, -1];
      outputNames = ['last_hidden_state', 'last_hidden_state', 'last_hidden_state'];
      levelsNote = 'single depth: the export has only last_hidden_state, used at all three levels';
    } else {
      throw new HfOnnxLoadError(`${root}: onnx/model.onnx has neither hidden_states.{i} nor last_hidden_state outputs (it has: ${session.outputNames.join(', ')})`);
    }
    const maxLen = Math.min(config.max_position_embeddings ?? config.n_positions ?? 512, 4096);
    const hash = hashDir(root);
    const id = `hf-onnx:${hash.slice(0, 32)}:outputs=${outputNames.join(',')}:max=${maxLen}:sections=v1`;
    const name = `${config.model_type ?? 'unknown'} ONNX export from ${path.basename(root)} (transformers.js; ${levelsNote})`;
    return new HfOnnxCriteriaEncoder(id, name, dim, layers, maxLen, outputNames, tokenizer, model, tf, options.batchTokens ?? 4096, maxLen);
  }

  async encodeMany(criteria: string[], onProgress?: (done: number) => void): Promise<EncodedCriteria[]> {
    const special = new Set(this.tokenizer.all_special_ids);
    const inputNames = this.model.sessions.model.inputNames;
    return encodeSections(
      {
        dim: this.dim,
        maxLen: this.maxLen,
        batchTokens: this.batchTokens,
        padId: this.tokenizer.pad_token_id ?? 0,
        tokenize: async (texts) =>
          texts.map((t) => {
            const ids = this.tokenizer.encode(t).slice(0, this.maxLen);
            return { ids, keep: ids.map((_, p) => p).filter((p) => !special.has(ids[p])) };
          }),
        forward: async (ids, lengths, T) => {
          const B = lengths.length;
          const mask = new BigInt64Array(B * T);
          lengths.forEach((n, b) => mask.fill(1n, b * T, b * T + n));
          const feeds: Record<string, unknown> = {
            input_ids: new this.tf.Tensor('int64', BigInt64Array.from(ids, (v) => BigInt(v)), [B, T]),
            attention_mask: new this.tf.Tensor('int64', mask, [B, T]),
          };
          if (inputNames.includes('position_ids')) {
            const pos = new BigInt64Array(B * T);
            for (let b = 0; b < B; b++) for (let t = 0; t < T; t++) pos[b * T + t] = BigInt(t);
            feeds.position_ids = new this.tf.Tensor('int64', pos, [B, T]);
          }
          const out = await this.model(feeds);
          return this.outputNames.map((n) => {
            const t = out[n];
            if (!t) throw new Error(`the ONNX model returned no ${n}`);
            return t.data;
          });
        },
      },
      criteria,
      onProgress,
    );
  }

  async dispose(): Promise<void> {
    await this.model.dispose();
  }
}
