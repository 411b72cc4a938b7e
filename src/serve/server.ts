/**
 * The HTTP service (fastify): predictions for ClinicalTrials.gov API v2 studies and TOP-like records, with a
 * small web page at `/`.
 *
 *   POST /v1/predict[?explain=true]  one record                      -> { prediction, explanation? }
 *   POST /v1/predict/batch           { records: [...] } or an API v2 page { studies: [...] } (<= 256)
 *                                    -> { predictions, counts }: one entry per record, a bad record gets its own
 *                                       { status: "invalid", error, field } and the others are still scored
 *   GET  /v1/models                  the loaded model
 *   GET  /v1/examples                a few TOP phase I valid records for the page
 *   GET  /healthz, /openapi.json, /
 *
 * Errors are JSON `{ error, field? }` where `field` names the bad field; they quote input only clipped and with
 * control characters escaped, and name no server file. Bodies are limited to 2 MB (413), list fields to 200 items
 * in any shape, explanations to EXPLAIN_LIMITS (stated in each explanation). Model work runs in a ModelRunner
 * (worker threads under `cladmop serve`, see model-runner.ts); a request waiting or running longer than
 * `timeoutMs` gets 503 and its work is stopped. Bound to loopback, requests naming another Host are refused (DNS
 * rebinding). Responses depend only on the allow-listed trial fields: outcome fields in a request change nothing.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Ajv, type ValidateFunction } from 'ajv';
import Fastify, { type FastifyError, type FastifyInstance } from 'fastify';
import { loadDrugTable } from '../data/drug-table.ts';
import { loadIcdTable } from '../data/icd-table.ts';
import type { Model } from '../predict/model.ts';
import { ModelRouter } from '../predict/router.ts';
import { BOUNDED_EXPLAIN } from '../predict/explain.ts';
import type { Prediction } from '../predict/predict.ts';
import { isCtgovValue, parseJsonRecord, type InputError, type PredictInput } from '../predict/inputs.ts';
import { PACKAGE_ROOT as REPO_ROOT } from '../settings.ts';
import { clipEcho, redactPaths } from '../runtime/safe-text.ts';
import { InProcessRunner, JobError, type ModelRunner } from './model-runner.ts';
import { BODY_LIMIT, batchBodySchema, emptyQuerySchema, explainQuerySchema, openApiDocument, predictBodySchema, recordSchema, studySchema } from './schemas.ts';

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
  /**
   * Where model work runs (default: an InProcessRunner on this thread). The server owns it: closing the server
   * closes it. `timeoutMs`/`maxQueue` are then the runner's own.
   */
  runner?: ModelRunner;
  /** Open connections at most (default 256); further ones are closed at once. */
  maxConnections?: number;
  /** Keep-alive idle time of a connection, in ms (default 5 000). */
  keepAliveTimeoutMs?: number;
  /**
   * Host header names (without port) the service answers to, or null for any (default null; `startServer` sets the
   * loopback names when bound to loopback).
   */
  allowedHosts?: string[] | null;
}

/** Bounds of an explanation over HTTP (stated in each response as `explanation.limits`). */
export const EXPLAIN_LIMITS = BOUNDED_EXPLAIN;

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
    // A value of the right shape but over a size limit: say which limit (the anyOf's description names none).
    const limit = errors.find((x) => x.instancePath === outer.instancePath && (x.keyword === 'maxItems' || x.keyword === 'maxLength'));
    if (deeper.length > 0) e = deeper.reduce((a, b) => (b.instancePath.length > a.instancePath.length ? b : a));
    else if (limit) e = limit;
    else e = anyOf = outer;
  } else e = errors.find((x) => x.keyword !== 'if') ?? errors[0];
  const missing = typeof e.params.missingProperty === 'string' ? e.params.missingProperty : undefined;
  const extra = typeof e.params.additionalProperty === 'string' ? e.params.additionalProperty : undefined;
  // A field name is input: an 8 KB query parameter name was echoed twice (issue 16).
  const field = clipEcho(fieldOf(e.instancePath, missing ?? extra), 120);
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

/** Methods of each route, for 405 answers with an Allow header. */
const ROUTE_METHODS: Record<string, string> = {
  '/v1/predict': 'POST',
  '/v1/predict/batch': 'POST',
  '/v1/models': 'GET, HEAD',
  '/v1/examples': 'GET, HEAD',
  '/healthz': 'GET, HEAD',
  '/openapi.json': 'GET, HEAD',
  '/': 'GET, HEAD',
};

/**
 * JSON.parse, refusing `__proto__` keys and `constructor` objects with a `prototype` key anywhere (prototype
 * pollution in code that copies the record). Iterative: a deeply nested body must not overflow the stack.
 */
