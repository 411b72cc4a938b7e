import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Command } from 'commander';
import { register } from './report.ts';
import { CliError } from '../cli-error.ts';
import { loadSplit, resolveDataDir } from '../../data/splits.ts';

const root = mkdtempSync(path.join(os.tmpdir(), 'cladmop-report-cli-'));
after(() => rmSync(root, { recursive: true, force: true }));

/** Runs `cladmop report ...` on a fresh program; returns what it wrote to stdout and stderr as strings. */
async function run(args: string[]): Promise<{ out: string; err: string }> {
  const program = new Command().exitOverride().configureOutput({ writeOut: () => {}, writeErr: () => {} });
  register(program);
  const streams = { out: process.stdout, err: process.stderr } as const;
  const captured = { out: '', err: '' };
  const originals = { out: streams.out.write, err: streams.err.write };
  for (const key of ['out', 'err'] as const) {
    const original = originals[key];
    // Only strings are captured: node's test runner reports through stdout as Buffers, which must pass.
    streams[key].write = function (this: NodeJS.WriteStream, chunk: unknown, ...rest: unknown[]) {
      if (typeof chunk === 'string') {
        captured[key] += chunk;
        return true;
      }
      return (original as (...a: unknown[]) => boolean).call(this, chunk, ...rest);
    } as typeof process.stdout.write;
  }
  try {
    await program.parseAsync(['node', 'cladmop', 'report', ...args]);
  } finally {
    streams.out.write = originals.out;
    streams.err.write = originals.err;
  }
  return captured;
}

function runDir(name: string): string {
  const dir = path.join(root, name);
  mkdirSync(dir);
  return dir;
}

/** 60 real phase I test trials with their labels and a simple score. */
function writePredictions(dir: string): void {
  const rows = loadSplit('I', 'test', resolveDataDir()).rows.slice(0, 60);
  const lines = rows.map((r, i) => `${r.trial.nctid},${(0.3 + 0.3 * r.label + (i % 7) / 20).toFixed(3)},${r.label}`);
  writeFileSync(path.join(dir, 'predictions_test.csv'), `nctid,probability,label\n${lines.join('\n')}\n`);
}

test('a missing run directory or required file is a CliError that names it', async () => {
  await assert.rejects(run(['--run', path.join(root, 'absent')]), (e: unknown) => e instanceof CliError && /run directory not found: .*absent/.test(e.message));
  const dir = runDir('no-predictions');
  await assert.rejects(run(['--run', dir]), (e: unknown) => e instanceof CliError && e.message.includes(path.join(dir, 'predictions_test.csv')));
  const noMetrics = runDir('no-metrics');
  writePredictions(noMetrics);
  await assert.rejects(run(['--run', noMetrics]), (e: unknown) => e instanceof CliError && e.message.includes(path.join(noMetrics, 'metrics.json')));
});

test('a malformed predictions file is a CliError naming the row and field', async () => {
  const dir = runDir('bad-row');
  writeFileSync(path.join(dir, 'predictions_test.csv'), 'nctid,probability,label\nNCT1,0.5,1\nNCT2,1.5,0\n');
  writeFileSync(path.join(dir, 'metrics.json'), '{}');
  await assert.rejects(run(['--run', dir]), (e: unknown) => e instanceof CliError && /row 2 \(line 3\), field "probability": 1\.5 is outside/.test(e.message));
  const badJson = runDir('bad-json');
  writePredictions(badJson);
  writeFileSync(path.join(badJson, 'metrics.json'), '{ nope');
  await assert.rejects(run(['--run', badJson]), (e: unknown) => e instanceof CliError && /metrics\.json: not valid JSON/.test(e.message));
  await assert.rejects(run(['--run', badJson, '--seed', 'x']), (e: unknown) => e instanceof CliError && /--seed/.test(e.message));
});

test('writes the report files, prints them, and warns about a partial test split on stderr', async () => {
  const dir = runDir('ok');
  writePredictions(dir);
  writeFileSync(path.join(dir, 'metrics.json'), JSON.stringify({ phase: 'I', splits: { test: { partial: true, note: 'half of it' } } }));
  const { out, err } = await run(['--run', dir]);
  assert.match(out, /Wrote .*report\.html/);
  assert.match(err, /warning: PARTIAL TEST SPLIT/);
  for (const f of ['report.html', 'report.md', 'report/roc.png', 'report/pr.png', 'report/calibration.png']) {
    assert.ok(existsSync(path.join(dir, f)), f);
  }
  // --json: stdout is one JSON document with the file paths and the model.
  const json = JSON.parse((await run(['--run', dir, '--json'])).out);
  assert.equal(json.files.html, path.join(dir, 'report.html'));
  assert.equal(json.summary.n, 60);
  assert.equal(json.partial, true);
  assert.ok(readFileSync(path.join(dir, 'report.html'), 'utf8').includes('PARTIAL TEST SPLIT'));
});


test("a report.md written by reproduce is kept: the regenerated Markdown goes to report_figures.md", async () => {
  const dir = runDir('reproduced');
  writePredictions(dir);
  writeFileSync(path.join(dir, 'metrics.json'), JSON.stringify({ phase: 'I' }));
  const reproduceReport = '# CLaDMoP reproduction on TOP\n\n| method | F1 | PR-AUC | ROC-AUC |\n|---|---|---|---|\n';
  writeFileSync(path.join(dir, 'report.md'), reproduceReport);
  const { out } = await run(['--run', dir]);
  assert.equal(readFileSync(path.join(dir, 'report.md'), 'utf8'), reproduceReport, 'reproduce report untouched');
  assert.match(readFileSync(path.join(dir, 'report_figures.md'), 'utf8'), /^# Evaluation report/);
  assert.match(out, /report_figures\.md/);
  // A report.md that `report` wrote itself is regenerated in place.
  const own = runDir('own');
  writePredictions(own);
  writeFileSync(path.join(own, 'metrics.json'), JSON.stringify({ phase: 'I' }));
  await run(['--run', own]);
  await run(['--run', own]);
  assert.ok(existsSync(path.join(own, 'report.md')));
  assert.ok(!existsSync(path.join(own, 'report_figures.md')));
});
