/**
 * Every `$ cladmop ...` example in every command's --help names a real command and real options, and the
 * repository files it names exist (issue 14: the evaluate example named a wrong file and data path; several
 * commands had no example at all). Examples are meant to be copied: this keeps them honest.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { buildProgram } from './main.ts';
import { CliError } from './cli-error.ts';
import { resolveDataDir } from '../data/splits.ts';
import { PACKAGE_ROOT as REPO_ROOT } from '../settings.ts';

function helpOf(cmd: Command): string {
  let text = '';
  cmd.configureOutput({ writeOut: (s) => (text += s), writeErr: (s) => (text += s) });
  cmd.outputHelp();
  return text;
}

/** Leaf commands with their full names ("lm probe"). */
function leaves(cmd: Command, prefix: string[] = []): { name: string; cmd: Command }[] {
  const subs = cmd.commands.filter((c) => !(c as unknown as { _hidden: boolean })._hidden);
  if (subs.length === 0) return [{ name: prefix.join(' '), cmd }];
  return subs.flatMap((c) => leaves(c, [...prefix, c.name()]));
}

/** `$ cladmop ...` lines of a help text, continuation lines joined, comments dropped. */
function exampleLines(help: string): string[] {
  const out: string[] = [];
  const lines = help.split('\n');
  for (let i = 0; i < lines.length; i++) {
    let line = lines[i].trim();
    if (!line.startsWith('$ ')) continue;
    while (line.endsWith('\\') && i + 1 < lines.length) line = line.slice(0, -1) + ' ' + lines[++i].trim();
    out.push(line.slice(2));
  }
  return out;
}

/** The `cladmop ...` invocations of one shell line (split at &&, |, ;, redirections and comments). */
function invocations(line: string): string[][] {
  return line
    .replace(/\s#.*$/, '')
    .split(/&&|\||;/)
    .map((part) => part.replace(/\s[12]?>.*$/, '').trim().split(/\s+/))
    .filter((tokens) => tokens[0] === 'cladmop');
}

const dataDir = resolveDataDir();

test('every command has --help examples, and each names a real command, real options and existing files', () => {
  const program = buildProgram();
  const missing: string[] = [];
  const problems: string[] = [];
  let checked = 0;
  for (const { name, cmd } of leaves(program)) {
    const examples = exampleLines(helpOf(cmd));
    if (examples.length === 0) missing.push(name);
    // What earlier examples of the same help write (--out DIR, > FILE): later ones may read it.
    const produced: string[] = [];
    for (const line of examples) {
      for (const m of line.matchAll(/(?:--out\s+|>\s*)(\S+)/g)) produced.push(m[1]);
      for (const tokens of invocations(line)) {
        checked++;
        let target: Command = program;
        let k = 1;
        for (; k < tokens.length; k++) {
          const sub = target.commands.find((c) => c.name() === tokens[k]);
          if (!sub) break;
          target = sub;
        }
        if (target.commands.length > 0) {
          problems.push(`${name}: "${line}" names no sub-command of ${target.name()}`);
          continue;
        }
        for (; k < tokens.length; k++) {
          const t = tokens[k];
          if (t.startsWith('--')) {
            const flag = t.split('=')[0];
            if (flag === '--help') continue;
            if (!target.options.some((o) => o.long === flag)) problems.push(`${name}: "${line}": ${target.name()} has no option ${flag}`);
            continue;
          }
          // An input given as a path must exist (in the repository or the TOP data directory) or be written by an
          // earlier example; a bare name (my_trials.csv) is a placeholder for the user's own file.
          const prev = tokens[k - 1];
          const isInput = ['--pred', '--truth', '--input', '--model', '--run', '--encoder'].includes(prev);
          if (!isInput || !t.includes('/')) continue;
          const file = t.replace(/^(lm|onnx):/, '');
          const inData = file.startsWith('../shared/data/top/');
          const exists = inData ? !existsSync(dataDir) || existsSync(path.join(dataDir, file.slice('../shared/data/top/'.length))) : existsSync(path.join(REPO_ROOT, file));
          const fromEarlier = produced.some((p) => file === p || file.startsWith(`${p.replace(/\/$/, '')}/`));
          if (!exists && !fromEarlier) problems.push(`${name}: "${line}": ${t} does not exist and no earlier example writes it`);
        }
      }
    }
  }
  assert.deepEqual(missing, [], `commands without an example: ${missing.join(', ')}`);
  assert.deepEqual(problems, []);
  assert.ok(checked >= 20, `${checked} example invocations checked`);
});

test('`cladmop explain` (not a command) points to predict --explain', async () => {
  const program = buildProgram();
  program.configureOutput({ writeOut: () => {}, writeErr: () => {} });
  await assert.rejects(program.parseAsync(['node', 'cladmop', 'explain', '--input', 'study.json']), (e: unknown) => e instanceof CliError && /predict --explain/.test(e.message));
  assert.doesNotMatch(helpOf(program), /explain/, 'hidden from the command list');
});

test('pretrain --variant help lists the variants, not a source file', () => {
  const help = helpOf(buildProgram().commands.find((c) => c.name() === 'pretrain')!);
  assert.doesNotMatch(help, /variants\.ts/);
  assert.match(help, /G3S0/);
});
