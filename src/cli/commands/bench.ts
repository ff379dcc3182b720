/**
 * `tjfs bench PATH`: the `juicefs bench` workload on any directory. Each of N threads writes
 * one big file in block-size writes (fsync before close), reads it back with a fresh open,
 * writes and reads M small files, then stats them; the table shows throughput and per-file
 * cost. When PATH is on a tjfs mount (a `.stats` serving juicefs_fuse_ops above it), the
 * `.stats` deltas give per-op costs (FUSE ops, and meta/object/cache rows when exported).
 * Design: runs in the CLI process, never in the FUSE daemon, with async fs only; files go
 * to PATH/__tjfs_benchmark_<ns>__/ which is removed afterwards (also on error).
 * `--drop-caches` (root only) syncs and writes 3 to /proc/sys/vm/drop_caches before every
 * read and stat phase, as juicefs bench does; without it reads may hit the page cache.
 */
import { execFile } from 'node:child_process';
import { randomFillSync } from 'node:crypto';
import { mkdir, open, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import type { Command } from 'commander';
import {
  costRows,
  findMountRoot,
  fuseOpsByMethod,
  processUsage,
  readStats,
  round,
  type CostRow,
  type Snapshot,
} from '../bench-metrics.js';
import { CliError, err, out, parseIntArg, parseSize, helpExamples, type CliIo } from '../io.js';

const MiB = 1024 * 1024;
const KiB = 1024;
const MAX_THREADS = 256;

export interface BenchConfig {
  path: string;
  blockSize: number;
  bigFileSize: number;
  smallFileSize: number;
  smallFileCount: number;
  threads: number;
  dropCaches: boolean;
}

export interface BenchItem {
  value: number;
  unit: 'MiB/s' | 'files/s';
  cost: number;
  costUnit: 's/file' | 'ms/file';
}

export interface BenchReport {
  path: string;
  mountRoot: string | null;
  config: {
    blockSizeMiB: number;
    bigFileSizeMiB: number;
    smallFileSizeKiB: number;
    smallFileCount: number;
    threads: number;
    dropCaches: boolean;
  };
  results: Partial<
    Record<'writeBigFile' | 'readBigFile' | 'writeSmallFile' | 'readSmallFile' | 'statFile', BenchItem>
  >;
  costs: CostRow[];
  fuseOps: Record<string, { count: number; msPerOp: number }>;
  timeUsedSec: number;
  cpuPercent?: number;
  memoryMiB?: number;
}

const LABELS: Record<keyof BenchReport['results'], string> = {
  writeBigFile: 'Write big file',
  readBigFile: 'Read big file',
  writeSmallFile: 'Write small file',
  readSmallFile: 'Read small file',
  statFile: 'Stat file',
};

const range = (n: number): number[] => Array.from({ length: n }, (_, i) => i);

async function timed(fn: () => Promise<unknown>): Promise<number> {
  const t0 = process.hrtime.bigint();
  await fn();
  return Number(process.hrtime.bigint() - t0) / 1e9;
}

export async function writeFileBlocks(
  file: string,
  size: number,
  block: Buffer,
  sync: boolean,
): Promise<void> {
  const fh = await open(file, 'w');
  try {
    for (let off = 0; off < size; off += block.length) {
      const n = Math.min(block.length, size - off);
      let done = 0;
      while (done < n) done += (await fh.write(block, done, n - done, off + done)).bytesWritten;
    }
    if (sync) await fh.sync();
  } finally {
    await fh.close();
  }
}

export async function readFileBlocks(file: string, buf: Buffer): Promise<number> {
  const fh = await open(file, 'r');
  try {
    let total = 0;
    for (;;) {
      const { bytesRead } = await fh.read(buf, 0, buf.length, total);
      if (bytesRead === 0) return total;
      total += bytesRead;
    }
  } finally {
    await fh.close();
  }
}

/** `sync` then drop page cache, dentries and inodes (needs root). */
export async function dropCaches(): Promise<void> {
  await promisify(execFile)('sync');
  await writeFile('/proc/sys/vm/drop_caches', '3');
}

function item(
  unit: BenchItem['unit'],
  amount: number,
  secs: number,
  files: number,
  threads: number,
): BenchItem {
  const big = unit === 'MiB/s';
  const perFile = (secs * threads) / Math.max(files, 1);
  return {
    value: round(amount / Math.max(secs, 1e-9)),
    unit,
    cost: round(big ? perFile : perFile * 1000),
    costUnit: big ? 's/file' : 'ms/file',
  };
}

/** Runs the phases; the caller owns `dir` (created empty, removed afterwards). */
async function runPhases(
  cfg: BenchConfig,
  dir: string,
  warn: (m: string) => void,
): Promise<BenchReport['results']> {
  const results: BenchReport['results'] = {};
  const block = randomFillSync(Buffer.allocUnsafe(cfg.blockSize));
  const threads = range(cfg.threads);
  const maybeDrop = async (): Promise<void> => {
    if (!cfg.dropCaches) return;
    await dropCaches().catch((e: unknown) =>
      warn(`drop caches failed (${(e as Error).message}); reads may hit the page cache`),
    );
  };
  if (cfg.bigFileSize > 0) {
    const file = (t: number): string => join(dir, `bigfile.${t}`);
    const mib = (cfg.bigFileSize * cfg.threads) / MiB;
    const w = await timed(() =>
      Promise.all(threads.map((t) => writeFileBlocks(file(t), cfg.bigFileSize, block, true))),
    );
    results.writeBigFile = item('MiB/s', mib, w, cfg.threads, cfg.threads);
    await maybeDrop();
    const r = await timed(() =>
      Promise.all(threads.map((t) => readFileBlocks(file(t), Buffer.allocUnsafe(cfg.blockSize)))),
    );
    results.readBigFile = item('MiB/s', mib, r, cfg.threads, cfg.threads);
  }
  if (cfg.smallFileCount > 0) {
    const small =
      block.length >= cfg.smallFileSize ? block : randomFillSync(Buffer.allocUnsafe(cfg.smallFileSize));
    const file = (t: number, i: number): string => join(dir, `t${t}`, `small.${i}`);
    await Promise.all(threads.map((t) => mkdir(join(dir, `t${t}`))));
    const files = cfg.smallFileCount * cfg.threads;
    const each = async (fn: (t: number, i: number) => Promise<unknown>): Promise<number> =>
      timed(() =>
        Promise.all(
          threads.map(async (t) => {
            for (let i = 0; i < cfg.smallFileCount; i++) await fn(t, i);
          }),
        ),
      );
    const w = await each((t, i) =>
      writeFileBlocks(file(t, i), cfg.smallFileSize, small.subarray(0, cfg.smallFileSize), false),
    );
    results.writeSmallFile = item('files/s', files, w, files, cfg.threads);
    await maybeDrop();
    const r = await each((t, i) => readFile(file(t, i)));
    results.readSmallFile = item('files/s', files, r, files, cfg.threads);
    await maybeDrop();
    const s = await each((t, i) => stat(file(t, i)));
    results.statFile = item('files/s', files, s, files, cfg.threads);
  }
  return results;
}

export async function runBench(
  cfg: BenchConfig,
  warn: (m: string) => void = () => undefined,
): Promise<BenchReport> {
  const st = await stat(cfg.path).catch(() => undefined);
  if (st === undefined || !st.isDirectory()) throw new CliError(`${cfg.path} is not a directory`);
  const mountRoot = await findMountRoot(cfg.path);
  const dir = join(cfg.path, `__tjfs_benchmark_${process.hrtime.bigint()}__`);
  await mkdir(dir);
  let before: Snapshot = [];
  let after: Snapshot = [];
  let results: BenchReport['results'] = {};
  const t0 = process.hrtime.bigint();
  try {
    if (mountRoot !== undefined) before = await readStats(mountRoot);
    results = await runPhases(cfg, dir, warn);
    if (mountRoot !== undefined) after = await readStats(mountRoot);
  } finally {
    await rm(dir, { recursive: true, force: true }).catch((e: unknown) =>
      warn(`cleanup of ${dir} failed: ${(e as Error).message}`),
    );
  }
  const timeUsedSec = round(Number(process.hrtime.bigint() - t0) / 1e9);
  return {
    path: cfg.path,
    mountRoot: mountRoot ?? null,
    config: {
      blockSizeMiB: cfg.blockSize / MiB,
      bigFileSizeMiB: cfg.bigFileSize / MiB,
      smallFileSizeKiB: cfg.smallFileSize / KiB,
      smallFileCount: cfg.smallFileCount,
      threads: cfg.threads,
      dropCaches: cfg.dropCaches,
    },
    results,
    costs: mountRoot !== undefined ? costRows(before, after) : [],
    fuseOps: mountRoot !== undefined ? fuseOpsByMethod(before, after) : {},
    timeUsedSec,
    ...(mountRoot !== undefined ? processUsage(before, after) : {}),
  };
}

/** The juicefs-bench style table. */
export function formatReport(r: BenchReport): string {
  const c = r.config;
  const lines = [
    `BlockSize: ${c.blockSizeMiB} MiB, BigFileSize: ${c.bigFileSizeMiB} MiB, SmallFileSize: ${c.smallFileSizeKiB} KiB, SmallFileCount: ${c.smallFileCount}, NumThreads: ${c.threads}`,
    `Time used: ${r.timeUsedSec} s` +
      (r.cpuPercent !== undefined ? `, CPU: ${r.cpuPercent}%` : '') +
      (r.memoryMiB !== undefined ? `, Memory: ${r.memoryMiB} MiB` : '') +
      (r.mountRoot === null ? ' (not a tjfs mount: no per-op costs)' : ''),
  ];
  const rows: Array<[string, string, string]> = [['ITEM', 'VALUE', 'COST']];
  for (const [k, v] of Object.entries(r.results) as Array<[keyof BenchReport['results'], BenchItem]>) {
    rows.push([LABELS[k], `${v.value.toFixed(2)} ${v.unit}`, `${v.cost.toFixed(2)} ${v.costUnit}`]);
  }
  for (const cr of r.costs) rows.push([cr.item, `${cr.count} operations`, `${cr.msPerOp.toFixed(2)} ms/op`]);
  for (const [m, v] of Object.entries(r.fuseOps))
    rows.push([`  fuse ${m}`, `${v.count} operations`, `${v.msPerOp.toFixed(3)} ms/op`]);
  const w = [0, 1, 2].map((i) => Math.max(...rows.map((row) => row[i]?.length ?? 0)) + 2);
  const sep = '+' + w.map((n) => '-'.repeat(n)).join('+') + '+';
  const fmt = (row: [string, string, string]): string =>
    '|' +
    row.map((s, i) => ` ${i === 0 ? s.padEnd((w[i] ?? 2) - 2) : s.padStart((w[i] ?? 2) - 2)} `).join('|') +
    '|';
  lines.push(sep, fmt(rows[0] ?? ['', '', '']), sep, ...rows.slice(1).map(fmt), sep);
  return lines.join('\n');
}

export interface BenchFlags {
  bigFileSize: string;
  smallFileSize: string;
  smallFileCount: string;
  threads: string;
  blockSize: string;
  dropCaches?: boolean;
  json?: boolean;
}

/** Validates flags into a config (sizes as JuiceFS's bench: MiB for big/block, KiB for small, unless suffixed). */
export function benchConfig(path: string, f: BenchFlags, cwd: string): BenchConfig {
  const cfg: BenchConfig = {
    path: resolve(cwd, path),
    blockSize: parseSize(f.blockSize, 'M', '--block-size'),
    bigFileSize: parseSize(f.bigFileSize, 'M', '--big-file-size'),
    smallFileSize: parseSize(f.smallFileSize, 'K', '--small-file-size'),
    smallFileCount: parseIntArg(f.smallFileCount, '--small-file-count'),
    threads: parseIntArg(f.threads, '--threads'),
    dropCaches: f.dropCaches === true,
  };
  if (cfg.blockSize < KiB) throw new CliError('--block-size must be at least 1K');
  if (cfg.threads < 1 || cfg.threads > MAX_THREADS)
    throw new CliError(`--threads must be in 1..${MAX_THREADS}`);
  if (cfg.dropCaches && process.getuid?.() !== 0) throw new CliError('--drop-caches needs root');
  return cfg;
}

export function registerBench(program: Command, io: CliIo, setExit: (p: Promise<number>) => void): void {
  program
    .command('bench')
    .description('run the juicefs-bench workload (big file, small files, stat) on PATH')
    .argument('<PATH>', 'directory to benchmark (a tjfs mount adds per-op costs from .stats)')
    .option('--big-file-size <size>', 'size of each big file, MiB unless suffixed (0 skips)', '1G')
    .option('--small-file-size <size>', 'size of each small file, KiB unless suffixed', '128K')
    .option('--small-file-count <n>', 'small files per thread (0 skips)', '100')
    .option('-p, --threads <n>', 'concurrent threads, each with its own files', '1')
    .option('--block-size <size>', 'I/O size for big files, MiB unless suffixed', '1M')
    .option('--drop-caches', 'sync and drop the kernel caches before read/stat phases (root)')
    .option('--json', 'print the report as JSON')
    .addHelpText(
      'after',
      helpExamples(
        'tjfs bench /mnt/jfs -p 4 --big-file-size 1G --small-file-size 128K --small-file-count 100',
      ),
    )
    .action((path: string, flags: BenchFlags) => {
      setExit(
        (async () => {
          const cfg = benchConfig(path, flags, io.cwd ?? process.cwd());
          const report = await runBench(cfg, (m) => err(io, `tjfs bench: ${m}`));
          out(io, flags.json === true ? JSON.stringify(report, null, 2) : formatReport(report));
          return 0;
        })(),
      );
    });
}
