/**
 * Downloads the official TOP benchmark files (futianfan/clinical-trial-outcome-prediction, pinned commit) into a
 * data directory, checking each against the sha256 recorded in MANIFEST.json.
 *
 * - Files are fetched from raw.githubusercontent.com at a fixed commit, so the bytes can be checked by hash.
 * - The three official splits missing from the offline copy (phase_II_train/test, phase_III_train) have no known
 *   hash: they are saved and reported as "unverified", with the sha256 they turned out to have.
 * - Nothing is written until a file is complete and verified; then it is written under a temporary name and
 *   renamed, so an interrupted or refused download never leaves a partial or wrong file under the real name.
 * - A network failure (DNS, refused connection, timeout) stops the run with "cannot reach raw.githubusercontent.com
 *   (offline?)" before any file is touched.
 */
import { randomBytes } from 'node:crypto';
import { sha256Hex } from '../runtime/hash.ts';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Manifest } from './splits.ts';

export const TOP_REPO = 'futianfan/clinical-trial-outcome-prediction';
export const TOP_COMMIT = '8dc0497f23fdb84e2905da7655924a91e6e79798';
export const RAW_HOST = 'raw.githubusercontent.com';

/**
 * sha256 of the official files as published at TOP_COMMIT (same values as the data README / MANIFEST.json).
 * Used when the target directory has no MANIFEST.json yet (a fresh download); a test checks they equal the manifest.
 */
export const KNOWN_SHA256: Readonly<Record<string, string>> = {
  'phase_I_train.csv': '4db18b0f1469f215ed828c814acd6ed18ca3b7b49ae13483252553767f1a057a',
  'phase_I_valid.csv': 'a170fca5f42781c98a3bf892bc81a46695c7c88810e4712555d6c68bd1765f44',
  'phase_I_test.csv': '85f614499bda8a8190152d99ff2799d06f8919cdd700572cd3f42bd86375d0f7',
  'phase_II_valid.csv': 'c5905bfc5b646e30321bd8e671d7bd946b8fb1dfe5c30a74bb29fa40e2a711e7',
  'phase_III_valid.csv': '8fc1d2a900e595685dc447dea0a2dd5bb9d500288b1c53166780da789f30cda2',
  'phase_III_test.csv': '537f0648c617bd4a25b05a98f4cd2ba77989a214655eb0be345a4dec5ee0db38',
  'toy_train.csv': 'f5d2d9bf9bf6b77176bae1a6f4296c3e6149a60e4b53c7ced08883559dcb5ee7',
  'toy_valid.csv': 'b0bfa186bd1f3aa2fb0d3b05c31aa11fbd5f2dec4986e3a936f865f4efd07eb9',
  'toy_test.csv': '1b8476cb675d9f40319f99234ae2fc8d9a567177da075528099d9e8d4ec9a326',
};

/** Official splits absent from the offline copy; their sha256 is unknown, so they can only be saved unverified. */
export const MISSING_OFFICIAL_FILES: readonly string[] = ['phase_II_train.csv', 'phase_II_test.csv', 'phase_III_train.csv'];

export interface FetchTarget {
  /** File name, both in the TOP repo's `data/` folder and in the data directory. */
  name: string;
  url: string;
  /** Expected sha256; undefined when nobody has recorded it (the file is then saved as unverified). */
  sha256?: string;
}

export type FetchStatus =
  | 'verified' // downloaded, hash matches
  | 'unverified' // downloaded, no hash to compare with
  | 'present' // already there (hash checked when known), not downloaded again
  | 'refused' // downloaded, hash mismatch: not saved
  | 'failed'; // HTTP error or local write error

export interface FetchOutcome {
  name: string;
  status: FetchStatus;
  /** sha256 of the bytes downloaded (or of the file present). */
  sha256?: string;
  bytes?: number;
  message: string;
}

export interface FetchReport {
  dataDir: string;
  outcomes: FetchOutcome[];
  /** True when every file is present afterwards and none was refused or failed. */
  ok: boolean;
}

/** Thrown when the host cannot be reached; the file being downloaded is not written, existing files are untouched. */
export class OfflineError extends Error {
  constructor(
    detail: string,
    /** Files completely downloaded (and verified where possible) in this run before the connection failed. */
    readonly savedBefore: string[] = [],
  ) {
    super(`cannot reach ${RAW_HOST} (offline?): ${detail}`);
    this.name = 'OfflineError';
  }
}

export type FetchFn = (url: string, init?: { signal?: AbortSignal }) => Promise<Response>;

export interface FetchOptions {
  dataDir: string;
  /** Download and replace files that are already present. */
  force?: boolean;
  /** Injected in tests; defaults to the global fetch. */
  fetchImpl?: FetchFn;
  /** Per-file timeout; TOP files are up to ~10 MB. */
  timeoutMs?: number;
  /** Progress lines (one per file). */
  log?: (line: string) => void;
  /** Manifest to take hashes from; default: `<dataDir>/MANIFEST.json` when it exists, else KNOWN_SHA256. */
  manifest?: Manifest;
}

export function rawUrl(name: string): string {
  return `https://${RAW_HOST}/${TOP_REPO}/${TOP_COMMIT}/data/${name}`;
}

/**
 * The files to fetch: every top-level manifest entry that is a verbatim copy of `data/<name>` at TOP_COMMIT
 * (official splits and toy files), then the missing official splits. Aux files and reconstructed files are not
 * part of the TOP repo's data folder at that path and are not fetched.
 */
