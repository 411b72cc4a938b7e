import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { resolveDataDir } from '../data/splits.ts';
import { loadModel, type Model } from '../predict/model.ts';
import { FakeEncoder, sampleStudy, writeTinyBundle } from '../predict/testing/fixtures.ts';
import { loadMix, runLoadTest } from './load-test.ts';
import { startServer, type RunningServer } from './server.ts';

const dir = mkdtempSync(path.join(os.tmpdir(), 'cladmop-load-'));
let model: Model;
let server: RunningServer;

before(async () => {
  const encoder = new FakeEncoder();
  const bundle = (await writeTinyBundle({ encoder, dir: path.join(dir, 'model') })).dir;
  model = await loadModel(bundle, { encoder, dataDir: resolveDataDir() });
  server = await startServer(model, { port: 0 });
});
after(async () => {
  await server.close();
  model.dispose();
  rmSync(dir, { recursive: true, force: true });
});

test('under concurrent load (loopback, 16 clients, 4 s): no 5xx, every bad body gets its 4xx, memory bounded', { timeout: 60_000 }, async () => {
  const r = await runLoadTest({ url: server.url, requests: loadMix(sampleStudy()), durationSeconds: 4 });
  assert.ok(r.requests > 50, `only ${r.requests} requests completed`);
  assert.equal(r.serverErrors, 0, JSON.stringify(r.statusCounts));
  assert.deepEqual(r.unexpected, {}, `statuses: ${JSON.stringify(r.statusCounts)}`);
  assert.ok(r.statusCounts[200] > 0 && r.statusCounts[400] > 0 && r.statusCounts[413] > 0, JSON.stringify(r.statusCounts));
  assert.equal(r.timeouts, 0);
  // The server runs in this process: its memory may grow by the in-flight bodies, not without bound.
  assert.ok(r.rssMb.peak - r.rssMb.before < 400, `RSS ${r.rssMb.before} -> peak ${r.rssMb.peak} MB`);
  // Still serving afterwards.
  const res = await fetch(`${server.url}/healthz`);
  assert.equal(res.status, 200);
});
