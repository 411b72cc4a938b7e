/**
 * The web page in a real browser: Debian's chromium driven by playwright-core. Starts the service on
 * 127.0.0.1:0 with a tiny bundle and a fake encoder, predicts a bundled example and a pasted API v2 record,
 * checks the probability, the highlighted statements and that the page makes no request to another origin,
 * and leaves a screenshot in the temp directory.
 *
 * Without chromium the test fails in CI (CI=true; .ci/run installs it) and is skipped elsewhere.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { resolveDataDir } from '../data/splits.ts';
import { loadModel, type Model } from '../predict/model.ts';
import { FakeEncoder, sampleStudy, writeTinyBundle } from '../predict/testing/fixtures.ts';
import { startServer, type RunningServer } from './server.ts';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const inCi = !!process.env.CI && process.env.CI !== 'false' && process.env.CI !== '0';
const haveChromium = existsSync(CHROMIUM);
const skip = !haveChromium && !inCi ? `chromium not found at ${CHROMIUM} (apt-get install chromium, or set CHROMIUM_PATH); browser test skipped outside CI` : false;
if (skip) process.stderr.write(`page.browser.test: ${skip}\n`);

// Functions run in the page (playwright serialises them; the page's CSP forbids evaluating strings there). This
// project type-checks without the DOM library, hence these loose declarations.
declare const document: any;
declare function getComputedStyle(element: unknown): { backgroundColor: string };

export const SCREENSHOT = path.join(os.tmpdir(), 'cladmop-page.png');

const encoder = new FakeEncoder();
let bundleDir: string;
let model: Model;
let server: RunningServer;
let browser: Browser;

before(async () => {
  if (skip) return;
  if (!haveChromium) throw new Error(`chromium not found at ${CHROMIUM}: CI must install it (see .ci/run)`);
  bundleDir = (await writeTinyBundle({ encoder })).dir;
  model = await loadModel(bundleDir, { encoder, dataDir: resolveDataDir() });
  server = await startServer(model, { port: 0, host: '127.0.0.1' });
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--disable-quic', '--no-first-run'],
  });
});

after(async () => {
  await browser?.close();
  await server?.close();
  model?.dispose();
  if (bundleDir) rmSync(path.dirname(bundleDir), { recursive: true, force: true });
});

async function predictAndWait(page: Page): Promise<void> {
  await page.click('#predict');
  await page.waitForFunction(() => document.getElementById('message').textContent === 'done', undefined, { timeout: 20_000 });
  await page.waitForSelector('#probability:has-text("%")');
}

test('the page predicts an example and a pasted API v2 record, highlighting statements by attribution', { skip }, async () => {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  const requests: string[] = [];
  const problems: string[] = [];
  page.on('request', (r) => requests.push(r.url()));
  // (The malformed request below is answered 400 on purpose; chromium logs that as a console error.)
  page.on('console', (m) => m.type() === 'error' && !/status of 400/.test(m.text()) && problems.push(`console: ${m.text()}`));
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));

  await page.goto(`${server.url}/`);
  await page.waitForFunction(() => /phase I model/.test(document.getElementById('model-info').textContent));
  const options = await page.locator('#example-select option').count();
  assert.ok(options >= 4, `examples listed (${options - 1})`);

  // 1. A bundled TOP example.
  await page.selectOption('#example-select', '0');
  assert.match(await page.inputValue('#record'), /"nctid": "NCT01451632"/);
  await predictAndWait(page);
  assert.match((await page.textContent('#trial-title'))!, /NCT01451632/);
  assert.equal(await page.locator('#drugs .chip').count(), 3);

  // 2. A hand-written API v2 record, pasted.
  await page.fill('#record', JSON.stringify(sampleStudy(), null, 2));
  await predictAndWait(page);
  const probability = (await page.textContent('#probability'))!;
  assert.match(probability, /^\d{1,3}\.\d%$/);
  const direct = (await (await fetch(`${server.url}/v1/predict`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(sampleStudy()) })).json()) as { prediction: { probability: number } };
  assert.equal(probability, `${(100 * direct.prediction.probability).toFixed(1)}%`);
  assert.equal(await page.locator('#inclusion li.stmt').count(), 3);
  assert.equal(await page.locator('#exclusion li.stmt').count(), 3);
  const shades = (await page.evaluate(() =>
    [...document.querySelectorAll('li.stmt')].map((li: any) => ({ cls: li.className, bg: getComputedStyle(li).backgroundColor, delta: Number(li.dataset.delta) })),
  )) as { cls: string; bg: string; delta: number }[];
  assert.equal(shades.length, 6);
  for (const s of shades) {
    assert.match(s.bg, /^rgba\((22, 138, 72|200, 40, 40), 0\.\d+\)$/, `statement is highlighted: ${s.bg}`);
    assert.equal(s.cls.includes('pos'), s.delta >= 0, 'green for raising, red for lowering');
    assert.equal(s.bg.startsWith('rgba(22, 138, 72'), s.delta >= 0);
  }
  assert.deepEqual(await page.locator('#drugs .chip > span:first-child').allTextContents(), ['metformin', 'gefitinib']);
  assert.match((await page.textContent('#warnings'))!, /Placebo \(placebo\/sham\/vehicle\/saline control\)/);
  assert.match((await page.textContent('#uncertainty'))!, /No per-trial interval/);

  // 3. A malformed record shows the server's error naming the field.
  await page.fill('#record', JSON.stringify({ nctid: 'NCT00000001', phase: 'phase 1', drugs: 5 }));
  await page.click('#predict');
  await page.waitForSelector('#message.error');
  assert.match((await page.textContent('#message'))!, /error 400: .*\[drugs\]/);

  // Back to the record for the screenshot.
  await page.fill('#record', JSON.stringify(sampleStudy(), null, 2));
  await predictAndWait(page);
  await page.screenshot({ path: SCREENSHOT, fullPage: true });
  process.stderr.write(`page.browser.test: screenshot ${SCREENSHOT}\n`);

  const foreign = requests.filter((u) => !u.startsWith(`${server.url}/`));
  assert.deepEqual(foreign, [], 'the page requests nothing from another origin');
  assert.deepEqual(problems, []);
  await page.close();
});
