/**
 * A model worker thread: loads the bundle named in workerData, answers `ready`, then runs predict / explain
 * jobs one at a time (see model-runner.ts, which terminates it when a job passes its deadline).
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { CriteriaEncoder } from '../features/criteria-encoder.ts';
import { loadModel, type Model } from '../predict/model.ts';
import { predict } from '../predict/predict.ts';
import { explain } from '../predict/explain.ts';
import type { FromWorker, ToWorker, WorkerModelSpec } from './model-runner.ts';

const port = parentPort!;
const spec = workerData as WorkerModelSpec;
const send = (m: FromWorker) => port.postMessage(m);

let model: Model;
try {
  let encoder: CriteriaEncoder | undefined;
  if (spec.encoderModule) encoder = await (await import(spec.encoderModule)).createEncoder(spec.encoderOptions);
  else if (spec.encoderSpec) encoder = await (await import('../features/encoder-spec.ts')).loadEncoder(spec.encoderSpec);
  model = await loadModel(spec.bundleDir, { encoder, dataDir: spec.dataDir, cache: spec.cache ?? false });
} catch (err) {
  send({ type: 'fatal', message: (err as Error).message });
  process.exit(1);
}

// Jobs arrive one at a time (the runner sends the next only after a reply), so no queue is needed here.
port.on('message', async (m: ToWorker) => {
  if (m.type !== 'job') return;
  try {
    const { job } = m;
    if (job.kind === 'predict') send({ type: 'result', id: m.id, result: { kind: 'predict', predictions: await predict(model, job.inputs) } });
    else send({ type: 'result', id: m.id, result: { kind: 'explain', explanation: await explain(model, job.input, job.options) } });
  } catch (err) {
    send({ type: 'error', id: m.id, message: (err as Error).message });
  }
});
send({ type: 'ready' });
