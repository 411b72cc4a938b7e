/**
 * Benchmark 6: the HTTP service under concurrent load on loopback, with the shipped model bundle and its
 * criteria encoder (no embedding cache: every request encodes its criteria). The request mix of
 * src/serve/load-test.ts: valid single and batch predictions (API v2 study) plus malformed, mistyped and
 * oversized bodies and health checks, each kind from its own clients, all at once, for a fixed time.
 *
 *   node bin/run-ts.mjs bench/load.ts [--quick] [--json] [--bundle DIR] [--seconds N]
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { resolveDataDir } from '../src/data/splits.ts';
import { PACKAGE_ROOT } from '../src/settings.ts';
import { loadModel } from '../src/predict/model.ts';
import { sampleStudy } from '../src/predict/testing/fixtures.ts';
import { loadMix, runLoadTest } from '../src/serve/load-test.ts';
import { startServer } from '../src/serve/server.ts';
import { DEFAULT_BUNDLE, log, numberOption, runBench } from './common.ts';

await runBench('load', async (args) => {
  const bundle = path.resolve(args.options.bundle ?? DEFAULT_BUNDLE);
  if (!existsSync(path.join(bundle, 'config.json'))) {
    return { status: 'unavailable', reason: `unavailable: no model bundle at ${bundle} (pass --bundle DIR)`, method: '', metrics: {} };
  }
  const seconds = numberOption(args, 'seconds', args.quick ? 5 : 30);
  const model = await loadModel(bundle, { dataDir: resolveDataDir() });
  const server = await startServer(model, { port: 0 });
  try {
    // Warm-up: the first requests build the onnxruntime sessions.
    for (let i = 0; i < 3; i++) await fetch(`${server.url}/v1/predict`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(sampleStudy()) });
    const mix = loadMix(sampleStudy());
    log(`load: ${mix.reduce((n, r) => n + r.connections, 0)} clients for ${seconds} s against ${server.url}`);
    const r = await runLoadTest({ url: server.url, requests: mix, durationSeconds: seconds });
    log(`load: ${r.requests} requests, statuses ${JSON.stringify(r.statusCounts)}, p50 ${r.latencyMs.p50} ms p99 ${r.latencyMs.p99} ms`);
    return {
      method:
        `autocannon on loopback for ${seconds} s, ${r.connections} clients: ${mix.map((m) => `${m.connections} x ${m.name} (expects ${m.expect})`).join(', ')}; ` +
        `server = cladmop serve's fastify app in the same process with the bundle ${path.relative(PACKAGE_ROOT, bundle) || bundle} and its encoder, no embedding cache; ` +
        'latency percentiles over the valid prediction requests (max over the two kinds); RSS of the process sampled every 100 ms.',
      metrics: { bundle, ...r },
    };
  } finally {
    await server.close();
    model.dispose();
  }
});
