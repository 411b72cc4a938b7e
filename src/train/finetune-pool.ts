/**
 * LoRA fine-tuning runs (the seeds of a phase, the few-shot draws) spread over worker processes.
 *
 * Why processes: a LoRA step is hundreds of small jax-js kernels (DM branch + fusion + head on 16 trials), which
 * the wasm backend's second thread barely speeds up (measured on 2 cores: 171 ms per step with 1 thread, 155 ms
 * with 2), while two single-threaded processes each keep close to the one-process speed. Each run is
 * independent given the pre-trained weights, so a phase's 3 seeds and 15 few-shot draws split over two
 * processes take about half the wall time.
 *
 * What a worker receives once: the config, the fine-tuning options, the pre-trained weights and, per split, each
 * trial's label, DM features, criteria token ids and *grouped* criteria (the frozen grouping blocks' output,
 * computed once by the parent, see GroupedCriteria). The criteria states never travel: the LoRA step does not
 * read them. A run's
 * result is the same as `finetune` in the parent with the same arguments (tested).
 */
import { fork, type ChildProcess } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { PACKAGE_ROOT as REPO_ROOT } from '../settings.ts';
import type { DmFeatures } from '../features/dm-features.ts';
import type { CladmopConfig, CladmopParams } from '../model/cladmop.ts';
import { treeToTensors } from '../runtime/param-tree.ts';
import type { Tensor } from '../runtime/safetensors.ts';
import type { FinetuneEpoch, FinetuneOptions, GroupedCriteria } from './finetune.ts';
import type { PreparedTrial } from './prepare.ts';

/** The options every run of a pool shares (each run sets its own seed, epochs and training rows). */
export type PoolFinetuneOptions = Omit<FinetuneOptions, 'config' | 'log' | 'onEpoch' | 'grouped'>;

/** One trial as sent to a worker. */
export interface WireTrial {
  nctid: string;
  label: 0 | 1;
  dm: Omit<DmFeatures, 'report'>;
  /** Grouped criteria per level (K x d, row-major), from the pre-trained grouping blocks. */
  grouped: Float32Array[];
  /** The criteria's token ids: fine-tuning batches trials of similar length together (see epochBatches). */
  criteriaTokens: number[];
  /** The lexical level's fixed logit (PreparedTrial.offset), when the model has one. */
  offset?: number;
}

export interface PoolData {
  config: CladmopConfig;
  options: PoolFinetuneOptions;
  /** Pre-trained weights (treeToTensors of the CladmopParams tree, no prefix). */
  pretrained: Record<string, Tensor>;
  train: WireTrial[];
  valid: WireTrial[];
  test: WireTrial[];
}

export interface FinetuneJob {
  seed: number;
  /** Indices into the pool's train split (few-shot draws); all of it when absent. */
  trainRows?: number[];
  maxEpochs?: number;
  patience?: number;
  /** Learning rate (default: the pool's options). */
  lr?: number;
  /** [ours] Drug-Molecule input-family dropout in training (FinetuneOptions.dmDropout). */
  dmDropout?: number;
  /**
   * [ours] The deep part reads the criteria only: every trial's drugs, molecules and diseases are blanked for
   * it, in training and prediction (the lexical offsets still read them).
   */
  criteriaOnly?: boolean;
  /** Which splits to score with the selected (best valid epoch) weights. */
  predict: ('valid' | 'test')[];
  /** Return the trained LoRA adapters and head (for a model bundle). */
  returnWeights?: boolean;
  /**
   * Add the trials' lexical offsets (default true). Few-shot draws leave them out: the lexical regression was
   * fitted on every labelled row, which a run that may see only k of them must not get through its offsets.
   */
  offsets?: boolean;
}

export interface FinetuneJobResult {
  bestEpoch: number;
  bestValidPrAuc: number;
  history: FinetuneEpoch[];
  posWeight: number;
  probabilities: { valid?: Float64Array; test?: Float64Array };
  /** treeToTensors({ lora, head }) when the job asked for them. */
  weights?: Record<string, Tensor>;
}

export type ParentMessage = { type: 'init'; data: PoolData } | { type: 'job'; id: number; job: FinetuneJob };
export type WorkerMessage =
  | { type: 'ready' }
  | { type: 'epoch'; id: number; epoch: number; total: number }
  | { type: 'result'; id: number; result: FinetuneJobResult }
  | { type: 'error'; id: number | null; message: string };

export interface PoolOptions {
  /** Worker processes (default: one per core, at most 2 and at most one per job). */
  workers?: number;
}

/** Default worker count: one per core, capped at 2 (measured on 2 cores; more processes would only share them). */
export function defaultWorkers(): number {
  return Math.max(1, Math.min(2, os.availableParallelism()));
}

interface Pending {
  id: number;
  job: FinetuneJob;
  resolve: (r: FinetuneJobResult) => void;
  reject: (e: Error) => void;
  onEpoch?: (epoch: number, total: number) => void;
}

interface Worker {
  child: ChildProcess;
  ready: Promise<void>;
  busy: Pending | null;
}

const WORKER_ENTRY = path.join(REPO_ROOT, 'src/train/finetune-worker.ts');

