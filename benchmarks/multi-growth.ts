/**
 * Growth test of the many-clients benchmark: how much Redis memory and how many PostgreSQL
 * bytes and rows one inode costs at N files. The files (empty, 0644, 1,000 per directory
 * under the root) are written through the meta layer's batched load path (src/meta/dump/load:
 * 500 writes per transaction) from a JuiceFS dump generated on the fly, so 1,000,000 files take
 * minutes, not the hours of one create at a time.
 * Redis: INFO used_memory of the empty server, then after the load; the delta per inode.
 * PostgreSQL: pg_total_relation_size (heap + indexes + TOAST) and exact row counts of the
 * jfs_* tables after the load, minus the same for an empty volume loaded the same way.
 * Invariants: each engine's server is private and stopped in a finally block.
 */
import { randomUUID } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { Redis } from 'ioredis';
import { loadMeta } from '../src/meta/dump/load.js';
import { defaultFormat, formatToJson } from '../src/meta/format.js';
import { openEngine } from '../src/meta/registry.js';
import { pgSkipReason, startPg, type PgServer } from '../test/helpers/pg-server.js';
import { startRedis } from '../test/helpers/redis-server.js';

export type GrowthEngine = 'redis' | 'postgres';

export interface GrowthResult {
  engine: GrowthEngine;
  files: number;
  dirs: number;
  loadSeconds: number;
  inodesPerSec: number;
  bytesPerInode: number;
  rowsPerInode?: number;
  /** What was measured. */
  what: string;
  detail: Record<string, number>;
}

const PER_DIR = 1000;
const T = 1700000000;

function attr(ino: number, dir: boolean, nlink: number): string {
  return `{"inode":${ino},"type":"${dir ? 'directory' : 'regular'}","mode":${dir ? 493 : 420},"uid":0,"gid":0,"atime":${T},"mtime":${T},"ctime":${T},"nlink":${nlink},"length":0}`;
}

/** A JuiceFS JSON dump of `files` empty files, PER_DIR per directory, written piece by piece. */
export async function* growthDump(files: number): AsyncGenerator<string> {
  const dirs = Math.ceil(files / PER_DIR);
  const fmt = { ...defaultFormat('growth', randomUUID(), '/tmp/tjfs-growth/'), TrashDays: 0 };
  yield `{\n  "Setting": ${formatToJson(fmt)},\n  "Counters": {"usedSpace":0,"usedInodes":${files + dirs},"nextInodes":${files + dirs + 2},"nextChunk":1,"nextSession":0,"nextTrash":0},\n  "Sustained": [],\n  "DelFiles": [],\n  "FSTree": {\n    "attr": ${attr(1, true, dirs + 2)},\n    "entries": {\n`;
  let ino = dirs + 2;
  for (let d = 0; d < dirs; d++) {
    const n = Math.min(PER_DIR, files - d * PER_DIR);
    const parts: string[] = [];
    for (let i = 0; i < n; i++) parts.push(`"f${i}": {"attr": ${attr(ino++, false, 1)}}`);
    yield `${d > 0 ? ',\n' : ''}"d${d}": {"attr": ${attr(d + 2, true, 2)}, "entries": {\n${parts.join(',\n')}\n}}`;
  }
  yield `\n    }\n  }\n}\n`;
}

async function load(url: string, files: number): Promise<number> {
  const engine = await openEngine(url);
  try {
    const t0 = performance.now();
    await loadMeta(engine, Readable.from(growthDump(files)));
    return (performance.now() - t0) / 1000;
  } finally {
    await engine.close();
  }
}

function counts(files: number): { dirs: number; inodes: number } {
  const dirs = Math.ceil(files / PER_DIR);
  return { dirs, inodes: files + dirs + 1 };
}

async function redisGrowth(files: number): Promise<GrowthResult> {
  const s = await startRedis();
  const r = new Redis(s.url, { lazyConnect: true });
  try {
    await r.connect();
    const used = async (): Promise<number> =>
      Number(/used_memory:(\d+)/.exec(await r.info('memory'))?.[1] ?? NaN);
    const before = await used();
    const secs = await load(s.url, files);
    const after = await used();
    const keys = await r.dbsize();
    const { dirs, inodes } = counts(files);
    return {
      engine: 'redis',
      files,
      dirs,
      loadSeconds: Math.round(secs),
      inodesPerSec: Math.round(inodes / secs),
      bytesPerInode: Math.round((after - before) / inodes),
      what: 'INFO used_memory delta / inodes; JuiceFS: about 300 bytes per file (redis_best_practices.md)',
      detail: { usedMemoryBefore: before, usedMemoryAfter: after, keys, inodes },
    };
  } finally {
    r.disconnect();
    await s.stop();
  }
}

async function pgSizes(s: PgServer, db: string): Promise<{ bytes: number; rows: number }> {
  const tables = await s.sql(
    "SELECT c.relname AS t, pg_total_relation_size(c.oid)::bigint AS b FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'public' AND c.relkind = 'r' AND c.relname LIKE 'jfs\\_%'",
    db,
  );
  let bytes = 0;
  let rows = 0;
  for (const row of tables.rows as Array<{ t: string; b: string | number }>) {
    bytes += Number(row.b);
    const c = await s.sql(`SELECT count(*)::bigint AS k FROM "${row.t}"`, db);
    rows += Number((c.rows[0] as { k: string | number }).k);
  }
  return { bytes, rows };
}

async function pgGrowth(files: number): Promise<GrowthResult> {
  const why = pgSkipReason();
  if (why !== undefined) throw new Error(why);
  const s = await startPg();
  try {
    await s.sql('CREATE DATABASE growth0');
    await s.sql('CREATE DATABASE growth');
    await load(`${s.baseUrl}growth0`, 0);
    const empty = await pgSizes(s, 'growth0');
    const secs = await load(`${s.baseUrl}growth`, files);
    const full = await pgSizes(s, 'growth');
    const { dirs, inodes } = counts(files);
    return {
      engine: 'postgres',
      files,
      dirs,
      loadSeconds: Math.round(secs),
      inodesPerSec: Math.round(inodes / secs),
      bytesPerInode: Math.round((full.bytes - empty.bytes) / inodes),
      rowsPerInode: Math.round(((full.rows - empty.rows) / inodes) * 100) / 100,
      what: 'pg_total_relation_size of the jfs_* tables (heap, indexes, TOAST) and their rows, minus an empty volume, / inodes',
      detail: { bytes: full.bytes, emptyBytes: empty.bytes, rows: full.rows, emptyRows: empty.rows, inodes },
    };
  } finally {
    await s.stop();
  }
}

export async function runGrowth(
  engines: readonly GrowthEngine[],
  files: number,
  dir: string,
  log: (l: string) => void,
): Promise<GrowthResult[]> {
  await mkdir(dir, { recursive: true });
  const out: GrowthResult[] = [];
  for (const e of engines) {
    log(`  growth: ${files} files on ${e}`);
    try {
      const g = e === 'redis' ? await redisGrowth(files) : await pgGrowth(files);
      log(
        `    loaded in ${g.loadSeconds} s (${g.inodesPerSec} inodes/s): ${g.bytesPerInode} bytes${g.rowsPerInode !== undefined ? `, ${g.rowsPerInode} rows` : ''} per inode`,
      );
      out.push(g);
    } catch (e2) {
      log(`    growth on ${e} failed: ${String(e2)}`);
    }
  }
  return out;
}
