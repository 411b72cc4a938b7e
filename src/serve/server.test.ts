import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'csv-parse/sync';
import { PACKAGE_ROOT } from '../settings.ts';
import { readTopCsv } from '../data/top-csv.ts';
import { loadModel } from '../predict/model.ts';
import { predict } from '../predict/predict.ts';
import { parseJsonRecord } from '../predict/inputs.ts';
import { sampleStudy } from '../predict/testing/fixtures.ts';
import { runPredict } from '../cli/commands/predict.ts';
import { useTinyApp } from './testing/tiny-app.ts';
import { buildServer, fieldOf, startServer } from './server.ts';
import { BODY_LIMIT, MAX_BATCH } from './schemas.ts';

const tiny = useTinyApp('cladmop-serve-');
const { encoder, dataDir, dir, post } = tiny;
const topCsv = path.join(PACKAGE_ROOT, 'test/fixtures/top/phase_I_valid.sample.csv');

/** TOP CSV trials as TOP-like JSON records (list fields as arrays). */
const topRecords = () =>
  readTopCsv(topCsv).rows.map(({ trial: t, label }) => ({ nctid: t.nctid, phase: t.phase, diseases: t.diseases, icdcodes: t.icdcodes, drugs: t.drugs, smiless: t.smiles, criteria: t.criteria, label }));

test('the same probability through the library, the CLI and the HTTP API (API v2 record and TOP CSV)', async () => {
  // API v2 record
  const [lib] = await predict(tiny.model, parseJsonRecord(sampleStudy(), { dataDir }).inputs);
  const studyFile = path.join(dir, 'study.json');
  writeFileSync(studyFile, JSON.stringify(sampleStudy()));
  const cliOut = path.join(dir, 'study.ndjson');
  await runPredict({ model: tiny.bundle, input: studyFile, out: cliOut, chunk: '64', cache: false }, { encoder });
  const cli = JSON.parse(readFileSync(cliOut, 'utf8'));
  const http = await post('/v1/predict', sampleStudy());
  assert.equal(http.statusCode, 200);
  assert.equal(cli.probability, lib.probability);
  assert.equal(http.json().prediction.probability, lib.probability);
  assert.deepEqual(http.json().prediction, JSON.parse(JSON.stringify(lib)));

  // TOP CSV
  const libTop = await predict(tiny.model, readTopCsv(topCsv).rows.map((r) => r.trial));
  const csvOut = path.join(dir, 'top.csv');
  await runPredict({ model: tiny.bundle, input: topCsv, out: csvOut, chunk: '4', cache: false }, { encoder });
  const cliTop = (parse(readFileSync(csvOut, 'utf8'), { columns: true }) as { probability: string }[]).map((r) => Number(r.probability));
  const batch = await post('/v1/predict/batch', { records: topRecords() });
  assert.equal(batch.statusCode, 200);
  const httpTop = batch.json().predictions.map((p: { probability: number }) => p.probability);
  assert.deepEqual(cliTop, libTop.map((p) => p.probability));
  assert.deepEqual(httpTop, libTop.map((p) => p.probability));
  const single = await post('/v1/predict', topRecords()[2]);
  assert.equal(single.json().prediction.probability, libTop[2].probability);
});

test('outcome fields in a request change nothing: byte-identical responses', async () => {
  const scrambled = sampleStudy() as Record<string, any>;
  scrambled.protocolSection.statusModule.overallStatus = 'TERMINATED';
  scrambled.protocolSection.statusModule.whyStopped = 'Futility at interim analysis; sponsor decision';
  scrambled.protocolSection.statusModule.completionDateStruct = { date: '2017-01-01', type: 'ACTUAL' };
  scrambled.protocolSection.designModule.enrollmentInfo = { count: 3, type: 'ACTUAL' };
  scrambled.resultsSection = { adverseEventsModule: { seriousNumAffected: 17 }, outcomeMeasuresModule: { outcomeMeasures: [] } };
  scrambled.hasResults = true;
  for (const url of ['/v1/predict', '/v1/predict?explain=true']) {
    const a = await post(url, sampleStudy());
    const b = await post(url, scrambled);
    assert.equal(a.statusCode, 200);
    assert.equal(b.payload, a.payload, url);
  }
  const top = topRecords()[0];
  const a = await post('/v1/predict', { ...top, status: 'completed', why_stop: '', label: 1 });
  const b = await post('/v1/predict', { ...top, status: 'terminated', why_stop: 'safety', label: 0 });
  assert.equal(b.payload, a.payload);
});

