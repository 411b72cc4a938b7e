/**
 * `cladmop lm export-onnx`: the criteria LM as a Hugging Face-style ONNX directory, the layout
 * `--encoder onnx:DIR` (transformers.js) reads, so that our own model and a real LLM go through one path:
 *
 *   DIR/config.json            model_type "cladmop-criteria-lm", hidden_size, num_hidden_layers, ...
 *   DIR/tokenizer.json         our tokenizer plus a post-processor that prepends <s> (as the LM was trained)
 *   DIR/tokenizer_config.json  special tokens, model_max_length
 *   DIR/onnx/model.onnx        outputs last_hidden_state and hidden_states.0 .. hidden_states.L
 *
 * The directory is written under a temporary name and renamed when complete.
 */
import { existsSync, mkdirSync, renameSync, rmSync } from 'node:fs';
import path from 'node:path';
import { writeFileAtomic } from '../runtime/atomic-write.ts';
import type { LoadedLm } from './lm-encoder.ts';
import { lmToOnnx } from './onnx-export.ts';
import { readFileSync } from 'node:fs';

export function exportHfOnnx(lm: LoadedLm, outDir: string): { files: string[]; onnxBytes: number } {
  const c = lm.config;
  const final = path.resolve(outDir);
  if (existsSync(final)) throw new Error(`${final} already exists; choose a new directory`);
  const tmp = `${final}.tmp-${process.pid}`;
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(path.join(tmp, 'onnx'), { recursive: true });
  try {
    const onnx = lmToOnnx(c, lm.weights);
    writeFileAtomic(path.join(tmp, 'onnx/model.onnx'), onnx);
    const tok = JSON.parse(readFileSync(path.join(lm.dir, 'tokenizer.json'), 'utf8'));
    tok.post_processor = {
      type: 'TemplateProcessing',
      single: [{ SpecialToken: { id: '<s>', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }],
      pair: [{ SpecialToken: { id: '<s>', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }, { Sequence: { id: 'B', type_id: 1 } }],
      special_tokens: { '<s>': { id: '<s>', ids: [1], tokens: ['<s>'] } },
    };
    writeFileAtomic(path.join(tmp, 'tokenizer.json'), JSON.stringify(tok));
    writeFileAtomic(
      path.join(tmp, 'tokenizer_config.json'),
      JSON.stringify({ tokenizer_class: 'PreTrainedTokenizerFast', bos_token: '<s>', eos_token: '</s>', pad_token: '<pad>', model_max_length: c.maxLen, padding_side: 'right' }, null, 2) + '\n',
    );
    writeFileAtomic(
      path.join(tmp, 'config.json'),
      JSON.stringify(
        {
          model_type: 'cladmop-criteria-lm',
          architectures: ['CladmopCriteriaLM'],
          hidden_size: c.dModel,
          num_hidden_layers: c.nLayers,
          num_attention_heads: c.nHeads,
          intermediate_size: c.dFf,
          max_position_embeddings: c.maxLen,
          vocab_size: c.vocabSize,
          bos_token_id: 1,
          eos_token_id: 2,
          pad_token_id: 0,
          cladmop: { source: lm.dir, hash: lm.hash, note: 'causal pre-LN transformer; outputs hidden_states.i after layer i (0 = embeddings)' },
        },
        null,
        2,
      ) + '\n',
    );
    renameSync(tmp, final);
    return { files: ['config.json', 'tokenizer.json', 'tokenizer_config.json', 'onnx/model.onnx'], onnxBytes: onnx.length };
  } catch (err) {
    rmSync(tmp, { recursive: true, force: true });
    throw err;
  }
}
