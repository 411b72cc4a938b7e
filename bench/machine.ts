/** What machine the benchmarks ran on, and how busy it was. */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PACKAGE_ROOT } from '../src/settings.ts';

export interface MachineInfo {
  cpuModel: string;
  /** Logical processors this process may use. */
  cores: number;
  logicalProcessors: number;
  cpuFlags: string[];
  memoryGiB: number;
  os: string;
  node: string;
  packages: Record<string, string | null>;
  git: { commit: string | null; dirty: boolean | null };
}

function readText(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}

export function packageVersion(name: string, root = PACKAGE_ROOT): string | null {
  const f = path.join(root, 'node_modules', name, 'package.json');
  if (!existsSync(f)) return null;
  try {
    return JSON.parse(readFileSync(f, 'utf8')).version ?? null;
  } catch {
    return null;
  }
}

function git(args: string[]): string | null {
  try {
    return execFileSync('git', ['-C', PACKAGE_ROOT, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return null;
  }
}

export function machineInfo(): MachineInfo {
  const cpuinfo = readText('/proc/cpuinfo');
  const model = /^model name\s*:\s*(.+)$/m.exec(cpuinfo)?.[1]?.trim() ?? os.cpus()[0]?.model ?? 'unknown';
  const flags = new Set((/^flags\s*:\s*(.+)$/m.exec(cpuinfo)?.[1] ?? '').split(/\s+/));
  const memKb = Number(/^MemTotal:\s*(\d+)\s*kB/m.exec(readText('/proc/meminfo'))?.[1] ?? NaN);
  const status = git(['status', '--porcelain']);
  return {
    cpuModel: model,
    cores: os.availableParallelism(),
    logicalProcessors: (cpuinfo.match(/^processor\s*:/gm) ?? []).length || os.cpus().length,
    cpuFlags: ['sse4_2', 'avx', 'avx2', 'fma', 'avx512f', 'avx512_vnni', 'avx512_bf16'].filter((f) => flags.has(f)),
    memoryGiB: Number.isFinite(memKb) ? Math.round((memKb / 1024 / 1024) * 10) / 10 : Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    os: `${os.type()} ${os.release()}`,
    node: process.version,
    packages: Object.fromEntries(['@jax-js/jax', 'onnxruntime-node', 'tsx', 'typescript', '@rdkit/rdkit', 'tokenizers'].map((p) => [p, packageVersion(p)])),
    git: { commit: git(['rev-parse', 'HEAD']), dirty: status === null ? null : status.length > 0 },
  };
}

/** The processes using the most CPU right now (so a report can say what it competed with). */
export function busyProcesses(limit = 4, self = process.pid): { pid: number; cpuPercent: number; rssMB: number; command: string }[] {
  try {
    const out = execFileSync('ps', ['-eo', 'pid=,pcpu=,rss=,args=', '--sort=-pcpu'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
    return out
      .split('\n')
      .map((l) => /^\s*(\d+)\s+([\d.]+)\s+(\d+)\s+(.*)$/.exec(l))
      .filter((m): m is RegExpExecArray => !!m && Number(m[1]) !== self && Number(m[2]) >= 10 && !/\bps -eo\b/.test(m[4]))
      .slice(0, limit)
      .map((m) => ({ pid: Number(m[1]), cpuPercent: Number(m[2]), rssMB: Math.round(Number(m[3]) / 1000), command: m[4].slice(0, 80) }));
  } catch {
    return [];
  }
}

function cpuTimes(): { idle: number; total: number } {
  const line = readText('/proc/stat').split('\n').find((l) => l.startsWith('cpu '));
  if (!line) return { idle: NaN, total: NaN };
  const v = line.trim().split(/\s+/).slice(1).map(Number);
  const idle = v[3] + (v[4] ?? 0); // idle + iowait
  return { idle, total: v.reduce((a, b) => a + b, 0) };
}

/** Fraction of all cores busy over the next `ms` milliseconds (from /proc/stat), e.g. 0.5 = one of two cores. */
export async function cpuBusyFraction(ms = 1000): Promise<number | null> {
  const a = cpuTimes();
  await new Promise((r) => setTimeout(r, ms));
  const b = cpuTimes();
  const total = b.total - a.total;
  if (!Number.isFinite(total) || total <= 0) return null;
  return Math.round((1 - (b.idle - a.idle) / total) * 100) / 100;
}
