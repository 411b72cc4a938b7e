/**
 * `explain(model, trial)`: leave-one-out attribution of a prediction to its inputs.
 *
 *  - Criteria: each inclusion/exclusion statement is left out in turn; the criteria text is rebuilt from the
 *    remaining statements in the format `parseCriteria` reads ("Inclusion Criteria:" / "Exclusion Criteria:"
 *    headers, one "- " bullet per statement). The full rebuilt text and the variants are encoded in batched
 *    `encodeMany` calls of EXPLAIN_CHUNK variants (one call for up to 16 statements), each scored before the next.
 *  - Drugs: each drug is left out (its name token and, when the drug table attributes a structure in the
 *    trial's SMILES to it, that molecule too, unless another remaining drug has the same structure).
 *  - Diseases: each condition is left out with its ICD-10 codes.
 *
 * delta = p(everything) − p(without the item), on the probability the user is shown (the calibrated one when
 * the bundle carries a calibration): a positive delta means the item raised the predicted chance of success, a
 * negative one lowered it. Leave-one-out measures each item given all the others (it does not sum to the
 * prediction). A model with a lexical level (model/lexical.ts) reads each item's words too: every variant's
 * lexical logit is recomputed from the variant's text, drugs and codes.
 */
import { parseCriteria, type CriteriaStatements } from '../data/criteria.ts';
import type { Trial } from '../data/trial.ts';
import type { TrialInput } from '../features/trial-batch.ts';
import { roundLikeCache } from '../features/criteria-encoder.ts';
import { buildPrediction, deepDm, dropPlacebo, lexicalOffsets, refusalOf, refusedPrediction, trialDm, type Prediction } from './predict.ts';
import { applyCalibration } from './calibration.ts';
import { toPredictInput, type InputLike, type PredictInput } from './inputs.ts';
import type { Model } from './model.ts';

export interface StatementAttribution {
  section: 'inclusion' | 'exclusion';
  /** 0-based position in its section. */
  index: number;
  text: string;
  /** p(all statements) − p(without this one): > 0 raised the success probability. */
  delta: number;
  /** Probability (as shown: calibrated when the model is) without this statement. */
  without: number;
}

export interface ItemAttribution {
  name: string;
  /** Drugs: SMILES left out with the name. Diseases: the ICD-10 codes left out. */
  with: string[];
  delta: number;
  without: number;
}

export interface Explanation {
  prediction: Prediction;
  /** Probability (as shown) of the trial with the criteria rebuilt from all statements: the reference of every delta. */
  reference: number | null;
  statements: StatementAttribution[];
  drugs: ItemAttribution[];
  diseases: ItemAttribution[];
  /** Statements with the largest positive and negative deltas (up to `top` each), largest first. */
  topPositive: StatementAttribution[];
  topNegative: StatementAttribution[];
  notes: string[];
}

export interface ExplainOptions {
  /** At most this many statements are attributed (the first ones of each section); default 120. */
  maxStatements?: number;
  /** Length of topPositive/topNegative; default 5. */
  top?: number;
  /** At most this many drugs and this many diseases are attributed (the first ones); default all. */
  maxItems?: number;
  /**
   * Statements of a section past its first `maxSectionChars` characters are neither attributed nor part of the
   * rebuilt reference text; default all. Why: the encoder reads only the first `maxTokensPerSection` tokens of a
   * section, yet every leave-one-out variant is re-encoded whole, so a 200 KB criteria text made one explanation
   * cost 14 s and 1 GB of memory (measured) for statements the model never reads.
   */
  maxSectionChars?: number;
}

/**
 * The bounds the CLI and the HTTP service explain with (stated in their output). 8,000 characters of a section
 * hold every statement the encoder reads (511 tokens, ~2-3 KB); 32 drugs and diseases are 4x the 8 drugs the
 * model reads.
 */
export const BOUNDED_EXPLAIN: Required<Pick<ExplainOptions, 'maxStatements' | 'maxItems' | 'maxSectionChars'>> = {
  maxStatements: 120,
  maxItems: 32,
  maxSectionChars: 8000,
};

/** The first statements of each section within `maxChars` characters (as criteriaText writes them). */
function capSections(s: CriteriaStatements, maxChars: number, notes: string[]): CriteriaStatements {
  if (!Number.isFinite(maxChars)) return s;
  const cap = (xs: string[], name: string) => {
    let used = 0;
    let n = 0;
    while (n < xs.length && used + xs[n].length + 3 <= maxChars) used += xs[n++].length + 3;
    if (n < xs.length) notes.push(`${name}: the ${xs.length - n} statement(s) after the first ${maxChars} characters were not attributed (the encoder reads only the first tokens of a section)`);
    return xs.slice(0, n);
  };
  return { inclusion: cap(s.inclusion, 'inclusion'), exclusion: cap(s.exclusion, 'exclusion') };
}

