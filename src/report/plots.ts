/**
 * Vega-Lite specs of the report's figures. Pure functions of the report's numbers; rendering is in
 * render-png.ts. Every figure says in its subtitle what its band, bars or reference line are, because a
 * PNG travels without the text around it.
 */
import type { TopLevelSpec } from 'vega-lite';
import type { Calibration } from './calibration.ts';
import type { CurveBand } from './curve-bands.ts';
import type { PrPoint, RocPoint } from './curves.ts';
import type { TrainingCurve } from './training-log.ts';

const SCHEMA = 'https://vega.github.io/schema/vega-lite/v6.json';
const MODEL_COLOUR = '#1f5fa8';
const BAND_COLOUR = '#7fa8d8';
const REFERENCE_COLOUR = '#888888';

/** Font list first names fonts common on Linux, macOS and Windows; resvg uses the first one it has. */
const CONFIG = {
  font: 'DejaVu Sans, Helvetica, Arial, sans-serif',
  background: 'white',
  // Room around the chart: text widths are estimated (text-metrics.ts), so a legend at the edge needs slack.
  padding: 12,
  view: { stroke: '#cccccc' },
  axis: { labelFontSize: 12, titleFontSize: 13, grid: true, gridColor: '#eeeeee' },
  title: { fontSize: 15, subtitleFontSize: 11.5, subtitleColor: '#555555', anchor: 'start' as const },
  legend: { labelFontSize: 12, titleFontSize: 12 },
};

const fmt = (x: number) => x.toFixed(3);

export interface CurvePlotInput {
  band: CurveBand;
  /** The metric of the full data and its bootstrap interval from the same resamples as the band. */
  value: number;
  ci: [number, number] | null;
  n: number;
  resamples: number;
}

function bandRows(band: CurveBand, x: string): Record<string, number>[] {
  return band.grid
    .map((g, i) => ({ [x]: g, lower: band.lower[i], upper: band.upper[i] }))
    .filter((r) => Number.isFinite(r.lower) && Number.isFinite(r.upper));
}

function subtitle(input: CurvePlotInput, metric: string, reference: string): string[] {
  const ci = input.ci ? ` (95% bootstrap interval ${fmt(input.ci[0])}–${fmt(input.ci[1])})` : '';
  return [
    `${metric} ${fmt(input.value)}${ci}, n = ${input.n}`,
    `Shaded: 2.5–97.5 percentile band of ${input.band.definedResamples} of ${input.resamples} bootstrap resamples`,
    `Dashed: ${reference}`,
  ];
}

export function rocSpec(points: readonly RocPoint[], input: CurvePlotInput): TopLevelSpec {
  const x = { field: 'fpr', type: 'quantitative' as const, title: 'False positive rate (1 − specificity)', scale: { domain: [0, 1] } };
  const y = { type: 'quantitative' as const, title: 'True positive rate (recall)', scale: { domain: [0, 1] } };
  return {
    $schema: SCHEMA,
    config: CONFIG,
    width: 520,
    height: 420,
    title: { text: 'ROC curve (test set)', subtitle: subtitle(input, 'ROC-AUC', 'chance (diagonal)') },
    layer: [
      {
        data: { values: bandRows(input.band, 'fpr') },
        mark: { type: 'area', color: BAND_COLOUR, opacity: 0.45 },
        encoding: { x, y: { ...y, field: 'lower' }, y2: { field: 'upper' } },
      },
      {
        data: { values: [{ fpr: 0, tpr: 0 }, { fpr: 1, tpr: 1 }] },
        mark: { type: 'line', color: REFERENCE_COLOUR, strokeDash: [6, 4], strokeWidth: 1.5 },
        encoding: { x, y: { ...y, field: 'tpr' } },
      },
      {
        data: { values: points.map((p, order) => ({ fpr: p.fpr, tpr: p.tpr, order })) },
        mark: { type: 'line', color: MODEL_COLOUR, strokeWidth: 2.5 },
        // Explicit order: vega-lite would otherwise sort by x and scramble vertical segments.
        encoding: { x, y: { ...y, field: 'tpr' }, order: { field: 'order', type: 'quantitative' } },
      },
    ],
  };
}

