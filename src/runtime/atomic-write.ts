/**
 * Every file cladmop writes goes through here: written to a temporary name in the same directory, flushed,
 * then renamed over the target. A crash leaves either the old file or the new one, never half of one.
 */
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readdirSync, renameSync, rmSync, writeSync } from 'node:fs';
import path from 'node:path';

export function writeFileAtomic(file: string, data: string | Uint8Array | (string | Uint8Array)[]): void {
  mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
  const tmp = `${file}.tmp-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
  const fd = openSync(tmp, 'w');
  try {
    for (const chunk of Array.isArray(data) ? data : [data]) {
      if (typeof chunk === 'string') writeSync(fd, chunk);
      else {
        let off = 0;
        while (off < chunk.length) off += writeSync(fd, chunk, off, chunk.length - off);
      }
    }
    fsyncSync(fd);
  } catch (err) {
    closeSync(fd);
    rmSync(tmp, { force: true });
    throw err;
  }
  closeSync(fd);
  renameSync(tmp, file);
}

/**
 * Removes temporary files that a killed writer of `file` left behind (`file.tmp-<pid>-<random>`). Call before
 * resuming work that writes `file`.
 */
export function removeStaleTemps(file: string): string[] {
  const dir = path.dirname(path.resolve(file));
  const prefix = `${path.basename(file)}.tmp-`;
  if (!existsSync(dir)) return [];
  const stale = readdirSync(dir).filter((f) => f.startsWith(prefix));
  for (const f of stale) rmSync(path.join(dir, f), { force: true });
  return stale;
}
