import type { Command } from 'commander';
import { register as registerBaseline } from './baseline.ts';
import { register as registerData } from './data.ts';
import { register as registerEvaluate } from './evaluate.ts';
import { register as registerEmbed } from './embed.ts';
import { register as registerLm } from './lm.ts';
import { register as registerPredict } from './predict.ts';
import { register as registerPretrain } from './pretrain.ts';
import { register as registerReport } from './report.ts';
import { register as registerReproduce } from './reproduce.ts';
import { register as registerServe } from './serve.ts';

/** Every sub-command, in the order `--help` lists them. */
export function registerCommands(program: Command): void {
  registerData(program);
  registerBaseline(program);
  registerEvaluate(program);
  registerLm(program);
  registerEmbed(program);
  registerPretrain(program);
  registerReproduce(program);
  registerReport(program);
  registerPredict(program);
  registerServe(program);
}