export function fetchTargets(manifest?: Manifest): FetchTarget[] {
  const hashes = new Map<string, string>();
  if (manifest) {
    for (const [name, entry] of Object.entries(manifest.files)) {
      if (name.includes('/')) continue;
      if (entry.origin !== TOP_REPO || entry.origin_commit !== TOP_COMMIT || entry.origin_path !== `data/${name}`) continue;
      hashes.set(name, entry.sha256);
    }
  } else {
    for (const [name, sha] of Object.entries(KNOWN_SHA256)) hashes.set(name, sha);
  }
  const targets: FetchTarget[] = [...hashes].map(([name, sha256]) => ({ name, url: rawUrl(name), sha256 }));
  for (const name of MISSING_OFFICIAL_FILES) {
    if (!hashes.has(name)) targets.push({ name, url: rawUrl(name) });
  }
  return targets;
}

function readManifestIfAny(dataDir: string): Manifest | undefined {
  const file = path.join(dataDir, 'MANIFEST.json');
  if (!existsSync(file)) return undefined;
  return JSON.parse(readFileSync(file, 'utf8')) as Manifest;
}

/** Network-level failure (as opposed to an HTTP status): DNS, connection, TLS, timeout. */
function networkFailure(err: unknown): string | undefined {
  if (!(err instanceof Error)) return undefined;
  if (err.name === 'TimeoutError' || err.name === 'AbortError') return `timed out (${err.message})`;
  // Node's fetch reports every transport problem as `TypeError: fetch failed` with the socket error as cause.
  if (err.name === 'TypeError') {
    const cause = (err as Error & { cause?: unknown }).cause;
    if (cause instanceof Error) return cause.message;
    return err.message;
  }
  const code = (err as Error & { code?: unknown }).code;
  if (typeof code === 'string' && /^(?:ENOTFOUND|EAI_AGAIN|ECONNREFUSED|ECONNRESET|ETIMEDOUT|ENETUNREACH|EHOSTUNREACH)$/.test(code)) {
    return err.message;
  }
  return undefined;
}

/** Writes bytes under a temporary name in the same directory, then renames it over `dest`. */
function writeAtomically(dest: string, bytes: Uint8Array): void {
  const tmp = `${dest}.part-${process.pid}-${randomBytes(4).toString('hex')}`;
  try {
    writeFileSync(tmp, bytes);
    renameSync(tmp, dest);
  } catch (err) {
    rmSync(tmp, { force: true });
    throw err;
  }
}

const short = (sha: string) => sha.slice(0, 12);

/**
 * Fetches every target into `dataDir`. Throws OfflineError on the first network failure (files already fetched in
 * this run stay, being complete and verified; nothing else is touched). Hash mismatches and HTTP errors are reported
 * per file in the returned report (`ok` false).
 */
export async function fetchTopFiles(options: FetchOptions): Promise<FetchReport> {
  const dataDir = path.resolve(options.dataDir);
  const fetchImpl: FetchFn = options.fetchImpl ?? ((url, init) => fetch(url, init));
  const timeoutMs = options.timeoutMs ?? 120_000;
  const log = options.log ?? (() => {});
  const manifest = options.manifest ?? readManifestIfAny(dataDir);
  const targets = fetchTargets(manifest);
  const outcomes: FetchOutcome[] = [];
  const record = (o: FetchOutcome) => {
    outcomes.push(o);
    log(`${o.name}: ${o.message}`);
  };

  for (const target of targets) {
    const dest = path.join(dataDir, target.name);
    if (!options.force && existsSync(dest)) {
      const bytes = readFileSync(dest);
      const got = sha256Hex(bytes);
      if (target.sha256 && got !== target.sha256) {
        record({
          name: target.name,
          status: 'failed',
          sha256: got,
          bytes: bytes.length,
          message: `present but sha256 mismatch: expected ${target.sha256}, got ${got}; rerun with --force to replace it`,
        });
      } else {
        record({
          name: target.name,
          status: 'present',
          sha256: got,
          bytes: bytes.length,
          message: target.sha256 ? `present, sha256 verified (${short(got)})` : `present, unverified (sha256 ${short(got)}, no known hash)`,
        });
      }
      continue;
    }

    let response: Response;
    let bytes: Uint8Array;
    try {
      response = await fetchImpl(target.url, { signal: AbortSignal.timeout(timeoutMs) });
      if (!response.ok) {
        record({ name: target.name, status: 'failed', message: `HTTP ${response.status} ${response.statusText} for ${target.url}` });
        continue;
      }
      bytes = new Uint8Array(await response.arrayBuffer());
    } catch (err) {
      const detail = networkFailure(err);
      if (detail !== undefined) {
        throw new OfflineError(
          detail,
          outcomes.filter((o) => o.status === 'verified' || o.status === 'unverified').map((o) => o.name),
        );
      }
      throw err;
    }

    const got = sha256Hex(bytes);
    if (target.sha256 && got !== target.sha256) {
      // Not written at all: a wrong file under an official name would silently change every benchmark number.
      record({
        name: target.name,
        status: 'refused',
        sha256: got,
        bytes: bytes.length,
        message: `sha256 mismatch, not saved: expected ${target.sha256}, got ${got}`,
      });
      continue;
    }
    try {
      mkdirSync(dataDir, { recursive: true });
      writeAtomically(dest, bytes);
    } catch (err) {
      record({ name: target.name, status: 'failed', message: `cannot write ${dest}: ${(err as Error).message}` });
      continue;
    }
    record(
      target.sha256
        ? { name: target.name, status: 'verified', sha256: got, bytes: bytes.length, message: `saved, sha256 verified (${short(got)}, ${bytes.length} bytes)` }
        : {
            name: target.name,
            status: 'unverified',
            sha256: got,
            bytes: bytes.length,
            message: `saved, unverified: no known sha256 for this file (got ${got}, ${bytes.length} bytes)`,
          },
    );
  }
  return { dataDir, outcomes, ok: outcomes.every((o) => o.status !== 'refused' && o.status !== 'failed') };
}