/** Statement variants encoded and scored together (see explain). */
const EXPLAIN_CHUNK = 16;

/** Criteria text in the format parseCriteria reads, from statements. A section without statements is left out. */
export function criteriaText(s: CriteriaStatements): string {
  const parts: string[] = [];
  if (s.inclusion.length > 0) parts.push(`Inclusion Criteria:\n\n${s.inclusion.map((x) => `- ${x}`).join('\n')}`);
  if (s.exclusion.length > 0) parts.push(`Exclusion Criteria:\n\n${s.exclusion.map((x) => `- ${x}`).join('\n')}`);
  return parts.join('\n\n');
}

const sameStatements = (a: CriteriaStatements, b: CriteriaStatements) =>
  a.inclusion.length === b.inclusion.length &&
  a.exclusion.length === b.exclusion.length &&
  a.inclusion.every((x, i) => x === b.inclusion[i]) &&
  a.exclusion.every((x, i) => x === b.exclusion[i]);

/** SMILES of `trial.smiles` the drug table attributes to `drug`. */
function structuresOf(model: Model, input: PredictInput, drug: string): string[] {
  if (model.dm.moleculeSource === 'names') return []; // molecules follow the names already
  const table = model.drugTable();
  if (!table) return [];
  const names = new Set<string>([drug]);
  for (const m of input.report?.mappedDrugs ?? []) if (m.drug === drug) names.add(m.via);
  const present = new Set(input.trial.smiles.map((s) => s.trim()));
  const out = new Set<string>();
  for (const n of names) {
    const s = table.lookup(n)?.smiles?.trim();
    if (s && present.has(s)) out.add(s);
  }
  return [...out];
}

