/**
 * The report as a list of format-neutral blocks (headings, paragraphs, tables, figures, warnings), built
 * once from the report model; html.ts and markdown.ts only translate blocks, so the two documents carry the
 * same sections, numbers and wording.
 */
import { METRIC_LABELS, METRIC_NAMES, type MetricName } from '../eval/metric-names.ts';
import { cell, interval, MISSING, meanStd, num, pct } from './format.ts';
import type { GroupTable } from './groups.ts';
import type { ReportModel } from './report-model.ts';

export interface Column {
  title: string;
  align: 'left' | 'right';
}

export type Block =
  | { kind: 'heading'; level: 1 | 2 | 3; text: string }
  | { kind: 'paragraph'; text: string }
  | { kind: 'warnings'; title: string; items: string[] }
  | { kind: 'list'; items: string[] }
  | { kind: 'table'; columns: Column[]; rows: string[][]; emphasise?: number[] }
  | { kind: 'figure'; id: string; alt: string; caption: string };

/** A rendered figure: its id names the PNG file (report/<id>.png). */
export interface FigureRef {
  id: string;
  alt: string;
  caption: string;
}

/** A file-name-safe figure id for a training curve name such as "finetune/phase I". */
export function trainingFigureId(name: string): string {
  return `training-${name.replace(/[^A-Za-z0-9_-]+/g, '_')}`;
}

/** A split's note, marked [PARTIAL] unless its own text already says so (describeSplit does). */
function partialLabel(note: { partial: boolean; text: string }): string {
  const text = note.text || MISSING;
  return note.partial && !/partial/i.test(text) ? `[PARTIAL] ${text}` : text;
}

const L = (title: string): Column => ({ title, align: 'left' });
const R = (title: string): Column => ({ title, align: 'right' });

const ALL_POSITIVE: Partial<Record<MetricName, 'f1' | 'prAuc' | 'rocAuc' | 'precision' | 'recall' | 'accuracy'>> = {
  f1: 'f1',
  prAuc: 'prAuc',
  rocAuc: 'rocAuc',
  precision: 'precision',
  recall: 'recall',
  accuracy: 'accuracy',
};

function groupBlocks(title: string, table: GroupTable, total: number): Block[] {
  const rows = table.rows.map((r) => [
    r.title,
    String(r.n),
    String(r.positives),
    pct(r.prevalence),
    num(r.prAuc),
    num(r.rocAuc),
    num(r.accuracy),
  ]);
  const footnote =
    `${table.rows.length} groups with at least ${table.minSize} trials shown; ${table.smallGroups} smaller groups omitted; ` +
    `${table.ungrouped} of ${total} trials have no code in any group.`;
  return [
    { kind: 'heading', level: 3, text: title },
    rows.length > 0
      ? {
          kind: 'table',
          columns: [L('group'), R('trials'), R('successes'), R('prevalence'), R('PR-AUC'), R('ROC-AUC'), R('accuracy @0.5')],
          rows,
        }
      : { kind: 'paragraph', text: 'No group reaches the minimum size.' },
    { kind: 'paragraph', text: footnote },
  ];
}

