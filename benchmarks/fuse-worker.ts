/**
 * Child-process workloads for benchmarks/fuse.ts: one phase per process, given as a JSON
 * argument, timed inside the child (startup excluded) and reported as one JSON line on
 * stdout. Running phases in a child keeps the measured I/O out of the orchestrating process
 * and lets the parent drop caches or remount between phases.
 * Phases: write/read (sequential, fixed block size, fsync before close; fio when asked),
 * randread (seeded 4 KiB preads of a big file, `jobs` in flight), smallwrite/smallread,
 * create/stat/unlink (N files, `jobs` in flight), readdir, checkpoint (Spark-style: per
 * cycle two tiny files written and renamed into place, the directory listed and the
 * cycle before last purged).
 */
import { execFile } from 'node:child_process';
import { randomFillSync } from 'node:crypto';
import { mkdir, open, readdir, readFile, rename, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { readFileBlocks, writeFileBlocks } from '../src/cli/commands/bench.js';

export type Phase =
  | { op: 'write'; file: string; bytes: number; block: number; fio?: boolean }
  | { op: 'read'; file: string; block: number; fio?: boolean }
  | { op: 'smallwrite'; dir: string; count: number; bytes: number }
  | { op: 'smallread'; dir: string; count: number }
  | { op: 'create' | 'stat' | 'unlink'; dir: string; count: number; jobs: number }
  | { op: 'readdir'; dir: string; repeat: number }
  | { op: 'randread'; file: string; count: number; block: number; jobs: number; seed: number }
  | { op: 'checkpoint'; dir: string; cycles: number };

export interface PhaseResult {
  seconds: number;
  bytes?: number;
  /** readdir: entries seen and each listing's ms. */
  entries?: number;
  runsMs?: number[];
}

const fileName = (dir: string, i: number): string => join(dir, `f${i}`);

async function pool(count: number, jobs: number, fn: (i: number) => Promise<unknown>): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < count) await fn(next++);
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(jobs, count)) }, worker));
}

async function timed(fn: () => Promise<unknown>): Promise<number> {
  const t0 = process.hrtime.bigint();
  await fn();
  return Number(process.hrtime.bigint() - t0) / 1e9;
}

/** fio sequential job; returns its bandwidth-derived seconds for `bytes`. */
async function fio(rw: 'write' | 'read', file: string, bytes: number, block: number): Promise<PhaseResult> {
  const args = [
    `--name=tjfs-${rw}`,
    `--filename=${file}`,
    `--rw=${rw}`,
    `--bs=${block}`,
    `--size=${bytes}`,
    '--ioengine=psync',
    '--output-format=json',
  ];
  if (rw === 'write') args.push('--end_fsync=1');
  const { stdout } = await promisify(execFile)('fio', args, { maxBuffer: 16 * 1024 * 1024 });
  const job = (
    JSON.parse(stdout) as { jobs: Array<Record<'read' | 'write', { io_bytes: number; runtime: number }>> }
  ).jobs[0];
  const r = job?.[rw];
  if (r === undefined || r.runtime <= 0) throw new Error('fio: no result');
  return { seconds: r.runtime / 1000, bytes: r.io_bytes };
}

/** `count` preads of `block` bytes at block-aligned offsets drawn from a seeded LCG. */
async function randread(
  file: string,
  count: number,
  block: number,
  jobs: number,
  seed: number,
): Promise<PhaseResult> {
  const fh = await open(file, 'r');
  try {
    const blocks = Math.floor((await fh.stat()).size / block);
    let x = seed >>> 0;
    const nextOffset = (): number => {
      x = (Math.imul(x, 1664525) + 1013904223) >>> 0;
      return (x % blocks) * block;
    };
    const bufs = Array.from({ length: jobs }, () => Buffer.allocUnsafe(block));
    let bytes = 0;
    let slot = 0;
    const seconds = await timed(() =>
      pool(count, jobs, async () => {
        const buf = bufs[slot++ % jobs] as Buffer;
        bytes += (await fh.read(buf, 0, block, nextOffset())).bytesRead;
      }),
    );
    return { seconds, bytes };
  } finally {
    await fh.close();
  }
}

