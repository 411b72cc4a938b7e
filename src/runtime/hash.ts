/**
 * The sha256 hex digest every content check and cache key in cladmop uses (bundle and LM files, downloaded TOP
 * files, corpus keys), written once so the encodings cannot drift apart.
 */
import { createHash } from 'node:crypto';

export function sha256Hex(data: string | Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}