export function reportSections(model: ReportModel, figures: readonly FigureRef[]): Block[] {
  const s = model.summary;
  const figure = (id: string): Block[] => figures.filter((f) => f.id === id).map((f) => ({ kind: 'figure', ...f }));
  const blocks: Block[] = [];
  const what = [model.phase ? `phase ${model.phase}` : null, model.model ? `model ${model.model}` : null].filter(Boolean).join(', ');
  blocks.push({ kind: 'heading', level: 1, text: `Evaluation report${what ? `: ${what}` : ''}` });
  blocks.push({ kind: 'paragraph', text: `Run directory: ${model.runDir}` });
  if (model.warnings.length > 0) blocks.push({ kind: 'warnings', title: 'Read first', items: model.warnings });

  // 1. Summary of the phase.
  blocks.push({ kind: 'heading', level: 2, text: 'Summary' });
  const testNote = model.splitNotes.find((n) => n.split === 'test');
  blocks.push({
    kind: 'table',
    columns: [L('phase'), R('test trials'), R('successes'), R('prevalence'), L('test split')],
    rows: [[model.phase ?? MISSING, String(s.n), String(s.positives), pct(s.prevalence), testNote ? partialLabel(testNote) : MISSING]],
  });
  blocks.push({
    kind: 'table',
    columns: [L('metric'), R('full test set'), R('bootstrap mean ± std'), R('95% interval'), R('all-positive reference')],
    rows: METRIC_NAMES.map((name) => {
      const m = s.metrics[name];
      const ref = ALL_POSITIVE[name];
      return [METRIC_LABELS[name], num(m.point), meanStd(m.mean, m.std), interval(m.ci95), ref ? num(s.allPositive[ref]) : MISSING];
    }),
  });
  blocks.push({
    kind: 'paragraph',
    text:
      `Bootstrap: ${s.bootstrap.resamples} resamples of ${Math.round(s.bootstrap.fraction * 100)}% of the test set with replacement, seed ${s.bootstrap.seed} ` +
      `(the TOP papers' protocol; the spread describes test-set sampling, not training seeds). F1, precision, recall and accuracy use "success iff p ≥ 0.5".`,
  });

  // 2. Comparison.
  blocks.push({ kind: 'heading', level: 2, text: 'Comparison' });
  blocks.push({
    kind: 'table',
    columns: [L('method'), R('F1'), R('PR-AUC'), R('ROC-AUC'), L('source')],
    rows: model.comparison.map((c) => [c.method, cell(c.f1), cell(c.prAuc), cell(c.rocAuc), c.source || MISSING]),
    emphasise: [2, 3],
  });
  const published = model.comparison.filter((c) => c.kind === 'published').length;
  blocks.push({
    kind: 'paragraph',
    text:
      `PR-AUC and ROC-AUC decide. With ${pct(s.prevalence)} of test trials succeeding, predicting success for every trial already scores ` +
      `F1 ${num(s.allPositive.f1)} and PR-AUC ${num(s.allPositive.prAuc)}, so an F1 near that says little; a model must beat the reference's ` +
      `PR-AUC (= prevalence) and ROC-AUC (0.5) to show it ranks trials at all.` +
      (published === 0 ? ' metrics.json has no comparison section, so no published numbers are shown.' : ''),
  });

  // 3. Curves.
  blocks.push({ kind: 'heading', level: 2, text: 'ROC and precision–recall curves' });
  if (model.curves) {
    blocks.push(...figure('roc'), ...figure('pr'));
    const b = model.curves.bands;
    blocks.push({
      kind: 'paragraph',
      text:
        `Bands: ${b.resamples} full-size bootstrap resamples (seed ${b.seed}); each resample's curve is read at 101 grid points ` +
        `(TPR at fixed FPR, linear between ROC points; precision at fixed recall, step-wise as average precision counts it), ` +
        `and the band is the 2.5–97.5 percentile range per grid point. ROC-AUC ${num(s.metrics.rocAuc.point)} ` +
        `(interval ${interval(model.curves.rocAucCi)}), PR-AUC ${num(s.metrics.prAuc.point)} (interval ${interval(model.curves.prAucCi)}) ` +
        `from the same resamples. The PR curve is drawn as the step function whose area is the reported PR-AUC.`,
    });
  } else {
    blocks.push({ kind: 'paragraph', text: 'Not drawn: the test predictions hold a single class.' });
  }

  // 4. Calibration.
  blocks.push({ kind: 'heading', level: 2, text: 'Calibration' });
  blocks.push(...figure('calibration'));
  const cal = model.calibration;
  blocks.push({
    kind: 'table',
    columns: [L('predicted probability'), R('trials'), R('successes'), R('mean predicted'), R('observed rate'), R('95% interval')],
    rows: cal.bins.map((b, i) => [
      `${b.lower.toFixed(1)}–${b.upper.toFixed(1)}${i === cal.bins.length - 1 ? ' (incl. 1)' : ''}`,
      String(b.count),
      String(b.positives),
      num(b.meanPredicted),
      num(b.observedRate),
      b.observedLow === null || b.observedHigh === null ? MISSING : interval([b.observedLow, b.observedHigh]),
    ]),
  });
  blocks.push({
    kind: 'paragraph',
    text:
      `Brier score ${num(cal.brier, 4)} (the all-positive reference scores ${num(1 - s.prevalence, 4)}); ` +
      `ECE ${num(cal.ece, 4)}: the trial-weighted mean gap between observed rate and mean prediction over these ${cal.bins.length} equal-width bins. ` +
      `Intervals are 95% Wilson intervals of each bin's observed rate.`,
  });

  // 5. Thresholds.
  blocks.push({ kind: 'heading', level: 2, text: 'Decision thresholds' });
  blocks.push({
    kind: 'table',
    columns: [R('threshold'), L('source'), R('precision'), R('recall'), R('F1'), R('accuracy'), R('predicted success rate')],
    rows: model.thresholds.rows.map((r) => [
      r.threshold.toFixed(r.source.startsWith('grid') ? 1 : 4),
      r.source,
      num(r.precision),
      num(r.recall),
      num(r.f1),
      num(r.accuracy),
      pct(r.predictedPositiveRate),
    ]),
  });
  blocks.push({
    kind: 'paragraph',
    text:
      `A trial is predicted to succeed iff p ≥ threshold. Precision is "—" where no trial is predicted to succeed.` +
      (model.thresholds.chosenOnValid
        ? ` The valid threshold maximises F1 on predictions_valid.csv (ties go to the higher threshold); it was not tuned on the test set.`
        : ' No predictions_valid.csv in the run, so no threshold chosen on valid is shown.'),
  });

  // 6. Disease groups.
  blocks.push({ kind: 'heading', level: 2, text: 'Disease groups' });
  if (model.groups) {
    const g = model.groups;
    blocks.push({
      kind: 'paragraph',
      text:
        `ICD-10 codes from the phase ${model.phase} test split (${g.splitNote}), joined by nctid (${g.matched} of ${s.n} predictions matched). ` +
        (g.codes === 'primary'
          ? 'A trial joins the group of the first (best-matching) code of each of its diseases; '
          : 'A trial joins the group of every code it lists; ') +
        `a trial with diseases in several groups is counted in each. PR-AUC and ROC-AUC need both outcomes in a group. ` +
        `Compare each group's PR-AUC with its own prevalence, its chance level.`,
    });
    blocks.push(...groupBlocks('By ICD-10 chapter', g.chapters, g.matched));
    if (g.ccsr) blocks.push(...groupBlocks('By CCSR body system (TOP’s icd2ccsr table)', g.ccsr, g.matched));
    else blocks.push({ kind: 'paragraph', text: 'CCSR table (aux/icd/icd2ccsr.txt) not found in the data directory: body-system table omitted.' });
  } else {
    blocks.push({ kind: 'paragraph', text: 'Omitted (see "Read first").' });
  }

  // 7. Training curves, only when the run logged them.
  if (model.training.length > 0) {
    blocks.push({ kind: 'heading', level: 2, text: 'Training curves' });
    for (const curve of model.training) blocks.push(...figure(trainingFigureId(curve.name)));
  }

  // 8. Splits.
  if (model.splitNotes.length > 0) {
    blocks.push({ kind: 'heading', level: 2, text: 'Splits' });
    blocks.push({
      kind: 'list',
      items: model.splitNotes.map((n) => `${n.split}: ${partialLabel(n)}`),
    });
  }
  return blocks;
}
