/**
 * Moving jax-js parameter trees to and from safetensors tensors.
 */
import { numpy as np } from '@jax-js/jax';
import type { Tensor } from '../runtime/safetensors.ts';

type NpArray = np.Array;

/** Reads arrays to host memory as F32 tensors. The arrays stay alive (a reference is taken for reading). */
export async function arraysToTensors(flat: Record<string, NpArray>, prefix = ''): Promise<Record<string, Tensor>> {
  const out: Record<string, Tensor> = {};
  for (const [name, arr] of Object.entries(flat)) {
    const data = (await arr.ref.data()) as Float32Array;
    out[prefix + name] = { dtype: 'F32', shape: [...arr.shape], data: Float32Array.from(data) };
  }
  return out;
}

/** Builds arrays from F32 tensors, checking names and shapes against what the model expects. */
export function tensorsToArrays(
  tensors: Record<string, Tensor>,
  shapes: Record<string, number[]>,
  prefix = '',
  source = 'weights',
): Record<string, NpArray> {
  const out: Record<string, NpArray> = {};
  for (const [name, shape] of Object.entries(shapes)) {
    const t = tensors[prefix + name];
    if (!t) throw new Error(`${source}: tensor ${prefix + name} is missing`);
    if (t.dtype !== 'F32') throw new Error(`${source}: tensor ${prefix + name} is ${t.dtype}, expected F32`);
    if (t.shape.length !== shape.length || t.shape.some((s, i) => s !== shape[i])) {
      throw new Error(`${source}: tensor ${prefix + name} has shape [${t.shape}], expected [${shape}]`);
    }
    out[name] = np.array(t.data as Float32Array<ArrayBuffer>).reshape(shape);
  }
  return out;
}
