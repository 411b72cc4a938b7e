import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PACKAGE_ROOT, Settings, VERSION, intraOpThreads, isInstalledPackage, resolveDataDir, settings } from './settings.ts';

// A fake package folder per layout; Settings reads the environment through the function given, so these tests
// neither depend on nor change the real process.env.
const checkout = path.resolve('/work/cladmop');
const installed = path.resolve('/home/u/app/node_modules/cladmop');

test('settings: a checkout keeps the repository layout (data beside it, caches in .cache)', () => {
  const s = new Settings(checkout, () => ({}));
  assert.equal(s.installed, false);
  assert.equal(s.dataDir, path.resolve('/work/shared/data/top'));
  assert.equal(s.modelsDir, path.join(checkout, 'models'));
  assert.equal(s.lmDir, path.join(checkout, 'models/criteria-lm'));
  assert.equal(s.cacheDir, path.join(checkout, '.cache'));
  assert.equal(s.embeddingCacheDir, path.join(checkout, '.cache/embeddings'));
  assert.equal(s.threads, undefined);
  assert.equal(s.defaultModelDir('II'), path.join(checkout, 'models/phase-II'));
});

test('settings: installed as a dependency, caches and data go to the user directories, never into node_modules', () => {
  const s = new Settings(installed, () => ({ XDG_CACHE_HOME: '/xdg/cache', XDG_DATA_HOME: '/xdg/data' }));
  assert.equal(s.installed, true);
  assert.equal(s.cacheDir, path.resolve('/xdg/cache/cladmop'));
  assert.equal(s.embeddingCacheDir, path.resolve('/xdg/cache/cladmop/embeddings'));
  assert.equal(s.dataDir, path.resolve('/xdg/data/cladmop/top'));
  // The models ship inside the package.
  assert.equal(s.lmDir, path.join(installed, 'models/criteria-lm'));
  assert.equal(s.defaultModelDir('I'), path.join(installed, 'models/phase-I'));
  for (const dir of [s.cacheDir, s.embeddingCacheDir, s.dataDir]) assert.ok(!dir.split(path.sep).includes('node_modules'), dir);

  // Without XDG variables (or with a relative one, which the spec says to ignore): ~/.cache.
  const plain = new Settings(installed, () => ({ XDG_CACHE_HOME: 'relative/cache' }));
  assert.equal(plain.cacheDir, path.join(os.homedir(), '.cache', 'cladmop'));
  assert.equal(plain.dataDir, path.join(os.homedir(), '.local', 'share', 'cladmop', 'top'));
});

test('settings: environment variables override defaults; assignments override both; reset() undoes assignments', () => {
  const env: Record<string, string | undefined> = {
    CLADMOP_DATA: '/env/data',
    CLADMOP_MODELS: '/env/models',
    CLADMOP_CACHE_DIR: '/env/cache',
    CLADMOP_THREADS: '3',
  };
  const s = new Settings(installed, () => env);
  assert.equal(s.dataDir, path.resolve('/env/data'));
  assert.equal(s.lmDir, path.resolve('/env/models/criteria-lm'), 'lmDir follows modelsDir');
  assert.equal(s.defaultModelDir('III'), path.resolve('/env/models/phase-III'));
  assert.equal(s.embeddingCacheDir, path.resolve('/env/cache/embeddings'), 'the embedding cache follows cacheDir');
  assert.equal(s.threads, 3);
  // CLADMOP_CACHE keeps its older meaning: the embedding cache itself.
  env.CLADMOP_CACHE = '/env/emb';
  assert.equal(s.embeddingCacheDir, path.resolve('/env/emb'));
  assert.equal(s.cacheDir, path.resolve('/env/cache'));

  s.configure({ dataDir: '/code/data', cacheDir: '/code/cache', threads: 1, lmDir: undefined });
  assert.equal(s.dataDir, path.resolve('/code/data'));
  assert.equal(s.cacheDir, path.resolve('/code/cache'));
  assert.equal(s.threads, 1);
  s.lmDir = 'rel/lm';
  assert.equal(s.lmDir, path.resolve('rel/lm'), 'relative paths resolve against the current directory');
  s.reset();
  assert.equal(s.dataDir, path.resolve('/env/data'));
  assert.equal(s.lmDir, path.resolve('/env/models/criteria-lm'));
  assert.equal(s.threads, 3);
});

test('settings: a bad thread count is refused with the variable named', () => {
  const s = new Settings(checkout, () => ({ CLADMOP_THREADS: 'two' }));
  assert.throws(() => s.threads, /CLADMOP_THREADS must be a positive integer, got "two"/);
  assert.throws(() => (s.threads = 0), /settings.threads must be a positive integer/);
});

test('settings: the process-wide object, the package root and the version', () => {
  assert.equal(isInstalledPackage(PACKAGE_ROOT), false, 'tests run from a checkout');
  assert.equal(VERSION, JSON.parse(readFileSync(path.join(PACKAGE_ROOT, 'package.json'), 'utf8')).version);
  assert.equal(resolveDataDir('rel/data'), path.resolve('rel/data'), 'an explicit value wins');
  const saved = process.env.CLADMOP_THREADS;
  try {
    delete process.env.CLADMOP_THREADS;
    assert.deepEqual(intraOpThreads(), {});
    assert.deepEqual(intraOpThreads(2), { intraOpNumThreads: 2 });
    settings.threads = 4;
    assert.deepEqual(intraOpThreads(), { intraOpNumThreads: 4 });
  } finally {
    settings.reset();
    if (saved !== undefined) process.env.CLADMOP_THREADS = saved;
  }
});