/**
 * The PR curve as the step function of average precision: precision P_k holds on (R_{k−1}, R_k]
 * ("step-before" from point k−1 to k). Points where recall does not grow do not enter average precision
 * and are dropped; a (0, P_1) start extends the first step to recall 0.
 */
export function prSpec(points: readonly PrPoint[], prevalence: number, input: CurvePlotInput): TopLevelSpec {
  const rising = points.filter((p, i) => p.recall > (i === 0 ? 0 : points[i - 1].recall));
  const line = rising.length > 0 ? [{ recall: 0, precision: rising[0].precision }, ...rising] : [];
  const x = { field: 'recall', type: 'quantitative' as const, title: 'Recall (true positive rate)', scale: { domain: [0, 1] } };
  const y = { type: 'quantitative' as const, title: 'Precision', scale: { domain: [0, 1] } };
  return {
    $schema: SCHEMA,
    config: CONFIG,
    width: 520,
    height: 420,
    title: {
      text: 'Precision–recall curve (test set)',
      subtitle: subtitle(input, 'PR-AUC (average precision)', `prevalence ${fmt(prevalence)} = chance level of PR-AUC`),
    },
    layer: [
      {
        data: { values: bandRows(input.band, 'recall') },
        mark: { type: 'area', color: BAND_COLOUR, opacity: 0.45 },
        encoding: { x, y: { ...y, field: 'lower' }, y2: { field: 'upper' } },
      },
      {
        data: { values: [{ recall: 0, precision: prevalence }, { recall: 1, precision: prevalence }] },
        mark: { type: 'line', color: REFERENCE_COLOUR, strokeDash: [6, 4], strokeWidth: 1.5 },
        encoding: { x, y: { ...y, field: 'precision' } },
      },
      {
        data: { values: line.map((p, order) => ({ recall: p.recall, precision: p.precision, order })) },
        mark: { type: 'line', color: MODEL_COLOUR, strokeWidth: 2.5, interpolate: 'step-before' },
        encoding: { x, y: { ...y, field: 'precision' }, order: { field: 'order', type: 'quantitative' } },
      },
    ],
  };
}

export function calibrationSpec(cal: Calibration, n: number): TopLevelSpec {
  const filled = cal.bins.filter((b) => b.count > 0);
  const x = { type: 'quantitative' as const, scale: { domain: [0, 1] } };
  return {
    $schema: SCHEMA,
    config: CONFIG,
    title: {
      text: 'Calibration (test set)',
      subtitle: [
        `Brier ${fmt(cal.brier)}, ECE ${fmt(cal.ece)} (${cal.bins.length} equal-width bins), n = ${n}`,
        'Points: observed success rate against mean predicted probability per bin, sized by count;',
        'whiskers: 95% Wilson interval of the observed rate; dashed: perfect calibration',
      ],
    },
    vconcat: [
      {
        width: 520,
        height: 380,
        layer: [
          {
            data: { values: [{ p: 0, o: 0 }, { p: 1, o: 1 }] },
            mark: { type: 'line', color: REFERENCE_COLOUR, strokeDash: [6, 4], strokeWidth: 1.5 },
            encoding: { x: { ...x, field: 'p', title: null }, y: { field: 'o', type: 'quantitative', scale: { domain: [0, 1] } } },
          },
          {
            data: { values: filled },
            layer: [
              {
                mark: { type: 'rule', color: MODEL_COLOUR, strokeWidth: 1.5 },
                encoding: {
                  x: { ...x, field: 'meanPredicted', title: null },
                  y: { field: 'observedLow', type: 'quantitative', title: 'Observed success rate', scale: { domain: [0, 1] } },
                  y2: { field: 'observedHigh' },
                },
              },
              {
                mark: { type: 'line', color: MODEL_COLOUR, strokeWidth: 2, point: false },
                encoding: {
                  x: { ...x, field: 'meanPredicted', title: null },
                  y: { field: 'observedRate', type: 'quantitative' },
                },
              },
              {
                mark: { type: 'circle', color: MODEL_COLOUR, opacity: 0.9 },
                encoding: {
                  x: { ...x, field: 'meanPredicted', title: null },
                  y: { field: 'observedRate', type: 'quantitative' },
                  // Area proportional to count (the scale keeps zero); the legend lists round counts, not 0.
                  size: {
                    field: 'count',
                    type: 'quantitative',
                    title: 'trials in bin',
                    scale: { range: [30, 600] },
                    legend: { values: legendValues(Math.max(...filled.map((b) => b.count))) },
                  },
                },
              },
            ],
          },
        ],
      },
      {
        width: 520,
        height: 110,
        data: { values: cal.bins },
        layer: [
          {
            mark: { type: 'bar', color: BAND_COLOUR, stroke: 'white', strokeWidth: 1 },
            encoding: {
              // "binned" makes x..x2 a histogram bin, so bars rise from zero (a plain x2 makes a ranged
              // horizontal bar one pixel high).
              x: { ...x, field: 'lower', bin: { binned: true, step: 1 / cal.bins.length }, title: 'Predicted success probability' },
              x2: { field: 'upper' },
              y: { field: 'count', type: 'quantitative', title: 'Trials' },
            },
          },
          {
            transform: [{ filter: 'datum.count > 0' }, { calculate: '(datum.lower + datum.upper) / 2', as: 'mid' }],
            mark: { type: 'text', dy: -7, fontSize: 11, color: '#333333' },
            encoding: {
              x: { field: 'mid', type: 'quantitative' },
              y: { field: 'count', type: 'quantitative' },
              text: { field: 'count', type: 'quantitative' },
            },
          },
        ],
      },
    ],
  };
}

