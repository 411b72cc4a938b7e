/**
 * SCT-like pre-training corpus. The paper pre-trains on SCT ("Successful Clinical Trials": trials of
 * FDA-approved drugs), which is not available here. We build the closest thing from TOP, with no outcome label
 * entering the loss:
 *   - successful (label 1) trials of every non-test training file: phase I train, the reconstructed phase II and
 *     phase III train rows with features, and the toy files (tutorial subsets of mixed phases);
 *   - de-duplicated by nctid (official files first, so their labels win over the older toy labels);
 *   - every test id of every phase excluded (including the phase II test ids whose features are missing);
 *   - valid-split trials excluded too: they select fine-tuned models, and a held-out batch of successful valid
 *     trials measures retrieval accuracy of the pair-matching model.
 * `successfulOnly: false` gives the ablation corpus "all non-test trials, labels ignored".
 */
import path from 'node:path';
import { allTestIds, loadSplit, NON_TEST_TRAINING_FILES, PHASES, resolveDataDir } from '../data/splits.ts';
import { readTopCsv } from '../data/top-csv.ts';
import type { LabelledTrial } from '../data/trial.ts';

export interface SctCorpus {
  trials: LabelledTrial[];
  /** Successful valid-split trials (never in `trials`) for retrieval evaluation. */
  heldOut: LabelledTrial[];
  stats: { byFile: Record<string, number>; total: number; excludedTest: number; excludedValid: number; duplicates: number; successfulOnly: boolean };
}


export function buildSctCorpus(dataDir = resolveDataDir(), options: { successfulOnly?: boolean } = {}): SctCorpus {
  const successfulOnly = options.successfulOnly ?? true;
  const testIds = allTestIds(dataDir);
  const validIds = new Set<string>();
  const heldOut: LabelledTrial[] = [];
  for (const phase of PHASES) {
    for (const row of loadSplit(phase, 'valid', dataDir).rows) {
      if (validIds.has(row.trial.nctid)) continue;
      validIds.add(row.trial.nctid);
      if (row.label === 1 && !testIds.has(row.trial.nctid)) heldOut.push(row);
    }
  }
  const seen = new Set<string>();
  const trials: LabelledTrial[] = [];
  const byFile: Record<string, number> = {};
  let excludedTest = 0;
  let excludedValid = 0;
  let duplicates = 0;
  for (const { file, labelColumn } of NON_TEST_TRAINING_FILES) {
    const { rows } = readTopCsv(path.join(dataDir, file), { labelColumn });
    let n = 0;
    for (const row of rows) {
      const id = row.trial.nctid;
      if (testIds.has(id)) {
        excludedTest++;
        continue;
      }
      if (validIds.has(id)) {
        excludedValid++;
        continue;
      }
      if (seen.has(id)) {
        duplicates++;
        continue;
      }
      seen.add(id);
      if (successfulOnly && row.label !== 1) continue;
      trials.push(row);
      n++;
    }
    byFile[file] = n;
  }
  return { trials, heldOut, stats: { byFile, total: trials.length, excludedTest, excludedValid, duplicates, successfulOnly } };
}
