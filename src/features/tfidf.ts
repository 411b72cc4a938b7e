/**
 * TF-IDF features of a trial: eligibility-criteria words and word bigrams, drug names and ICD-10 codes.
 *
 * This is the feature set of the "practitioner" baselines (logistic regression, random forest) that CLaDMoP is
 * compared with. The vectoriser reproduces scikit-learn's `TfidfVectorizer` arithmetic so that numbers can be
 * checked against an sklearn run: token pattern `\b\w\w+\b` on lower-cased text, raw or sublinear term
 * frequency, smoothed idf `ln((1 + n) / (1 + df)) + 1`, rows scaled to unit L2 norm, `min_df` / `max_df`
 * filtering before the `max_features` cut (most frequent terms over the corpus), alphabetical vocabulary.
 *
 * Statistics (vocabulary, df, idf) come only from the documents passed to `fit`; callers fit on training rows
 * and only `transform` validation/test rows, so nothing about held-out trials leaks into the features.
 */
import type { Trial } from '../data/trial.ts';
import { parseCriteria } from '../data/criteria.ts';
import type { CsrMatrix } from './sparse.ts';

// ---------------------------------------------------------------------------------------------------------
// Tokenisation

/**
 * sklearn's default `token_pattern` is `(?u)\b\w\w+\b`: maximal runs of word characters of length >= 2
 * (single characters such as "a" or the "5" of "5 mg" are dropped). Python's `\w` on str is Unicode letters,
 * digits and underscore, hence the property classes.
 */
const WORD_RUN = /[\p{L}\p{N}_]{2,}/gu;

/** Lower-cased word tokens of `text`, sklearn style (maximal runs of >= 2 word characters). */
export function wordTokens(text: string): string[] {
  // A greedy run of >= 2 word characters is exactly a `\b\w\w+\b` match: runs of length 1 never match, longer
  // runs are consumed whole, so the boundaries are implied.
  return Array.from(text.toLowerCase().matchAll(WORD_RUN), (m) => m[0]);
}

/** Contiguous n-grams of `tokens` for n in [minN, maxN], joined by a single space (sklearn's convention). */
export function wordNgrams(tokens: readonly string[], minN: number, maxN: number): string[] {
  if (!Number.isInteger(minN) || !Number.isInteger(maxN) || minN < 1 || maxN < minN) {
    throw new RangeError(`invalid n-gram range [${minN}, ${maxN}]`);
  }
  const out: string[] = [];
  // sklearn emits all unigrams first, then all bigrams, ...; order does not change counts but keeps debugging
  // output comparable.
  for (let n = minN; n <= maxN; n++) {
    for (let i = 0; i + n <= tokens.length; i++) out.push(n === 1 ? tokens[i] : tokens.slice(i, i + n).join(' '));
  }
  return out;
}

export interface TrialTokenOptions {
  /** Largest criteria n-gram (1 = unigrams only, 2 = unigrams + bigrams). */
  criteriaMaxN: number;
  /**
   * How drug names become tokens: `words` = each word of each name as `drug:<word>`; `names` = each whole
   * (normalised) name as `drug:<name>`; `both` = both. Whole names alone generalise poorly: TOP names are
   * often free text such as "imatinib mesylate, cyclophosphamide (dosing level 1 )".
   */
  drugTokens: 'words' | 'names' | 'both';
  /** Add `icd:<category>` (first three characters, e.g. `icd:c50`) next to each full code. */
  icdCategories: boolean;
  /** Also add disease-name words as `dx:<word>` (off by default: the benchmark recipe uses criteria, drugs, ICD). */
  diseaseWords: boolean;
}

export const DEFAULT_TRIAL_TOKEN_OPTIONS: TrialTokenOptions = {
  criteriaMaxN: 2,
  drugTokens: 'both',
  icdCategories: true,
  diseaseWords: false,
};

/** Normalised whole drug name: lower case, inner whitespace collapsed, trimmed. */
export function normaliseDrugName(name: string): string {
  return name.toLowerCase().replace(/\s+/g, ' ').trim();
}

/**
 * The token list ("document") of one trial. Criteria n-grams are formed inside each inclusion/exclusion
 * statement (from `parseCriteria`), so no bigram spans two bullets or a section header. Prefixed tokens
 * (`drug:`, `icd:`, `dx:`) cannot collide with criteria tokens because `:` is not a word character.
 */
