/**
 * Every file cladmop writes goes through here: written to a temporary name in the same directory, flushed,
 * then renamed over the target. A crash leaves either the old file or the new one, never half of one.
 */
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readdirSync, renameSync, rmSync, statSync, writeSync } from 'node:fs';
import path from 'node:path';

export function writeFileAtomic(file: string, data: string | Uint8Array | (string | Uint8Array)[]): void {
  const w = AtomicWriter.open(file);
  try {
    for (const chunk of Array.isArray(data) ? data : [data]) w.write(chunk);
    w.commit();
  } catch (err) {
    w.abort();
    throw err;
  }
}

/**
 * A file written piece by piece to a temporary name beside it, renamed over it by `commit`. Opening it checks
 * that the target can be written (so a long computation does not end in "permission denied") and removes
 * temporary files that killed writers of the same target left; `abort` (or a failed commit) leaves no temporary
 * file behind.
 */
export class AtomicWriter {
  private fd: number | null;
  private constructor(
    readonly file: string,
    readonly tmp: string,
    fd: number,
  ) {
    this.fd = fd;
  }

  static open(file: string): AtomicWriter {
    let existing: ReturnType<typeof statSync> | undefined;
    try {
      existing = statSync(file);
    } catch {
      // absent: fine
    }
    if (existing && existing.isDirectory()) throw new Error(`${file} is a directory; name a file to write`);
    mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
    removeStaleTemps(file);
    const tmp = `${file}.tmp-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
    return new AtomicWriter(file, tmp, openSync(tmp, 'wx'));
  }

  write(chunk: string | Uint8Array): void {
    if (this.fd === null) throw new Error(`${this.file}: already committed or aborted`);
    if (typeof chunk === 'string') chunk = Buffer.from(chunk);
    let off = 0;
    while (off < chunk.length) off += writeSync(this.fd, chunk, off, chunk.length - off);
  }

  commit(): void {
    if (this.fd === null) throw new Error(`${this.file}: already committed or aborted`);
    try {
      fsyncSync(this.fd);
      closeSync(this.fd);
      this.fd = null;
      renameSync(this.tmp, this.file);
    } catch (err) {
      this.abort();
      throw err;
    }
  }

  /** Drops what was written; the target is left as it was. */
  abort(): void {
    if (this.fd !== null) {
      try {
        closeSync(this.fd);
      } catch {
        // already closed
      }
      this.fd = null;
    }
    rmSync(this.tmp, { force: true });
  }
}

/** Whether a process with this id runs (a temporary file of a live writer must not be removed). */
function alive(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Removes temporary files that a killed writer of `file` left behind (`file.tmp-<pid>-<random>` whose process no
 * longer runs: another live process may be writing the same target). Every AtomicWriter calls it.
 */
export function removeStaleTemps(file: string): string[] {
  const dir = path.dirname(path.resolve(file));
  const prefix = `${path.basename(file)}.tmp-`;
  if (!existsSync(dir)) return [];
  const stale = readdirSync(dir).filter((f) => {
    if (!f.startsWith(prefix)) return false;
    const pid = Number(/^(\d+)-/.exec(f.slice(prefix.length))?.[1]);
    return !(Number.isInteger(pid) && pid > 0 && alive(pid));
  });
  for (const f of stale) {
    try {
      rmSync(path.join(dir, f), { force: true });
    } catch {
      // not a file (someone made a directory of that name): leave it
    }
  }
  return stale;
}
