/**
 * Where the service's model work runs, with a deadline per job.
 *
 *  - `WorkerRunner` (what `cladmop serve` uses): each worker thread loads the bundle itself and runs predict /
 *    explain there, so the event loop only parses and answers HTTP. Why threads: one explanation is hundreds of
 *    encoder and scorer passes; on the event loop a single request froze `/healthz` for 58 s (measured). A job
 *    past its deadline is stopped by terminating its worker (onnxruntime and the encoder cannot be interrupted
 *    from inside), which is then replaced; the jobs behind it wait for the replacement, they are not failed.
 *  - `InProcessRunner`: runs on the caller's thread, one job at a time (library use and tests with an injected
 *    encoder, which cannot cross a thread). A job past its deadline is answered 503 but runs to its end; the
 *    jobs queued behind it get their own full deadline, counted from when they start waiting.
 */
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { Model } from '../predict/model.ts';
import type { Prediction } from '../predict/predict.ts';
import type { ExplainOptions, Explanation } from '../predict/explain.ts';
import { ModelRouter } from '../predict/router.ts';
import type { PredictInput } from '../predict/inputs.ts';

export type Job = { kind: 'predict'; inputs: PredictInput[] } | { kind: 'explain'; input: PredictInput; options: ExplainOptions };
export type JobResult = { kind: 'predict'; predictions: Prediction[] } | { kind: 'explain'; explanation: Explanation };

/** A job that could not run: `status` is the HTTP status to answer (503: busy / timed out / worker lost). */
export class JobError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export interface ModelRunner {
  /** Runs a job; rejects with JobError(503) when the queue is full or the job's deadline passes. */
  run(job: Job): Promise<JobResult>;
  /** Jobs waiting plus running. */
  readonly pending: number;
  close(): Promise<void>;
}

export interface RunnerLimits {
  /** Longest a job may wait for and run on the model, in ms. */
  timeoutMs: number;
  /** Jobs allowed to wait before 503 "busy". */
  maxQueue: number;
}

/** A job on the models: each trial goes to its phase's model (or to the single model of `--model`). */
export async function runJob(models: ModelRouter, job: Job): Promise<JobResult> {
  if (job.kind === 'predict') return { kind: 'predict', predictions: await models.predict(job.inputs) };
  return { kind: 'explain', explanation: await models.explain(job.input, job.options) };
}

const timedOut = (ms: number) => new JobError(503, `prediction timed out after ${ms} ms`);
const busy = (n: number) => new JobError(503, `busy: ${n} requests are waiting for the model; retry later`);

/** One job at a time on this thread. */
export class InProcessRunner implements ModelRunner {
  private tail: Promise<unknown> = Promise.resolve();
  private closed = false;
  pending = 0;

  private readonly models: ModelRouter;

  constructor(
    model: Model | ModelRouter,
    private readonly limits: RunnerLimits,
  ) {
    this.models = model instanceof ModelRouter ? model : ModelRouter.single(model);
  }

  run(job: Job): Promise<JobResult> {
    if (this.closed) return Promise.reject(new JobError(503, 'the service is shutting down'));
    if (this.pending >= this.limits.maxQueue) return Promise.reject(busy(this.pending));
    this.pending++;
    let expired = false;
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        expired = true;
        reject(timedOut(this.limits.timeoutMs));
      }, this.limits.timeoutMs);
    });
    // A job whose deadline passed while it waited is skipped rather than started.
    const result = this.tail.then(() => (expired ? Promise.reject(timedOut(this.limits.timeoutMs)) : runJob(this.models, job)));
    const settled = result.finally(() => this.pending--);
    this.tail = settled.catch(() => undefined);
    return Promise.race([settled, deadline]).finally(() => clearTimeout(timer));
  }

  /** Refuses new jobs. Does not wait for running ones: the server waits for its requests, and a job past its deadline may never end. */
  async close(): Promise<void> {
    this.closed = true;
  }
}

/** What a worker thread loads. Everything here crosses a thread boundary (structured clone). */
export interface WorkerModelSpec {
  /** One bundle for every trial; absent: the default models of `modelsDir`, routed by phase. */
  bundleDir?: string;
  /** Directory of phase-I/-II/-III bundles (default settings.modelsDir) when `bundleDir` is absent. */
  modelsDir?: string;
  dataDir?: string;
  /** Embedding cache as LoadModelOptions.cache (default none). */
  cache?: string | boolean;
  /** Encoder spec (`lm`, `lm:DIR`, `onnx:DIR`) instead of the bundle's recorded one. */
  encoderSpec?: string;
  /** URL of a module exporting `createEncoder(options)` (tests: a fake encoder cannot cross threads, its module can). */
  encoderModule?: string;
  /** Passed to the module's `createEncoder`. */
  encoderOptions?: unknown;
}

export type ToWorker = { type: 'job'; id: number; job: Job };
export type FromWorker =
  | { type: 'ready' }
  | { type: 'fatal'; message: string }
  | { type: 'result'; id: number; result: JobResult }
  | { type: 'error'; id: number; message: string };

interface Queued {
  id: number;
  job: Job;
  resolve: (r: JobResult) => void;
  reject: (e: Error) => void;
  timer: NodeJS.Timeout;
  slot?: Slot;
}

interface Slot {
  worker: Worker;
  ready: boolean;
  job?: Queued;
}

const BOOTSTRAP = path.join(path.dirname(fileURLToPath(import.meta.url)), 'model-worker.mjs');

export interface WorkerRunnerOptions extends RunnerLimits {
  /** Worker threads (default 1: on 2 cores the other one answers HTTP and runs onnxruntime's second thread). */
  workers?: number;
  /** V8 heap cap per worker in MB (default 2048): a runaway job fails in its worker, not the service. */
  maxHeapMb?: number;
}

