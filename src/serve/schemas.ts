/**
 * JSON schemas of the HTTP API (validated by fastify's Ajv) and the OpenAPI 3 document built from them.
 *
 * A request body is one trial record: a ClinicalTrials.gov API v2 study (an object with `protocolSection`) or a
 * TOP-like record `{ nctid, phase, diseases, icdcodes, drugs, smiless, criteria }`. Outcome fields (overallStatus,
 * whyStopped, resultsSection, status, why_stop, label) may be present and are ignored. No field is a file path:
 * the service never reads a file named by a request.
 */
import { NCT_ID_PATTERN } from '../data/trial.ts';

export const MAX_BATCH = 256;
export const BODY_LIMIT = 2 * 1024 * 1024;
// The list limits live with the record parser, which applies them to list-literal strings too.
import { MAX_ITEM_CHARS, MAX_LIST_ITEMS, MAX_TEXT_CHARS } from '../predict/inputs.ts';
export { MAX_ITEM_CHARS, MAX_LIST_ITEMS, MAX_TEXT_CHARS };

const NCT_PATTERN = NCT_ID_PATTERN;

const stringList = (what: string) => ({
  description: `${what}: an array of strings, or a Python list literal such as "['a', 'b']" (as in TOP's CSV)`,
  anyOf: [{ type: 'array', items: { type: 'string', maxLength: MAX_ITEM_CHARS }, maxItems: MAX_LIST_ITEMS }, { type: 'string', maxLength: MAX_TEXT_CHARS }],
});

export const topRecordSchema = {
  type: 'object',
  description: 'A trial in the TOP benchmark layout. Fields other than these are ignored (status, why_stop and label are never read).',
  required: ['nctid', 'phase'],
  properties: {
    nctid: { type: 'string', pattern: NCT_PATTERN, description: 'ClinicalTrials.gov id, NCT + 8 digits' },
    phase: { type: 'string', maxLength: 100, description: 'e.g. "phase 1", "phase 1/phase 2"' },
    diseases: stringList('condition names'),
    icdcodes: {
      description:
        'ICD-10 codes per disease: an array with one entry per disease (an array of codes, one code, or a list literal "[\'C34.90\']"), or TOP\'s nested list literal',
      anyOf: [
        {
          type: 'array',
          maxItems: MAX_LIST_ITEMS,
          items: { anyOf: [{ type: 'string', maxLength: MAX_ITEM_CHARS }, { type: 'array', items: { type: 'string', maxLength: 40 }, maxItems: MAX_LIST_ITEMS }] },
        },
        { type: 'string', maxLength: MAX_TEXT_CHARS },
      ],
    },
    drugs: stringList('drug (intervention) names'),
    smiless: stringList('SMILES of the drugs (TOP: not aligned with drugs by position)'),
    smiles: stringList('alias of smiless'),
    criteria: { type: 'string', maxLength: MAX_TEXT_CHARS, description: 'eligibility criteria text (Inclusion Criteria: ... Exclusion Criteria: ...)' },
    title: { type: 'string', maxLength: 2000 },
  },
} as const;

export const studySchema = {
  type: 'object',
  description:
    'A ClinicalTrials.gov API v2 study (GET https://clinicaltrials.gov/api/v2/studies/NCT...). Only identification, start date, phases, conditions, interventions and eligibility criteria are read.',
  required: ['protocolSection'],
  properties: {
    protocolSection: {
      type: 'object',
      required: ['identificationModule'],
      properties: {
        identificationModule: {
          type: 'object',
          required: ['nctId'],
          properties: { nctId: { type: 'string', pattern: NCT_PATTERN }, briefTitle: { type: 'string' } },
        },
        eligibilityModule: { type: 'object', properties: { eligibilityCriteria: { type: 'string', maxLength: MAX_TEXT_CHARS } } },
        designModule: { type: 'object', properties: { phases: { type: 'array', items: { type: 'string' } } } },
        conditionsModule: { type: 'object', properties: { conditions: { type: 'array', items: { type: 'string', maxLength: MAX_ITEM_CHARS }, maxItems: MAX_LIST_ITEMS } } },
        armsInterventionsModule: { type: 'object', properties: { interventions: { type: 'array', items: { type: 'object' }, maxItems: MAX_LIST_ITEMS } } },
      },
    },
  },
} as const;