/** Spark-style checkpoint cycles: write two tiny files, rename them in, list, purge old. */
async function checkpoint(dir: string, cycles: number): Promise<PhaseResult> {
  await mkdir(dir, { recursive: true });
  const data = Buffer.alloc(100, 7);
  const seconds = await timed(async () => {
    for (let i = 0; i < cycles; i++) {
      for (const part of ['a', 'b']) {
        const tmp = join(dir, `.tmp-${i}-${part}`);
        const fh = await open(tmp, 'w');
        await fh.write(data, 0, data.length, 0);
        await fh.close();
        await rename(tmp, join(dir, `ckpt-${i}.${part}`));
      }
      await readdir(dir);
      if (i >= 2) for (const part of ['a', 'b']) await unlink(join(dir, `ckpt-${i - 2}.${part}`));
    }
  });
  return { seconds };
}

export async function runPhase(p: Phase): Promise<PhaseResult> {
  switch (p.op) {
    case 'write': {
      if (p.fio === true) return fio('write', p.file, p.bytes, p.block);
      const block = randomFillSync(Buffer.allocUnsafe(p.block));
      return { seconds: await timed(() => writeFileBlocks(p.file, p.bytes, block, true)), bytes: p.bytes };
    }
    case 'read': {
      if (p.fio === true) return fio('read', p.file, (await stat(p.file)).size, p.block);
      let bytes = 0;
      const seconds = await timed(
        async () => (bytes = await readFileBlocks(p.file, Buffer.allocUnsafe(p.block))),
      );
      return { seconds, bytes };
    }
    case 'smallwrite': {
      await mkdir(p.dir, { recursive: true });
      const data = randomFillSync(Buffer.allocUnsafe(p.bytes));
      const seconds = await timed(async () => {
        for (let i = 0; i < p.count; i++) {
          const fh = await open(fileName(p.dir, i), 'w');
          await fh.write(data, 0, data.length, 0);
          await fh.close();
        }
      });
      return { seconds, bytes: p.bytes * p.count };
    }
    case 'smallread': {
      let bytes = 0;
      const seconds = await timed(async () => {
        for (let i = 0; i < p.count; i++) bytes += (await readFile(fileName(p.dir, i))).length;
      });
      return { seconds, bytes };
    }
    case 'create':
      await mkdir(p.dir, { recursive: true });
      return {
        seconds: await timed(() =>
          pool(p.count, p.jobs, async (i) => (await open(fileName(p.dir, i), 'w')).close()),
        ),
      };
    case 'stat':
      return { seconds: await timed(() => pool(p.count, p.jobs, (i) => stat(fileName(p.dir, i)))) };
    case 'unlink':
      return { seconds: await timed(() => pool(p.count, p.jobs, (i) => unlink(fileName(p.dir, i)))) };
    case 'randread':
      return randread(p.file, p.count, p.block, p.jobs, p.seed);
    case 'checkpoint':
      return checkpoint(p.dir, p.cycles);
    case 'readdir': {
      const runsMs: number[] = [];
      let entries = 0;
      for (let r = 0; r < p.repeat; r++)
        runsMs.push((await timed(async () => (entries = (await readdir(p.dir)).length))) * 1000);
      return { seconds: (runsMs[0] ?? 0) / 1000, entries, runsMs };
    }
  }
}

// Entry point when spawned: `node fuse-worker.js '<phase json>'`.
const arg = process.argv[2];
if (arg !== undefined && process.argv[1]?.endsWith('fuse-worker.js') === true) {
  try {
    const res = await runPhase(JSON.parse(arg) as Phase);
    process.stdout.write(JSON.stringify(res) + '\n');
  } catch (e) {
    process.stderr.write(`fuse-worker: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    process.exitCode = 1;
  }
}
