/**
 * Saved-model bundle: a directory with a versioned `config.json`, the weights in safetensors (base model +
 * LoRA adapters), and the ICD vocabulary the disease embeddings are indexed by. Loading checks the schema
 * version and every file's sha256 and never executes anything from the bundle.
 */
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { createHash } from 'node:crypto';
import { writeFileAtomic } from '../runtime/atomic-write.ts';
import { readSafetensors, writeSafetensors, type Tensor } from '../runtime/safetensors.ts';
import { tree } from '@jax-js/jax';
import { namedLeaves, treeFromTensors, treeToTensors } from '../runtime/param-tree.ts';
import { initCladmop, initLoraParams, type CladmopConfig, type CladmopLora, type CladmopParams } from './cladmop.ts';

export const BUNDLE_FORMAT = 'cladmop-model';
export const BUNDLE_SCHEMA_VERSION = 1;

export interface BundleConfig {
  format: typeof BUNDLE_FORMAT;
  schemaVersion: number;
  architecture: CladmopConfig;
  /** Criteria encoder the model was trained on (its outputs are the model's input). */
  encoder: { spec: string; id: string; name: string };
  phase: string;
  dmFeatures: { moleculeSource: 'top' | 'names'; nameBuckets: number };
  maxCriteria: number;
  training: Record<string, unknown>;
  metrics: Record<string, unknown>;
  codeVersion: string;
  createdAt: string;
  files: Record<string, { sha256: string; bytes: number }>;
  /** Optional probability calibration fitted on valid (see eval/calibration). */
  calibration?: Record<string, unknown>;
}

export class BundleError extends Error {}

const sha256 = (b: Uint8Array | string) => createHash('sha256').update(b).digest('hex');

export interface SaveBundleInput {
  dir: string;
  params: CladmopParams;
  lora: CladmopLora;
  icdVocabulary: string[];
  config: Omit<BundleConfig, 'format' | 'schemaVersion' | 'files' | 'createdAt'>;
}

export async function saveBundle(input: SaveBundleInput): Promise<BundleConfig> {
  mkdirSync(input.dir, { recursive: true });
  const weightsFile = path.join(input.dir, 'weights.safetensors');
  const tensors = { ...(await treeToTensors(input.params, 'base')), ...(await treeToTensors(input.lora, 'lora')) };
  writeSafetensors(weightsFile, tensors, { format: `${BUNDLE_FORMAT}-v${BUNDLE_SCHEMA_VERSION}` });
  const vocabFile = path.join(input.dir, 'icd_vocabulary.json');
  writeFileAtomic(vocabFile, JSON.stringify(input.icdVocabulary));
  const files: BundleConfig['files'] = {};
  for (const f of [weightsFile, vocabFile]) {
    const bytes = readFileSync(f);
    files[path.basename(f)] = { sha256: sha256(bytes), bytes: bytes.length };
  }
  const config: BundleConfig = {
    format: BUNDLE_FORMAT,
    schemaVersion: BUNDLE_SCHEMA_VERSION,
    ...input.config,
    createdAt: new Date().toISOString(),
    files,
  };
  writeFileAtomic(path.join(input.dir, 'config.json'), JSON.stringify(config, null, 2) + '\n');
  return config;
}

export interface LoadedBundle {
  dir: string;
  config: BundleConfig;
  params: CladmopParams;
  lora: CladmopLora;
  icdVocabulary: string[];
  /** The weights as read (base.* and lora.*), checked against the architecture. */
  tensors: Record<string, Tensor>;
}

/** Reads and checks a bundle; throws BundleError saying what is wrong. */
export function loadBundle(dir: string): LoadedBundle {
  const configFile = path.join(dir, 'config.json');
  if (!existsSync(configFile)) throw new BundleError(`${dir} is not a cladmop model bundle: config.json is missing`);
  let config: BundleConfig;
  try {
    config = JSON.parse(readFileSync(configFile, 'utf8')) as BundleConfig;
  } catch (err) {
    throw new BundleError(`${configFile} is not valid JSON (${(err as Error).message})`);
  }
  if (config.format !== BUNDLE_FORMAT) throw new BundleError(`${configFile}: format is ${JSON.stringify(config.format)}, expected "${BUNDLE_FORMAT}"`);
  if (config.schemaVersion !== BUNDLE_SCHEMA_VERSION) {
    throw new BundleError(`${configFile}: schema version ${config.schemaVersion} is not supported (this cladmop reads version ${BUNDLE_SCHEMA_VERSION})`);
  }
  for (const [name, expected] of Object.entries(config.files ?? {})) {
    const file = path.join(dir, name);
    if (!existsSync(file)) throw new BundleError(`${dir}: ${name} is missing`);
    const bytes = readFileSync(file);
    const got = sha256(bytes);
    if (got !== expected.sha256) throw new BundleError(`${dir}: ${name} is corrupted or was changed (sha256 ${got.slice(0, 12)}…, config.json says ${expected.sha256.slice(0, 12)}…)`);
  }
  if (!config.files?.['weights.safetensors'] || !config.files?.['icd_vocabulary.json']) {
    throw new BundleError(`${configFile}: files must list weights.safetensors and icd_vocabulary.json`);
  }
  const icdVocabulary = JSON.parse(readFileSync(path.join(dir, 'icd_vocabulary.json'), 'utf8')) as string[];
  const { tensors } = readSafetensors(path.join(dir, 'weights.safetensors'));
  const arch = config.architecture;
  try {
    const params = treeFromTensors(initCladmop(arch, 0), tensors, 'base', 'weights.safetensors');
    const lora = treeFromTensors(initLoraParams(arch, 0), tensors, 'lora', 'weights.safetensors');
    // Every stored tensor must be used: config.json is not covered by a checksum, and an architecture with
    // fewer layers or levels than the weights would otherwise load silently without them.
    const used = new Set([...namedLeaves(params, 'base'), ...namedLeaves(lora, 'lora')].map(([name]) => name));
    const unused = Object.keys(tensors).filter((name) => !used.has(name));
    if (unused.length > 0) {
      tree.dispose([params, lora]);
      throw new Error(`weights.safetensors holds ${unused.length} tensor(s) the architecture in config.json does not use (${unused.slice(0, 3).join(', ')}${unused.length > 3 ? ', …' : ''})`);
    }
    return { dir, config, params, lora, icdVocabulary, tensors };
  } catch (err) {
    throw new BundleError(`${dir}: ${(err as Error).message}`);
  }
}