test('malformed requests get 4xx JSON naming the field', async () => {
  const cases: [string, unknown, number, string | undefined, RegExp][] = [
    ['/v1/predict', {}, 400, 'nctid', /"nctid" is required/],
    ['/v1/predict', { nctid: 'NCT123', phase: 'phase 1' }, 400, 'nctid', /must match pattern/],
    ['/v1/predict', { nctid: 'NCT00000001', phase: 'phase 1', drugs: 5 }, 400, 'drugs', /"drugs" must be drug \(intervention\) names: an array of strings, or a Python list literal/],
    ['/v1/predict', { nctid: 'NCT00000001', phase: 'phase 1', icdcodes: [[3]] }, 400, 'icdcodes[0][0]', /"icdcodes\[0\]\[0\]" must be string/],
    ['/v1/predict', { nctid: 'NCT00000001', phase: 'phase 1', icdcodes: {} }, 400, 'icdcodes', /must be ICD-10 codes per disease/],
    ['/v1/predict', { nctid: 'NCT00000001', phase: 'phase 1', drugs: ['a', 3] }, 400, 'drugs[1]', /must be string/],
    ['/v1/predict', { nctid: 'NCT00000001', phase: 'phase 1', drugs: "['unclosed" }, 400, 'drugs', /Python list literal/],
    ['/v1/predict', { protocolSection: {} }, 400, 'protocolSection.identificationModule', /required/],
    ['/v1/predict', { protocolSection: { identificationModule: { nctId: 'NCT00000001' }, conditionsModule: { conditions: 'asthma' } } }, 400, 'protocolSection.conditionsModule.conditions', /must be array/],
    ['/v1/predict', { studies: [sampleStudy()] }, 400, 'studies', /\/v1\/predict\/batch/],
    ['/v1/predict', [1, 2], 400, undefined, /must be object/],
    ['/v1/predict', '{"nctid": ', 400, undefined, /not valid JSON/],
    ['/v1/predict?explain=maybe', sampleStudy(), 400, 'explain', /query parameter "explain" must be equal to one of the allowed values/],
    ['/v1/predict?file=/etc/passwd', sampleStudy(), 400, 'file', /unknown query parameter "file"/],
    ['/v1/predict/batch', [{ nctid: 'NCT00000001' }], 400, undefined, /must be object/],
    ['/v1/predict/batch', { records: [{ nctid: 'NCT00000001' }] }, 400, 'records[0].phase', /"records\[0\]\.phase" is required/],
    ['/v1/predict/batch', { records: [] }, 400, 'records', /fewer than 1/],
    ['/v1/predict/batch', { records: Array.from({ length: MAX_BATCH + 1 }, () => ({ nctid: 'NCT00000001', phase: 'phase 1' })) }, 400, 'records', /more than 256/],
    ['/v1/predict/batch', { records: [sampleStudy()], model: '/tmp/other-model' }, 400, 'model', /unknown field "model"/],
  ];
  for (const [url, body, status, field, message] of cases) {
    const r = await post(url, body);
    assert.equal(r.statusCode, status, `${url} ${JSON.stringify(body).slice(0, 80)}: ${r.payload}`);
    assert.match(r.headers['content-type'] as string, /application\/json/);
    const json = r.json();
    assert.equal(json.field, field, `${url} ${r.payload}`);
    assert.match(json.error, message, r.payload);
  }
  const xml = await post('/v1/predict', '<study/>', { 'content-type': 'application/xml' });
  assert.equal(xml.statusCode, 415);
  assert.match(xml.json().error, /application\/json/);
  const unknown = await tiny.app.inject({ method: 'GET', url: '/v1/nothing' });
  assert.equal(unknown.statusCode, 404);
  assert.deepEqual(unknown.json(), { error: 'no route GET /v1/nothing' });
});