/** One record: a study when it has `protocolSection`, else a TOP-like record. */
export const recordSchema = {
  type: 'object',
  if: { required: ['protocolSection'] },
  then: studySchema,
  else: topRecordSchema,
} as const;

export const predictBodySchema = {
  ...recordSchema,
  description: 'One trial: a ClinicalTrials.gov API v2 study or a TOP-like record',
  not: { required: ['studies'] },
} as const;

/**
 * `{ records: [...] }`, or a ClinicalTrials.gov API v2 page `{ studies: [...], nextPageToken?, totalCount? }` as the
 * API returns it. Records are not validated here but one by one (server.ts), so that one bad record gets its own
 * status and the others are still scored.
 */
export const batchBodySchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    records: { type: 'array', minItems: 1, maxItems: MAX_BATCH },
    studies: { type: 'array', minItems: 1, maxItems: MAX_BATCH },
    nextPageToken: { type: 'string', maxLength: 1000 },
    totalCount: { type: 'integer' },
  },
} as const;

export const explainQuerySchema = {
  type: 'object',
  additionalProperties: false,
  properties: { explain: { type: 'string', enum: ['true', 'false', '1', '0'] } },
} as const;

export const emptyQuerySchema = { type: 'object', additionalProperties: false, properties: {} } as const;

const errorSchema = {
  type: 'object',
  required: ['error'],
  properties: {
    error: { type: 'string', description: 'what is wrong' },
    field: { type: 'string', description: 'the offending field as a path, e.g. "records[2].drugs" or "protocolSection.identificationModule.nctId"' },
  },
};

const attributionSchema = {
  type: 'object',
  properties: {
    section: { type: 'string', enum: ['inclusion', 'exclusion'] },
    index: { type: 'integer' },
    text: { type: 'string' },
    delta: { type: 'number', description: 'p(all) − p(without it): > 0 raised the success probability' },
    without: { type: 'number' },
  },
};

const itemSchema = {
  type: 'object',
  properties: { name: { type: 'string' }, with: { type: 'array', items: { type: 'string' } }, delta: { type: 'number' }, without: { type: 'number' } },
};

const predictionSchema = {
  type: 'object',
  required: ['nctid', 'status', 'phase', 'probability', 'rawProbability', 'calibration', 'model', 'inputs', 'missing', 'warnings'],
  properties: {
    nctid: { type: 'string' },
    status: { type: 'string', enum: ['ok', 'refused'] },
    refusal: { type: 'string', description: 'why the trial was not predicted (phase outside I–III)' },
    phase: {
      type: 'object',
      properties: { model: { type: 'string' }, trial: { type: 'string' }, trialPhases: { type: 'array', items: { type: 'string' } } },
    },
    probability: { type: ['number', 'null'], description: 'success probability (calibrated when the model has a calibration)' },
    rawProbability: { type: ['number', 'null'] },
    calibration: { type: 'string', enum: ['platt', 'isotonic', 'none'] },
    model: { type: 'object', properties: { id: { type: 'string', description: 'sha256 of the bundle config' }, codeVersion: { type: 'string' } } },
    inputs: { type: 'object', description: 'what the model read' },
    missing: { type: 'object', description: 'unmapped drugs, drugs without SMILES, invalid SMILES, unknown ICD codes, no criteria, placebo dropped, ...' },
    warnings: { type: 'array', items: { type: 'string' } },
  },
};

const explanationSchema = {
  type: 'object',
  properties: {
    reference: { type: ['number', 'null'] },
    statements: { type: 'array', items: attributionSchema },
    drugs: { type: 'array', items: itemSchema },
    diseases: { type: 'array', items: itemSchema },
    topPositive: { type: 'array', items: attributionSchema },
    topNegative: { type: 'array', items: attributionSchema },
    notes: { type: 'array', items: { type: 'string' } },
  },
};

