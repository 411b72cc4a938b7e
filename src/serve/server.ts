/**
 * The HTTP service (fastify): predictions for ClinicalTrials.gov API v2 studies and TOP-like records, with a
 * small web page at `/`.
 *
 *   POST /v1/predict[?explain=true]  one record                      -> { prediction, explanation? }
 *   POST /v1/predict/batch           { records: [...] } (<= 256)     -> { predictions }
 *   GET  /v1/models                  the loaded model
 *   GET  /v1/examples                a few TOP phase I valid records for the page
 *   GET  /healthz, /openapi.json, /
 *
 * Errors are JSON `{ error, field? }` where `field` names the bad field. Bodies are limited to 2 MB (413).
 * Model work runs one request at a time (a queue); a request waiting or running longer than `timeoutMs` gets
 * 503. Responses depend only on the allow-listed trial fields: outcome fields in a request change nothing.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import Fastify, { type FastifyError, type FastifyInstance } from 'fastify';
import { loadDrugTable } from '../data/drug-table.ts';
import { loadIcdTable } from '../data/icd-table.ts';
import type { Model } from '../predict/model.ts';
import { predict } from '../predict/predict.ts';
import { explain } from '../predict/explain.ts';
import { isCtgovValue, parseJsonRecord, type InputError, type PredictInput } from '../predict/inputs.ts';
import { BODY_LIMIT, batchBodySchema, emptyQuerySchema, explainQuerySchema, openApiDocument, predictBodySchema } from './schemas.ts';

const HERE = path.dirname(fileURLToPath(import.meta.url));

export interface ServerOptions {
  /** Longest a request may wait for and run on the model, in ms (default 120 000). */
  timeoutMs?: number;
  /** Requests allowed to wait for the model before 503 "busy" (default 64). */
  maxQueue?: number;
  /** Longest time to receive a request, in ms (default 30 000). */
  requestTimeoutMs?: number;
  /** fastify logger (default off). */
  logger?: boolean;
  /** Version reported in /openapi.json. */
  version?: string;
}

export class HttpError extends Error {
  constructor(
    readonly statusCode: number,
    message: string,
    readonly field?: string,
  ) {
    super(message);
  }
}

/** Ajv error -> field path in dotted/bracket form: "/records/2/drugs" -> "records[2].drugs". */
export function fieldOf(instancePath: string, missing?: string): string {
  const parts = instancePath.split('/').filter(Boolean);
  if (missing) parts.push(missing);
  let out = '';
  for (const p of parts) out += /^\d+$/.test(p) ? `[${p}]` : out ? `.${p}` : p;
  return out;
}

interface AjvError {
  keyword: string;
  instancePath: string;
  message?: string;
  params: Record<string, unknown>;
  parentSchema?: { description?: string };
}

/**
 * The error to report from an Ajv error list. For a value matching no branch of an anyOf: the deepest error inside
 * it when there is one (e.g. "drugs[1]" must be string), else the anyOf itself with its description.
 */
function describeValidation(errors: AjvError[], context: string): { error: string; field?: string } {
  const unions = errors.filter((e) => e.keyword === 'anyOf' || e.keyword === 'oneOf');
  const outer = unions[unions.length - 1];
  let e: AjvError;
  let anyOf: AjvError | undefined;
  if (outer) {
    const deeper = errors.filter((x) => x.instancePath.startsWith(`${outer.instancePath}/`) && x.keyword !== 'anyOf' && x.keyword !== 'oneOf');
    if (deeper.length > 0) e = deeper.reduce((a, b) => (b.instancePath.length > a.instancePath.length ? b : a));
    else e = anyOf = outer;
  } else e = errors.find((x) => x.keyword !== 'if') ?? errors[0];
  const missing = typeof e.params.missingProperty === 'string' ? e.params.missingProperty : undefined;
  const extra = typeof e.params.additionalProperty === 'string' ? e.params.additionalProperty : undefined;
  const field = fieldOf(e.instancePath, missing ?? extra);
  const where = context === 'querystring' ? 'query parameter' : 'field';
  let message: string;
  if (missing) message = `${where} "${field}" is required`;
  else if (extra) message = `unknown ${where} "${field}"`;
  else if (e.keyword === 'not' && e.instancePath === '') message = 'a page of studies ({"studies": [...]}) goes to POST /v1/predict/batch as {"records": [...]}';
  else if (anyOf && e.parentSchema?.description) message = `${where} "${field}" must be ${e.parentSchema.description}`;
  else message = `${field ? `${where} "${field}"` : context} ${e.message ?? 'is invalid'}`;
  const out: { error: string; field?: string } = { error: message };
  if (e.keyword === 'not' && e.instancePath === '') out.field = 'studies';
  else if (field) out.field = field;
  return out;
}

