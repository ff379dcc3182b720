/**
 * Metadata benchmark: ops/s and µs/op of single-client, one-at-a-time metadata ops through
 * BaseMeta on each engine (mem as the in-process baseline, sqlite3 on a temp file, redis
 * on a private redis-server started and stopped here): mkdir, create, lookup, getattr,
 * setattr, readdir of 10 and 1,000 entries (with attrs), rename, unlink, slice commit.
 * Plus Redis memory per inode: INFO memory before/after creating N files.
 * Writes JSON (commit, machine, numbers, Go's published Redis figures) to
 * bench-results/meta.json. Op count: `opts.ops`, else env TJFS_BENCH_META_OPS, else 2000;
 * files for the memory probe: `opts.memoryFiles`, else TJFS_BENCH_META_FILES, else 100,000.
 */
import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { cpus, hostname, platform, tmpdir, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { Redis } from 'ioredis';
import { BaseMeta, metaCore } from '../src/meta/base-meta.js';
import { defaultFormat } from '../src/meta/format.js';
import { openEngine } from '../src/meta/registry.js';
import { ROOT_INODE, type Context, type Ino } from '../src/base/types.js';
import { initFormat } from '../src/meta/volume.js';
import { startRedis } from '../test/helpers/redis-server.js';

export type EngineName = 'mem' | 'sqlite3' | 'redis';

export interface MetaBenchOptions {
  /** Operations per measured op kind (readdir runs fewer, see below). */
  ops?: number;
  engines?: EngineName[];
  /** Files created for the Redis memory-per-inode probe (0 = skip). */
  memoryFiles?: number;
  outFile?: string;
  log?: (line: string) => void;
}

export interface OpResult {
  ops: number;
  opsPerSec: number;
  usPerOp: number;
}

export interface MetaBenchResult {
  commit: string;
  date: string;
  machine: { host: string; cpu: string; cores: number; memGiB: number; platform: string; node: string };
  config: { ops: number; memoryFiles: number };
  engines: Partial<Record<EngineName, Record<string, OpResult>>>;
  redisMemory?: {
    files: number;
    usedMemoryBefore: number;
    usedMemoryAfter: number;
    bytesPerInode: number;
    seconds: number;
  };
  goReference: { source: string; redisUsPerOp: Record<string, number>; redisBytesPerInode: number };
}

const ctx: Context = { uid: 0, gid: 0, gids: [0], pid: 1 };
const b = (s: string): Buffer => Buffer.from(s);

function commitId(): string {
  try {
    return execFileSync('git', ['rev-parse', 'HEAD'], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    }).trim();
  } catch {
    return 'uncommitted';
  }
}

function envInt(name: string): number | undefined {
  const v = process.env[name];
  return v === undefined || v === '' ? undefined : Number.parseInt(v, 10);
}

/** Runs `fn(i)` for i in [0, n) one at a time; returns the rate. */
async function measure(n: number, fn: (i: number) => Promise<unknown>): Promise<OpResult> {
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) await fn(i);
  const ns = Number(process.hrtime.bigint() - t0);
  return { ops: n, opsPerSec: Math.round((n / ns) * 1e9), usPerOp: Math.round(ns / n / 100) / 10 };
}

/** Runs `fn(i)` for i in [0, n) with at most `limit` in flight. */
async function pool(n: number, limit: number, fn: (i: number) => Promise<unknown>): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < n) await fn(next++);
  };
  await Promise.all(Array.from({ length: Math.min(limit, n) }, worker));
}

async function openVolume(url: string): Promise<BaseMeta> {
  const engine = await openEngine(url);
  const format = { ...defaultFormat('benchvol', randomUUID(), '/tmp/tjfs-bench/'), TrashDays: 0 };
  await initFormat(engine, format, { nowSec: Math.floor(Date.now() / 1000) });
  const m = new BaseMeta(engine, format, { noBgDelete: true });
  await m.start({ MountPoint: 'bench' });
  return m;
}

async function fillDir(m: BaseMeta, name: string, n: number): Promise<Ino> {
  const d = await m.mkdir(ctx, ROOT_INODE, b(name), 0o755);
  await pool(n, 8, async (i) => {
    const f = await m.create(ctx, d.ino, b(`e${i}`), 0o644);
    await m.close(f.ino);
  });
  return d.ino;
}

/** The op suite on one engine. */
async function benchEngine(m: BaseMeta, ops: number): Promise<Record<string, OpResult>> {
  const r: Record<string, OpResult> = {};
  const dirs = await m.mkdir(ctx, ROOT_INODE, b('mkdir'), 0o755);
  r['mkdir'] = await measure(ops, (i) => m.mkdir(ctx, dirs.ino, b(`d${i}`), 0o755));
  const files = await m.mkdir(ctx, ROOT_INODE, b('files'), 0o755);
  const inos: Ino[] = [];
  r['create'] = await measure(ops, async (i) =>
    inos.push((await m.create(ctx, files.ino, b(`f${i}`), 0o644)).ino),
  );
  for (const ino of inos) metaCore(m).opened.delete(ino); // closed without the per-close sustained probe
  r['lookup'] = await measure(ops, (i) => m.lookup(ctx, files.ino, b(`f${i}`)));
  r['getattr'] = await measure(ops, (i) => m.getattr(ctx, inos[i] ?? ROOT_INODE));
  r['setattr'] = await measure(ops, (i) =>
    m.setattr(ctx, inos[i] ?? ROOT_INODE, { mode: i % 2 ? 0o600 : 0o644 }),
  );
  const d10 = await fillDir(m, 'r10', 10);
  r['readdir10'] = await measure(Math.max(10, Math.floor(ops / 4)), () =>
    m.readdir(ctx, d10, { plus: true }),
  );
  const d1000 = await fillDir(m, 'r1000', 1000);
  r['readdir1000'] = await measure(Math.max(5, Math.floor(ops / 100)), () =>
    m.readdir(ctx, d1000, { plus: true }),
  );
  r['rename'] = await measure(ops, (i) => m.rename(ctx, files.ino, b(`f${i}`), files.ino, b(`g${i}`)));
  const data = await m.create(ctx, ROOT_INODE, b('data'), 0o644);
  const now = { sec: Math.floor(Date.now() / 1000), nsec: 0 };
  r['writeSlice'] = await measure(ops, async (i) => {
    const id = await m.newSliceId();
    const off = i * 4096;
    await m.writeSlice(
      data.ino,
      Math.floor(off / (64 << 20)),
      { pos: off % (64 << 20), id, size: 4096, off: 0, len: 4096 },
      now,
    );
  });
  r['unlink'] = await measure(ops, (i) => m.unlink(ctx, files.ino, b(`g${i}`)));
  return r;
}

