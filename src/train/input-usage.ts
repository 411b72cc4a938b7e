/**
 * "What the model uses": each input family is blanked at prediction time (all criteria -> empty text; all drugs
 * and molecules -> none; all diseases and their ICD-10 codes -> none), and the change in test PR-AUC, ROC-AUC and
 * the mean absolute change of the probability are reported. A family whose blanking does not lower the ranking
 * metrics adds nothing the model can use (or adds noise, when blanking raises them).
 *
 * The lexical level (model/lexical.ts) reads the same blanked trial, so its logit changes with the family too.
 */
import type { LabelledTrial, Trial } from '../data/trial.ts';
import { averagePrecision } from '../eval/metrics/average-precision.ts';
import { rocAuc } from '../eval/metrics/roc-auc.ts';

export const INPUT_FAMILIES = ['criteria', 'drugs', 'diseases'] as const;
export type InputFamily = (typeof INPUT_FAMILIES)[number];

/** `trial` without one input family. */
export function blankFamily(trial: Trial, family: InputFamily): Trial {
  if (family === 'criteria') return { ...trial, criteria: '' };
  if (family === 'drugs') return { ...trial, drugs: [], smiles: [] };
  return { ...trial, diseases: [], icdcodes: [] };
}

export function blankRows(rows: LabelledTrial[], family: InputFamily): LabelledTrial[] {
  return rows.map((r) => ({ ...r, trial: blankFamily(r.trial, family) }));
}

export interface InputUsageRow {
  /** 'none' = the model on its full inputs. */
  blanked: InputFamily | 'none';
  prAuc: number;
  rocAuc: number;
  /** Metric with the family blanked minus the metric on full inputs (negative: the family helps). */
  deltaPrAuc: number;
  deltaRocAuc: number;
  /** Mean over trials of |p(blanked) − p(full)|. */
  meanAbsChange: number;
}

/** The table of one model: its full-input probabilities and those with each family blanked. */
export function inputUsageTable(labels: ArrayLike<number>, full: ArrayLike<number>, blanked: Record<InputFamily, ArrayLike<number>>): InputUsageRow[] {
  const pr0 = averagePrecision(labels, full);
  const roc0 = rocAuc(labels, full);
  const rows: InputUsageRow[] = [{ blanked: 'none', prAuc: pr0, rocAuc: roc0, deltaPrAuc: 0, deltaRocAuc: 0, meanAbsChange: 0 }];
  for (const family of INPUT_FAMILIES) {
    const p = blanked[family];
    if (p.length !== full.length) throw new Error(`input usage: ${p.length} probabilities with ${family} blanked for ${full.length} trials`);
    let change = 0;
    for (let i = 0; i < p.length; i++) change += Math.abs(p[i] - full[i]);
    const pr = averagePrecision(labels, p);
    const roc = rocAuc(labels, p);
    rows.push({ blanked: family, prAuc: pr, rocAuc: roc, deltaPrAuc: pr - pr0, deltaRocAuc: roc - roc0, meanAbsChange: change / p.length });
  }
  return rows;
}
