/**
 * Per-disease-group tables of a run: joins the run's test predictions with the ICD-10 codes of the phase's
 * test split (the predictions file carries no codes), then groups by ICD-10 chapter and by CCSR body
 * system. Also reports how well the two files agree, since a mismatch means the run used another split.
 */
import { loadSplit } from '../data/splits.ts';
import type { BenchmarkPhase } from '../data/trial.ts';
import { loadCcsr, CCSR_BODY_SYSTEMS } from './ccsr.ts';
import { groupTable, type GroupCodes, type GroupedTrial, type GroupTable } from './groups.ts';
import { ICD10_CHAPTERS, icdChapterOf } from './icd-chapters.ts';

export interface DiseaseGroupsOptions {
  phase: BenchmarkPhase;
  dataDir: string;
  ids: readonly string[];
  labels: ArrayLike<number>;
  probabilities: ArrayLike<number>;
  /** Which codes of a trial place it in a group (default 'primary'). */
  codes?: GroupCodes;
  minSize?: number;
}

export interface DiseaseGroups {
  codes: GroupCodes;
  chapters: GroupTable;
  /** Null when the CCSR table is not in the data directory. */
  ccsr: GroupTable | null;
  /** describeSplit-like facts of the split the codes come from. */
  splitRows: number;
  splitNote: string;
  splitPartial: boolean;
  /** Predictions matched to a split row. */
  matched: number;
  /** Prediction ids absent from the split (left out of the group tables). */
  notInSplit: string[];
  /** Split ids without a prediction. */
  withoutPrediction: string[];
  /** Ids whose label in the predictions file differs from the split's. */
  labelMismatches: string[];
}

export function diseaseGroups(options: DiseaseGroupsOptions): DiseaseGroups {
  const split = loadSplit(options.phase, 'test', options.dataDir);
  const byId = new Map(split.rows.map((r) => [r.trial.nctid, r]));
  const trials: GroupedTrial[] = [];
  const notInSplit: string[] = [];
  const labelMismatches: string[] = [];
  const predicted = new Set<string>();
  options.ids.forEach((nctid, i) => {
    predicted.add(nctid);
    const row = byId.get(nctid);
    if (!row) {
      notInSplit.push(nctid);
      return;
    }
    if (row.label !== options.labels[i]) labelMismatches.push(nctid);
    // The run's label is used: the groups describe the run's own numbers.
    trials.push({ nctid, label: options.labels[i], probability: options.probabilities[i], icdcodes: row.trial.icdcodes });
  });
  const codes = options.codes ?? 'primary';
  const chapterTitles = new Map(ICD10_CHAPTERS.map((c) => [c.id, `${c.id} ${c.title} (${c.first}–${c.last})`]));
  const chapters = groupTable(trials, {
    codes,
    minSize: options.minSize,
    groupOf: (code) => icdChapterOf(code)?.id,
    titleOf: (key) => chapterTitles.get(key) ?? key,
  });
  const table = loadCcsr(options.dataDir);
  const ccsr = table
    ? groupTable(trials, {
        codes,
        minSize: options.minSize,
        groupOf: (code) => table.bodySystemOf(code),
        titleOf: (key) => `${key} ${CCSR_BODY_SYSTEMS[key] ?? '(unnamed body system)'}`,
      })
    : null;
  return {
    codes,
    chapters,
    ccsr,
    splitRows: split.rows.length,
    splitNote: split.note,
    splitPartial: split.partial,
    matched: trials.length,
    notInSplit,
    withoutPrediction: split.rows.map((r) => r.trial.nctid).filter((id) => !predicted.has(id)),
    labelMismatches,
  };
}