/** Leave-one-out attribution of one trial's prediction to its statements, drugs and diseases. */
export async function explain(model: Model, trial: InputLike, options: ExplainOptions = {}): Promise<Explanation> {
  const input = toPredictInput(trial);
  const notes: string[] = [];
  const empty = (prediction: Prediction): Explanation => ({ prediction, reference: null, statements: [], drugs: [], diseases: [], topPositive: [], topNegative: [], notes });
  const reason = refusalOf(model, input);
  if (reason) return empty(refusedPrediction(model, input, reason));

  const t = input.trial;
  const parsed = capSections(parseCriteria(t.criteria), options.maxSectionChars ?? Infinity, notes);
  const maxStatements = options.maxStatements ?? 120;
  const all: { section: 'inclusion' | 'exclusion'; index: number; text: string }[] = [
    ...parsed.inclusion.map((text, index) => ({ section: 'inclusion' as const, index, text })),
    ...parsed.exclusion.map((text, index) => ({ section: 'exclusion' as const, index, text })),
  ];
  let attributed = all;
  if (all.length > maxStatements) {
    // Keep the first statements of each section, in proportion.
    const incN = Math.min(parsed.inclusion.length, Math.max(Math.floor(maxStatements / 2), maxStatements - parsed.exclusion.length));
    const excN = Math.min(parsed.exclusion.length, maxStatements - incN);
    attributed = all.filter((s) => (s.section === 'inclusion' ? s.index < incN : s.index < excN));
    notes.push(`${all.length} statements; the first ${incN} inclusion and ${excN} exclusion statements were attributed`);
  }
  const rebuilt = criteriaText(parsed);
  if (!sameStatements(parseCriteria(rebuilt), parsed)) notes.push('the rebuilt criteria text does not parse back to the same statements; deltas are approximate');
  const variants = attributed.map((s) =>
    criteriaText({
      inclusion: s.section === 'inclusion' ? parsed.inclusion.filter((_, i) => i !== s.index) : parsed.inclusion,
      exclusion: s.section === 'exclusion' ? parsed.exclusion.filter((_, i) => i !== s.index) : parsed.exclusion,
    }),
  );
  // The original text (the prediction), the rebuilt text (the reference) and the first statement variants in one
  // encoder call; further variants are encoded and scored in chunks below, so that their hidden states (~2.4 MB
  // each at 1,022 tokens) are not all held at once: one 120-statement explanation grew the process by ~400 MB
  // that it never gave back (measured).
  const [original, reference, ...firstVariants] = (await model.encoder.encodeMany([t.criteria, rebuilt, ...variants.slice(0, EXPLAIN_CHUNK)])).map(roundLikeCache);

  const dm = trialDm(model, input);
  // Placebo-like entries are dropped by the features anyway: leaving them out changes nothing.
  const maxItems = options.maxItems ?? Infinity;
  const allDrugs = [...new Set(dropPlacebo(t.drugs))];
  const drugs = allDrugs.slice(0, maxItems);
  if (drugs.length < allDrugs.length) notes.push(`${allDrugs.length} drugs; the first ${drugs.length} were attributed`);
  const drugVariants = drugs.map((drug) => {
    const removed = structuresOf(model, input, drug);
    const keptDrugs = t.drugs.filter((d) => d !== drug);
    // A structure another remaining drug also has stays.
    const stillOwned = new Set(keptDrugs.flatMap((d) => structuresOf(model, input, d)));
    const drop = removed.filter((s) => !stillOwned.has(s));
    const without: Trial = { ...t, drugs: keptDrugs, smiles: t.smiles.filter((s) => !drop.includes(s.trim())) };
    return { drug, drop, trial: without, dm: trialDm(model, { ...input, trial: without }) };
  });
  if (t.diseases.length > maxItems) notes.push(`${t.diseases.length} diseases; the first ${maxItems} were attributed`);
  const diseaseVariants = t.diseases.slice(0, maxItems).map((disease, i) => {
    const without: Trial = { ...t, diseases: t.diseases.filter((_, j) => j !== i), icdcodes: t.icdcodes.filter((_, j) => j !== i) };
    return { disease, codes: t.icdcodes[i] ?? [], trial: without, dm: trialDm(model, { ...input, trial: without }) };
  });
  if (t.icdcodes.length > t.diseases.length) notes.push(`${t.icdcodes.length - t.diseases.length} ICD-10 code lists have no disease name and were not attributed`);

  // The same trial variants for the lexical level: drug and disease variants keep the rebuilt criteria text.
  const offsets = lexicalOffsets(model, [
    t,
    { ...t, criteria: rebuilt },
    ...drugVariants.map((v) => ({ ...v.trial, criteria: rebuilt })),
    ...diseaseVariants.map((v) => ({ ...v.trial, criteria: rebuilt })),
  ]);
  const statementOffsets = lexicalOffsets(model, variants.map((criteria) => ({ ...t, criteria })));
  const deepInput = (x: TrialInput, offset: number | undefined): TrialInput => ({ ...x, dm: deepDm(model, x.dm), offset });
  const inputs: TrialInput[] = [
    { criteria: original, dm },
    { criteria: reference, dm },
    ...drugVariants.map((v) => ({ criteria: reference, dm: v.dm })),
    ...diseaseVariants.map((v) => ({ criteria: reference, dm: v.dm })),
  ].map((x, i) => deepInput(x, offsets[i]));
  const scored = await model.score(inputs);
  const withoutStatementRaw: number[] = [...(await model.score(firstVariants.map((criteria, j) => deepInput({ criteria, dm }, statementOffsets[j]))))];
  for (let s = EXPLAIN_CHUNK; s < variants.length; s += EXPLAIN_CHUNK) {
    const chunk = (await model.encoder.encodeMany(variants.slice(s, s + EXPLAIN_CHUNK))).map(roundLikeCache);
    withoutStatementRaw.push(...(await model.score(chunk.map((criteria, j) => deepInput({ criteria, dm }, statementOffsets[s + j])))));
  }
  // Raw probabilities in the order read below: all, reference, statements, drugs, diseases.
  const raw = [scored[0], scored[1], ...withoutStatementRaw, ...scored.slice(2)];
  const prediction = buildPrediction(model, input, original, dm, raw[0], offsets[0]);
  // Deltas on the probability the user sees.
  const p = model.calibration ? raw.map((x) => applyCalibration(model.calibration!, x)) : raw;
  const ref = p[1];
  if (Math.abs(ref - p[0]) > 1e-6) notes.push(`the criteria rebuilt from the statements score ${ref.toFixed(4)} (the original text ${p[0].toFixed(4)}); deltas are relative to the rebuilt text`);
  let k = 2;
  const statements: StatementAttribution[] = attributed.map((s) => {
    const without = p[k++];
    return { ...s, delta: ref - without, without };
  });
  const drugAttr: ItemAttribution[] = drugVariants.map((v) => {
    const without = p[k++];
    return { name: v.drug, with: v.drop, delta: ref - without, without };
  });
  const diseaseAttr: ItemAttribution[] = diseaseVariants.map((v) => {
    const without = p[k++];
    return { name: v.disease, with: v.codes, delta: ref - without, without };
  });
  const top = options.top ?? 5;
  const byDelta = [...statements].sort((a, b) => b.delta - a.delta);
  return {
    prediction,
    reference: ref,
    statements,
    drugs: drugAttr,
    diseases: diseaseAttr,
    topPositive: byDelta.filter((s) => s.delta > 0).slice(0, top),
    topNegative: byDelta.filter((s) => s.delta < 0).reverse().slice(0, top),
    notes,
  };
}