/**
 * Up to five round legend values (multiples of 1, 2 or 5 × 10^k) up to `max`, e.g. 50, 100, 150, 200 for 221.
 */
export function legendValues(max: number): number[] {
  if (!(max >= 1)) return [1];
  for (let power = 1; ; power *= 10) {
    for (const unit of [1, 2, 5]) {
      const step = unit * power;
      if (max / step <= 5) return Array.from({ length: Math.floor(max / step) }, (_, i) => (i + 1) * step);
    }
  }
}

/** Human-readable metric names: "validPrAuc" -> "valid PR-AUC". */
export function metricTitle(name: string): string {
  return name
    .split(/(?=[A-Z])/)
    .map((word) => word.toLowerCase())
    .join(' ')
    .replace(/\bpr auc\b/g, 'PR-AUC')
    .replace(/\broc auc\b/g, 'ROC-AUC');
}

/** One panel per metric (independent y scales: losses and AUCs do not share a range), x = epoch or step. */
export function trainingSpec(curve: TrainingCurve): TopLevelSpec {
  const rows = curve.points.map((p) => ({ ...p, metricTitle: metricTitle(p.metric) }));
  return {
    $schema: SCHEMA,
    config: CONFIG,
    title: { text: `Training curves: ${curve.name}`, subtitle: `${curve.metrics.length} series against ${curve.xName}` },
    data: { values: rows },
    columns: Math.min(2, curve.metrics.length),
    facet: { field: 'metricTitle', type: 'nominal', title: null, sort: curve.metrics.map(metricTitle), header: { labelFontSize: 13 } },
    spec: {
      width: curve.metrics.length > 1 ? 250 : 520,
      height: 170,
      mark: { type: 'line', color: MODEL_COLOUR, strokeWidth: 2, point: { size: 25 } },
      encoding: {
        // Steps run into the thousands: fewer ticks, and overlapping labels dropped (the flush-aligned last
        // label otherwise runs into its neighbour, e.g. "3,6004,000").
        x: { field: 'x', type: 'quantitative', title: curve.xName, axis: { tickCount: 8, labelOverlap: true } },
        y: { field: 'value', type: 'quantitative', title: null, scale: { zero: false } },
      },
    },
    resolve: { scale: { y: 'independent' } },
  };
}
