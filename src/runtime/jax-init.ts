/**
 * jax-js needs its backend chosen once per process before any array is made. Training and the CLaDMoP model
 * run on the wasm backend (the only one in Node without WebGPU). Idempotent.
 */
import { init } from '@jax-js/jax';

let ready: Promise<unknown> | null = null;

export function initJax(): Promise<unknown> {
  ready ??= init('wasm');
  return ready;
}
