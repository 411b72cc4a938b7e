/**
 * Test support: the service (buildServer, not listening: `app.inject`) around a freshly written tiny bundle and
 * the fake encoder, registered with node:test's before/after so every test file gets the same set-up and clean-up.
 */
import { after, before } from 'node:test';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { resolveDataDir } from '../../data/splits.ts';
import { loadModel, type Model } from '../../predict/model.ts';
import { FakeEncoder, writeTinyBundle } from '../../predict/testing/fixtures.ts';
import { buildServer } from '../server.ts';

export interface TinyApp {
  /** Set once the suite's `before` hook has run. */
  app: FastifyInstance;
  model: Model;
  bundle: string;
  /** A temporary directory removed after the suite. */
  dir: string;
  encoder: FakeEncoder;
  dataDir: string;
  /** POST a JSON body (or a raw string) with content-type application/json unless `headers` says otherwise. */
  post(url: string, payload: unknown, headers?: Record<string, string>): Promise<LightMyRequestResponse>;
}

export function useTinyApp(prefix: string): TinyApp {
  const t = { dir: mkdtempSync(path.join(os.tmpdir(), prefix)), encoder: new FakeEncoder(), dataDir: resolveDataDir() } as TinyApp;
  t.post = (url, payload, headers = {}) =>
    t.app.inject({ method: 'POST', url, payload: typeof payload === 'string' ? payload : JSON.stringify(payload), headers: { 'content-type': 'application/json', ...headers } });
  before(async () => {
    t.bundle = (await writeTinyBundle({ encoder: t.encoder, dir: path.join(t.dir, 'model') })).dir;
    t.model = await loadModel(t.bundle, { encoder: t.encoder, dataDir: t.dataDir });
    t.app = buildServer(t.model);
    await t.app.ready();
  });
  after(async () => {
    await t.app.close();
    t.model.dispose();
    rmSync(t.dir, { recursive: true, force: true });
  });
  return t;
}
