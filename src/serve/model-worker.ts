/**
 * A model worker thread: loads the bundle named in workerData (or the default models, routed by phase), answers `ready`, then runs predict / explain
 * jobs one at a time (see model-runner.ts, which terminates it when a job passes its deadline).
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { CriteriaEncoder } from '../features/criteria-encoder.ts';
import { loadModel } from '../predict/model.ts';
import { ModelRouter } from '../predict/router.ts';
import { settings } from '../settings.ts';
import { runJob, type FromWorker, type ToWorker, type WorkerModelSpec } from './model-runner.ts';

const port = parentPort!;
const spec = workerData as WorkerModelSpec;
const send = (m: FromWorker) => port.postMessage(m);

let models: ModelRouter;
try {
  let encoder: CriteriaEncoder | undefined;
  if (spec.encoderModule) encoder = await (await import(spec.encoderModule)).createEncoder(spec.encoderOptions);
  else if (spec.encoderSpec) encoder = await (await import('../features/encoder-spec.ts')).loadEncoder(spec.encoderSpec);
  const options = { encoder, dataDir: spec.dataDir, cache: spec.cache ?? false };
  models = spec.bundleDir ? ModelRouter.single(await loadModel(spec.bundleDir, options)) : await ModelRouter.load(spec.modelsDir ?? settings.modelsDir, options);
} catch (err) {
  send({ type: 'fatal', message: (err as Error).message });
  process.exit(1);
}

// Jobs arrive one at a time (the runner sends the next only after a reply), so no queue is needed here.
port.on('message', async (m: ToWorker) => {
  if (m.type !== 'job') return;
  try {
    send({ type: 'result', id: m.id, result: await runJob(models, m.job) });
  } catch (err) {
    send({ type: 'error', id: m.id, message: (err as Error).message });
  }
});
send({ type: 'ready' });
