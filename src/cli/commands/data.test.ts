import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Command } from 'commander';
import { register, type DataCommandDeps, type InspectReport } from './data.ts';
import { CliError } from '../cli-error.ts';
import {
  fetchTargets,
  fetchTopFiles,
  KNOWN_SHA256,
  MISSING_OFFICIAL_FILES,
  OfflineError,
  rawUrl,
  type FetchFn,
} from '../../data/fetch.ts';
import { sha256Hex } from '../../runtime/hash.ts';
import { readManifest, resolveDataDir } from '../../data/splits.ts';

const DATA = resolveDataDir();

/** Runs `cladmop <argv>` through a fresh program with only the data commands, capturing stdout. */
async function run(argv: string[], deps: DataCommandDeps = {}): Promise<{ out: string; error?: unknown }> {
  const program = new Command();
  program.exitOverride();
  register(program, deps);
  let out = '';
  const write = process.stdout.write;
  process.stdout.write = ((chunk: string | Uint8Array) => {
    out += typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8');
    return true;
  }) as typeof process.stdout.write;
  try {
    await program.parseAsync(['node', 'cladmop', ...argv]);
    return { out };
  } catch (error) {
    return { out, error };
  } finally {
    process.stdout.write = write;
  }
}

function tempDir(): string {
  return mkdtempSync(path.join(tmpdir(), 'cladmop-data-cmd-'));
}

// ---------------------------------------------------------------------------------------------------------------
// data inspect

test('data inspect --json: counts per phase/split match the data README tables', async () => {
  const { out, error } = await run(['data', 'inspect', '--json', '--data', DATA]);
  assert.equal(error, undefined);
  const report = JSON.parse(out) as InspectReport;
  assert.equal(report.dataDir, DATA);
  assert.equal(report.loadErrors, 0);
  assert.deepEqual(report.errorSamples, []);
  const table = report.splits.map((s) => [
    `${s.phase}/${s.split}`,
    s.rows,
    s.positives,
    s.officialRows,
    s.officialPositives,
    s.officialNegatives,
    s.completeness,
  ]);
  // README: "official rows (pos/neg)" and "complete?" columns; rows of partial splits = reconstructed rows with features.
  assert.deepEqual(table, [
    ['I/train', 1044, 592, 1044, 592, 452, 'complete'],
    ['I/valid', 117, 67, 117, 67, 50, 'complete'],
    ['I/test', 627, 347, 627, 347, 280, 'complete'],
    ['II/train', 819, 334, 4005, 1914, 2091, 'partial'],
    ['II/valid', 446, 208, 446, 208, 238, 'complete'],
    ['II/test', 935, 491, 1654, 918, 736, 'partial'],
    ['III/train', 353, 263, 3094, 2021, 1073, 'partial'],
    ['III/valid', 344, 229, 344, 229, 115, 'complete'],
    ['III/test', 1146, 859, 1146, 859, 287, 'complete'],
  ]);
  const share = Object.fromEntries(report.splits.map((s) => [`${s.phase}/${s.split}`, s.share]));
  assert.equal(share['I/train'], 1);
  assert.equal(share['II/train'], 819 / 4005);
  assert.equal(share['II/test'], 935 / 1654);
  assert.equal(share['III/train'], 353 / 3094);
  for (const s of report.splits) {
    assert.equal(s.negatives, s.rows - s.positives);
    assert.equal(s.loadErrors, 0);
    assert.match(s.description, new RegExp(`^phase ${s.phase} ${s.split}: ${s.rows} rows, ${s.positives} positive`));
  }
});

test('data inspect (text): a table with completeness and the split descriptions', async () => {
  const { out, error } = await run(['data', 'inspect', '--data', DATA]);
  assert.equal(error, undefined);
  assert.match(out, /^TOP data: /);
  assert.match(out, /phase\s+split\s+rows\s+positives\s+official rows \(pos\/neg\)\s+completeness\s+load errors/);
  assert.match(out, /\nII\s+train\s+819\s+334\s+4005 \(1914\/2091\)\s+partial \(20\.4%\)\s+0\n/);
  assert.match(out, /\nI\s+train\s+1044\s+592\s+1044 \(592\/452\)\s+complete\s+0\n/);
  assert.match(out, /phase III train: 353 rows, 263 positive \(353 of 3094 official rows\) \[partial\]/);
  assert.match(out, /\nload errors: 0\n$/);
});

