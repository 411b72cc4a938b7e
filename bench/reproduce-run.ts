/** Which `cladmop reproduce` run answers the benchmark's "reproduce --phase I <= 15 min" target (bench/reproduce.ts). */
import { DEFAULT_PRETRAIN_EPOCHS } from '../src/train/variants.ts';

export interface ReproduceRun {
  file: string;
  mtime: number;
  seconds: number;
  phases: string[];
  quick: boolean | null;
  /** Run options (written since session 3; older files have none and were default runs). */
  options: { seeds?: number[]; ablations?: string[]; pretrainEpochs?: number; encoder?: string; fewShot?: boolean } | null;
  pretrainCached: boolean | null;
  stageSeconds: Record<string, number> | null;
}

/** A full run of phase I alone with the shipped defaults (3 seeds, no ablations): the run the target is about. */
export function answersTarget(f: Pick<ReproduceRun, 'phases' | 'quick' | 'options'>): boolean {
  const o = f.options;
  const defaults = !o || ((o.ablations ?? []).length === 0 && (o.seeds ?? [1, 2, 3]).length === 3 && (o.pretrainEpochs ?? DEFAULT_PRETRAIN_EPOCHS) === DEFAULT_PRETRAIN_EPOCHS && (o.encoder ?? 'lm') === 'lm' && (o.fewShot ?? true));
  return f.phases.length === 1 && f.phases[0] === 'I' && f.quick === false && defaults;
}
