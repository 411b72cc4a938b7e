/**
 * The criteria LM as an ONNX graph (opset 20), built from its weights without Python.
 *
 * Two uses:
 *  - the frozen criteria encoder runs this graph in onnxruntime-node (measured ~5x the matmul throughput of
 *    jax-js's wasm backend on this machine; see bench/), built in memory from model.safetensors;
 *  - `cladmop lm export-onnx` writes it as a Hugging Face-style directory (config.json, tokenizer.json,
 *    onnx/model.onnx) that `--encoder onnx:DIR` and transformers.js read like any other exported model.
 *
 * The graph mirrors model.ts `forward` exactly: token + learned position embeddings, pre-LN blocks with
 * causal multi-head attention and tanh-GELU MLP, final LayerNorm. Inputs `input_ids` and `attention_mask`
 * (int64 [batch, sequence]); padding keys are masked, so left or right padding both give the real tokens'
 * outputs. Outputs `hidden_states.{i}` (i = 0 embeddings .. L) for the requested layers and, optionally,
 * `last_hidden_state` (after the final LayerNorm).
 */
import { encodeModel, FLOAT, GraphBuilder, INT64, valueInfo, type OnnxTypes } from '../runtime/onnx-graph.ts';
import type { LmConfig } from './model.ts';

export interface OnnxExportOptions {
  /** Residual-stream layers to output as `hidden_states.{i}` (0 = embeddings). Default: all, 0..L. */
  hiddenLayers?: number[];
  /** Also output `last_hidden_state` (final LayerNorm applied). Default true. */
  lastHiddenState?: boolean;
}

/** The -inf-like additive causal mask for the largest context; sliced to [T, T] in the graph. */
function causalMask(n: number): Float32Array {
  const m = new Float32Array(n * n);
  for (let i = 0; i < n; i++) for (let j = i + 1; j < n; j++) m[i * n + j] = -1e9;
  return m;
}

/**
 * Serialised ONNX model of the LM. `weights` are the flat float32 tensors of model.safetensors (names as in
 * model.ts parameterShapes).
 */