/** A fixed set of fine-tuning worker processes over one phase's data. Jobs run in submission order. */
export class FinetunePool {
  private readonly queue: Pending[] = [];
  private readonly workers: Worker[] = [];
  private nextId = 0;
  private failure: Error | null = null;
  private closed = false;

  private constructor(data: PoolData, count: number) {
    for (let i = 0; i < count; i++) this.workers.push(this.spawn(data, i, count));
  }

  /** Starts `workers` processes and sends them the data; resolves once every one has loaded it. */
  static async start(data: PoolData, o: PoolOptions = {}): Promise<FinetunePool> {
    const count = Math.max(1, Math.floor(o.workers ?? defaultWorkers()));
    const pool = new FinetunePool(data, count);
    try {
      await Promise.all(pool.workers.map((w) => w.ready));
    } catch (err) {
      pool.close();
      throw err;
    }
    return pool;
  }

  get size(): number {
    return this.workers.length;
  }

  run(job: FinetuneJob, onEpoch?: (epoch: number, total: number) => void): Promise<FinetuneJobResult> {
    if (this.closed) return Promise.reject(new Error('fine-tuning pool is closed'));
    if (this.failure) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      this.queue.push({ id: this.nextId++, job, resolve, reject, onEpoch });
      this.dispatch();
    });
  }

  /** Stops the workers (pending jobs are rejected). */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const w of this.workers) {
      w.busy?.reject(new Error('fine-tuning pool closed'));
      w.busy = null;
      if (w.child.exitCode === null) w.child.kill();
    }
    for (const p of this.queue.splice(0)) p.reject(new Error('fine-tuning pool closed'));
  }

  private spawn(data: PoolData, index: number, count: number): Worker {
    // One jax-js thread per worker when there are several: the cores are shared out as processes instead.
    const env = count > 1 ? { ...process.env, JAX_THREADS: '1' } : process.env;
    const child = fork(path.join(REPO_ROOT, 'bin/run-ts.mjs'), [WORKER_ENTRY], {
      env,
      serialization: 'advanced',
      stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
    });
    let markReady!: () => void;
    let failReady!: (e: Error) => void;
    const ready = new Promise<void>((res, rej) => {
      markReady = res;
      failReady = rej;
    });
    const worker: Worker = { child, ready, busy: null };
    child.on('message', (m: WorkerMessage) => {
      if (m.type === 'ready') {
        markReady();
        this.dispatch();
      } else if (m.type === 'epoch') {
        if (worker.busy?.id === m.id) worker.busy.onEpoch?.(m.epoch, m.total);
      } else if (m.type === 'result' || m.type === 'error') {
        const p = worker.busy;
        if (m.type === 'error' && (m.id === null || !p)) {
          this.fail(new Error(`fine-tuning worker ${index}: ${m.message}`));
          failReady(new Error(`fine-tuning worker ${index}: ${m.message}`));
          return;
        }
        worker.busy = null;
        if (p && p.id === m.id) {
          if (m.type === 'result') p.resolve(m.result);
          else p.reject(new Error(`fine-tuning run (seed ${p.job.seed}) failed in worker ${index}: ${m.message}`));
        }
        this.dispatch();
      }
    });
    child.on('error', (err) => {
      failReady(err);
      this.fail(err);
    });
    child.on('exit', (code, signal) => {
      if (this.closed) return;
      const err = new Error(`fine-tuning worker ${index} exited (${signal ? `signal ${signal}` : `exit code ${code}`})`);
      failReady(err);
      this.fail(err);
    });
    child.send({ type: 'init', data } satisfies ParentMessage);
    return worker;
  }

  private fail(err: Error): void {
    if (this.failure) return;
    this.failure = err;
    for (const w of this.workers) {
      w.busy?.reject(err);
      w.busy = null;
    }
    for (const p of this.queue.splice(0)) p.reject(err);
    this.close();
  }

  private dispatch(): void {
    if (this.closed || this.failure) return;
    for (const w of this.workers) {
      if (w.busy || this.queue.length === 0) continue;
      // Sent even before the worker said ready: it handles its messages in order, after the init.
      w.busy = this.queue.shift()!;
      w.child.send({ type: 'job', id: w.busy.id, job: w.busy.job } satisfies ParentMessage);
    }
  }
}

/**
 * The data of a pool: the pre-trained weights as host tensors and, per split, each trial's DM features and
 * grouped criteria (computed here once, by `grouped`, from the pre-trained grouping blocks). Borrows `pretrained`.
 */
export async function poolDataFor(
  config: CladmopConfig,
  options: PoolFinetuneOptions,
  pretrained: CladmopParams,
  splits: { train: PreparedTrial[]; valid: PreparedTrial[]; test: PreparedTrial[] },
  grouped: GroupedCriteria,
): Promise<PoolData> {
  const wire = async (trials: PreparedTrial[]): Promise<WireTrial[]> => {
    const g = await grouped.of(trials, options);
    return trials.map((t, i) => {
      const { report: _report, ...dm } = t.input.dm;
      return { nctid: t.nctid, label: t.label, dm, grouped: g[i], criteriaTokens: t.input.criteria.tokens, offset: t.offset };
    });
  };
  return {
    config,
    options,
    pretrained: await treeToTensors(pretrained),
    train: await wire(splits.train),
    valid: await wire(splits.valid),
    test: await wire(splits.test),
  };
}
