/**
 * `cladmop predict`, bundle loading and the embedding cache under hostile input (issue 16): each case was
 * reproduced before its fix and fails without it. Bounded in time and size (sparse files, no real gigabytes).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, linkSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, truncateSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { runPredict } from './predict.ts';
import { CliError } from '../cli-error.ts';
import { resolveDataDir } from '../../data/splits.ts';
import { PACKAGE_ROOT as REPO_ROOT } from '../../settings.ts';
import { BundleError, loadBundle } from '../../model/bundle.ts';
import { EmbeddingCache } from '../../features/embedding-cache.ts';
import { loadModel } from '../../predict/model.ts';
import { predict } from '../../predict/predict.ts';
import { FakeEncoder, writeTinyBundle } from '../../predict/testing/fixtures.ts';

const dataDir = resolveDataDir();
const encoder = new FakeEncoder();
const dir = mkdtempSync(path.join(os.tmpdir(), 'cladmop-predict-hostile-'));
const sample = path.join(REPO_ROOT, 'test/fixtures/top/phase_I_valid.sample.csv');
let bundle: string;

before(async () => {
  bundle = (await writeTinyBundle({ encoder, dir: path.join(dir, 'model') })).dir;
});
after(() => rmSync(dir, { recursive: true, force: true }));

const opts = (input: string, out?: string) => ({ model: bundle, input, ...(out ? { out } : {}), chunk: '64', cache: false as const, data: dataDir });
/** runPredict with stderr captured. */
async function quiet<T>(fn: () => Promise<T>): Promise<{ result?: T; error?: Error; stderr: string }> {
  const original = process.stderr.write;
  let stderr = '';
  process.stderr.write = function (this: typeof process.stderr, chunk: unknown, ...rest: unknown[]) {
    if (typeof chunk === 'string') {
      stderr += chunk;
      return true;
    }
    return (original as (...a: unknown[]) => boolean).call(this, chunk, ...rest);
  } as typeof process.stderr.write;
  try {
    return { result: await fn(), stderr };
  } catch (error) {
    return { error: error as Error, stderr };
  } finally {
    process.stderr.write = original;
  }
}
const tmpsIn = (d: string) => readdirSync(d).filter((f) => f.includes('.tmp-'));

test('--out equal to --input is refused: the same path, a symlink to it, a hard link to it', async () => {
  const d = mkdtempSync(path.join(dir, 'same-'));
  const input = path.join(d, 'trials.csv');
  writeFileSync(input, readFileSync(sample));
  symlinkSync(input, path.join(d, 'link.csv'));
  linkSync(input, path.join(d, 'hard.csv'));
  for (const out of [input, path.join(d, 'link.csv'), path.join(d, 'hard.csv'), path.join(d, '.', 'trials.csv')]) {
    const r = await quiet(() => runPredict(opts(input, out), { encoder }));
    assert.ok(r.error instanceof CliError, out);
    assert.match(r.error!.message, /is the input file/);
  }
  assert.deepEqual(readFileSync(input), readFileSync(sample), 'the input is untouched');
  assert.deepEqual(tmpsIn(d), []);
});

test('inputs that are not regular files are refused at once: /dev/zero, a FIFO, a directory', async () => {
  const fifo = path.join(dir, 'fifo.csv');
  execFileSync('mkfifo', [fifo]);
  for (const [input, kind] of [
    ['/dev/zero', /character device/],
    [fifo, /named pipe \(FIFO\)/],
    [dir, /directory/],
  ] as const) {
    const t0 = performance.now();
    const r = await quiet(() => runPredict(opts(input), { encoder }));
    assert.ok(r.error instanceof CliError, input);
    assert.match(r.error!.message, kind);
    assert.match(r.error!.message, /"-" to read standard input/);
    assert.ok(performance.now() - t0 < 2000, `${input}: answered in ${(performance.now() - t0).toFixed(0)} ms`);
  }
});

test('--input - reads standard input (any format), with the same predictions as the file', async () => {
  const fromFile = path.join(dir, 'file.ndjson');
  const fromStdin = path.join(dir, 'stdin.ndjson');
  await quiet(() => runPredict({ ...opts(sample, fromFile), format: 'ndjson' }, { encoder }));
  const r = await quiet(() => runPredict({ ...opts('-', fromStdin), format: 'ndjson' }, { encoder, stdin: Readable.from([readFileSync(sample)]) }));
  assert.equal(r.error, undefined, r.error?.message);
  assert.equal(readFileSync(fromStdin, 'utf8'), readFileSync(fromFile, 'utf8'));
});

