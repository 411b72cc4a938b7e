/**
 * cladmop as a library: predict the success of clinical trials with a saved CLaDMoP model.
 *
 * ```ts
 * import { loadModel, predict, explain, parseCtgovJson, settings } from 'cladmop';
 *
 * const models = await ModelRouter.load();                         // the shipped models/phase-I, -II, -III (settings.modelsDir)
 * const { trials } = parseCtgovJson(studyJsonText, { dataDir: settings.dataDir }); // ClinicalTrials.gov API v2 -> Trial + report
 * const [p] = await models.predict(trials);                        // each trial by its phase's model
 * const e = await models.explain(trials[0]);                       // leave-one-out deltas per criterion, drug, disease
 * models.dispose();
 * ```
 *
 * - `loadModel(dir)` loads one bundle; `predict(model, inputs)` / `explain(model, input)` use it for every trial.
 *
 * - `loadModel(dir, { encoder?, dataDir?, cache? })` refuses a corrupted bundle (BundleError) and an encoder
 *   whose id differs from the one the bundle was trained on.
 * - `predict(model, inputs)` takes `Trial`s or `{ trial, report }` (as the readers return them); one entry per
 *   input, in order; trials outside phases I–III get `status: "refused"` with the reason.
 * - `explain(model, input)` attributes one prediction to its inputs (see predict/explain.ts).
 * - `evaluate(predictions, truth)` scores predictions against outcomes (bootstrap, all-positive reference).
 * - Calibration: `fitPlatt` / `fitIsotonic` on valid predictions, `applyCalibration`; a bundle's
 *   `config.calibration` ({ method: "platt", a, b } or { method: "isotonic", x, y }) is applied by `predict`.
 * - `settings` holds every path and default (data, default models, criteria LM, caches, threads), read from
 *   options, then assignments, then CLADMOP_* environment variables; see settings.ts.
 */

// First, before anything imports @jax-js/jax: the Node 20 shim it needs (navigator, Worker, iterator helpers,
// Float16Array). Importing it here lets plain `node` import the package without `--import`.
import './runtime/node20-shim.mjs';

// Paths and defaults
export { settings, Settings, resolveDataDir, isInstalledPackage, PACKAGE_ROOT, VERSION, type SettingValues, type DefaultModelPhase } from './settings.ts';

// Prediction
export { loadModel, BundleError, type LoadModelOptions, type Model, type ModelInfo } from './predict/model.ts';
export { ModelRouter, routePhase, defaultModelsDir } from './predict/router.ts';
export { LexicalModel, type LexicalState, type LexicalTerm } from './model/lexical.ts';
export { predict, type Prediction, type PredictOptions, type InputsUsed, type MissingInputs } from './predict/predict.ts';
export { explain, type Explanation, type ExplainOptions, type StatementAttribution, type ItemAttribution } from './predict/explain.ts';
export { fitPlatt, fitIsotonic, applyCalibration, type Calibration, type PlattCalibration, type IsotonicCalibration } from './predict/calibration.ts';

// Readers
export {
  readInputFile,
  parseJsonRecord,
  parseTopRecord,
  formatInputError,
  type PredictInput,
  type InputLike,
  type InputError,
  type InputFormat,
} from './predict/inputs.ts';
export { readTopCsv, parseTopCsv, formatRowError, type RowError, type TopCsvResult, type TopCsvOptions } from './data/top-csv.ts';
export { parseCtgovJson, parseCtgovValue, formatRecordError, type CtgovReport, type CtgovParseResult, type CtgovTrialResult, type RecordError } from './data/ctgov.ts';
export { parseCriteria, type CriteriaStatements } from './data/criteria.ts';
export { benchmarkPhasesOf, type Trial, type LabelledTrial, type OutcomeLabel, type BenchmarkPhase } from './data/trial.ts';

// Evaluation
export {
  evaluatePredictions as evaluate,
  readPredictionsCsv,
  readTruthCsv,
  formatReportTable,
  type EvaluateOptions,
  type EvaluationReport,
  type PredictionTable,
  type TruthTable,
} from './eval/evaluate.ts';

// Serving
export { buildServer, startServer, type ServerOptions, type RunningServer } from './serve/server.ts';

// Encoders (for injecting your own; its id must match the bundle's)
export type { CriteriaEncoder, EncodedCriteria } from './features/criteria-encoder.ts';
