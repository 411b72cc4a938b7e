import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Command, CommanderError } from 'commander';
import { register } from './evaluate.ts';
import { CliError } from '../cli-error.ts';
import { evaluatePredictions, readPredictionsCsv, readTruthCsv } from '../../eval/evaluate.ts';

const dir = mkdtempSync(path.join(os.tmpdir(), 'cladmop-evaluate-cli-'));
after(() => rmSync(dir, { recursive: true, force: true }));

let fileCount = 0;
function writeCsv(text: string): string {
  const file = path.join(dir, `f${fileCount++}.csv`);
  writeFileSync(file, text);
  return file;
}

// 40 trials; labels and probabilities follow fixed patterns so the run is reproducible, and the classes
// overlap (ROC-AUC below 1) so that resamples differ.
const ids = Array.from({ length: 40 }, (_, i) => `NCT${String(i).padStart(8, '0')}`);
const labels = ids.map((_, i) => (i % 5 < 3 ? 1 : 0));
const probabilities = ids.map((_, i) => Number((0.3 + 0.2 * labels[i] + ((i * 13) % 7) / 14).toFixed(3)));
const truthFile = writeCsv(
  'nctid,status,label,criteria\n' +
    ids.map((id, i) => `${id},completed,${labels[i]},"Inclusion:\n- adults, ""18+"""`).join('\n') +
    '\n',
);
const predFile = writeCsv('nctid,probability\n' + ids.map((id, i) => `${id},${probabilities[i]}`).join('\n') + '\n');

/**
 * Runs `cladmop evaluate ...` on a fresh program and returns what the command wrote to stdout.
 * Only string writes are captured: node's test runner reports through the same stdout as Buffers, and
 * those must still reach it.
 */
async function run(args: string[]): Promise<string> {
  const program = new Command().exitOverride().configureOutput({ writeOut: () => {}, writeErr: () => {} });
  register(program);
  const original = process.stdout.write;
  let out = '';
  process.stdout.write = function (this: typeof process.stdout, chunk: unknown, ...rest: unknown[]) {
    if (typeof chunk === 'string') {
      out += chunk;
      return true;
    }
    return (original as (...a: unknown[]) => boolean).call(this, chunk, ...rest);
  } as typeof process.stdout.write;
  try {
    await program.parseAsync(['node', 'cladmop', 'evaluate', ...args]);
  } finally {
    process.stdout.write = original;
  }
  return out;
}

test('evaluate prints the table with the all-positive reference and the reading guide', async () => {
  const out = await run(['--pred', predFile, '--truth', truthFile]);
  const report = evaluatePredictions(readPredictionsCsv(predFile), readTruthCsv(truthFile));
  assert.match(out, /^metric +point +mean ± std +95% CI +all-positive$/m);
  const roc = report.metrics.rocAuc;
  assert.match(out, new RegExp(`^ROC-AUC +${roc.point?.toFixed(4)} +${roc.mean?.toFixed(4)} ± ${roc.std?.toFixed(4)} `, 'm'));
  assert.match(out, new RegExp(`^F1 .* ${report.allPositive.f1.toFixed(4)}$`, 'm'));
  assert.match(out, /Trials: 40 \(24 successes, prevalence 0\.6000\)/);
  assert.match(out, /10 resamples of 32 trials \(80%, with replacement\), seed 2023/);
  assert.match(out, /PR-AUC and ROC-AUC decide; F1 at 0\.5 mostly measures prevalence/);
});

test('evaluate --json prints only the JSON report, honouring --threshold, --seed, --resamples', async () => {
  const out = await run(['--pred', predFile, '--truth', truthFile, '--json', '--threshold', '0.6', '--seed', '7', '--resamples', '25']);
  const parsed = JSON.parse(out);
  const expected = evaluatePredictions(readPredictionsCsv(predFile), readTruthCsv(truthFile), {
    threshold: 0.6,
    seed: 7,
    resamples: 25,
  });
  assert.deepEqual(parsed, JSON.parse(JSON.stringify(expected)));
  assert.equal(parsed.threshold, 0.6);
  assert.equal(parsed.bootstrap.seed, 7);
  assert.equal(parsed.metrics.f1.definedResamples, 25);
  // Another seed gives other resamples.
  const other = JSON.parse(await run(['--pred', predFile, '--truth', truthFile, '--json', '--seed', '8']));
  assert.notEqual(other.metrics.rocAuc.mean, parsed.metrics.rocAuc.mean);
});