/** Serialises model work and bounds its wait. */
class ModelQueue {
  private tail: Promise<unknown> = Promise.resolve();
  private waiting = 0;

  constructor(
    private readonly maxQueue: number,
    private readonly timeoutMs: number,
  ) {}

  run<T>(job: () => Promise<T>): Promise<T> {
    if (this.waiting >= this.maxQueue) return Promise.reject(new HttpError(503, `busy: ${this.waiting} requests are waiting for the model; retry later`));
    this.waiting++;
    const result = this.tail.then(job);
    const settled = result.finally(() => this.waiting--);
    this.tail = settled.catch(() => undefined);
    let timer: NodeJS.Timeout;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new HttpError(503, `prediction timed out after ${this.timeoutMs} ms`)), this.timeoutMs);
    });
    return Promise.race([settled, timeout]).finally(() => clearTimeout(timer));
  }
}

function readExamples(): unknown {
  return JSON.parse(readFileSync(path.join(HERE, 'examples.json'), 'utf8'));
}

/** The page's HTML and the CSP that allows exactly its inline script and style (no external requests). */
export function pageWithCsp(): { html: string; csp: string } {
  const html = readFileSync(path.join(HERE, 'page.html'), 'utf8');
  const hashes = (tag: string) =>
    [...html.matchAll(new RegExp(`<${tag}>([\\s\\S]*?)</${tag}>`, 'g'))].map((m) => `'sha256-${createHash('sha256').update(m[1]).digest('base64')}'`).join(' ');
  const csp = [
    "default-src 'none'",
    `script-src ${hashes('script')}`,
    `style-src ${hashes('style')}`,
    "connect-src 'self'",
    "img-src 'self' data:",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join('; ');
  return { html, csp };
}

/** Builds the service around a loaded model (not listening; call `listen`, or `inject` in tests). */
export function buildServer(model: Model, options: ServerOptions = {}): FastifyInstance {
  const app = Fastify({
    logger: options.logger ?? false,
    bodyLimit: BODY_LIMIT,
    requestTimeout: options.requestTimeoutMs ?? 30_000,
    connectionTimeout: 0,
    return503OnClosing: true,
    forceCloseConnections: 'idle',
    ajv: { customOptions: { coerceTypes: false, removeAdditional: false, allErrors: false, verbose: true, useDefaults: false } },
    schemaErrorFormatter: (errors, dataVar) => {
      const d = describeValidation(errors as unknown as AjvError[], dataVar);
      return new HttpError(400, d.error, d.field);
    },
  });
  const queue = new ModelQueue(options.maxQueue ?? 64, options.timeoutMs ?? 120_000);
  const examples = readExamples();
  const page = pageWithCsp();
  let registryMapping: string | null | undefined;
  /** Why registry (API v2) records cannot be mapped here, or null when they can. */
  const registryProblem = () => {
    if (registryMapping === undefined) {
      try {
        loadIcdTable(model.dataDir);
        loadDrugTable(model.dataDir).lookup('aspirin');
        registryMapping = null;
      } catch (err) {
        registryMapping = `this service cannot map ClinicalTrials.gov records (no drug/ICD tables: ${(err as Error).message}); send TOP-like records`;
      }
    }
    return registryMapping;
  };

  app.setErrorHandler((err: FastifyError | HttpError, _req, reply) => {
    if (err instanceof HttpError) {
      const body: { error: string; field?: string } = { error: err.message };
      if (err.field) body.field = err.field;
      return reply.code(err.statusCode).send(body);
    }
    const code = (err as FastifyError).code;
    const status = (err as FastifyError).statusCode ?? 500;
    if (code === 'FST_ERR_CTP_BODY_TOO_LARGE') return reply.code(413).send({ error: `request body is larger than the limit of ${BODY_LIMIT} bytes` });
    if (code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') return reply.code(415).send({ error: 'send the record as application/json' });
    if (code === 'FST_ERR_CTP_EMPTY_JSON_BODY') return reply.code(400).send({ error: 'request body is empty; send one trial record as JSON' });
    if (status >= 400 && status < 500) {
      const message = code === 'FST_ERR_CTP_INVALID_JSON_BODY' || err instanceof SyntaxError ? `request body is not valid JSON: ${err.message}` : err.message;
      return reply.code(status).send({ error: message });
    }
    reply.log.error(err);
    return reply.code(500).send({ error: 'internal error' });
  });
  // Graceful shutdown: `close()` stops listening and closes idle connections, then waits for the requests in
  // flight. Their connections must not then linger as keep-alive (fastify keeps idle ones 72 s): answer them
  // with "Connection: close" and drop whatever turns idle.
  let closing = false;
  app.addHook('preClose', async () => {
    closing = true;
  });
  app.addHook('onSend', async (_req, reply) => {
    if (closing) reply.header('connection', 'close');
  });
  app.addHook('onResponse', async () => {
    if (closing) app.server.closeIdleConnections();
  });

  app.setNotFoundHandler((req, reply) => reply.code(404).send({ error: `no route ${req.method} ${req.url.split('?')[0]}` }));

  /** A validated record -> input, or a 400 naming the field. */
  const toInput = (value: unknown, pathPrefix?: string): PredictInput => {
    if (isCtgovValue(value)) {
      const problem = registryProblem();
      if (problem) throw new HttpError(422, problem, pathPrefix ?? 'protocolSection');
    }
    const r = parseJsonRecord(value, { dataDir: model.dataDir, source: 'request', ...(pathPrefix ? { path: pathPrefix } : {}) });
    if (r.errors.length > 0 || r.inputs.length !== 1) {
      const e: InputError | undefined = r.errors[0];
      throw new HttpError(400, e ? `field "${e.field}": ${e.message}` : 'expected exactly one trial record', e?.field);
    }
    return r.inputs[0];
  };

  app.get('/healthz', { schema: { querystring: emptyQuerySchema } }, async () => ({ status: 'ok' }));
  app.get('/favicon.ico', async (_req, reply) => reply.code(204).send());
  app.get('/openapi.json', async () => openApiDocument(options.version ?? model.info.codeVersion));
  app.get('/v1/examples', async () => examples);
  app.get('/v1/models', async () => ({
    models: [
      {
        ...model.info,
        maxCriteria: model.config.maxCriteria,
        moleculeSource: model.config.dmFeatures.moleculeSource,
        uncertainty:
          'No per-trial interval: each probability is one model\'s estimate. `metrics` are the bundle\'s recorded valid/test scores' +
          (model.info.quick ? ' (from a quick run on small samples; not representative)' : ''),
      },
    ],
  }));
  app.get('/', async (_req, reply) =>
    reply
      .header('content-type', 'text/html; charset=utf-8')
      .header('content-security-policy', page.csp)
      .header('x-content-type-options', 'nosniff')
      .header('referrer-policy', 'no-referrer')
      .send(page.html),
  );

  app.post('/v1/predict', { schema: { body: predictBodySchema, querystring: explainQuerySchema } }, async (req) => {
    const input = toInput(req.body);
    const q = req.query as { explain?: string };
    const withExplain = q.explain === 'true' || q.explain === '1';
    return queue.run(async () => {
      if (!withExplain) return { prediction: (await predict(model, [input]))[0] };
      const { prediction, ...explanation } = await explain(model, input);
      return { prediction, explanation };
    });
  });

  app.post('/v1/predict/batch', { schema: { body: batchBodySchema, querystring: emptyQuerySchema } }, async (req) => {
    const { records } = req.body as { records: unknown[] };
    const inputs = records.map((r, i) => toInput(r, `records[${i}]`));
    return queue.run(async () => ({ predictions: await predict(model, inputs) }));
  });

  return app;
}

export interface RunningServer {
  app: FastifyInstance;
  url: string;
  /** Stops accepting connections, finishes in-flight requests, then resolves. */
  close(): Promise<void>;
}

/** Starts listening; resolves with the bound URL (port 0 picks a free port). */
export async function startServer(model: Model, o: ServerOptions & { port?: number; host?: string } = {}): Promise<RunningServer> {
  const app = buildServer(model, o);
  await app.listen({ port: o.port ?? 8080, host: o.host ?? '127.0.0.1' });
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : o.port;
  const host = o.host ?? '127.0.0.1';
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
  return { app, url, close: () => app.close() };
}