const json = (schema: unknown) => ({ content: { 'application/json': { schema } } });
const errors = {
  '400': { description: 'malformed request; `field` names the bad field', ...json({ $ref: '#/components/schemas/Error' }) },
  '413': { description: `body larger than ${BODY_LIMIT} bytes`, ...json({ $ref: '#/components/schemas/Error' }) },
  '503': { description: 'busy, shutting down, or the prediction timed out', ...json({ $ref: '#/components/schemas/Error' }) },
};

/** The OpenAPI 3 document of the service. */
export function openApiDocument(version: string): Record<string, unknown> {
  return {
    openapi: '3.1.0',
    info: {
      title: 'cladmop prediction service',
      version,
      description:
        'Clinical-trial success probabilities (CLaDMoP) for ClinicalTrials.gov API v2 studies or TOP-like records. ' +
        'Outcome fields in a request (overallStatus, whyStopped, results, status, why_stop, label) are ignored. ' +
        'No request field names a file: the service reads no file on behalf of a request.',
    },
    paths: {
      '/v1/predict': {
        post: {
          summary: 'Predict one trial',
          parameters: [{ name: 'explain', in: 'query', required: false, schema: { type: 'string', enum: ['true', 'false', '1', '0'] }, description: 'add leave-one-out attributions' }],
          requestBody: { required: true, ...json({ $ref: '#/components/schemas/Record' }) },
          responses: {
            '200': {
              description: 'the prediction (and its explanation with ?explain=true)',
              ...json({ type: 'object', properties: { prediction: { $ref: '#/components/schemas/Prediction' }, explanation: { $ref: '#/components/schemas/Explanation' } } }),
            },
            ...errors,
          },
        },
      },
      '/v1/predict/batch': {
        post: {
          summary: `Predict up to ${MAX_BATCH} trials`,
          requestBody: {
            required: true,
            description: '`{ "records": [...] }`, or a ClinicalTrials.gov API v2 page `{ "studies": [...] }` as the API returns it',
            ...json({
              type: 'object',
              properties: {
                records: { type: 'array', maxItems: MAX_BATCH, items: { $ref: '#/components/schemas/Record' } },
                studies: { type: 'array', maxItems: MAX_BATCH, items: { $ref: '#/components/schemas/CtgovStudy' } },
              },
            }),
          },
          responses: {
            '200': {
              description:
                'one entry per record, in order: a prediction (status "ok" or "refused"), or { record, status: "invalid", error, field } for a record that could not be read (the others are still scored). 400 when no record is valid.',
              ...json({ type: 'object', properties: { predictions: { type: 'array', items: { $ref: '#/components/schemas/Prediction' } }, counts: { type: 'object' } } }),
            },
            ...errors,
          },
        },
      },
      '/v1/models': { get: { summary: 'The loaded model', responses: { '200': { description: 'model information', ...json({ type: 'object' }) } } } },
      '/v1/examples': { get: { summary: 'A few TOP phase I valid-split records to try', responses: { '200': { description: 'examples', ...json({ type: 'object' }) } } } },
      '/healthz': { get: { summary: 'Liveness', responses: { '200': { description: 'ok', ...json({ type: 'object', properties: { status: { type: 'string' } } }) } } } },
      '/openapi.json': { get: { summary: 'This document', responses: { '200': { description: 'OpenAPI 3 document' } } } },
      '/': { get: { summary: 'Web page: paste a record, see the prediction and its attributions', responses: { '200': { description: 'HTML' } } } },
    },
    components: {
      schemas: {
        Record: { oneOf: [{ $ref: '#/components/schemas/CtgovStudy' }, { $ref: '#/components/schemas/TopRecord' }] },
        CtgovStudy: studySchema,
        TopRecord: topRecordSchema,
        Prediction: predictionSchema,
        Explanation: explanationSchema,
        Error: errorSchema,
      },
    },
  };
}