export function trialTokens(trial: Trial, options: Partial<TrialTokenOptions> = {}): string[] {
  const o: TrialTokenOptions = { ...DEFAULT_TRIAL_TOKEN_OPTIONS, ...options };
  const tokens: string[] = [];
  const { inclusion, exclusion } = parseCriteria(trial.criteria ?? '');
  for (const statement of [...inclusion, ...exclusion]) tokens.push(...wordNgrams(wordTokens(statement), 1, o.criteriaMaxN));

  for (const raw of trial.drugs) {
    const name = normaliseDrugName(raw);
    if (!name) continue;
    const words = wordTokens(name);
    if (o.drugTokens !== 'names') for (const w of words) tokens.push(`drug:${w}`);
    // A one-word name is already present as its word token under `both`; adding it again would double its tf.
    const sameAsWord = o.drugTokens === 'both' && words.length === 1 && words[0] === name;
    if (o.drugTokens !== 'words' && !sameAsWord) tokens.push(`drug:${name}`);
  }

  for (const codes of trial.icdcodes) {
    for (const raw of codes) {
      const code = raw.trim().toLowerCase();
      if (!code) continue;
      tokens.push(`icd:${code}`);
      const category = code.replace(/\..*$/, '').slice(0, 3);
      if (o.icdCategories && category.length === 3 && category !== code) tokens.push(`icd:${category}`);
    }
  }

  if (o.diseaseWords) for (const d of trial.diseases) for (const w of wordTokens(d)) tokens.push(`dx:${w}`);
  return tokens;
}

// ---------------------------------------------------------------------------------------------------------
// Vectoriser

export interface TfidfOptions {
  /** Keep terms occurring in at least this many fitted documents (sklearn `min_df` as an int). */
  minDf: number;
  /** Drop terms occurring in more than this share of fitted documents (sklearn `max_df` as a float). */
  maxDfRatio: number;
  /** Keep only the `maxFeatures` terms with the largest total count over the fitted corpus; null = all. */
  maxFeatures: number | null;
  /** tf -> 1 + ln(tf) (sklearn `sublinear_tf`). */
  sublinearTf: boolean;
  /** idf = ln((1+n)/(1+df)) + 1 when true (sklearn default), ln(n/df) + 1 otherwise. */
  smoothIdf: boolean;
  /** Scale each row to unit Euclidean norm. */
  l2Normalise: boolean;
}

export const DEFAULT_TFIDF_OPTIONS: TfidfOptions = {
  minDf: 2,
  maxDfRatio: 1,
  maxFeatures: 20000,
  sublinearTf: true,
  smoothIdf: true,
  l2Normalise: true,
};

/** Everything `transform` needs; plain data so it can be stored in JSON next to a model. */
export interface TfidfState {
  options: TfidfOptions;
  /** Terms in column order (alphabetical, as sklearn's `get_feature_names_out`). */
  vocabulary: string[];
  idf: number[];
  /** Document frequency of each kept term in the fitted corpus. */
  df: number[];
  /** Number of documents `fit` saw. */
  nDocuments: number;
}

export class TfidfVectorizer {
  readonly options: TfidfOptions;
  private state: TfidfState | null = null;
  private index: Map<string, number> = new Map();

  constructor(options: Partial<TfidfOptions> = {}) {
    this.options = { ...DEFAULT_TFIDF_OPTIONS, ...options };
    const o = this.options;
    if (!Number.isInteger(o.minDf) || o.minDf < 1) throw new RangeError(`minDf must be an integer >= 1, got ${o.minDf}`);
    if (!(o.maxDfRatio > 0 && o.maxDfRatio <= 1)) throw new RangeError(`maxDfRatio must be in (0, 1], got ${o.maxDfRatio}`);
    if (o.maxFeatures !== null && (!Number.isInteger(o.maxFeatures) || o.maxFeatures < 1)) {
      throw new RangeError(`maxFeatures must be a positive integer or null, got ${o.maxFeatures}`);
    }
  }

  static fromState(state: TfidfState): TfidfVectorizer {
    const v = new TfidfVectorizer(state.options);
    v.setState(state);
    return v;
  }

  get fitted(): boolean {
    return this.state !== null;
  }

  get vocabulary(): readonly string[] {
    return this.requireState().vocabulary;
  }

  get idf(): readonly number[] {
    return this.requireState().idf;
  }

  toState(): TfidfState {
    const s = this.requireState();
    return { ...s, options: { ...s.options }, vocabulary: [...s.vocabulary], idf: [...s.idf], df: [...s.df] };
  }

  /** Learns vocabulary and idf from `docs` (token lists). */
  fit(docs: ReadonlyArray<readonly string[]>): this {
    const o = this.options;
    const n = docs.length;
    if (n === 0) throw new RangeError('cannot fit TF-IDF on zero documents');
    const df = new Map<string, number>();
    const total = new Map<string, number>();
    for (const doc of docs) {
      const seen = new Set<string>();
      for (const t of doc) {
        total.set(t, (total.get(t) ?? 0) + 1);
        if (!seen.has(t)) {
          seen.add(t);
          df.set(t, (df.get(t) ?? 0) + 1);
        }
      }
    }
    const maxDocCount = o.maxDfRatio * n;
    let kept = [...df.entries()].filter(([, d]) => d >= o.minDf && d <= maxDocCount).map(([t]) => t);
    if (kept.length === 0) {
      throw new RangeError(`no term left after min_df=${o.minDf} / max_df=${o.maxDfRatio} on ${n} documents`);
    }
    if (o.maxFeatures !== null && kept.length > o.maxFeatures) {
      // Most frequent over the corpus first; ties by term so the cut does not depend on Map insertion order.
      kept.sort((a, b) => total.get(b)! - total.get(a)! || compareTerms(a, b));
      kept = kept.slice(0, o.maxFeatures);
    }
    kept.sort(compareTerms);
    const dfs = kept.map((t) => df.get(t)!);
    const idf = dfs.map((d) => (o.smoothIdf ? Math.log((1 + n) / (1 + d)) + 1 : Math.log(n / d) + 1));
    this.setState({ options: { ...o }, vocabulary: kept, idf, df: dfs, nDocuments: n });
    return this;
  }

