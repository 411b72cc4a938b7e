import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Command } from 'commander';
import { register } from './baseline.ts';
import { CliError } from '../cli-error.ts';
import { writeFakeTop } from '../../baselines/testing/fake-top.ts';

const dir = mkdtempSync(path.join(os.tmpdir(), 'cladmop-baseline-cli-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const dataDir = path.join(dir, 'data');
mkdirSync(dataDir);
writeFakeTop(dataDir, 23);

/** Runs `cladmop baseline ...` on a fresh program; returns the string writes to stdout (see evaluate.test.ts). */
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
    await program.parseAsync(['node', 'cladmop', 'baseline', ...args]);
  } finally {
    process.stdout.write = original;
  }
  return out;
}

test('baseline prints split descriptions, CV choices and the metrics table with the all-positive column', async () => {
  const out = path.join(dir, 'lr');
  const text = await run(['--phase', 'I', '--data', dataDir, '--out', out]);
  assert.match(text, /phase I train: 90 rows/);
  assert.match(text, /phase I test: 60 rows/);
  assert.match(text, /Chosen: C=/);
  assert.match(text, /all-positive/);
  assert.match(text, /^F1 /m);
  assert.ok(existsSync(path.join(out, 'predictions_test.csv')));
  const metrics = JSON.parse(readFileSync(path.join(out, 'metrics.json'), 'utf8'));
  assert.equal(metrics.model, 'lr');
  assert.equal(metrics.seed, 2023);
});

test('--json prints exactly metrics.json on stdout', async () => {
  const out = path.join(dir, 'lr-json');
  const text = await run(['--phase', 'i', '--data', dataDir, '--out', out, '--json', '--seed', '9']);
  const parsed = JSON.parse(text);
  assert.deepEqual(parsed, JSON.parse(readFileSync(path.join(out, 'metrics.json'), 'utf8')));
  assert.equal(parsed.seed, 9);
});

test('bad options and a missing data directory are CliErrors', async () => {
  const out = path.join(dir, 'bad');
  await assert.rejects(run(['--phase', 'IV', '--out', out]), (e) => e instanceof CliError && /--phase/.test(e.message));
  await assert.rejects(run(['--phase', 'I', '--model', 'svm', '--out', out]), (e) => e instanceof CliError && /--model/.test(e.message));
  await assert.rejects(run(['--phase', 'I', '--seed', '1.5', '--out', out]), (e) => e instanceof CliError && /--seed/.test(e.message));
  await assert.rejects(
    run(['--phase', 'I', '--data', path.join(dir, 'nope'), '--out', out]),
    (e) => e instanceof CliError && /not found/.test(e.message),
  );
});
