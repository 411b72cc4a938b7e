// Entry of a model worker thread (see model-runner.ts): the Node 20 shim and tsx, then the TypeScript worker.
// A worker thread does not inherit loader hooks registered with module.register() in its parent, hence tsx here.
import '../runtime/node20-shim.mjs';
import { register } from 'tsx/esm/api';

register();
await import('./model-worker.ts');
