/**
 * A trained model ready to predict: the saved bundle (weights, ICD vocabulary, config), the criteria encoder it
 * was trained on, the molecule featuriser, and jitted forward passes kept for the life of the model.
 *
 * The encoder is the model's input: a bundle is refused unless the encoder's id equals the one recorded in the
 * bundle (`config.encoder.id`), because another encoder's hidden states mean nothing to the trained weights.
 */
import { sha256Hex } from '../runtime/hash.ts';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { tree } from '@jax-js/jax';
import { BundleError, loadBundle, type BundleConfig } from '../model/bundle.ts';
import type { CriteriaEncoder } from '../features/criteria-encoder.ts';
import { EmbeddingCache } from '../features/embedding-cache.ts';
import { IcdVocabulary, type DmFeatureOptions } from '../features/dm-features.ts';
import { MoleculeFeaturizer } from '../features/molecule.ts';
import type { TrialInput } from '../features/trial-batch.ts';
import { loadDrugTable, type DrugTable } from '../data/drug-table.ts';
import { PACKAGE_ROOT as REPO_ROOT, resolveDataDir } from '../settings.ts';
import type { BenchmarkPhase } from '../data/trial.ts';
import { calibrationProblem, type Calibration } from './calibration.ts';
import { OnnxScorer } from './onnx-scorer.ts';
import { LexicalModel } from '../model/lexical.ts';
import type { TextLevel } from '../model/forest-level.ts';
import { initJax } from '../runtime/jax-init.ts';

export { BundleError };

/** What a prediction says about the model that made it; also `GET /v1/models`. */
export interface ModelInfo {
  /** sha256 of the bundle's config.json (which itself pins every weight file by sha256). */
  id: string;
  /** cladmop version that trained the bundle. */
  codeVersion: string;
  /** Benchmark phase the model was trained on. */
  phase: BenchmarkPhase;
  encoder: { id: string; name: string };
  /** "platt" / "isotonic" when the bundle carries a calibration fitted on valid, else "none". */
  calibration: 'platt' | 'isotonic' | 'none';
  createdAt: string;
  /** The bundle's recorded metrics (valid PR-AUC, test metrics), as saved. */
  metrics: Record<string, unknown>;
  /** Whether the bundle came from a quick (`--quick`) run. */
  quick: boolean;
  /** 'cladmop', or a TF-IDF baseline saved as a model: 'tfidf-lr' (logistic regression), 'tfidf-rf' (random forest). */
  kind: 'cladmop' | 'tfidf-lr' | 'tfidf-rf';
  /** Ensemble members (fine-tuning seeds) whose probabilities are averaged (0 for tfidf-lr). */
  members: number;
  /** Whether the model scores the trial's words: the [ours] lexical level (model/lexical.ts), or a saved TF-IDF baseline. */
  lexical: boolean;
}

export interface LoadModelOptions {
  /** Criteria encoder to use instead of loading `config.encoder.spec` (its id must still match the bundle's). */
  encoder?: CriteriaEncoder;
  /** TOP data directory with aux/drugs and aux/icd (ClinicalTrials.gov records and drug attribution need it). */
  dataDir?: string;
  /**
   * Embedding cache for criteria texts: a directory, `true` for the default cache (`CLADMOP_CACHE` or
   * .cache/embeddings), or `false` (default) for none.
   */
  cache?: string | boolean;
  /**
   * Trials per onnxruntime run (default 1). With 1, a trial's probability is bit-for-bit the same whatever else
   * is predicted with it (library, CLI and HTTP agree exactly); larger batches pad to their longest trial and
   * agree to ~1e-6 (see predict/onnx-scorer.ts).
   */
  batchSize?: number;
}

export interface Model {
  readonly dir: string;
  readonly config: BundleConfig;
  readonly info: ModelInfo;
  readonly encoder: CriteriaEncoder;
  readonly calibration: Calibration | null;
  readonly featurizer: MoleculeFeaturizer;
  readonly icd: IcdVocabulary;
  readonly dm: DmFeatureOptions;
  readonly dataDir: string;
  readonly cache: EmbeddingCache | null;
  /** The drug table of `dataDir`, or null when the directory lacks it (loaded on first use). */
  drugTable(): DrugTable | null;
  /**
   * The lexical level (null when the model has none): `predict` and `explain` put its logit in `TrialInput.offset`.
   */
  readonly lexical: TextLevel | null;
  /**
   * Raw success probabilities (before calibration) of prepared inputs: the mean over the ensemble members of
   * sigmoid(member logit + input.offset). Calls are serialised: one forward pass at a time. Replaceable (tests
   * inject a deterministic scorer).
   */
  score: (inputs: TrialInput[]) => Promise<Float64Array>;
  /** Releases the weights and compiled programs. */
  dispose(): void;
}


/**
 * Resolves an encoder spec recorded in a bundle. `lm:DIR` or `onnx:DIR` with a relative DIR was relative to the directory the
 * model was trained from; try the current directory, then the repository root.
 */
export function resolveEncoderSpec(spec: string): string {
  const m = /^(lm|onnx):(.+)$/.exec(spec);
  if (!m) return spec;
  const dir = m[2];
  if (path.isAbsolute(dir) || existsSync(path.resolve(dir))) return spec;
  const fromRoot = path.resolve(REPO_ROOT, dir);
  return existsSync(fromRoot) ? `${m[1]}:${fromRoot}` : spec;
}

const PHASES = new Set(['I', 'II', 'III']);

