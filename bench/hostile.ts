/**
 * Benchmark 7: the HTTP service under hostile input, as users run it (`cladmop serve` in its own process: model
 * work in a worker thread), with the shipped bundle and its encoder, on loopback.
 *
 *  1. Server RSS (VmRSS of the server process, worker thread included) after warm-up (which includes one
 *     explanation of the heaviest record: onnxruntime's arenas grow once to their working size), then after 1,000 mixed
 *     hostile requests (8 clients): list-literal lists over the limit, __proto__ keys, foreign Host headers,
 *     broken and deeply nested JSON, text/plain, wrong methods, 8 KB query names, 2 MB bodies, batches of 256
 *     records mostly invalid, and a few bounded explanations of the heaviest allowed record; measured again 3 s
 *     after the last answer. Target: back within 10% of the starting value.
 *  2. `/healthz` latency (one client polling every 10 ms) while the heaviest allowed explanation runs
 *     (200 drugs, 200 diseases, 199 KB of criteria in 2,000 statements): p50 / p99 / max. Target: p99 <= 100 ms.
 *
 *   node bin/run-ts.mjs bench/hostile.ts [--quick] [--json] [--bundle DIR] [--requests N]
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { resolveDataDir } from '../src/data/splits.ts';
import { PACKAGE_ROOT as REPO_ROOT } from '../src/settings.ts';
import { sampleStudy } from '../src/predict/testing/fixtures.ts';
import { DEFAULT_BUNDLE, log, numberOption, quantile, round, runBench } from './common.ts';

/** Resident set of a process in MB (Linux /proc), or NaN. */
function rssOf(pid: number): number {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Math.round(Number(m[1]) / 1024) : NaN;
  } catch {
    return NaN;
  }
}

const drugs = Array.from({ length: 200 }, (_, i) => `drug${i}`);
/** The heaviest record the service accepts for an explanation (every limit near its maximum). */
function heaviestRecord(): Record<string, unknown> {
  const statements = Array.from({ length: 2000 }, (_, i) => `- patient must have condition ${i} and be over ${i % 90} years old with lab value above ${i}`);
  const criteria = `Inclusion Criteria:\n${statements.join('\n')}\nExclusion Criteria:\n- pregnant`.slice(0, 199_000);
  return { nctid: 'NCT00000001', phase: 'phase 1', drugs, diseases: drugs.map((d) => `disease ${d}`), criteria };
}

interface Req {
  name: string;
  method?: string;
  path: string;
  body?: string;
  headers?: Record<string, string>;
}

/** The hostile mix, one entry per request kind (cycled through). */
function hostileMix(): Req[] {
  const json = { 'content-type': 'application/json' };
  const record = { nctid: 'NCT00000002', phase: 'phase 1', criteria: 'Inclusion Criteria:\n- adults' };
  const many = Array.from({ length: 3200 }, (_, i) => `'drug${i}'`).join(', ');
  return [
    { name: 'list literal over the limit', path: '/v1/predict?explain=true', body: JSON.stringify({ ...record, drugs: `[${many}]` }), headers: json },
    { name: '__proto__ key', path: '/v1/predict', body: '{"nctid":"NCT00000001","phase":"phase 1","__proto__":{"x":1}}', headers: json },
    { name: 'foreign Host', path: '/healthz', method: 'GET', headers: { host: 'evil.example' } },
    { name: 'broken JSON', path: '/v1/predict', body: '{"nctid": "NCT0000', headers: json },
    { name: 'deep nesting', path: '/v1/predict', body: '['.repeat(50_000) + ']'.repeat(50_000), headers: json },
    { name: 'text/plain', path: '/v1/predict', body: JSON.stringify(record), headers: { 'content-type': 'text/plain' } },
    { name: 'wrong method', path: '/v1/predict', method: 'GET' },
    { name: '8 KB query name', path: `/v1/predict?${'q'.repeat(8192)}=1`, body: JSON.stringify(record), headers: json },
    { name: '2 MB body', path: '/v1/predict', body: JSON.stringify({ ...record, criteria: 'x'.repeat(2 * 1024 * 1024) }), headers: json },
    {
      name: 'batch of 256, 4 valid',
      path: '/v1/predict/batch',
      body: JSON.stringify({ records: Array.from({ length: 256 }, (_, i) => (i % 64 === 0 ? { ...record, nctid: `NCT${String(10000000 + i).padStart(8, '0')}` } : { nctid: 'bad', drugs: 7 })) }),
      headers: json,
    },
    { name: 'valid record', path: '/v1/predict', body: JSON.stringify(record), headers: json },
    { name: 'unknown route', path: `/${'u'.repeat(4096)}`, method: 'GET' },
  ];
}