export function lmToOnnx(c: LmConfig, weights: Record<string, Float32Array>, options: OnnxExportOptions = {}): Uint8Array {
  const hiddenLayers = options.hiddenLayers ?? Array.from({ length: c.nLayers + 1 }, (_, i) => i);
  const wantLast = options.lastHiddenState ?? true;
  if (hiddenLayers.some((l) => !Number.isInteger(l) || l < 0 || l > c.nLayers)) {
    throw new Error(`hidden layers must be integers in 0..${c.nLayers}, got [${hiddenLayers}]`);
  }
  if (hiddenLayers.length === 0 && !wantLast) throw new Error('the ONNX graph would have no outputs');
  const d = c.dModel;
  const N = c.nHeads;
  const H = d / N;
  const g = new GraphBuilder();
  const w = (name: string) => {
    const data = weights[name];
    if (!data) throw new Error(`weights: tensor ${name} is missing`);
    return data;
  };
  const param = (name: string, dims: number[]) => g.float(name, w(name), dims);

  // Sequence length T as a 1-D int64 tensor [T], for slicing the position table and the causal mask.
  const shape = g.one('Shape', ['input_ids']);
  const seqLen = g.one('Gather', [shape, g.int64('const_index_1', [1])], { axis: 0 });
  const zero1 = g.int64('const_zero_1', [0]);
  const zero2 = g.int64('const_zero_2', [0, 0]);
  const axis0 = g.int64('const_axes_0', [0]);
  const axes01 = g.int64('const_axes_01', [0, 1]);

  const tok = g.one('Gather', [param('tokEmb', [c.vocabSize, d]), 'input_ids'], { axis: 0 });
  const pos = g.one('Slice', [param('posEmb', [c.maxLen, d]), zero1, seqLen, axis0]);
  let x = g.one('Add', [tok, pos]);

  // Additive attention mask [B, 1, T, T]: causal (not for a 'masked' model), plus -1e9 on padding keys.
  const causal = g.one('Slice', [g.float('causal_mask', causalMask(c.maxLen), [c.maxLen, c.maxLen]), zero2, g.one('Concat', [seqLen, seqLen], { axis: 0 }), axes01]);
  const keep = g.one('Cast', ['attention_mask'], { to: FLOAT });
  const padBias = g.one('Mul', [g.one('Sub', [keep, g.scalarFloat('const_one', 1)]), g.scalarFloat('const_big', 1e9)]);
  const padBias4 = g.one('Unsqueeze', [padBias, g.int64('const_axes_12', [1, 2])]);
  const mask = c.objective === 'masked' ? padBias4 : g.one('Add', [causal, padBias4]);

  const graphOutputs: OnnxTypes.IValueInfoProto[] = [];
  const emit = (value: string, name: string) => {
    g.one('Identity', [value]);
    g.nameLastOutput(name);
    graphOutputs.push(valueInfo(name, FLOAT, ['batch_size', 'sequence_length', d]));
  };
  if (hiddenLayers.includes(0)) emit(x, 'hidden_states.0');

  const headShape = g.int64('const_head_shape', [0, 0, N, H]);
  const modelShape = g.int64('const_model_shape', [0, 0, d]);
  const scale = g.scalarFloat('const_scale', 1 / Math.sqrt(H));
  const splitSizes = g.int64('const_qkv_split', [d, d, d]);
  for (let l = 0; l < c.nLayers; l++) {
    const p = (k: string, dims: number[]) => param(`layers.${l}.${k}`, dims);
    const h = g.one('LayerNormalization', [x, p('ln1g', [d]), p('ln1b', [d])], { axis: -1, epsilon: 1e-5 });
    const qkv = g.one('Add', [g.one('MatMul', [h, p('wqkv', [d, 3 * d])]), p('bqkv', [3 * d])]);
    const [q, k, v] = g.op('Split', [qkv, splitSizes], { axis: -1 }, 3).map((t) => g.one('Reshape', [t, headShape]));
    const qT = g.one('Transpose', [q], { perm: [0, 2, 1, 3] });
    const kT = g.one('Transpose', [k], { perm: [0, 2, 3, 1] });
    const vT = g.one('Transpose', [v], { perm: [0, 2, 1, 3] });
    const scores = g.one('Add', [g.one('Mul', [g.one('MatMul', [qT, kT]), scale]), mask]);
    const att = g.one('MatMul', [g.one('Softmax', [scores], { axis: -1 }), vT]);
    const merged = g.one('Reshape', [g.one('Transpose', [att], { perm: [0, 2, 1, 3] }), modelShape]);
    x = g.one('Add', [x, g.one('Add', [g.one('MatMul', [merged, p('wo', [d, d])]), p('bo', [d])])]);
    const h2 = g.one('LayerNormalization', [x, p('ln2g', [d]), p('ln2b', [d])], { axis: -1, epsilon: 1e-5 });
    const ff = g.one('Gelu', [g.one('Add', [g.one('MatMul', [h2, p('w1', [d, c.dFf])]), p('b1', [c.dFf])])], { approximate: 'tanh' });
    x = g.one('Add', [x, g.one('Add', [g.one('MatMul', [ff, p('w2', [c.dFf, d])]), p('b2', [d])])]);
    if (hiddenLayers.includes(l + 1)) emit(x, `hidden_states.${l + 1}`);
  }
  if (wantLast) {
    g.one('LayerNormalization', [x, param('lnFg', [d]), param('lnFb', [d])], { axis: -1, epsilon: 1e-5 });
    g.nameLastOutput('last_hidden_state');
    graphOutputs.unshift(valueInfo('last_hidden_state', FLOAT, ['batch_size', 'sequence_length', d]));
  }

  return encodeModel(g, {
    name: 'cladmop_criteria_lm',
    inputs: [valueInfo('input_ids', INT64, ['batch_size', 'sequence_length']), valueInfo('attention_mask', INT64, ['batch_size', 'sequence_length'])],
    outputs: graphOutputs,
  });
}
