import { test } from 'node:test';
import assert from 'node:assert/strict';
import { numpy as np, tree } from '@jax-js/jax';
import * as ort from 'onnxruntime-node';
import { initJax } from '../runtime/jax-init.ts';
import { forward, initParams, paramsToFlat, type LmConfig } from './model.ts';
import { lmToOnnx } from './onnx-export.ts';
import { arraysToTensors } from './params-io.ts';

await initJax();

for (const objective of ['causal', 'masked'] as const) {
  test(`the ONNX graph equals the jax-js forward (${objective} LM): every hidden state and the final LayerNorm`, async () => {
    const c: LmConfig = { vocabSize: 50, dModel: 16, nLayers: 2, nHeads: 2, dFf: 32, maxLen: 24, dropout: 0, objective };
    const params = initParams(c, 4);
    const weights = Object.fromEntries(Object.entries(await arraysToTensors(paramsToFlat(params))).map(([k, t]) => [k, t.data as Float32Array]));
    const session = await ort.InferenceSession.create(lmToOnnx(c, weights));
    assert.deepEqual([...session.outputNames].sort(), ['hidden_states.0', 'hidden_states.1', 'hidden_states.2', 'last_hidden_state']);
    const B = 2;
    const T = 10;
    const ids = Int32Array.from({ length: B * T }, (_, i) => (i * 13 + 1) % c.vocabSize);
    const out = await session.run({
      input_ids: new ort.Tensor('int64', BigInt64Array.from(ids, (v) => BigInt(v)), [B, T]),
      attention_mask: new ort.Tensor('int64', new BigInt64Array(B * T).fill(1n), [B, T]),
    });
    const ref = forward(c, tree.ref(params), np.array(ids, { dtype: np.int32 }).reshape([B, T]), { key: null, logits: false, returnLayers: [0, 1, 2] });
    for (let l = 0; l <= 2; l++) {
      const want = (await ref.hidden[l].data()) as Float32Array;
      const got = out[`hidden_states.${l}`].data as Float32Array;
      let m = 0;
      for (let i = 0; i < want.length; i++) m = Math.max(m, Math.abs(want[i] - got[i]));
      assert.ok(m < 1e-5, `hidden_states.${l}: max diff ${m}`);
    }
    // Padding keys are masked: a right-padded copy of row 0 gives row 0's states at its real positions.
    const padded = Int32Array.from({ length: T }, (_, t) => (t < 6 ? ids[t] : 0));
    const mask = BigInt64Array.from({ length: T }, (_, t) => (t < 6 ? 1n : 0n));
    const short = await session.run({
      input_ids: new ort.Tensor('int64', BigInt64Array.from(ids.subarray(0, 6), (v) => BigInt(v)), [1, 6]),
      attention_mask: new ort.Tensor('int64', new BigInt64Array(6).fill(1n), [1, 6]),
    });
    const pad = await session.run({ input_ids: new ort.Tensor('int64', BigInt64Array.from(padded, (v) => BigInt(v)), [1, T]), attention_mask: new ort.Tensor('int64', mask, [1, T]) });
    const a = short['hidden_states.2'].data as Float32Array;
    const b = (pad['hidden_states.2'].data as Float32Array).subarray(0, 6 * c.dModel);
    let m = 0;
    for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
    assert.ok(m < 1e-5, `padding changed real positions by ${m}`);
    await session.release();
    tree.dispose(params);
  });
}
