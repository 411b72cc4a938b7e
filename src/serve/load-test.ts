/**
 * A bounded load test of the HTTP service on loopback (autocannon): many concurrent clients for a fixed time,
 * each request kind (valid predictions and deliberately bad ones) sent by its own clients, all at once,
 * stopping by itself. One kind per autocannon instance, so every status is attributed to its request (a
 * server closes the connection after refusing an oversized body, and mixed lists lose track across reconnects).
 * Reports status classes, latency percentiles and the server process's memory. Used by the test suite (tiny
 * model, a few seconds) and by `npm run bench` (the shipped model).
 */
import autocannon from 'autocannon';
import { BODY_LIMIT } from './schemas.ts';

export interface LoadRequest {
  /** Label for the report. */
  name: string;
  method: 'GET' | 'POST';
  path: string;
  body?: string;
  /** Status this request must get (e.g. 200, 400, 413). */
  expect: number;
  /** Concurrent clients sending this request. */
  connections: number;
}

export interface LoadTestOptions {
  url: string;
  requests: LoadRequest[];
  durationSeconds: number;
  /** Per-request timeout (seconds) on the client side. */
  timeoutSeconds?: number;
}

export interface LoadTestResult {
  connections: number;
  durationSeconds: number;
  requests: number;
  requestsPerSecond: number;
  latencyMs: { p50: number; p90: number; p99: number; max: number; mean: number };
  statusCounts: Record<string, number>;
  /** Responses whose status differed from the request's `expect`, by request name. */
  unexpected: Record<string, number>;
  serverErrors: number;
  clientErrors: number;
  timeouts: number;
  rssMb: { before: number; after: number; peak: number };
}

export async function runLoadTest(o: LoadTestOptions): Promise<LoadTestResult> {
  const statusCounts: Record<string, number> = {};
  const unexpected: Record<string, number> = {};
  const rssBefore = process.memoryUsage().rss;
  let peak = rssBefore;
  const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 100);
  try {
    const results = await Promise.all(
      o.requests.map((r) =>
        autocannon({
          url: o.url + r.path,
          connections: r.connections,
          duration: o.durationSeconds,
          timeout: o.timeoutSeconds ?? 30,
          method: r.method,
          headers: r.body !== undefined ? { 'content-type': 'application/json' } : {},
          body: r.body,
          setupClient: (client: { on(event: string, fn: (...args: unknown[]) => void): void }) => {
            client.on('response', (status: unknown) => {
              const code = Number(status);
              statusCounts[code] = (statusCounts[code] ?? 0) + 1;
              if (code !== r.expect) unexpected[r.name] = (unexpected[r.name] ?? 0) + 1;
            });
          },
        } as never) as unknown as Promise<autocannon.Result>,
      ),
    );
    // Latency over the valid requests (the bad ones are refused before any model work).
    const valid = results.filter((_, i) => o.requests[i].expect < 300);
    const pick = valid.length > 0 ? valid : results;
    const total = results.reduce((n, r) => n + r.requests.total, 0);
    const weighted = (f: (r: autocannon.Result) => number) => pick.reduce((a, r) => a + f(r) * r.requests.total, 0) / Math.max(1, pick.reduce((n, r) => n + r.requests.total, 0));
    const serverErrors = Object.entries(statusCounts)
      .filter(([s]) => Number(s) >= 500)
      .reduce((n, [, c]) => n + c, 0);
    const clientErrors = Object.entries(statusCounts)
      .filter(([s]) => Number(s) >= 400 && Number(s) < 500)
      .reduce((n, [, c]) => n + c, 0);
    return {
      connections: o.requests.reduce((n, r) => n + r.connections, 0),
      durationSeconds: o.durationSeconds,
      requests: total,
      requestsPerSecond: total / o.durationSeconds,
      // Percentiles of the valid requests: the largest instance's, and the request-weighted mean.
      latencyMs: {
        p50: Math.max(...pick.map((r) => r.latency.p50)),
        p90: Math.max(...pick.map((r) => r.latency.p90)),
        p99: Math.max(...pick.map((r) => r.latency.p99)),
        max: Math.max(...pick.map((r) => r.latency.max)),
        mean: weighted((r) => r.latency.average),
      },
      statusCounts,
      unexpected,
      serverErrors,
      clientErrors,
      timeouts: results.reduce((n, r) => n + r.timeouts, 0),
      rssMb: { before: Math.round(rssBefore / 1e6), after: Math.round(process.memoryUsage().rss / 1e6), peak: Math.round(peak / 1e6) },
    };
  } finally {
    clearInterval(sampler);
  }
}

/** Valid predictions mixed with malformed, invalid and oversized bodies (what a public endpoint receives). */
export function loadMix(study: unknown): LoadRequest[] {
  return [
    { name: 'predict (API v2 study)', method: 'POST', path: '/v1/predict', body: JSON.stringify(study), expect: 200, connections: 8 },
    { name: 'batch of 4', method: 'POST', path: '/v1/predict/batch', body: JSON.stringify({ records: [study, study, study, study] }), expect: 200, connections: 2 },
    { name: 'malformed JSON', method: 'POST', path: '/v1/predict', body: '{"protocolSection": ', expect: 400, connections: 2 },
    { name: 'wrong type', method: 'POST', path: '/v1/predict/batch', body: JSON.stringify({ records: 'NCT0001' }), expect: 400, connections: 1 },
    { name: 'oversized body', method: 'POST', path: '/v1/predict', body: JSON.stringify({ pad: 'x'.repeat(BODY_LIMIT + 1024) }), expect: 413, connections: 1 },
    { name: 'health', method: 'GET', path: '/healthz', expect: 200, connections: 2 },
  ];
}

