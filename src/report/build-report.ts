/**
 * `cladmop report`: reads a run directory, computes the report model, renders the figures and writes
 *   DIR/report.html   self-contained (figures inlined as base64 PNGs)
 *   DIR/report.md     Markdown with figures linked from DIR/report/
 *   DIR/report/*.png
 * Every file is written atomically (temporary name, then rename), PNGs first so that report.md never links
 * an image that is not there yet.
 */
import path from 'node:path';
import { writeFileAtomic } from '../runtime/atomic-write.ts';
import { renderHtml } from './html.ts';
import { renderMarkdown } from './markdown.ts';
import { calibrationSpec, prSpec, rocSpec, trainingSpec } from './plots.ts';
import { renderPng } from './render-png.ts';
import { computeReportModel, type ReportModel } from './report-model.ts';
import { readRunDir } from './run-dir.ts';
import { reportSections, trainingFigureId, type FigureRef } from './sections.ts';
import type { TopLevelSpec } from 'vega-lite';

export interface BuildReportOptions {
  runDir: string;
  /** TOP data directory for the per-disease-group tables (default resolveDataDir()). */
  dataDir?: string;
  /** Seed of the curve bands (default: the run's seed, else 2023). */
  seed?: number;
  /** Resamples of the curve bands (default 200). */
  curveResamples?: number;
  /** PNG width in pixels (default 800). */
  imageWidth?: number;
  /** File name of the Markdown report in runDir (default report.md; `reproduce` keeps report.md for its own). */
  markdownName?: string;
}

export interface BuiltReport {
  model: ReportModel;
  htmlPath: string;
  markdownPath: string;
  /** Absolute paths of the PNGs written. */
  imagePaths: string[];
}

export const IMAGE_DIR = 'report';

interface Figure extends FigureRef {
  spec: TopLevelSpec;
}

function figuresOf(model: ReportModel): Figure[] {
  const figures: Figure[] = [];
  const s = model.summary;
  if (model.curves) {
    const c = model.curves;
    figures.push({
      id: 'roc',
      alt: 'ROC curve with bootstrap band',
      caption: `ROC curve of the test predictions (ROC-AUC ${s.metrics.rocAuc.point?.toFixed(3)}), 95% bootstrap band, chance diagonal.`,
      spec: rocSpec(c.roc, { band: c.bands.roc, value: s.metrics.rocAuc.point ?? Number.NaN, ci: c.rocAucCi, n: s.n, resamples: c.bands.resamples }),
    });
    figures.push({
      id: 'pr',
      alt: 'Precision-recall curve with bootstrap band',
      caption: `Precision–recall curve (PR-AUC ${s.metrics.prAuc.point?.toFixed(3)}), 95% bootstrap band, prevalence line ${s.prevalence.toFixed(3)}.`,
      spec: prSpec(c.pr, s.prevalence, { band: c.bands.pr, value: s.metrics.prAuc.point ?? Number.NaN, ci: c.prAucCi, n: s.n, resamples: c.bands.resamples }),
    });
  }
  figures.push({
    id: 'calibration',
    alt: 'Calibration diagram',
    caption: `Reliability diagram, ${model.calibration.bins.length} equal-width bins, with the number of trials per bin below.`,
    spec: calibrationSpec(model.calibration, s.n),
  });
  for (const curve of model.training) {
    figures.push({
      id: trainingFigureId(curve.name),
      alt: `Training curves: ${curve.name}`,
      caption: `Training log "${curve.name}": ${curve.metrics.join(', ')} against ${curve.xName}.`,
      spec: trainingSpec(curve),
    });
  }
  return figures;
}

export async function buildReport(options: BuildReportOptions): Promise<BuiltReport> {
  const runDir = path.resolve(options.runDir);
  const run = readRunDir(runDir);
  const model = computeReportModel(run, { dataDir: options.dataDir, seed: options.seed, curveResamples: options.curveResamples });
  const figures = figuresOf(model);

  const images = new Map<string, Uint8Array>();
  const imagePaths: string[] = [];
  for (const f of figures) {
    const png = await renderPng(f.spec, { width: options.imageWidth });
    images.set(f.id, png);
    const file = path.join(runDir, IMAGE_DIR, `${f.id}.png`);
    writeFileAtomic(file, png);
    imagePaths.push(file);
  }

  const blocks = reportSections(model, figures);
  const title = `cladmop report — ${model.phase ? `phase ${model.phase}` : 'run'}${model.model ? ` ${model.model}` : ''}`;
  const htmlPath = path.join(runDir, 'report.html');
  const markdownPath = path.join(runDir, options.markdownName ?? 'report.md');
  writeFileAtomic(markdownPath, renderMarkdown(blocks, { imagePath: (id) => `${IMAGE_DIR}/${id}.png` }));
  writeFileAtomic(htmlPath, renderHtml(blocks, { title, images }));
  return { model, htmlPath, markdownPath, imagePaths };
}
