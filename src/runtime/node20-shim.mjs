// Preload for Node 20 (`node --import ./src/runtime/node20-shim.mjs`), needed by @jax-js/jax 0.1.25:
//  - `navigator` is undefined in Node 20 (jax-js reads navigator.hardwareConcurrency in init()).
//  - jax-js's wasm backend only goes multi-threaded when a global Web `Worker` exists; we map it onto
//    worker_threads (measured: 1.7x on a train step with 2 cores).
//  - Node 20 has no ES2025 iterator helpers; jax-js's einsum calls matchAll(...).map(...).
//  - Node 20 has no Float16Array; jax-js tests `instanceof Float16Array`.
// Set CLADMOP_THREADS=1 to stay single-threaded; read once, at import. JAX_THREADS, when set, wins for jax-js
// alone (the fine-tune pool sets it to 1 in its workers, whatever CLADMOP_THREADS says).
// The package entry point (src/index.ts) and bin/cladmop.mjs import this file first, so plain `node` works.
import { Worker as NodeWorker } from 'node:worker_threads';
import { resolveObjectURL } from 'node:buffer';
import os from 'node:os';

const threads = Number(process.env.JAX_THREADS || process.env.CLADMOP_THREADS || os.availableParallelism());
if (typeof globalThis.navigator === 'undefined') {
  globalThis.navigator = { hardwareConcurrency: threads };
}
if (typeof globalThis.Worker === 'undefined' && threads > 1) {
  const prelude = `const { parentPort } = require('node:worker_threads');
globalThis.self = globalThis;
globalThis.postMessage = (m) => parentPort.postMessage(m);
parentPort.on('message', (data) => self.onmessage && self.onmessage({ data }));
`;
  globalThis.Worker = class WorkerOverWorkerThreads {
    constructor(url) {
      this.onmessage = null;
      this.onerror = null;
      this.queued = [];
      this.worker = null;
      this.pending = 0;
      const blob = resolveObjectURL(String(url));
      blob.text().then((source) => {
        const worker = new NodeWorker(prelude + source, { eval: true });
        // One reply per request: keep the worker referenced only while replies are pending,
        // so the process can exit on its own once the work is done.
        worker.on('message', (data) => {
          if (--this.pending === 0) worker.unref();
          if (this.onmessage) this.onmessage({ data });
        });
        worker.on('error', (e) => this.onerror && this.onerror(e));
        this.worker = worker;
        if (this.pending === 0) worker.unref();
        for (const m of this.queued) worker.postMessage(m);
        this.queued = [];
      });
    }
    postMessage(message) {
      if (this.pending++ === 0 && this.worker) this.worker.ref();
      if (this.worker) this.worker.postMessage(message);
      else this.queued.push(message);
    }
    terminate() {
      if (this.worker) this.worker.terminate();
    }
  };
}
const iteratorProto = Object.getPrototypeOf(Object.getPrototypeOf([][Symbol.iterator]()));
if (typeof iteratorProto.map !== 'function') {
  const define = (name, value) =>
    Object.defineProperty(iteratorProto, name, { configurable: true, writable: true, value });
  define('map', function* (f) { let i = 0; for (const x of this) yield f(x, i++); });
  define('filter', function* (f) { let i = 0; for (const x of this) if (f(x, i++)) yield x; });
  define('toArray', function () { return [...this]; });
}
if (typeof globalThis.Float16Array === 'undefined') {
  globalThis.Float16Array = class Float16Array {
    constructor() { throw new Error('Float16Array is not available on Node 20'); }
  };
}
