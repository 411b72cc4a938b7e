/** Prediction on real trials: load a saved model, predict, explain, calibrate. */
export { loadModel, resolveEncoderSpec, BundleError, type LoadModelOptions, type Model, type ModelInfo } from './model.ts';
export { ModelRouter, routePhase, defaultModelsDir, BENCHMARK_PHASES } from './router.ts';
export { predict, refusalOf, type InputsUsed, type MissingInputs, type Prediction, type PredictOptions } from './predict.ts';
export { explain, criteriaText, type ExplainOptions, type Explanation, type ItemAttribution, type StatementAttribution } from './explain.ts';
export {
  applyCalibration,
  calibrationProblem,
  fitIsotonic,
  fitPlatt,
  type Calibration,
  type IsotonicCalibration,
  type PlattCalibration,
} from './calibration.ts';
export {
  detectFormat,
  formatInputError,
  isCtgovValue,
  parseJsonRecord,
  parseTopRecord,
  readInputFile,
  toPredictInput,
  type InputError,
  type InputFormat,
  type InputItem,
  type InputLike,
  type PredictInput,
} from './inputs.ts';