function parseJsonBody(text: string): unknown {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new HttpError(400, `request body is not valid JSON: ${clipEcho((err as Error).message, 200)}`);
  }
  const stack: [unknown, string][] = [[value, '']];
  while (stack.length > 0) {
    const [v, at] = stack.pop()!;
    if (typeof v !== 'object' || v === null) continue;
    if (Array.isArray(v)) {
      for (let i = v.length - 1; i >= 0; i--) if (typeof v[i] === 'object' && v[i] !== null) stack.push([v[i], `${at}[${i}]`]);
      continue;
    }
    for (const key of Object.keys(v)) {
      const child = (v as Record<string, unknown>)[key];
      const where = at ? `${at}.${key}` : key;
      if (key === '__proto__' || (key === 'constructor' && typeof child === 'object' && child !== null && Object.hasOwn(child, 'prototype'))) {
        throw new HttpError(
          400,
          `request body has a "${key === '__proto__' ? '__proto__' : 'constructor.prototype'}" key at ${clipEcho(where, 120)}: refused, such keys can alter object prototypes; remove it (no record field has this name)`,
          clipEcho(where, 120),
        );
      }
      if (typeof child === 'object' && child !== null) stack.push([child, where]);
    }
  }
  return value;
}

const LOOPBACK_NAMES = ['localhost', '127.0.0.1', '::1', '[::1]'];

/** Whether an address to bind is loopback only. */
export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);
}

/** Host header -> host name without port, lower case ("[::1]:8080" -> "[::1]"). */
function hostName(header: string): string {
  const h = header.trim().toLowerCase();
  if (h.startsWith('[')) return h.slice(0, h.indexOf(']') + 1);
  return h.replace(/:\d*$/, '');
}

/**
 * Builds the service around loaded models (not listening; call `listen`, or `inject` in tests): one model for
 * every trial, or a ModelRouter that sends each trial to its phase's model. Paths and settings (data directory)
 * come from the first model.
 */