test('data inspect: a bad row is counted, sampled with file/row/line/field, and makes the split partial', async () => {
  const dir = tempDir();
  try {
    // Everything links to the real data except phase_I_valid.csv, whose 3rd data row gets label "2".
    for (const name of readdirSync(DATA)) {
      if (name !== 'phase_I_valid.csv') symlinkSync(path.join(DATA, name), path.join(dir, name));
    }
    const original = readFileSync(path.join(DATA, 'phase_I_valid.csv'), 'utf8');
    const third = original.indexOf('\nNCT00450138,');
    assert.ok(third > 0);
    const start = third + 1;
    const broken = original.slice(0, start) + original.slice(start).replace(/^(NCT00450138,[^,]*,[^,]*,)1,/, '$12,');
    assert.notEqual(broken, original);
    writeFileSync(path.join(dir, 'phase_I_valid.csv'), broken);
    const line = original.slice(0, start).split('\n').length;

    const { out, error } = await run(['data', 'inspect', '--json', '--data', dir]);
    assert.equal(error, undefined);
    const report = JSON.parse(out) as InspectReport;
    assert.equal(report.loadErrors, 1);
    const valid = report.splits.find((s) => s.phase === 'I' && s.split === 'valid')!;
    assert.deepEqual([valid.rows, valid.loadErrors, valid.completeness], [116, 1, 'partial']);
    assert.equal(report.errorSamples.length, 1);
    assert.match(report.errorSamples[0], new RegExp(`phase_I_valid\\.csv: row \\d+ \\(line ${line}\\), field "label": label must be 0 or 1, got "2"`));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('data inspect: a missing data directory is a CliError', async () => {
  const { out, error } = await run(['data', 'inspect', '--data', '/nonexistent/top-data']);
  assert.equal(out, '');
  assert.ok(error instanceof CliError);
  assert.match(error.message, /TOP data directory not found: \/nonexistent\/top-data/);
});

// ---------------------------------------------------------------------------------------------------------------
// data fetch (fake fetch only: no test touches the network)

/** Bytes standing in for the three official files nobody has a hash for. */
const MISSING_BYTES: Record<string, Buffer> = Object.fromEntries(
  MISSING_OFFICIAL_FILES.map((name) => [name, Buffer.from(`nctid,label\nNCT00000001,1\n# stand-in for ${name}\n`)]),
);

/** A fetch that serves the real TOP bytes from the offline copy (and stand-ins for the missing files). */
function fakeFetch(overrides: Record<string, () => Promise<Response>> = {}): FetchFn & { calls: string[] } {
  const calls: string[] = [];
  const fn = async (url: string) => {
    calls.push(url);
    const name = url.slice(url.lastIndexOf('/') + 1);
    if (overrides[name]) return overrides[name]();
    const bytes = MISSING_BYTES[name] ?? readFileSync(path.join(DATA, name));
    return new Response(new Uint8Array(bytes), { status: 200 });
  };
  return Object.assign(fn, { calls });
}

function offlineError(): Error {
  const cause = Object.assign(new Error('getaddrinfo ENOTFOUND raw.githubusercontent.com'), { code: 'ENOTFOUND' });
  return new TypeError('fetch failed', { cause });
}

test('fetch targets: official files of MANIFEST.json at the pinned commit, plus the three missing splits', () => {
  const manifest = readManifest(DATA);
  const targets = fetchTargets(manifest);
  assert.deepEqual(targets.map((t) => t.name).sort(), [...Object.keys(KNOWN_SHA256), ...MISSING_OFFICIAL_FILES].sort());
  for (const t of targets) {
    assert.equal(t.url, `https://raw.githubusercontent.com/futianfan/clinical-trial-outcome-prediction/8dc0497f23fdb84e2905da7655924a91e6e79798/data/${t.name}`);
    // The built-in hashes (used without a manifest) must be the manifest's.
    assert.equal(t.sha256, MISSING_OFFICIAL_FILES.includes(t.name) ? undefined : manifest.files[t.name].sha256, t.name);
  }
  const byName = (a: { name: string }, b: { name: string }) => a.name.localeCompare(b.name);
  assert.deepEqual([...fetchTargets(undefined)].sort(byName), [...targets].sort(byName));
  assert.equal(rawUrl('x.csv').startsWith('https://raw.githubusercontent.com/'), true);
});

test('fetch: known bytes are verified, missing files saved as unverified, written atomically', async () => {
  const dir = tempDir();
  try {
    const fetchImpl = fakeFetch();
    const lines: string[] = [];
    const report = await fetchTopFiles({ dataDir: dir, fetchImpl, log: (l) => lines.push(l) });
    assert.equal(report.ok, true);
    assert.equal(fetchImpl.calls.length, 12);
    const status = Object.fromEntries(report.outcomes.map((o) => [o.name, o.status]));
    for (const name of Object.keys(KNOWN_SHA256)) {
      assert.equal(status[name], 'verified', name);
      assert.equal(sha256Hex(readFileSync(path.join(dir, name))), KNOWN_SHA256[name]);
    }
    for (const name of MISSING_OFFICIAL_FILES) {
      assert.equal(status[name], 'unverified', name);
      assert.deepEqual(readFileSync(path.join(dir, name)), MISSING_BYTES[name]);
      assert.ok(lines.some((l) => l.startsWith(`${name}: saved, unverified`) && l.includes(sha256Hex(MISSING_BYTES[name]))));
    }
    // No temporary file is left behind.
    assert.deepEqual(readdirSync(dir).sort(), [...Object.keys(KNOWN_SHA256), ...MISSING_OFFICIAL_FILES].sort());

    // A second run downloads nothing: every file is present (and verified where a hash is known).
    const again = fakeFetch();
    const second = await fetchTopFiles({ dataDir: dir, fetchImpl: again });
    assert.equal(again.calls.length, 0);
    assert.ok(second.outcomes.every((o) => o.status === 'present'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('fetch: wrong bytes are refused, expected vs got reported, the existing file kept', async () => {
  const dir = tempDir();
  try {
    writeFileSync(path.join(dir, 'MANIFEST.json'), readFileSync(path.join(DATA, 'MANIFEST.json')));
    const previous = readFileSync(path.join(DATA, 'phase_I_test.csv'));
    writeFileSync(path.join(dir, 'phase_I_test.csv'), previous);
    const tampered = Buffer.concat([previous, Buffer.from('NCT99999999,completed,,1,phase 1,[],[],[],[],x\n')]);
    const fetchImpl = fakeFetch({ 'phase_I_test.csv': async () => new Response(new Uint8Array(tampered)) });
    const report = await fetchTopFiles({ dataDir: dir, fetchImpl, force: true });
    assert.equal(report.ok, false);
    const outcome = report.outcomes.find((o) => o.name === 'phase_I_test.csv')!;
    assert.equal(outcome.status, 'refused');
    assert.equal(outcome.message, `sha256 mismatch, not saved: expected ${KNOWN_SHA256['phase_I_test.csv']}, got ${sha256Hex(tampered)}`);
    assert.deepEqual(readFileSync(path.join(dir, 'phase_I_test.csv')), previous);
    assert.ok(!readdirSync(dir).some((n) => n.includes('.part-')));

    // Through the CLI: non-zero exit (CliError) naming the file and both hashes.
    const cli = await run(['data', 'fetch', '--data', dir, '--force'], { fetchImpl });
    assert.ok(cli.error instanceof CliError);
    assert.match(cli.error.message, /1 file\(s\) not obtained:\n {2}phase_I_test\.csv: sha256 mismatch, not saved: expected 85f61449\w+, got \w{64}/);
    assert.match(cli.out, /unverified \(no published sha256\): phase_II_train\.csv, phase_II_test\.csv, phase_III_train\.csv/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('fetch offline: "cannot reach raw.githubusercontent.com (offline?)", non-zero, existing files untouched', async () => {
  const dir = tempDir();
  try {
    const existing = path.join(dir, 'phase_I_valid.csv');
    writeFileSync(existing, 'old content\n');
    const before = statSync(existing).mtimeMs;
    const fetchImpl: FetchFn = async () => {
      throw offlineError();
    };
    await assert.rejects(fetchTopFiles({ dataDir: dir, fetchImpl, force: true }), (err: unknown) => {
      assert.ok(err instanceof OfflineError);
      assert.equal(err.message, 'cannot reach raw.githubusercontent.com (offline?): getaddrinfo ENOTFOUND raw.githubusercontent.com');
      assert.deepEqual(err.savedBefore, []);
      return true;
    });
    const cli = await run(['data', 'fetch', '--data', dir, '--force'], { fetchImpl });
    assert.ok(cli.error instanceof CliError);
    assert.equal(cli.error.exitCode, 1);
    assert.match(cli.error.message, /^cannot reach raw\.githubusercontent\.com \(offline\?\): getaddrinfo ENOTFOUND .*\(no file changed in /);
    assert.equal(readFileSync(existing, 'utf8'), 'old content\n');
    assert.equal(statSync(existing).mtimeMs, before);
    assert.deepEqual(readdirSync(dir), ['phase_I_valid.csv']);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('fetch: a stalled download times out (AbortSignal.timeout) and is reported as unreachable', async () => {
  const dir = tempDir();
  // AbortSignal.timeout's timer does not keep the process alive (a real fetch's socket does): hold it open here.
  const keepAlive = setInterval(() => {}, 1000);
  try {
    const fetchImpl: FetchFn = (_url, init) =>
      new Promise<Response>((_resolve, reject) => {
        init?.signal?.addEventListener('abort', () => reject(init.signal!.reason));
      });
    await assert.rejects(fetchTopFiles({ dataDir: dir, fetchImpl, timeoutMs: 50 }), /cannot reach raw\.githubusercontent\.com \(offline\?\): timed out/);
    assert.deepEqual(readdirSync(dir), []);
  } finally {
    clearInterval(keepAlive);
    rmSync(dir, { recursive: true, force: true });
  }
});

test('fetch: HTTP errors and corrupt present files are failures; other files still come', async () => {
  const dir = tempDir();
  try {
    writeFileSync(path.join(dir, 'toy_test.csv'), 'corrupt\n');
    const fetchImpl = fakeFetch({ 'phase_II_test.csv': async () => new Response('Not Found', { status: 404, statusText: 'Not Found' }) });
    const report = await fetchTopFiles({ dataDir: dir, fetchImpl });
    assert.equal(report.ok, false);
    const byName = new Map(report.outcomes.map((o) => [o.name, o]));
    assert.equal(byName.get('phase_II_test.csv')!.status, 'failed');
    assert.match(byName.get('phase_II_test.csv')!.message, /^HTTP 404 Not Found for https:\/\/raw\.githubusercontent\.com\/.*\/data\/phase_II_test\.csv$/);
    assert.equal(byName.get('toy_test.csv')!.status, 'failed');
    assert.match(byName.get('toy_test.csv')!.message, /present but sha256 mismatch: expected 1b8476cb\w+, got \w{64}; rerun with --force/);
    assert.equal(readFileSync(path.join(dir, 'toy_test.csv'), 'utf8'), 'corrupt\n');
    assert.ok(!existsSync(path.join(dir, 'phase_II_test.csv')));
    assert.equal(byName.get('phase_II_train.csv')!.status, 'unverified');
    assert.equal(byName.get('phase_I_train.csv')!.status, 'verified');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('fetch: the data directory is created when missing; --timeout must be positive', async () => {
  const parent = tempDir();
  try {
    const dir = path.join(parent, 'nested', 'top');
    const cli = await run(['data', 'fetch', '--data', dir], { fetchImpl: fakeFetch() });
    assert.equal(cli.error, undefined);
    assert.equal(readdirSync(dir).length, 12);
    assert.match(cli.out, /phase_I_train\.csv: saved, sha256 verified \(4db18b0f1469, 3558037 bytes\)/);
    mkdirSync(path.join(parent, 'x'));
    const bad = await run(['data', 'fetch', '--data', path.join(parent, 'x'), '--timeout', '0'], { fetchImpl: fakeFetch() });
    assert.ok(bad.error instanceof CliError);
    assert.match(bad.error.message, /--timeout must be a positive number/);
  } finally {
    rmSync(parent, { recursive: true, force: true });
  }
});
