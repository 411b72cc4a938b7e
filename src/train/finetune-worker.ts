/**
 * Worker process of FinetunePool (finetune-pool.ts): receives one phase's data once, then runs LoRA fine-tuning
 * jobs one at a time and sends back their histories, probabilities and (if asked) weights.
 *   started by FinetunePool through `node bin/run-ts.mjs src/train/finetune-worker.ts` with an IPC channel.
 */
import { tree } from '@jax-js/jax';
import { initCladmop, type CladmopParams } from '../model/cladmop.ts';
import { initJax } from '../runtime/jax-init.ts';
import { treeFromTensors, treeToTensors } from '../runtime/param-tree.ts';
import type { EncodedCriteria } from '../features/criteria-encoder.ts';
import { finetune, GroupedCriteria, predictProbabilities, type FinetuneOptions } from './finetune.ts';
import { blankDm } from '../features/dm-features.ts';
import type { FinetuneJob, FinetuneJobResult, ParentMessage, PoolData, WireTrial, WorkerMessage } from './finetune-pool.ts';
import type { PreparedTrial } from './prepare.ts';

if (!process.send) throw new Error('finetune-worker.ts runs as a child process of FinetunePool (it needs an IPC channel)');
const send = (m: WorkerMessage) => process.send!(m);
// The parent went away (killed, crashed): nothing is left to do.
process.on('disconnect', () => process.exit(1));

// The criteria states themselves are not sent: the LoRA step reads the grouped criteria only (GroupedCriteria
// without grouping weights throws if anything asks for a trial it was not given). The token ids are kept:
// epochBatches groups trials of similar criteria length.
const criteriaWithoutStates = (tokens: number[]): EncodedCriteria => ({ levels: [], tokens, segments: new Uint8Array(0), dim: 0 });

interface State {
  data: PoolData;
  pretrained: CladmopParams;
  grouped: GroupedCriteria;
  train: PreparedTrial[];
  valid: PreparedTrial[];
  test: PreparedTrial[];
  /** The same trials without their lexical offsets (jobs with `offsets: false`); they share the grouped arrays. */
  plain: { train: PreparedTrial[]; valid: PreparedTrial[]; test: PreparedTrial[] };
  /**
   * Copies with drugs, molecules and diseases blanked for the deep part (jobs with `criteriaOnly`), with offsets
   * [0] and without [1]; made on first use.
   */
  criteriaOnly: (Splits | undefined)[];
}

type Splits = { train: PreparedTrial[]; valid: PreparedTrial[]; test: PreparedTrial[] };

/** The splits of a job: with or without offsets, and for a criteria-only deep part, blanked copies (made once). */
function splitsOf(s: State, job: FinetuneJob): Splits {
  const base = job.offsets === false ? s.plain : s;
  if (!job.criteriaOnly) return base;
  const k = job.offsets === false ? 1 : 0;
  if (!s.criteriaOnly[k]) {
    const one = (ts: PreparedTrial[], wire: WireTrial[]) => {
      const out = ts.map((t) => ({ ...t, input: { ...t.input, dm: blankDm(t.input.dm, { drugs: true, diseases: true }) } }));
      s.grouped.preset(out, wire.map((r) => r.grouped));
      return out;
    };
    s.criteriaOnly[k] = { train: one(base.train, s.data.train), valid: one(base.valid, s.data.valid), test: one(base.test, s.data.test) };
  }
  return s.criteriaOnly[k]!;
}

async function load(data: PoolData): Promise<State> {
  await initJax();
  const pretrained = treeFromTensors(initCladmop(data.config, 0), data.pretrained, '', 'pre-trained weights');
  const grouped = new GroupedCriteria(data.config, null);
  const prepare = (rows: WireTrial[], withOffsets: boolean) => {
    const trials: PreparedTrial[] = rows.map((r) => ({
      nctid: r.nctid,
      label: r.label,
      input: { criteria: criteriaWithoutStates(r.criteriaTokens), dm: { ...r.dm, report: { invalidSmiles: [], placeboDropped: 0, unknownIcdCodes: [], truncated: [] } } },
      offset: withOffsets ? r.offset : undefined,
    }));
    grouped.preset(trials, rows.map((r) => r.grouped));
    return trials;
  };
  const plain = { train: prepare(data.train, false), valid: prepare(data.valid, false), test: prepare(data.test, false) };
  const main = { train: prepare(data.train, true), valid: prepare(data.valid, true), test: prepare(data.test, true) };
  return { data, pretrained, grouped, ...main, plain, criteriaOnly: [] };
}

async function runJob(s: State, id: number, job: FinetuneJob): Promise<FinetuneJobResult> {
  const o: FinetuneOptions = {
    ...s.data.options,
    config: s.data.config,
    seed: job.seed,
    maxEpochs: job.maxEpochs ?? s.data.options.maxEpochs,
    patience: job.patience ?? s.data.options.patience,
    lr: job.lr ?? s.data.options.lr,
    dmDropout: job.dmDropout ?? s.data.options.dmDropout,
    grouped: s.grouped,
    onEpoch: (epoch, total) => send({ type: 'epoch', id, epoch, total }),
  };
  const splits = splitsOf(s, job);
  const bad = (job.trainRows ?? []).findIndex((i) => !Number.isInteger(i) || i < 0 || i >= splits.train.length);
  if (bad >= 0) throw new Error(`trainRows[${bad}] = ${job.trainRows![bad]} is not a row of the train split (${splits.train.length} trials)`);
  const train = job.trainRows ? job.trainRows.map((i) => splits.train[i]) : splits.train;
  const ft = await finetune(tree.ref(s.pretrained), train, splits.valid, o);
  const probabilities: FinetuneJobResult['probabilities'] = {};
  for (const split of job.predict) {
    probabilities[split] = await predictProbabilities(s.data.config, tree.ref(ft.params), tree.ref(ft.lora), splits[split], o, s.grouped);
  }
  const weights = job.returnWeights ? await treeToTensors({ lora: ft.lora, head: ft.params.head }) : undefined;
  tree.dispose([ft.params, ft.lora]);
  return { bestEpoch: ft.bestEpoch, bestValidPrAuc: ft.bestValidPrAuc, history: ft.history, posWeight: ft.posWeight, probabilities, weights };
}

// Messages are handled strictly in order: a job sent before the data has loaded waits for it.
let state: Promise<State> | null = null;
let chain: Promise<void> = Promise.resolve();
process.on('message', (m: ParentMessage) => {
  chain = chain.then(async () => {
    if (m.type === 'init') {
      try {
        state = load(m.data);
        await state;
        send({ type: 'ready' });
      } catch (err) {
        send({ type: 'error', id: null, message: (err as Error).stack ?? String(err) });
      }
    } else if (m.type === 'job') {
      try {
        if (!state) throw new Error('job before init');
        send({ type: 'result', id: m.id, result: await runJob(await state, m.id, m.job) });
      } catch (err) {
        send({ type: 'error', id: m.id, message: (err as Error).stack ?? String(err) });
      }
    }
  });
});