export function buildServer(models: Model | ModelRouter, options: ServerOptions = {}): FastifyInstance {
  const router = models instanceof ModelRouter ? models : ModelRouter.single(models);
  const model = router.any;
  const requestTimeout = options.requestTimeoutMs ?? 30_000;
  const app = Fastify({
    logger: options.logger ?? false,
    bodyLimit: BODY_LIMIT,
    requestTimeout,
    connectionTimeout: 0,
    keepAliveTimeout: options.keepAliveTimeoutMs ?? 5_000,
    // Node cuts slow requests only when it checks (every 30 s by default) and gives headers 60 s whatever
    // requestTimeout says: slow clients were cut at 60-89 s with requestTimeout 30 s (measured). Check every
    // second and give headers the same budget, so requestTimeout is the real limit.
    http: { headersTimeout: requestTimeout, connectionsCheckingInterval: Math.min(1000, requestTimeout) },
    return503OnClosing: true,
    forceCloseConnections: 'idle',
    ajv: { customOptions: { coerceTypes: false, removeAdditional: false, allErrors: false, verbose: true, useDefaults: false } },
    schemaErrorFormatter: (errors, dataVar) => {
      const d = describeValidation(errors as unknown as AjvError[], dataVar);
      return new HttpError(400, d.error, d.field);
    },
  });
  app.server.maxConnections = options.maxConnections ?? 256;
  const runner = options.runner ?? new InProcessRunner(router, { timeoutMs: options.timeoutMs ?? 120_000, maxQueue: options.maxQueue ?? 64 });
  app.addHook('onClose', async () => runner.close());
  const examples = readExamples();
  const page = pageWithCsp();
  const knownDirs = [model.dir, model.dataDir, path.dirname(model.dir), REPO_ROOT, HERE];
  /** An error text safe to send: no server paths, control characters escaped, bounded. */
  const safe = (text: string, max = 1000) => clipEcho(redactPaths(text, knownDirs), max);
  let registryMapping: string | null | undefined;
  /** Why registry (API v2) records cannot be mapped here, or null when they can. */
  const registryProblem = () => {
    if (registryMapping === undefined) {
      try {
        loadIcdTable(model.dataDir);
        loadDrugTable(model.dataDir).lookup('aspirin');
        registryMapping = null;
      } catch (err) {
        // The reason names the server's data directory: log it, tell the client only what to do.
        app.log.warn(`ClinicalTrials.gov records cannot be mapped: ${(err as Error).message}`);
        registryMapping = 'this service cannot map ClinicalTrials.gov records (its drug and ICD-10 tables are not installed); send TOP-like records';
      }
    }
    return registryMapping;
  };

  // Only JSON bodies: fastify's default text/plain parser handed a string to the schema, which answered 400 "body
  // must be object" where form-encoded got 415.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (_req, body, done) => {
    if ((body as string).length === 0) return done(new HttpError(400, 'request body is empty; send one trial record as JSON'), undefined);
    try {
      done(null, parseJsonBody(body as string));
    } catch (err) {
      done(err as Error, undefined);
    }
  });

  const allowed = options.allowedHosts ? new Set(options.allowedHosts.map((h) => h.toLowerCase())) : null;
  if (allowed) {
    app.addHook('onRequest', async (req, reply) => {
      const host = hostName(req.headers.host ?? '');
      if (!allowed.has(host)) {
        return reply.code(421).send({
          error: `Host ${JSON.stringify(clipEcho(host, 80))} is not served here: this service is bound to loopback and answers only ${[...allowed].join(', ')} (protection against DNS rebinding)`,
        });
      }
    });
  }

  app.setErrorHandler((err: FastifyError | HttpError | JobError, _req, reply) => {
    if (err instanceof HttpError || err instanceof JobError) {
      const status = err instanceof HttpError ? err.statusCode : err.status;
      const body: { error: string; field?: string } = { error: safe(err.message) };
      if (err instanceof HttpError && err.field) body.field = safe(err.field, 200);
      return reply.code(status).send(body);
    }
    const code = (err as FastifyError).code;
    const status = (err as FastifyError).statusCode ?? 500;
    if (code === 'FST_ERR_CTP_BODY_TOO_LARGE') return reply.code(413).send({ error: `request body is larger than the limit of ${BODY_LIMIT} bytes` });
    if (code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') return reply.code(415).send({ error: 'send the record as application/json' });
    if (code === 'FST_ERR_CTP_EMPTY_JSON_BODY') return reply.code(400).send({ error: 'request body is empty; send one trial record as JSON' });
    if (status >= 400 && status < 500) {
      const message = code === 'FST_ERR_CTP_INVALID_JSON_BODY' || err instanceof SyntaxError ? `request body is not valid JSON: ${err.message}` : err.message;
      return reply.code(status).send({ error: safe(message) });
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

  app.setNotFoundHandler((req, reply) => {
    const route = req.url.split('?')[0];
    const allow = Object.hasOwn(ROUTE_METHODS, route) ? ROUTE_METHODS[route] : undefined;
    if (allow) {
      return reply
        .code(405)
        .header('allow', allow)
        .send({ error: `${clipEcho(req.method, 20)} is not allowed on ${route}; use ${allow.split(', ')[0]}` });
    }
    return reply.code(404).send({ error: `no route ${clipEcho(req.method, 20)} ${clipEcho(route, 100)}` });
  });

  /** A record -> input, or an HttpError naming the field. */
  const toInput = (value: unknown, pathPrefix?: string): PredictInput => {
    if (isCtgovValue(value)) {
      const problem = registryProblem();
      if (problem) throw new HttpError(422, problem, pathPrefix ?? 'protocolSection');
    }
    const r = parseJsonRecord(value, { dataDir: model.dataDir, source: 'request', ...(pathPrefix ? { path: pathPrefix } : {}) });
    if (r.errors.length > 0 || r.inputs.length !== 1) {
      const e: InputError | undefined = r.errors[0];
      throw new HttpError(400, e ? `field "${clipEcho(e.field, 120)}": ${e.message}` : 'expected exactly one trial record', e?.field);
    }
    return r.inputs[0];
  };

  // Batch records are validated one by one with the same schemas as /v1/predict, so each gets its own status.
  const ajv = new Ajv({ coerceTypes: false, removeAdditional: false, allErrors: false, verbose: true, useDefaults: false, strict: false });
  const validators: Record<'records' | 'studies', ValidateFunction> = { records: ajv.compile(recordSchema), studies: ajv.compile(studySchema) };
  const checkRecord = (key: 'records' | 'studies', value: unknown, i: number): PredictInput => {
    const validate = validators[key];
    if (!validate(value)) {
      const errors = (validate.errors ?? []).map((e) => ({ ...e, instancePath: `/${key}/${i}${e.instancePath}` })) as unknown as AjvError[];
      const d = describeValidation(errors, 'body');
      throw new HttpError(400, d.error, d.field);
    }
    return toInput(value, `${key}[${i}]`);
  };

  const job = async <T>(work: () => Promise<T>): Promise<T> => {
    try {
      return await work();
    } catch (err) {
      if (err instanceof JobError) throw new HttpError(err.status, err.message);
      throw err;
    }
  };

  app.get('/healthz', { schema: { querystring: emptyQuerySchema } }, async () => ({ status: 'ok' }));
  app.get('/favicon.ico', async (_req, reply) => reply.code(204).send());
  app.get('/openapi.json', async () => openApiDocument(options.version ?? model.info.codeVersion));
  app.get('/v1/examples', async () => examples);
  app.get('/v1/models', async () => ({
    routing: router.routes ? 'each trial is scored by the model of its phase (phase 1/2 -> II, phase 2/3 -> III)' : 'one model for every trial',
    models: Object.values(router.models).map((m) => ({
      ...m!.info,
      maxCriteria: m!.config.maxCriteria,
      moleculeSource: m!.config.dmFeatures.moleculeSource,
      uncertainty:
        'No per-trial interval: each probability is one model\'s estimate. `metrics` are the bundle\'s recorded valid/test scores' +
        (m!.info.quick ? ' (from a quick run on small samples; not representative)' : ''),
    })),
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
    return job(async () => {
      if (!withExplain) {
        const r = await runner.run({ kind: 'predict', inputs: [input] });
        return { prediction: r.kind === 'predict' ? r.predictions[0] : undefined };
      }
      const r = await runner.run({ kind: 'explain', input, options: EXPLAIN_LIMITS });
      if (r.kind !== 'explain') throw new Error('runner answered a predict result to an explain job');
      const { prediction, ...explanation } = r.explanation;
      return { prediction, explanation: { ...explanation, limits: EXPLAIN_LIMITS } };
    });
  });

  app.post('/v1/predict/batch', { schema: { body: batchBodySchema, querystring: emptyQuerySchema } }, async (req, reply) => {
    const body = req.body as { records?: unknown[]; studies?: unknown[] };
    if (body.records && body.studies) throw new HttpError(400, 'send "records" or an API v2 page\'s "studies", not both', 'studies');
    const key = body.records ? 'records' : body.studies ? 'studies' : null;
    if (!key) throw new HttpError(400, 'field "records" is required (or "studies", as in a ClinicalTrials.gov API v2 page)', 'records');
    const list = body[key]!;
    type Invalid = { record: number; status: 'invalid'; statusCode: number; error: string; field?: string };
    const entries: (PredictInput | Invalid)[] = list.map((value, i) => {
      try {
        return checkRecord(key, value, i);
      } catch (err) {
        if (!(err instanceof HttpError)) throw err;
        const e: Invalid = { record: i, status: 'invalid', statusCode: err.statusCode, error: safe(err.message) };
        if (err.field) e.field = safe(err.field, 200);
        return e;
      }
    });
    const valid = entries.filter((e): e is PredictInput => !('status' in e));
    const invalid = entries.filter((e): e is Invalid => 'status' in e);
    if (valid.length === 0) {
      const first = invalid[0];
      return reply.code(first.statusCode).send({
        error: invalid.length === 1 ? first.error : `none of the ${invalid.length} records could be read; first: ${first.error}`,
        ...(first.field ? { field: first.field } : {}),
        errors: invalid.slice(0, 20).map(({ statusCode: _s, ...e }) => e),
      });
    }
    const r = await job(() => runner.run({ kind: 'predict', inputs: valid }));
    const predictions = r.kind === 'predict' ? r.predictions : [];
    let k = 0;
    const out = entries.map((e): Prediction | Omit<Invalid, 'statusCode'> => {
      if (!('status' in e)) return predictions[k++];
      const { statusCode: _s, ...rest } = e;
      return rest;
    });
    const refused = predictions.filter((p) => p.status === 'refused').length;
    return { predictions: out, counts: { ok: predictions.length - refused, refused, invalid: invalid.length } };
  });

  return app;
}

export interface RunningServer {
  app: FastifyInstance;
  url: string;
  /** Stops accepting connections, finishes in-flight requests, then resolves. */
  close(): Promise<void>;
}

/**
 * Starts listening; resolves with the bound URL (port 0 picks a free port). Bound to loopback, it answers only
 * Host headers naming loopback (unless `allowedHosts` says otherwise).
 */
export async function startServer(model: Model | ModelRouter, o: ServerOptions & { port?: number; host?: string } = {}): Promise<RunningServer> {
  const host = o.host ?? '127.0.0.1';
  const allowedHosts = o.allowedHosts !== undefined ? o.allowedHosts : isLoopback(host) ? [...new Set([...LOOPBACK_NAMES, host.toLowerCase()])] : null;
  const app = buildServer(model, { ...o, allowedHosts });
  await app.listen({ port: o.port ?? 8080, host });
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : o.port;
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
  return { app, url, close: () => app.close() };
}
