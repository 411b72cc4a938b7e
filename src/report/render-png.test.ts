import { test } from 'node:test';
import assert from 'node:assert/strict';
import { calibration } from './calibration.ts';
import { calibrationSpec } from './plots.ts';
import { renderPng, specToSvg } from './render-png.ts';
import { estimateTextWidth } from './text-metrics.ts';

test('text widths follow DejaVu Sans advances, wider for bold', () => {
  // "0.5" = 0.636 + 0.318 + 0.636 em.
  assert.ok(Math.abs(estimateTextWidth('0.5', 10) - 15.9) < 1e-9);
  assert.ok(estimateTextWidth('Wm', 10) > estimateTextWidth('il', 10) * 2);
  assert.ok(estimateTextWidth('ROC', 12, 'bold') > estimateTextWidth('ROC', 12));
  assert.ok(estimateTextWidth('ROC', 12, 700) > estimateTextWidth('ROC', 12));
});

test('a figure is as wide as its plot and legend, not stretched by estimated title widths', async () => {
  const labels = [1, 0, 1, 1, 0, 0, 1, 0];
  const scores = [0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2];
  const spec = calibrationSpec(calibration(labels, scores), labels.length);
  const svg = await specToSvg(spec);
  const width = Number(/<svg[^>]*\swidth="([\d.]+)"/.exec(svg)?.[1]);
  // Plot 520 + y axis + legend + padding is about 690; vega's default estimate of 0.8 em per character
  // sized the long subtitle lines to 843, leaving a blank strip on the right of the PNG.
  assert.ok(width > 640 && width < 740, `SVG width ${width}`);
  const png = await renderPng(spec, { width: 400 });
  assert.deepEqual([...png.subarray(1, 4)], [0x50, 0x4e, 0x47]);
  assert.equal(Buffer.from(png).readUInt32BE(16), 400);
});