/** One raw HTTP/1.1 request (a Host header of our choosing: fetch cannot send a foreign one). */
function request(port: number, r: Req): Promise<number> {
  return new Promise((resolve) => {
    const sock = net.connect(port, '127.0.0.1');
    let data = '';
    sock.setEncoding('utf8');
    sock.on('data', (d) => (data += d));
    sock.on('error', () => resolve(0));
    sock.on('close', () => resolve(Number(/^HTTP\/1\.1 (\d{3})/.exec(data)?.[1] ?? 0)));
    const body = r.body ?? '';
    const headers = { host: `127.0.0.1:${port}`, connection: 'close', ...(r.body !== undefined ? { 'content-length': String(Buffer.byteLength(body)) } : {}), ...r.headers };
    // Not end(): a half-closed socket may be dropped before a slow answer (connection: close ends it instead).
    sock.write(`${r.method ?? 'POST'} ${r.path} HTTP/1.1\r\n${Object.entries(headers).map(([k, v]) => `${k}: ${v}`).join('\r\n')}\r\n\r\n`);
    sock.write(body);
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

await runBench('hostile', async (args, ctx) => {
  const bundle = path.resolve(args.options.bundle ?? DEFAULT_BUNDLE);
  if (!existsSync(path.join(bundle, 'config.json'))) {
    return { status: 'unavailable', reason: `unavailable: no model bundle at ${bundle} (pass --bundle DIR)`, method: '', metrics: {} };
  }
  const total = numberOption(args, 'requests', args.quick ? 120 : 1000);
  const child = spawn(process.execPath, [path.join(REPO_ROOT, 'bin/cladmop.mjs'), 'serve', '--model', bundle, '--port', '0', '--data', resolveDataDir()], {
    cwd: REPO_ROOT,
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  const url = await new Promise<string>((resolve, reject) => {
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (s: string) => {
      stderr += s;
      const m = /at (http:\/\/127\.0\.0\.1:\d+)\//.exec(stderr);
      if (m) resolve(m[1]);
    });
    child.on('exit', (code) => reject(new Error(`cladmop serve exited (${code}): ${stderr.slice(-500)}`)));
    setTimeout(() => reject(new Error(`cladmop serve did not start in 120 s: ${stderr.slice(-500)}`)), 120_000);
  });
  const port = Number(new URL(url).port);
  const pid = child.pid!;
  try {
    const post = (p: string, body: unknown) => fetch(`${url}${p}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    // Warm-up: onnxruntime sessions, RDKit, the drug and ICD tables, and one explanation of the heaviest record,
    // so that onnxruntime's arenas reach their working size (the first long batches grow them once, by ~100 MB,
    // measured): the target is about what hostile requests leave behind, not about a first use.
    for (let i = 0; i < 3; i++) await post('/v1/predict', sampleStudy());
    await post('/v1/predict?explain=true', sampleStudy());
    await post('/v1/predict?explain=true', heaviestRecord());
    await sleep(2000);
    const rssStart = rssOf(pid);
    log(`hostile: server ${url} (pid ${pid}), RSS after warm-up ${rssStart} MB; ${total} hostile requests`);

    // 1. The hostile mix, 8 clients; every 100th request is a bounded explanation of the heaviest record.
    const mix = hostileMix();
    const heavy = JSON.stringify(heaviestRecord());
    const statuses: Record<string, Record<string, number>> = {};
    let next = 0;
    let rssPeak = rssStart;
    const sampler = setInterval(() => (rssPeak = Math.max(rssPeak, rssOf(pid) || 0)), 200);
    const t0 = performance.now();
    await Promise.all(
      Array.from({ length: 8 }, async () => {
        while (next < total) {
          const i = next++;
          const r: Req = i % 100 === 50 ? { name: 'heaviest explanation', path: '/v1/predict?explain=true', body: heavy, headers: { 'content-type': 'application/json' } } : mix[i % mix.length];
          const status = await request(port, r);
          (statuses[r.name] ??= {})[status] = ((statuses[r.name] ?? {})[status] ?? 0) + 1;
        }
      }),
    );
    const mixSeconds = (performance.now() - t0) / 1000;
    clearInterval(sampler);
    await sleep(3000);
    const rssEnd = rssOf(pid);
    const serverErrors = Object.values(statuses).reduce((n, s) => n + Object.entries(s).filter(([k]) => Number(k) >= 500 && k !== '503').reduce((a, [, v]) => a + v, 0), 0);
    log(`hostile: ${total} requests in ${mixSeconds.toFixed(1)} s; RSS ${rssStart} -> peak ${rssPeak} -> ${rssEnd} MB 3 s later (ratio ${(rssEnd / rssStart).toFixed(3)}); statuses ${JSON.stringify(statuses)}`);

    // 2. /healthz while the heaviest explanation runs.
    const latencies: number[] = [];
    let explainMs = NaN;
    let explainStatus = 0;
    let notes: string[] = [];
    for (let rep = 0; rep < (args.quick ? 1 : 2); rep++) {
      let done = false;
      const e0 = performance.now();
      const explaining = post('/v1/predict?explain=true', JSON.parse(heavy)).then(async (r) => {
        explainStatus = r.status;
        const j = (await r.json()) as { explanation?: { notes?: string[] } };
        notes = j.explanation?.notes ?? [];
        explainMs = performance.now() - e0;
        done = true;
      });
      while (!done) {
        const s = performance.now();
        const h = await fetch(`${url}/healthz`);
        await h.arrayBuffer();
        latencies.push(performance.now() - s);
        await sleep(10);
      }
      await explaining;
    }
    latencies.sort((a, b) => a - b);
    const healthz = { n: latencies.length, p50: round(quantile(latencies, 0.5), 1), p99: round(quantile(latencies, 0.99), 1), max: round(latencies[latencies.length - 1], 1) };
    log(`hostile: /healthz during the heaviest explanation (${explainStatus}, ${(explainMs / 1000).toFixed(1)} s): p50 ${healthz.p50} p99 ${healthz.p99} max ${healthz.max} ms over ${healthz.n}`);
    ctx.notes.push(`explanation notes: ${notes.join(' | ')}`);
    return {
      method:
        `\`cladmop serve --model ${path.relative(REPO_ROOT, bundle) || bundle}\` in a child process (model in one worker thread); ` +
        `RSS = VmRSS of that process after warm-up, sampled every 200 ms during ${total} hostile requests from 8 raw-socket clients ` +
        `(${mix.map((m) => m.name).join(', ')}; every 100th a heaviest-record explanation), and 3 s after the last answer; ` +
        `/healthz polled every 10 ms by one client while the heaviest allowed explanation ran (${args.quick ? 1 : 2}x).`,
      metrics: {
        bundle,
        requests: total,
        mixSeconds: round(mixSeconds, 1),
        statuses,
        serverErrors,
        rssMb: { start: rssStart, peak: rssPeak, end: rssEnd, ratio: round(rssEnd / rssStart, 3) },
        healthzDuringExplainMs: healthz,
        heaviestExplain: { status: explainStatus, seconds: round(explainMs / 1000, 1) },
      },
    };
  } finally {
    child.kill('SIGTERM');
    await Promise.race([new Promise((r) => child.once('exit', r)), sleep(5000)]);
    if (child.exitCode === null) child.kill('SIGKILL');
  }
});