async function usedMemory(r: Redis): Promise<number> {
  const info = await r.info('memory');
  const m = /used_memory:(\d+)/.exec(info);
  return m?.[1] === undefined ? 0 : Number(m[1]);
}

/** Creates `files` files (1,000 per directory) on a fresh volume; bytes of Redis memory per inode. */
async function redisMemory(url: string, files: number): Promise<NonNullable<MetaBenchResult['redisMemory']>> {
  const raw = new Redis(url, { lazyConnect: true });
  await raw.connect();
  try {
    await raw.flushdb();
    const m = await openVolume(url);
    const before = await usedMemory(raw);
    const t0 = Date.now();
    const perDir = 1000;
    const dirs: Ino[] = [];
    for (let d = 0; d * perDir < files; d++)
      dirs.push((await m.mkdir(ctx, ROOT_INODE, b(`m${d}`), 0o755)).ino);
    await pool(files, 16, async (i) => {
      const f = await m.create(ctx, dirs[Math.floor(i / perDir)] ?? ROOT_INODE, b(`file-${i}`), 0o644);
      metaCore(m).opened.delete(f.ino);
    });
    const seconds = (Date.now() - t0) / 1000;
    const after = await usedMemory(raw);
    await m.stop();
    const inodes = files + dirs.length;
    return {
      files,
      usedMemoryBefore: before,
      usedMemoryAfter: after,
      bytesPerInode: Math.round((after - before) / inodes),
      seconds,
    };
  } finally {
    raw.disconnect();
  }
}

export async function runMetaBench(opts: MetaBenchOptions = {}): Promise<MetaBenchResult> {
  const ops = opts.ops ?? envInt('TJFS_BENCH_META_OPS') ?? 2000;
  const memoryFiles = opts.memoryFiles ?? envInt('TJFS_BENCH_META_FILES') ?? 100_000;
  const engines = opts.engines ?? ['mem', 'sqlite3', 'redis'];
  const log = opts.log ?? ((line: string) => process.stdout.write(line + '\n'));
  const cpu = cpus();
  const result: MetaBenchResult = {
    commit: commitId(),
    date: new Date().toISOString(),
    machine: {
      host: hostname(),
      cpu: cpu[0]?.model ?? 'unknown',
      cores: cpu.length,
      memGiB: Math.round(totalmem() / 2 ** 30),
      platform: platform(),
      node: process.version,
    },
    config: { ops, memoryFiles },
    engines: {},
    goReference: {
      source: 'JuiceFS docs, metadata engines benchmark (Redis, Go client)',
      redisUsPerOp: { getattr: 87, lookup: 173, create: 570, rename: 728 },
      redisBytesPerInode: 300,
    },
  };
  const dir = await mkdtemp(join(tmpdir(), 'tjfs-meta-bench-'));
  try {
    for (const name of engines) {
      const server = name === 'redis' ? await startRedis() : undefined;
      try {
        const url = server
          ? server.url
          : name === 'sqlite3'
            ? `sqlite3://${join(dir, 'meta.db')}`
            : `mem://bench-${process.pid}`;
        const m = await openVolume(url);
        try {
          const r = await benchEngine(m, ops);
          result.engines[name] = r;
          for (const [op, x] of Object.entries(r))
            log(
              `${name.padEnd(8)} ${op.padEnd(12)} ${String(x.opsPerSec).padStart(8)} ops/s ${String(x.usPerOp).padStart(9)} µs/op`,
            );
        } finally {
          await m.stop();
        }
        if (server && memoryFiles > 0) {
          result.redisMemory = await redisMemory(server.url, memoryFiles);
          const rm = result.redisMemory;
          log(
            `redis    memory: ${rm.bytesPerInode} bytes/inode after ${rm.files} files (${rm.seconds.toFixed(1)} s)`,
          );
        }
      } finally {
        await server?.stop();
      }
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  const out = opts.outFile ?? join('bench-results', 'meta.json');
  await mkdir(dirname(out), { recursive: true });
  await writeFile(out, JSON.stringify(result, null, 2) + '\n');
  return result;
}

if (process.argv[1] !== undefined && /benchmarks[/\\]meta\.(ts|js)$/.test(process.argv[1])) {
  runMetaBench().then(
    () => undefined,
    (e: unknown) => {
      process.stderr.write(
        `meta benchmark failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`,
      );
      process.exitCode = 1;
    },
  );
}