test('a large input is streamed: a 128 MB file of NUL bytes is read in bounded memory, sniffed from 4 KB', async () => {
  const big = path.join(dir, 'zeros.csv');
  writeFileSync(big, '');
  truncateSync(big, 128 * 1024 * 1024); // sparse: no disk used
  const start = process.memoryUsage().rss;
  let peak = start;
  const timer = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 20);
  const r = await quiet(() => runPredict(opts(big), { encoder }));
  clearInterval(timer);
  peak = Math.max(peak, process.memoryUsage().rss);
  assert.ok(r.error instanceof CliError);
  assert.match(r.error!.message, /no trial could be read/);
  // Read whole, the file cost >= 256 MB (its bytes and their string); streamed, a few 16 MB records at most.
  assert.ok(peak - start < 160 * 1024 * 1024, `RSS grew by ${((peak - start) / 1048576).toFixed(0)} MB`);
});

test('--out is checked before predicting: not a directory, writable; no *.tmp-* left; stale ones of killed runs removed', async () => {
  const d = mkdtempSync(path.join(dir, 'out-'));
  // A directory as --out: refused before any model work, nothing left in it.
  const asDir = path.join(d, 'predictions.csv');
  mkdirSync(asDir);
  let r = await quiet(() => runPredict({ ...opts(sample, asDir), model: path.join(d, 'no-model') }, { encoder }));
  assert.match(r.error!.message, /--out .*is a directory/);
  assert.deepEqual(tmpsIn(d), []);
  // An unwritable place (under a regular file: refused even for root), before the model is even looked at.
  const blocker = path.join(d, 'file');
  writeFileSync(blocker, 'x');
  r = await quiet(() => runPredict({ ...opts(sample, path.join(blocker, 'out.csv')), model: path.join(d, 'no-model') }, { encoder }));
  assert.match(r.error!.message, /^--out .*cannot write there/);
  // Read-only directory (effective only when not root).
  if (process.getuid?.() !== 0) {
    const ro = path.join(d, 'ro');
    mkdirSync(ro);
    chmodSync(ro, 0o555);
    r = await quiet(() => runPredict({ ...opts(sample, path.join(ro, 'out.csv')), model: path.join(d, 'no-model') }, { encoder }));
    assert.match(r.error!.message, /^--out .*cannot write there/);
    chmodSync(ro, 0o755);
  }
  // A kill -9 leaves out.csv.tmp-<pid>-<random>: the next run removes those of dead processes only.
  const out = path.join(d, 'out.csv');
  const dead = `${out}.tmp-2147483646-abcdef`;
  const live = `${out}.tmp-${process.ppid}-abcdef`;
  writeFileSync(dead, 'half');
  writeFileSync(live, 'a live writer');
  r = await quiet(() => runPredict(opts(sample, out), { encoder }));
  assert.equal(r.error, undefined, r.error?.message);
  assert.ok(!existsSync(dead), 'stale temp removed');
  assert.ok(existsSync(live), 'a live writer keeps its temp');
  rmSync(live);
  // A failed run (no readable record) leaves neither output nor temp.
  const bad = path.join(d, 'bad.csv');
  writeFileSync(bad, 'nctid,phase\nx,y\n');
  r = await quiet(() => runPredict(opts(bad, path.join(d, 'never.csv')), { encoder }));
  assert.ok(r.error instanceof CliError);
  assert.ok(!existsSync(path.join(d, 'never.csv')));
  assert.deepEqual(tmpsIn(d), []);
});

test('messages quoting input escape control characters; Latin-1 input is read with a warning', async () => {
  const header = readFileSync(sample, 'utf8').split('\n', 1)[0];
  const evil = path.join(dir, 'evil.csv');
  writeFileSync(evil, `${header}\nNCT\u001b[2J\u0007x,completed,,1,phase 1,[],[],[],[],crit\n`);
  const r = await quiet(() => runPredict(opts(evil), { encoder }));
  assert.ok(r.error instanceof CliError);
  assert.doesNotMatch(r.error!.message, /[\u0000-\u0008\u000b-\u001f\u007f]/, 'no raw control characters');
  assert.match(r.error!.message, /\\(x1b|u001b)\[2J/);
  // Every message the CLI prints goes through one escape: a file name with terminal codes, printed by main().
  const { main } = await import('../main.ts');
  const named = path.join(dir, 'name\u001b]0;pwned\u0007.csv');
  const printed = await quiet(async () => {
    const code = process.exitCode;
    await main(['node', 'cladmop', 'predict', '--model', path.join(dir, 'no-model'), '--input', named]);
    process.exitCode = code;
  });
  assert.match(printed.stderr, /name\\x1b\]0;pwned\\x07\.csv/);
  assert.doesNotMatch(printed.stderr, /[\u0000-\u0008\u000b-\u001f\u007f]/);
  // Latin-1: "Sjögren" as one byte 0xf6.
  const latin1 = path.join(dir, 'latin1.csv');
  const text = readFileSync(sample, 'utf8').replace("'colorectal cancer'", "'Sj\u00f6gren colorectal cancer'");
  writeFileSync(latin1, Buffer.from(text, 'latin1'));
  const w = await quiet(() => runPredict(opts(latin1, path.join(dir, 'latin1-out.csv')), { encoder }));
  assert.equal(w.error, undefined, w.error?.message);
  assert.equal(w.result!.warnings.length, 1);
  assert.match(w.result!.warnings[0], /not valid UTF-8 .*U\+FFFD/);
  assert.match(w.stderr, /warning: .*latin1\.csv: not valid UTF-8/);
  // Valid UTF-8: no warning.
  const u = await quiet(() => runPredict(opts(sample, path.join(dir, 'utf8-out.csv')), { encoder }));
  assert.deepEqual(u.result!.warnings, []);
});

