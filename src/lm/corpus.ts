/**
 * The corpus the criteria language model is trained on. No test text, ever:
 *  - criteria of every non-test trial we can read: phase I train, the reconstructed phase II/III train rows with
 *    features, and the toy files (tutorial subsets of mixed phases) -- minus every nctid of any test split
 *    (phase I test, phase III test, and the full phase II test id list in reconstructed/);
 *  - the valid-split criteria of every phase are held out (never trained on) to measure perplexity, and are
 *    also removed from the training documents when the same trial appears in another file;
 *  - DrugBank drug descriptions (aux/drugs/lifted_drug_description.json.gz) and ICD-10 code descriptions
 *    (aux/icd/icd_10_direct_mapping.csv), which carry the biomedical vocabulary of drug and disease names.
 */
import path from 'node:path';
import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { parse } from 'csv-parse/sync';
import { allTestIds, loadSplit, NON_TEST_TRAINING_FILES, PHASES, resolveDataDir } from '../data/splits.ts';
import { readTopCsv } from '../data/top-csv.ts';
import type { LabelledTrial } from '../data/trial.ts';
import { criteriaDocuments } from './criteria-text.ts';

export interface LmCorpus {
  /** Training documents, in a fixed order. */
  train: string[];
  /** Held-out documents (valid-split criteria) for perplexity. */
  heldOut: string[];
  /** nctids whose criteria are in `train`. */
  trainIds: string[];
  /** nctids whose criteria are in `heldOut`. */
  heldOutIds: string[];
  stats: {
    trainTrials: number;
    heldOutTrials: number;
    excludedTestTrials: number;
    drugDescriptions: number;
    icdDescriptions: number;
    trainWords: number;
    heldOutWords: number;
    criteriaWords: number;
    drugWords: number;
    icdWords: number;
    sources: string[];
  };
}


const words = (s: string) => s.split(/\s+/).filter(Boolean).length;

export function buildLmCorpus(dataDir = resolveDataDir()): LmCorpus {
  const testIds = allTestIds(dataDir);
  const heldOutRows: LabelledTrial[] = [];
  for (const phase of PHASES) heldOutRows.push(...loadSplit(phase, 'valid', dataDir).rows);
  const heldOutIds = new Set<string>();
  const heldOut: string[] = [];
  for (const row of heldOutRows) {
    if (testIds.has(row.trial.nctid) || heldOutIds.has(row.trial.nctid)) continue;
    heldOutIds.add(row.trial.nctid);
    for (const doc of criteriaDocuments(row.trial.criteria)) heldOut.push(doc.text);
  }
  const trainIds = new Set<string>();
  const train: string[] = [];
  let excluded = 0;
  let criteriaWords = 0;
  for (const { file, labelColumn } of NON_TEST_TRAINING_FILES) {
    // Labels are not used here; only the criteria text is read.
    const { rows } = readTopCsv(path.join(dataDir, file), { labelColumn });
    for (const row of rows) {
      const id = row.trial.nctid;
      if (testIds.has(id)) {
        excluded++;
        continue;
      }
      if (heldOutIds.has(id) || trainIds.has(id)) continue;
      trainIds.add(id);
      for (const doc of criteriaDocuments(row.trial.criteria)) {
        train.push(doc.text);
        criteriaWords += words(doc.text);
      }
    }
  }
  const descriptions = JSON.parse(
    gunzipSync(readFileSync(path.join(dataDir, 'aux/drugs/lifted_drug_description.json.gz'))).toString('utf8'),
  ) as Record<string, string>;
  let drugWords = 0;
  let drugCount = 0;
  for (const name of Object.keys(descriptions).sort()) {
    const text = (descriptions[name] ?? '').trim();
    if (!text) continue;
    const doc = `${name}: ${cleanDrugDescription(text)}`;
    train.push(doc);
    drugWords += words(doc);
    drugCount++;
  }
  const icdRows = parse(readFileSync(path.join(dataDir, 'aux/icd/icd_10_direct_mapping.csv'), 'utf8'), {
    relax_column_count: true,
  }) as string[][];
  // One document per 3-character category: the category and its sub-codes, so descriptions read as a list.
  const byCategory = new Map<string, string[]>();
  for (const [code, description] of icdRows) {
    if (!code || !description) continue;
    const category = code.slice(0, 3);
    const list = byCategory.get(category) ?? [];
    list.push(`${formatIcd(code)} ${description}`);
    byCategory.set(category, list);
  }
  let icdWords = 0;
  for (const category of [...byCategory.keys()].sort()) {
    const doc = byCategory.get(category)!.join('\n');
    train.push(doc);
    icdWords += words(doc);
  }
  const heldOutWords = heldOut.reduce((s, d) => s + words(d), 0);
  return {
    train,
    heldOut,
    trainIds: [...trainIds],
    heldOutIds: [...heldOutIds],
    stats: {
      trainTrials: trainIds.size,
      heldOutTrials: heldOutIds.size,
      excludedTestTrials: excluded,
      drugDescriptions: drugCount,
      icdDescriptions: icdRows.length,
      trainWords: criteriaWords + drugWords + icdWords,
      heldOutWords,
      criteriaWords,
      drugWords,
      icdWords,
      sources: [...NON_TEST_TRAINING_FILES.map((f) => f.file), 'aux/drugs/lifted_drug_description.json.gz', 'aux/icd/icd_10_direct_mapping.csv'],
    },
  };
}

/**
 * DrugBank text without reference markers ("[A227973]") and without any sentence naming a trial id: 1,234
 * descriptions say "X is under investigation in clinical trial NCT... (title)", 56 of them about TOP test
 * trials, whose ids and titles must not reach the LM.
 */
export function cleanDrugDescription(text: string): string {
  return text
    .replace(/\[[A-Z]\d+(?:,\s*[A-Z]\d+)*\]/g, '')
    .split(/(?<=[.!?])\s+/)
    .filter((sentence) => !/NCT\d{8}/i.test(sentence))
    .join(' ')
    .trim();
}

/** "C3490" -> "C34.90" (the mapping file stores codes without the dot). */
export function formatIcd(code: string): string {
  return code.length > 3 && !code.includes('.') ? `${code.slice(0, 3)}.${code.slice(3)}` : code;
}
