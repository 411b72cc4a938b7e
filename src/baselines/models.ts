/**
 * The two baseline model families behind one interface, with their hyper-parameter grids.
 *
 * Grids are small on purpose: they are what a practitioner would try with sklearn's `GridSearchCV`, and every
 * candidate costs five fits. LR: C in {0.01, 0.1, 1, 10}. Forest: max_features in {sqrt, log2} x
 * min_samples_leaf in {1, 3, 5} with 300 trees (more trees change the averages very little and cost linearly).
 */
import type { CsrMatrix } from '../features/sparse.ts';
import { fitLogisticRegression, predictLogisticRegression, type LogisticRegressionModel } from './logistic-regression.ts';
import {
  describeMaxFeatures,
  fitRandomForest,
  predictRandomForest,
  type ForestProgress,
  type MaxFeatures,
  type RandomForestModel,
} from './random-forest.ts';

export type BaselineModelName = 'lr' | 'forest';
export const BASELINE_MODELS: readonly BaselineModelName[] = ['lr', 'forest'];

export interface LrParams {
  C: number;
}

export interface ForestParams {
  nEstimators: number;
  maxFeatures: MaxFeatures;
  minSamplesLeaf: number;
}

export type BaselineParams = LrParams | ForestParams;

export const DEFAULT_LR_GRID: readonly LrParams[] = [0.01, 0.1, 1, 10].map((C) => ({ C }));

export const DEFAULT_FOREST_GRID: readonly ForestParams[] = (['sqrt', 'log2'] as const).flatMap((maxFeatures) =>
  [1, 3, 5].map((minSamplesLeaf) => ({ nEstimators: 300, maxFeatures, minSamplesLeaf })),
);

/** A fitted model of either family plus what metrics.json should say about the fit. */
export interface FittedBaseline {
  predict(x: CsrMatrix): Float64Array;
  /** Solver / forest facts worth recording (convergence, iterations, tree sizes). */
  report: Record<string, unknown>;
  model: LogisticRegressionModel | RandomForestModel;
}

export function fitBaseline(
  kind: BaselineModelName,
  params: BaselineParams,
  x: CsrMatrix,
  y: ArrayLike<number>,
  random: () => number,
  onTree?: (p: ForestProgress) => void,
): FittedBaseline {
  if (kind === 'lr') {
    const { C } = params as LrParams;
    const model = fitLogisticRegression(x, y, { C });
    return {
      model,
      predict: (xt) => predictLogisticRegression(model, xt),
      report: { ...model.fit, nonZeroWeights: model.weights.reduce((s, w) => s + (w !== 0 ? 1 : 0), 0) },
    };
  }
  const p = params as ForestParams;
  const model = fitRandomForest(x, y, { nEstimators: p.nEstimators, maxFeatures: p.maxFeatures, minSamplesLeaf: p.minSamplesLeaf }, random, onTree);
  const nodes = model.trees.map((t) => t.feature.length);
  return {
    model,
    predict: (xt) => predictRandomForest(model, xt),
    report: {
      mtry: model.mtry,
      trees: model.trees.length,
      meanNodesPerTree: nodes.reduce((s, v) => s + v, 0) / nodes.length,
    },
  };
}

/** Plain JSON form of a parameter set (MaxFeatures objects are kept, strings stay strings). */
export function describeParams(kind: BaselineModelName, params: BaselineParams): string {
  if (kind === 'lr') return `C=${(params as LrParams).C}`;
  const p = params as ForestParams;
  return `trees=${p.nEstimators} max_features=${describeMaxFeatures(p.maxFeatures)} min_samples_leaf=${p.minSamplesLeaf}`;
}

export function defaultGrid(kind: BaselineModelName): readonly BaselineParams[] {
  return kind === 'lr' ? DEFAULT_LR_GRID : DEFAULT_FOREST_GRID;
}