test('bundle files must be regular files inside the bundle, of the recorded size: ../ paths, links to /dev/zero, FIFOs', async () => {
  const make = async (name: string) => (await writeTinyBundle({ encoder, dir: path.join(dir, name) })).dir;
  const edit = (b: string, f: (files: Record<string, unknown>) => void) => {
    const c = JSON.parse(readFileSync(path.join(b, 'config.json'), 'utf8'));
    f(c.files);
    writeFileSync(path.join(b, 'config.json'), JSON.stringify(c));
  };
  const traversal = await make('b-traversal');
  edit(traversal, (files) => (files['../../../../../../etc/passwd'] = { sha256: '0'.repeat(64), bytes: 10 }));
  assert.throws(
    () => loadBundle(traversal),
    (e: Error) => e instanceof BundleError && /not a plain name inside the bundle directory/.test(e.message) && !/sha256/.test(e.message),
  );
  const zero = await make('b-zero');
  rmSync(path.join(zero, 'weights.safetensors'));
  symlinkSync('/dev/zero', path.join(zero, 'weights.safetensors'));
  const t0 = performance.now();
  assert.throws(() => loadBundle(zero), (e: Error) => e instanceof BundleError && /outside the bundle directory|not a regular file/.test(e.message));
  assert.ok(performance.now() - t0 < 1000);
  const fifo = await make('b-fifo');
  rmSync(path.join(fifo, 'icd_vocabulary.json'));
  execFileSync('mkfifo', [path.join(fifo, 'icd_vocabulary.json')]);
  assert.throws(() => loadBundle(fifo), (e: Error) => e instanceof BundleError && /not a regular file/.test(e.message));
  const grown = await make('b-grown');
  writeFileSync(path.join(grown, 'icd_vocabulary.json'), ' '.repeat(5_000_000));
  assert.throws(() => loadBundle(grown), (e: Error) => e instanceof BundleError && /is corrupted or was changed \(5000000 bytes, config.json says/.test(e.message));
  // The untouched bundle still loads.
  assert.ok(loadBundle(await make('b-ok')).config);
});

test('an unusable embedding cache warns once and prediction goes on without it', async () => {
  const trials = [{ nctid: 'NCT00000001', phase: 'phase 1', diseases: [], icdcodes: [], drugs: [], smiles: [], criteria: 'Inclusion Criteria:\n- adults' }];
  const reference = await (async () => {
    const m = await loadModel(bundle, { encoder, dataDir });
    try {
      return (await predict(m, trials))[0].probability;
    } finally {
      m.dispose();
    }
  })();
  // A cache "directory" under a regular file (ENOTDIR, whatever the user's rights).
  const blocker = path.join(dir, 'cache-blocker');
  writeFileSync(blocker, 'x');
  const original = process.stderr.write;
  let stderr = '';
  process.stderr.write = ((chunk: unknown) => ((stderr += String(chunk)), true)) as typeof process.stderr.write;
  try {
    const m = await loadModel(bundle, { encoder, dataDir, cache: path.join(blocker, 'cache') });
    try {
      assert.equal((await predict(m, trials))[0].probability, reference);
      assert.equal((await predict(m, trials))[0].probability, reference);
    } finally {
      m.dispose();
    }
  } finally {
    process.stderr.write = original;
  }
  assert.equal(stderr.match(/warning: embedding cache/g)?.length, 1, stderr);
  // An entry replaced by a directory (EISDIR).
  const root = path.join(dir, 'cache-eisdir');
  const cache = new EmbeddingCache(root, encoder.id, { bestEffort: true, warn: (m) => warnings.push(m) });
  const warnings: string[] = [];
  const [encoded] = await encoder.encodeMany(['x']);
  cache.put('x', encoded);
  const entryDir = path.join(cache.dir, readdirSync(cache.dir)[0]);
  const entry = path.join(entryDir, readdirSync(entryDir)[0]);
  rmSync(entry);
  mkdirSync(entry);
  assert.equal(cache.get('x'), null);
  assert.equal(cache.get('x'), null);
  cache.put('y', encoded);
  assert.equal(warnings.length, 1);
  assert.match(warnings[0], /EISDIR/);
  // Training keeps failing loudly.
  assert.throws(() => new EmbeddingCache(root, encoder.id).get('x'), /EISDIR/);
});
