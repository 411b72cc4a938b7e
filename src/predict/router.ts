/**
 * Phase routing: one model per benchmark phase (the shipped defaults are `models/phase-I`, `-II`, `-III`), each
 * trial scored by the model of its phase.
 *
 * TOP puts a "phase 1/phase 2" trial in both the phase I and the phase II benchmark (and "phase 2/phase 3" in II
 * and III). We route such a trial to the later phase's model: its success is judged on the later phase's
 * endpoints (a phase 1/2 dose-escalation-plus-expansion study succeeds when its phase 2 part does). The
 * prediction says which model scored it (`phase.model`) and warns that the trial also belongs to the earlier one.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { benchmarkPhasesOf, type BenchmarkPhase } from '../data/trial.ts';
import { settings } from '../settings.ts';
import { explain, type ExplainOptions, type Explanation } from './explain.ts';
import { toPredictInput, type InputLike } from './inputs.ts';
import { loadModel, type LoadModelOptions, type Model } from './model.ts';
import { predict, refusedPrediction, type Prediction, type PredictOptions } from './predict.ts';

export const BENCHMARK_PHASES: readonly BenchmarkPhase[] = ['I', 'II', 'III'];

/** Directory of the default models (`phase-I`, `phase-II`, `phase-III` bundles): settings.modelsDir. */
export function defaultModelsDir(): string {
  return settings.modelsDir;
}

/** The benchmark phase whose model scores a trial of this phase text (the latest of its phases), or null. */
export function routePhase(phaseText: string): BenchmarkPhase | null {
  const phases = benchmarkPhasesOf(phaseText);
  return phases.length === 0 ? null : phases[phases.length - 1];
}

/** The encoder id a bundle records, or null when its config cannot be read (loadModel then says why). */
function encoderIdOf(bundle: string): string | null {
  try {
    return (JSON.parse(readFileSync(path.join(bundle, 'config.json'), 'utf8')) as { encoder?: { id?: string } }).encoder?.id ?? null;
  } catch {
    return null;
  }
}

/** Models by phase; a trial goes to the model of `routePhase`. */
export class ModelRouter {
  /** `only`: one model that scores every trial, whatever its phase (`--model DIR`). */
  private constructor(
    readonly models: Partial<Record<BenchmarkPhase, Model>>,
    private readonly only: Model | null = null,
  ) {
    if (Object.keys(models).length === 0) throw new Error('a model router needs at least one model');
  }

  /** Routes by phase over the given models. */
  static of(models: Partial<Record<BenchmarkPhase, Model>>): ModelRouter {
    return new ModelRouter(models);
  }

  /** One model for every trial (no routing: a trial of another phase gets that model's phase warning). */
  static single(model: Model): ModelRouter {
    return new ModelRouter({ [model.info.phase]: model }, model);
  }

  /** Loads `phase-I`, `phase-II` and `phase-III` from `dir` (default: the shipped models); at least one must exist. */
  static async load(dir = defaultModelsDir(), options: LoadModelOptions = {}): Promise<ModelRouter> {
    const models: Partial<Record<BenchmarkPhase, Model>> = {};
    // The bundles name the same criteria encoder: it is loaded once and shared (the others would be copies).
    let shared = options.encoder;
    for (const phase of BENCHMARK_PHASES) {
      const bundle = path.join(dir, `phase-${phase}`); // settings.defaultModelDir(phase) for the default dir
      if (!existsSync(path.join(bundle, 'config.json'))) continue;
      const recorded = encoderIdOf(bundle);
      const model = await loadModel(bundle, { ...options, encoder: shared && shared.id === recorded ? shared : options.encoder });
      shared ??= model.encoder;
      models[phase] = model;
    }
    if (Object.keys(models).length === 0) {
      throw new Error(`no default models in ${dir} (expected phase-I, phase-II, phase-III bundles; set CLADMOP_MODELS or pass --model DIR)`);
    }
    return ModelRouter.of(models);
  }

  /** Whether trials are routed by phase (false: one model for every trial). */
  get routes(): boolean {
    return this.only === null;
  }

  /** Any loaded model (for refusals and shared settings such as the encoder). */
  get any(): Model {
    return Object.values(this.models)[0]!;
  }

  /** The model that scores a trial of this phase text: its phase's, else null. */
  modelFor(phaseText: string): Model | null {
    if (this.only) return this.only;
    const phase = routePhase(phaseText);
    return phase ? (this.models[phase] ?? null) : null;
  }

  /** Predictions in input order, each from its phase's model; a phase without a model gets a refusal. */
  async predict(inputs: InputLike[], options: PredictOptions = {}): Promise<Prediction[]> {
    const items = inputs.map(toPredictInput);
    const out: Prediction[] = new Array(items.length);
    const groups = new Map<Model, number[]>();
    items.forEach((input, i) => {
      const phase = routePhase(input.trial.phase);
      // A trial outside phases I-III goes to any model, whose own refusal says why.
      const model = this.modelFor(input.trial.phase) ?? (phase ? null : this.any);
      if (!model) {
        out[i] = refusedPrediction(this.any, input, `no phase ${phase} model is loaded (loaded: ${Object.keys(this.models).join(', ')})`);
        return;
      }
      const group = groups.get(model);
      if (group) group.push(i);
      else groups.set(model, [i]);
    });
    let done = items.length - [...groups.values()].reduce((s, g) => s + g.length, 0);
    for (const [model, idx] of groups) {
      const before = done;
      const preds = await predict(model, idx.map((i) => items[i]), { ...options, onProgress: (d) => options.onProgress?.(before + d, items.length) });
      idx.forEach((i, k) => (out[i] = this.only ? preds[k] : annotate(preds[k])));
      done += idx.length;
    }
    return out;
  }

  /** Leave-one-out explanation of one trial with its phase's model. */
  async explain(input: InputLike, options: ExplainOptions = {}): Promise<Explanation> {
    const item = toPredictInput(input);
    const model = this.modelFor(item.trial.phase) ?? this.any;
    const e = await explain(model, item, options);
    return this.only ? e : { ...e, prediction: annotate(e.prediction) };
  }

  dispose(): void {
    for (const m of Object.values(this.models)) m?.dispose();
  }
}

/** Replaces the single-model phase warning by the routing note for trials TOP puts in two phases. */
function annotate(p: Prediction): Prediction {
  if (p.status !== 'ok' || p.phase.trialPhases.length < 2) return p;
  const others = p.phase.trialPhases.filter((x) => x !== p.phase.model);
  const warnings = p.warnings.filter((w) => !/but this model was trained on phase/.test(w));
  warnings.push(`trial is ${p.phase.trialPhases.map((x) => `phase ${x}`).join('/')} ("${p.phase.trial}"): scored by the phase ${p.phase.model} model (the later phase); TOP also lists it under phase ${others.join(', ')}`);
  return { ...p, warnings };
}
