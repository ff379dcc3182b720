/**
 * Reproducibility stamp shared by the benchmark scripts: the commit (and whether the work
 * tree had uncommitted changes), the machine (CPU model/count, memory, kernel, node) and
 * the date. Never throws: outside a git checkout the commit is 'unknown'.
 */
import { execFileSync } from 'node:child_process';
import { cpus, hostname, platform, release, totalmem } from 'node:os';

export interface Stamp {
  commit: string;
  dirty: boolean;
  date: string;
  machine: { host: string; cpu: string; cores: number; memGiB: number; kernel: string; node: string };
}

function git(args: string[]): string | undefined {
  try {
    return execFileSync('git', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return undefined;
  }
}

export function stamp(): Stamp {
  const cpu = cpus();
  return {
    commit: git(['rev-parse', 'HEAD']) ?? 'unknown',
    dirty: (git(['status', '--porcelain', '--untracked-files=no']) ?? '') !== '',
    date: new Date().toISOString(),
    machine: {
      host: hostname(),
      cpu: cpu[0]?.model.trim() ?? 'unknown',
      cores: cpu.length,
      memGiB: Math.round(totalmem() / 1024 ** 3),
      kernel: `${platform()} ${release()}`,
      node: process.version,
    },
  };
}

/** Reads a non-negative number from the environment, or `dflt` when unset. */
export function envNumber(name: string, dflt: number): number {
  const v = process.env[name];
  if (v === undefined || v.trim() === '') return dflt;
  const n = Number(v);
  if (!Number.isFinite(n) || n < 0) throw new Error(`${name}: not a non-negative number: ${v}`);
  return n;
}