  /** TF-IDF rows of `docs` with the fitted vocabulary; unknown terms are ignored (rows may be all zero). */
  transform(docs: ReadonlyArray<readonly string[]>): CsrMatrix {
    const s = this.requireState();
    const o = s.options;
    const cols = s.vocabulary.length;
    const indptr = new Int32Array(docs.length + 1);
    const indicesChunks: Int32Array[] = [];
    const dataChunks: Float64Array[] = [];
    let nnz = 0;
    docs.forEach((doc, i) => {
      const counts = new Map<number, number>();
      for (const t of doc) {
        const j = this.index.get(t);
        if (j !== undefined) counts.set(j, (counts.get(j) ?? 0) + 1);
      }
      const cols_ = Int32Array.from([...counts.keys()].sort((a, b) => a - b));
      const vals = new Float64Array(cols_.length);
      let sq = 0;
      for (let k = 0; k < cols_.length; k++) {
        const tf = counts.get(cols_[k])!;
        const v = (o.sublinearTf ? 1 + Math.log(tf) : tf) * s.idf[cols_[k]];
        vals[k] = v;
        sq += v * v;
      }
      if (o.l2Normalise && sq > 0) {
        const inv = 1 / Math.sqrt(sq);
        for (let k = 0; k < vals.length; k++) vals[k] *= inv;
      }
      indicesChunks.push(cols_);
      dataChunks.push(vals);
      nnz += cols_.length;
      indptr[i + 1] = nnz;
    });
    const indices = new Int32Array(nnz);
    const data = new Float64Array(nnz);
    let k = 0;
    for (let i = 0; i < indicesChunks.length; i++) {
      indices.set(indicesChunks[i], k);
      data.set(dataChunks[i], k);
      k += indicesChunks[i].length;
    }
    return { rows: docs.length, cols, indptr, indices, data };
  }

  fitTransform(docs: ReadonlyArray<readonly string[]>): CsrMatrix {
    return this.fit(docs).transform(docs);
  }

  private setState(state: TfidfState): void {
    if (state.idf.length !== state.vocabulary.length) throw new RangeError('idf and vocabulary lengths differ');
    this.state = state;
    this.index = new Map(state.vocabulary.map((t, j) => [t, j]));
  }

  private requireState(): TfidfState {
    if (!this.state) throw new Error('TfidfVectorizer is not fitted');
    return this.state;
  }
}

/** Code-point order (Python's str order), so the vocabulary order matches sklearn even beyond the BMP. */
export function compareTerms(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; ) {
    const ca = a.codePointAt(i)!;
    const cb = b.codePointAt(i)!;
    if (ca !== cb) return ca - cb;
    i += ca > 0xffff ? 2 : 1;
  }
  return a.length - b.length;
}

// ---------------------------------------------------------------------------------------------------------
// Trials -> matrix

export interface TrialTfidfOptions {
  tokens: Partial<TrialTokenOptions>;
  tfidf: Partial<TfidfOptions>;
}

/** A vectoriser bound to the trial tokeniser: `fit` on training trials, `transform` any trials. */
export class TrialTfidf {
  readonly tokenOptions: TrialTokenOptions;
  readonly vectorizer: TfidfVectorizer;

  constructor(options: Partial<TrialTfidfOptions> = {}) {
    this.tokenOptions = { ...DEFAULT_TRIAL_TOKEN_OPTIONS, ...(options.tokens ?? {}) };
    this.vectorizer = new TfidfVectorizer(options.tfidf ?? {});
  }

  documents(trials: readonly Trial[]): string[][] {
    return trials.map((t) => trialTokens(t, this.tokenOptions));
  }

  fit(trials: readonly Trial[]): this {
    this.vectorizer.fit(this.documents(trials));
    return this;
  }

  transform(trials: readonly Trial[]): CsrMatrix {
    return this.vectorizer.transform(this.documents(trials));
  }

  fitTransform(trials: readonly Trial[]): CsrMatrix {
    const docs = this.documents(trials);
    return this.vectorizer.fit(docs).transform(docs);
  }
}