test('an oversized body gets 413 JSON', async () => {
  const big = { nctid: 'NCT00000001', phase: 'phase 1', criteria: 'x'.repeat(BODY_LIMIT + 10) };
  const r = await post('/v1/predict', big);
  assert.equal(r.statusCode, 413);
  assert.match(r.json().error, /larger than the limit of 2097152 bytes/);
});

test('a phase outside I–III gets a refused prediction, not an error', async () => {
  const r = await post('/v1/predict?explain=true', { ...topRecords()[0], phase: 'phase 4' });
  assert.equal(r.statusCode, 200);
  assert.equal(r.json().prediction.status, 'refused');
  assert.equal(r.json().prediction.probability, null);
  assert.deepEqual(r.json().explanation.statements, []);
});

test('explain, models, examples, health, OpenAPI and the page', async () => {
  const e = (await post('/v1/predict?explain=true', sampleStudy())).json();
  assert.equal(e.explanation.statements.length, 6);
  assert.deepEqual(e.explanation.drugs.map((d: { name: string }) => d.name), ['metformin', 'gefitinib']);
  const models = (await tiny.app.inject('/v1/models')).json();
  assert.equal(models.models[0].id, tiny.model.info.id);
  assert.equal(models.models[0].phase, 'I');
  assert.equal(models.models[0].encoder.id, encoder.id);
  assert.deepEqual((await tiny.app.inject('/healthz')).json(), { status: 'ok' });
  const ex = (await tiny.app.inject('/v1/examples')).json();
  assert.ok(ex.examples.length >= 3);
  assert.ok(ex.examples.every((x: { record: Record<string, unknown> }) => !('label' in x.record) && !('status' in x.record)));
  assert.equal((await post('/v1/predict', ex.examples[0].record)).statusCode, 200);
  const doc = (await tiny.app.inject('/openapi.json')).json();
  assert.equal(doc.openapi, '3.1.0');
  assert.deepEqual(Object.keys(doc.paths).sort(), ['/', '/healthz', '/openapi.json', '/v1/examples', '/v1/models', '/v1/predict', '/v1/predict/batch']);
  const page = await tiny.app.inject('/');
  assert.equal(page.statusCode, 200);
  assert.match(page.headers['content-type'] as string, /text\/html/);
  const csp = page.headers['content-security-policy'] as string;
  assert.match(csp, /default-src 'none'/);
  assert.match(csp, /script-src 'sha256-[A-Za-z0-9+/=]+'/);
  assert.doesNotMatch(page.payload, /<(script|link|img|iframe)[^>]+(src|href)=/i, 'no external resources');
});

test('field paths from Ajv instance paths', () => {
  assert.equal(fieldOf('/records/2/drugs'), 'records[2].drugs');
  assert.equal(fieldOf('', 'nctid'), 'nctid');
  assert.equal(fieldOf('/protocolSection', 'identificationModule'), 'protocolSection.identificationModule');
});

test('timeouts give 503; closing the server finishes requests in flight', async () => {
  const slow = await loadModel(tiny.bundle, { encoder, dataDir });
  const score = slow.score;
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  let calls = 0;
  let secondCall!: () => void;
  const scoring = new Promise<void>((r) => (secondCall = r));
  slow.score = async (inputs) => {
    if (++calls === 2) secondCall();
    await gate;
    return score(inputs);
  };
  const timed = buildServer(slow, { timeoutMs: 150 });
  const t = await timed.inject({ method: 'POST', url: '/v1/predict', payload: sampleStudy() });
  assert.equal(t.statusCode, 503);
  assert.match(t.json().error, /timed out after 150 ms/);
  await timed.close();

  const server = await startServer(slow, { port: 0, host: '127.0.0.1' });
  const inflight = fetch(`${server.url}/v1/predict`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(sampleStudy()) });
  await scoring; // the request is on the model (the first call was the timed-out request above)
  const closing = server.close();
  let closed = false;
  void closing.then(() => (closed = true));
  await new Promise((r) => setTimeout(r, 100));
  assert.equal(closed, false, 'close waits for the request in flight');
  release();
  const res = await inflight;
  assert.equal(res.status, 200);
  assert.equal(typeof ((await res.json()) as { prediction: { probability: unknown } }).prediction.probability, 'number');
  await closing;
  await assert.rejects(fetch(`${server.url}/healthz`));
  slow.dispose();
});