/** Model work on worker threads; a job past its deadline terminates its worker. */
export class WorkerRunner implements ModelRunner {
  private readonly slots: Slot[] = [];
  private readonly queue: Queued[] = [];
  private nextId = 1;
  private closed = false;
  private failures = 0;
  /** Workers terminated at a deadline or lost (tests and the bench read it). */
  restarts = 0;

  private constructor(
    private readonly spec: WorkerModelSpec,
    private readonly o: WorkerRunnerOptions,
  ) {}

  /** Starts the workers and waits until each has loaded the model (rejects with the load error). */
  static async start(spec: WorkerModelSpec, o: WorkerRunnerOptions): Promise<WorkerRunner> {
    const r = new WorkerRunner(spec, o);
    try {
      await Promise.all(Array.from({ length: Math.max(1, o.workers ?? 1) }, () => r.spawn()));
    } catch (err) {
      await r.close();
      throw err;
    }
    return r;
  }

  /** Resolves once every worker has loaded the model (a replaced one included). */
  async ready(): Promise<void> {
    while (!this.closed && (this.slots.length < Math.max(1, this.o.workers ?? 1) || this.slots.some((s) => !s.ready))) {
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  get pending(): number {
    return this.queue.length + this.slots.filter((s) => s.job).length;
  }

  private spawn(): Promise<void> {
    const worker = new Worker(BOOTSTRAP, {
      workerData: this.spec,
      // jax-js (used while a bundle is checked) would start its own threads per worker otherwise.
      env: { ...process.env, JAX_THREADS: '1' },
      resourceLimits: { maxOldGenerationSizeMb: this.o.maxHeapMb ?? 2048 },
      stdout: false,
      stderr: false,
    });
    const slot: Slot = { worker, ready: false };
    this.slots.push(slot);
    return new Promise<void>((resolve, reject) => {
      worker.on('message', (m: FromWorker) => {
        if (m.type === 'ready') {
          slot.ready = true;
          this.failures = 0;
          resolve();
          this.dispatch();
        } else if (m.type === 'fatal') {
          reject(new Error(m.message));
        } else if (m.type === 'result' || m.type === 'error') {
          const q = slot.job;
          if (!q || q.id !== m.id) return;
          slot.job = undefined;
          clearTimeout(q.timer);
          if (m.type === 'result') q.resolve(m.result);
          else q.reject(new Error(m.message));
          this.dispatch();
        }
      });
      const lost = (why: string) => {
        const i = this.slots.indexOf(slot);
        if (i < 0) return; // already replaced (terminated at a deadline)
        this.slots.splice(i, 1);
        reject(new Error(`model worker ${why} before it was ready`));
        if (slot.job) {
          clearTimeout(slot.job.timer);
          slot.job.reject(new JobError(503, `the model worker stopped (${why}); retry`));
        }
        if (!this.closed && slot.ready) this.replace();
      };
      worker.on('error', (err) => lost(`failed: ${err.message}`));
      worker.on('exit', (code) => lost(`exited with code ${code}`));
    });
  }

  /** A new worker in place of one terminated or lost; gives up (failing the queue) after 3 failed starts in a row. */
  private replace(): void {
    this.restarts++;
    this.spawn().catch((err) => {
      if (++this.failures < 3) return this.replace();
      for (const q of this.queue.splice(0)) {
        clearTimeout(q.timer);
        q.reject(new JobError(503, `the model worker cannot start: ${(err as Error).message}`));
      }
    });
  }

  private dispatch(): void {
    for (const slot of this.slots) {
      if (!slot.ready || slot.job) continue;
      const q = this.queue.shift();
      if (!q) return;
      slot.job = q;
      q.slot = slot;
      slot.worker.postMessage({ type: 'job', id: q.id, job: q.job } satisfies ToWorker);
    }
  }

  run(job: Job): Promise<JobResult> {
    if (this.closed) return Promise.reject(new JobError(503, 'the service is shutting down'));
    if (this.queue.length >= this.o.maxQueue) return Promise.reject(busy(this.queue.length));
    return new Promise<JobResult>((resolve, reject) => {
      const q: Queued = {
        id: this.nextId++,
        job,
        resolve,
        reject,
        timer: setTimeout(() => this.expire(q), this.o.timeoutMs),
      };
      this.queue.push(q);
      this.dispatch();
    });
  }

  private expire(q: Queued): void {
    q.reject(timedOut(this.o.timeoutMs));
    const i = this.queue.indexOf(q);
    if (i >= 0) {
      this.queue.splice(i, 1);
      return;
    }
    const slot = q.slot;
    if (!slot || slot.job !== q) return;
    // Stop the work: the thread is busy in native or synchronous code and cannot be asked to stop.
    this.slots.splice(this.slots.indexOf(slot), 1);
    slot.job = undefined;
    void slot.worker.terminate();
    if (!this.closed) this.replace();
  }

  async close(): Promise<void> {
    this.closed = true;
    const slots = this.slots.splice(0);
    for (const s of slots) {
      if (!s.job) continue;
      clearTimeout(s.job.timer);
      s.job.reject(new JobError(503, 'the service is shutting down'));
    }
    await Promise.all(slots.map((s) => s.worker.terminate()));
    for (const q of this.queue.splice(0)) {
      clearTimeout(q.timer);
      q.reject(new JobError(503, 'the service is shutting down'));
    }
  }
}

/** The `encoderModule` URL of a module file (tests). */
export const moduleUrl = (file: string) => pathToFileURL(file).href;
