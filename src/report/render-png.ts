/**
 * Vega-Lite spec -> SVG (vega's headless renderer) -> PNG (resvg), without a browser or a canvas package.
 *
 * Text is laid out by vega with estimated glyph widths and drawn by resvg with the system's fonts; the
 * specs name common sans-serif families first (see plots.ts), and resvg falls back to the first system font
 * when none is installed.
 */
import { Resvg } from '@resvg/resvg-js';
import * as vega from 'vega';
import * as vegaLite from 'vega-lite';
import { installTextMetrics } from './text-metrics.ts';

export interface RenderOptions {
  /** Width of the PNG in pixels; the SVG is scaled to it (default 800). */
  width?: number;
}

export async function specToSvg(spec: vegaLite.TopLevelSpec): Promise<string> {
  installTextMetrics();
  const view = new vega.View(vega.parse(vegaLite.compile(spec).spec), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    // Releases the dataflow's timers and listeners so a long CLI run does not keep them alive.
    view.finalize();
  }
}

export async function renderPng(spec: vegaLite.TopLevelSpec, options: RenderOptions = {}): Promise<Uint8Array> {
  const svg = await specToSvg(spec);
  const resvg = new Resvg(svg, {
    fitTo: { mode: 'width', value: options.width ?? 800 },
    font: { loadSystemFonts: true },
  });
  return resvg.render().asPng();
}
