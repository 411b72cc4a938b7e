/**
 * Metrics per disease group of the test trials (ICD-10 chapter or CCSR body system), to show where a model
 * works and where its overall number comes from.
 *
 * A trial lists several diseases, each with up to seven ICD-10 codes from TOP's code search, best match
 * first; the later matches often fall in unrelated chapters (a lung-cancer trial also gets "D14.30", a
 * Z-code for screening, ...). By default a trial therefore joins the group of the FIRST code of each of
 * its diseases ("primary"); `codes: 'all'` uses every code. A trial with diseases in two groups is in both,
 * so group sizes add up to more than the test set.
 */
import { accuracyScore, averagePrecision, rocAuc } from '../eval/metrics/index.ts';

export type GroupCodes = 'primary' | 'all';

export interface GroupedTrial {
  nctid: string;
  label: number;
  probability: number;
  /** ICD-10 codes per disease, as `Trial.icdcodes`. */
  icdcodes: string[][];
}

export interface GroupRow {
  key: string;
  title: string;
  n: number;
  positives: number;
  prevalence: number;
  /** Null unless both classes are present: with one class the ranking metrics are undefined or trivial. */
  prAuc: number | null;
  rocAuc: number | null;
  /** Accuracy of "success iff p >= 0.5". */
  accuracy: number;
}

export interface GroupTable {
  rows: GroupRow[];
  /** Groups left out for having fewer than `minSize` trials (their metrics would be noise). */
  smallGroups: number;
  /** Trials no code of which maps to any group. */
  ungrouped: number;
  minSize: number;
}

export interface GroupTableOptions {
  /** Maps one code to its group key, or undefined for a code that maps nowhere. */
  groupOf: (code: string) => string | undefined;
  /** Display title of a group key. */
  titleOf: (key: string) => string;
  /** Which codes of a trial count (default 'primary': the first code of each disease). */
  codes?: GroupCodes;
  /** Smallest group reported (default 20). */
  minSize?: number;
}

function codesOf(trial: GroupedTrial, which: GroupCodes): string[] {
  if (which === 'all') return trial.icdcodes.flat();
  return trial.icdcodes.map((codes) => codes[0]).filter((c): c is string => c !== undefined);
}

export function groupTable(trials: readonly GroupedTrial[], options: GroupTableOptions): GroupTable {
  const which = options.codes ?? 'primary';
  const minSize = options.minSize ?? 20;
  const members = new Map<string, GroupedTrial[]>();
  let ungrouped = 0;
  for (const trial of trials) {
    const keys = new Set<string>();
    for (const code of codesOf(trial, which)) {
      const key = options.groupOf(code);
      if (key !== undefined) keys.add(key);
    }
    if (keys.size === 0) ungrouped++;
    for (const key of keys) {
      let list = members.get(key);
      if (!list) members.set(key, (list = []));
      list.push(trial);
    }
  }
  const rows: GroupRow[] = [];
  let smallGroups = 0;
  for (const [key, list] of members) {
    if (list.length < minSize) {
      smallGroups++;
      continue;
    }
    const labels = list.map((t) => t.label);
    const probabilities = list.map((t) => t.probability);
    const positives = labels.reduce((s, y) => s + y, 0);
    const bothClasses = positives > 0 && positives < list.length;
    rows.push({
      key,
      title: options.titleOf(key),
      n: list.length,
      positives,
      prevalence: positives / list.length,
      prAuc: bothClasses ? averagePrecision(labels, probabilities) : null,
      rocAuc: bothClasses ? rocAuc(labels, probabilities) : null,
      accuracy: accuracyScore(labels, probabilities, 0.5),
    });
  }
  // Largest groups first: they are the ones whose numbers can be trusted.
  rows.sort((a, b) => b.n - a.n || a.key.localeCompare(b.key));
  return { rows, smallGroups, ungrouped, minSize };
}