async function assertCliError(args: string[], pattern: RegExp): Promise<void> {
  let out = '';
  await assert.rejects(
    async () => {
      out = await run(args);
    },
    (err: unknown) => {
      assert.ok(err instanceof CliError, `expected a CliError, got ${String(err)}`);
      assert.equal(err.exitCode, 1);
      assert.match(err.message, pattern);
      return true;
    },
  );
  assert.equal(out, '', 'nothing may reach stdout on error');
}

test('bad predictions fail with a CliError naming file, row, line and field', async () => {
  const duplicate = writeCsv(`nctid,probability\n${ids.map((id) => `${id},0.5`).join('\n')}\n${ids[3]},0.4\n`);
  await assertCliError(
    ['--pred', duplicate, '--truth', truthFile],
    new RegExp(`^${duplicate.replace(/[.\\]/g, '\\$&')}: row 41 \\(line 42\\), field "nctid": duplicate id ${ids[3]} \\(first at row 4, line 5\\)`),
  );
  const missing = writeCsv(`nctid,probability\n${ids.filter((_, i) => i !== 2).map((id) => `${id},0.5`).join('\n')}\n`);
  // Truth row 3 starts on line 6: each earlier truth row spans two lines (a quoted line break).
  await assertCliError(
    ['--pred', missing, '--truth', truthFile],
    new RegExp(`no prediction for nctid ${ids[2]} \\(.*f\\d+\\.csv row 3, line 6, field "nctid"\\)`),
  );
  const nan = writeCsv(`nctid,probability\n${ids.map((id, i) => `${id},${i === 1 ? 'NaN' : '0.5'}`).join('\n')}\n`);
  await assertCliError(['--pred', nan, '--truth', truthFile], /: row 2 \(line 3\), field "probability": "NaN" is not a finite number/);
  const badLabel = writeCsv(`nctid,label\n${ids.map((id, i) => `${id},${i === 9 ? 'yes' : 1}`).join('\n')}\n`);
  await assertCliError(['--pred', predFile, '--truth', badLabel], /: row 10 \(line 11\), field "label": "yes" is not 0 or 1/);
  await assertCliError(['--pred', path.join(dir, 'nope.csv'), '--truth', truthFile], /nope\.csv: cannot read the file \(ENOENT\)/);
});

test('bad option values fail with a CliError naming the option', async () => {
  await assertCliError(['--pred', predFile, '--truth', truthFile, '--threshold', 'abc'], /^--threshold: "abc" is not valid, expected a number in \[0, 1\]/);
  await assertCliError(['--pred', predFile, '--truth', truthFile, '--resamples', '0'], /^--resamples: "0" is not valid/);
  await assertCliError(['--pred', predFile, '--truth', truthFile, '--seed', '1.5'], /^--seed: "1\.5" is not valid, expected an integer/);
  await assertCliError(['--pred', predFile, '--truth', truthFile, '--fraction', '2'], /^--fraction: "2" is not valid/);
});

test('evaluate --help shows the options and examples; missing --truth is a commander error', async () => {
  let help = '';
  const program = new Command().exitOverride().configureOutput({ writeOut: (s) => (help += s), writeErr: () => {} });
  register(program);
  await assert.rejects(program.parseAsync(['node', 'cladmop', 'evaluate', '--help']), CommanderError);
  assert.match(help, /--pred <file>/);
  assert.match(help, /--resamples <n>/);
  assert.match(help, /Examples:\n/);
  await assert.rejects(run(['--pred', predFile]), /required option '--truth <file>' not specified/);
});