/** Loads a saved model bundle and its criteria encoder. Throws BundleError (bad bundle) or Error (encoder). */
export async function loadModel(dir: string, options: LoadModelOptions = {}): Promise<Model> {
  await initJax();
  const bundleDir = path.resolve(dir);
  const bundle = loadBundle(bundleDir);
  const { config } = bundle;
  const release = () => tree.dispose([bundle.params, bundle.lora]);
  try {
    if (!PHASES.has(config.phase)) throw new BundleError(`${bundleDir}: config.json phase is ${JSON.stringify(config.phase)}, expected "I", "II" or "III"`);
    const problem = calibrationProblem(config.calibration);
    if (problem) throw new BundleError(`${bundleDir}: config.json ${problem}`);
    if (!config.encoder?.id) throw new BundleError(`${bundleDir}: config.json has no encoder id`);
  } catch (err) {
    release();
    throw err;
  }
  let encoder: CriteriaEncoder;
  try {
    encoder = options.encoder ?? (await (await import('../features/encoder-spec.ts')).loadEncoder(resolveEncoderSpec(config.encoder.spec)));
  } catch (err) {
    release();
    throw new Error(`cannot load the criteria encoder of ${bundleDir} (spec ${JSON.stringify(config.encoder.spec)}): ${(err as Error).message}`);
  }
  if (encoder.id !== config.encoder.id) {
    release();
    throw new Error(
      `criteria encoder mismatch: ${bundleDir} was trained on encoder ${config.encoder.id} ("${config.encoder.name}"), ` +
        `but the encoder given has id ${encoder.id} ("${encoder.name}"). Its outputs would mean nothing to this model; ` +
        `use the encoder the bundle names (spec ${JSON.stringify(config.encoder.spec)}).`,
    );
  }
  if ((config.kind ?? 'cladmop') === 'cladmop' && encoder.dim !== config.architecture.dEncoder) {
    release();
    throw new Error(`criteria encoder width ${encoder.dim} != the model's dEncoder ${config.architecture.dEncoder}`);
  }
  const dataDir = resolveDataDir(options.dataDir);
  let drugTable: DrugTable | null | undefined;
  const getDrugTable = (): DrugTable | null => {
    if (drugTable === undefined) {
      try {
        drugTable = loadDrugTable(dataDir);
        drugTable.lookup('aspirin'); // forces the table files to be read now
      } catch {
        drugTable = null;
      }
    }
    return drugTable;
  };
  const moleculeSource = config.dmFeatures.moleculeSource;
  if (moleculeSource === 'names' && !getDrugTable()) {
    release();
    throw new Error(`${bundleDir} derives molecules from drug names, which needs the drug table in ${dataDir}/aux/drugs (pass dataDir / --data)`);
  }
  const dm: DmFeatureOptions = {
    moleculeSource,
    nameBuckets: config.dmFeatures.nameBuckets,
    lookupSmiles: moleculeSource === 'names' ? (name) => getDrugTable()?.lookup(name)?.smiles : undefined,
  };
  let cache: EmbeddingCache | null = null;
  if (options.cache) {
    const { defaultCacheDir } = await import('../features/encoder-spec.ts');
    // Best effort: an unusable cache directory costs speed (one warning), never the prediction.
    cache = new EmbeddingCache(options.cache === true ? defaultCacheDir() : path.resolve(options.cache), encoder.id, { bestEffort: true });
  }
  const configBytes = readFileSync(path.join(bundleDir, 'config.json'));
  const training = (config.training ?? {}) as Record<string, unknown>;
  const info: ModelInfo = {
    id: sha256Hex(configBytes),
    codeVersion: config.codeVersion,
    phase: config.phase as BenchmarkPhase,
    encoder: { id: config.encoder.id, name: config.encoder.name },
    calibration: (config.calibration?.method as 'platt' | 'isotonic' | undefined) ?? 'none',
    createdAt: config.createdAt,
    metrics: config.metrics ?? {},
    quick: training.quick === true,
    kind: config.kind ?? 'cladmop',
    members: bundle.members.length,
    lexical: bundle.lexical !== null || bundle.forest !== null,
  };
  let lexical: TextLevel | null = bundle.forest;
  try {
    if (bundle.lexical) lexical = LexicalModel.fromState(bundle.lexical);
  } catch (err) {
    release();
    throw new BundleError(`${bundleDir}: ${(err as Error).message}`);
  }
  // Prediction runs the classifier in onnxruntime (predict/onnx-scorer.ts); the jax-js trees only validated
  // the weights against the architecture.
  release();
  // One ONNX graph for the whole ensemble: the members share the frozen grouping blocks (see onnx-export.ts).
  let scorer: OnnxScorer | null = null;
  if (bundle.members.length > 0) {
    try {
      scorer = await OnnxScorer.create(config.architecture, bundle.onnx.tensors, config.maxCriteria, { batchSize: options.batchSize, members: bundle.onnx.members });
    } catch (err) {
      throw new BundleError(`${bundleDir}: ${(err as Error).message}`);
    }
  }
  // A tfidf-lr bundle is its lexical level alone.
  const score = scorer ? (inputs: TrialInput[]) => scorer.score(inputs) : async (inputs: TrialInput[]) => Float64Array.from(inputs, (x) => 1 / (1 + Math.exp(-(x.offset ?? 0))));
  const model: Model = {
    dir: bundleDir,
    config,
    info,
    encoder,
    calibration: (config.calibration as Calibration | undefined) ?? null,
    featurizer: await MoleculeFeaturizer.create(),
    icd: IcdVocabulary.fromEntries(bundle.icdVocabulary),
    dm,
    dataDir,
    cache,
    drugTable: getDrugTable,
    lexical,
    score,
    dispose: () => void scorer?.dispose(),
  };
  return model;
}
