import type { Command } from 'commander';
import { register as registerEvaluate } from './evaluate.ts';
import { register as registerLm } from './lm.ts';

/** Every sub-command, in the order `--help` lists them. */
export function registerCommands(program: Command): void {
  registerEvaluate(program);
  registerLm(program);
}
