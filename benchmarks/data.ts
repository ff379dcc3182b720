/**
 * Data-path benchmark: sequential write and read MiB/s of one file through the chunk
 * layer (FileWriter/FileReader → ChunkStore → object store) on the `file` store and on
 * s3rver, cold and warm, next to plain node:fs write/read of the same bytes in the same
 * run. Writes JSON (commit, machine, numbers, ratios) to bench-results/data.json.
 *
 * Size: `opts.sizeBytes`, else env TJFS_BENCH_SIZE (bytes, or with a K/M/G suffix), else
 * 1 GiB. Cold = a fresh chunk store with empty caches; warm-mem = a re-read through the
 * same store whose read buffer holds the file; warm-disk = a fresh store reading from a
 * disk cache filled by the previous pass.
 */
import { execFileSync } from 'node:child_process';
import { randomFillSync } from 'node:crypto';
import { mkdir, mkdtemp, open, rm, writeFile } from 'node:fs/promises';
import { cpus, hostname, platform, release, tmpdir, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { DiskBlockCache } from '../src/cache/disk-cache.js';
import { ChunkStore } from '../src/chunk/chunk-store.js';
import { FileReader } from '../src/chunk/file-reader.js';
import { FileWriter } from '../src/chunk/file-writer.js';
import type { Slice } from '../src/base/types.js';
import { FileObjectStore } from '../src/object/file/file-store.js';
import type { ObjectStore } from '../src/object/object-store.js';
import { PrefixedStore } from '../src/object/prefixed.js';
import { S3ObjectStore } from '../src/object/s3/s3-store.js';
import { startS3Server } from '../test/helpers/s3-server.js';

const MiB = 1024 * 1024;

export interface DataBenchOptions {
  sizeBytes?: number;
  /** Application I/O size (default 1 MiB). */
  ioSize?: number;
  compression?: string;
  stores?: ('file' | 's3')[];
  outFile?: string;
  log?: (line: string) => void;
}

export interface PassResult {
  writeMiBs: number;
  /** Fresh store, no disk cache: object store → reader. */
  coldNoCacheReadMiBs: number;
  /** Fresh store that also fills the disk cache as it reads (what a mount does). */
  coldReadMiBs: number;
  warmMemReadMiBs: number;
  warmDiskReadMiBs: number;
}

export interface DataBenchResult {
  commit: string;
  date: string;
  machine: { host: string; cpu: string; cores: number; memGiB: number; platform: string; node: string };
  config: { sizeBytes: number; ioSize: number; blockSize: number; compression: string };
  baseline: { writeMiBs: number; readMiBs: number };
  stores: Record<string, PassResult>;
  ratios: Record<
    string,
    { write: number; coldNoCacheRead: number; coldRead: number; warmMemRead: number; warmDiskRead: number }
  >;
}

export function parseSize(text: string | undefined, dflt: number): number {
  if (text === undefined || text === '') return dflt;
  const m = /^(\d+(?:\.\d+)?)\s*([KMGT]?)i?B?$/i.exec(text.trim());
  if (m === null || m[1] === undefined) throw new Error(`bad size: ${text}`);
  const mult =
    { '': 1, K: 1024, M: MiB, G: 1024 * MiB, T: 1024 * 1024 * MiB }[(m[2] ?? '').toUpperCase()] ?? 1;
  return Math.floor(Number(m[1]) * mult);
}

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

/** Deterministic source bytes: a random pool read at shifting offsets (incompressible). */
function makeSource(ioSize: number): (i: number) => Buffer {
  const pool = Buffer.allocUnsafe(ioSize * 2);
  randomFillSync(pool);
  return (i) => {
    const off = (i * 4099) % ioSize;
    return pool.subarray(off, off + ioSize);
  };
}

const rate = (bytes: number, ms: number): number => Math.round((bytes / MiB / (ms / 1000)) * 10) / 10;

async function baseline(
  dir: string,
  size: number,
  ioSize: number,
  src: (i: number) => Buffer,
): Promise<{ writeMiBs: number; readMiBs: number }> {
  const path = join(dir, 'plain.bin');
  let t = performance.now();
  const fh = await open(path, 'w');
  for (let i = 0, off = 0; off < size; i++, off += ioSize)
    await fh.write(src(i), 0, Math.min(ioSize, size - off), off);
  await fh.close();
  const writeMiBs = rate(size, performance.now() - t);
  t = performance.now();
  const rh = await open(path, 'r');
  const buf = Buffer.allocUnsafe(ioSize);
  for (let off = 0; off < size; off += ioSize) await rh.read(buf, 0, Math.min(ioSize, size - off), off);
  await rh.close();
  const readMiBs = rate(size, performance.now() - t);
  await rm(path);
  return { writeMiBs, readMiBs };
}

async function readAll(
  cs: ChunkStore,
  getSlices: (i: number) => Promise<Slice[]>,
  size: number,
  ioSize: number,
  check?: (i: number) => Buffer,
): Promise<number> {
  const r = new FileReader(cs, { getSlices });
  const app = Buffer.allocUnsafe(ioSize);
  const t = performance.now();
  for (let i = 0, off = 0; off < size; i++, off += ioSize) {
    const got = await r.read(off, ioSize, size);
    got.copy(app); // the consumer copies out, as node:fs reads into a buffer
    if (check !== undefined && i % 64 === 0 && !got.equals(check(i).subarray(0, got.length))) {
      throw new Error(`benchmark read mismatch at ${off}`);
    }
  }
  return rate(size, performance.now() - t);
}

async function pass(
  store: ObjectStore,
  cacheRoot: string,
  opts: Required<Pick<DataBenchOptions, 'ioSize' | 'compression'>> & { size: number },
  src: (i: number) => Buffer,
): Promise<PassResult> {
  const { size, ioSize, compression } = opts;
  const chunks = new Map<number, Slice[]>();
  let nextId = 1;
  const getSlices = (i: number): Promise<Slice[]> => Promise.resolve(chunks.get(i) ?? []);
  const writeStore = new ChunkStore({ store, compression });
  const w = new FileWriter(writeStore, {
    allocSliceId: () => Promise.resolve(nextId++),
    commit: (indx, s) => {
      chunks.set(indx, [...(chunks.get(indx) ?? []), s]);
      return Promise.resolve();
    },
  });
  const t = performance.now();
  for (let i = 0, off = 0; off < size; i++, off += ioSize)
    await w.write(off, src(i).subarray(0, Math.min(ioSize, size - off)));
  await w.flush();
  const writeMiBs = rate(size, performance.now() - t);
  const coldNoCacheReadMiBs = await readAll(
    new ChunkStore({ store, compression, maxReadahead: 64 * MiB }),
    getSlices,
    size,
    ioSize,
    src,
  );
  const cache = await DiskBlockCache.open({ cacheDir: cacheRoot, uuid: 'bench', cacheSize: size * 2 });
  // cold: fresh store, no cached blocks; fills the disk cache and a buffer big enough to hold the file
  const cs = new ChunkStore({
    store,
    compression,
    cache,
    bufferSize: size + 64 * MiB,
    maxReadahead: 64 * MiB,
  });
  const coldReadMiBs = await readAll(cs, getSlices, size, ioSize, src);
  const warmMemReadMiBs = await readAll(cs, getSlices, size, ioSize);
  await cache.drain();
  const diskOnly = new ChunkStore({
    store,
    compression,
    cache,
    bufferSize: 256 * MiB,
    maxReadahead: 64 * MiB,
  });
  const warmDiskReadMiBs = await readAll(diskOnly, getSlices, size, ioSize);
  await cache.close();
  return { writeMiBs, coldNoCacheReadMiBs, coldReadMiBs, warmMemReadMiBs, warmDiskReadMiBs };
}

export async function runDataBench(opts: DataBenchOptions = {}): Promise<DataBenchResult> {
  const size = opts.sizeBytes ?? parseSize(process.env['TJFS_BENCH_SIZE'], 1024 * MiB);
  const ioSize = opts.ioSize ?? MiB;
  const compression = opts.compression ?? 'none';
  const log = opts.log ?? ((l: string) => process.stderr.write(l + '\n'));
  const dir = await mkdtemp(join(tmpdir(), 'tjfs-bench-'));
  const src = makeSource(ioSize);
  const result: DataBenchResult = {
    commit: commitId(),
    date: new Date().toISOString(),
    machine: {
      host: hostname(),
      cpu: cpus()[0]?.model ?? 'unknown',
      cores: cpus().length,
      memGiB: Math.round(totalmem() / 1024 ** 3),
      platform: `${platform()} ${release()}`,
      node: process.version,
    },
    config: { sizeBytes: size, ioSize, blockSize: 4 * MiB, compression },
    baseline: { writeMiBs: 0, readMiBs: 0 },
    stores: {},
    ratios: {},
  };
  try {
    result.baseline = await baseline(dir, size, ioSize, src);
    log(`node:fs         write ${result.baseline.writeMiBs} MiB/s, read ${result.baseline.readMiBs} MiB/s`);
    for (const kind of opts.stores ?? ['file', 's3']) {
      let store: ObjectStore;
      let stop: () => Promise<void> = () => Promise.resolve();
      if (kind === 'file') {
        store = new PrefixedStore(new FileObjectStore(join(dir, 'bucket') + '/'), 'bench/');
      } else {
        const s3 = await startS3Server('bench');
        const raw = new S3ObjectStore({
          bucket: s3.bucketUrl,
          accessKey: s3.accessKey,
          secretKey: s3.secretKey,
        });
        store = new PrefixedStore(raw, 'bench/');
        stop = async () => {
          raw.destroy();
          await s3.stop();
        };
      }
      try {
        const r = await pass(store, join(dir, `cache-${kind}`), { size, ioSize, compression }, src);
        result.stores[kind] = r;
        const b = result.baseline;
        const q = (x: number, y: number): number => Math.round((x / y) * 100) / 100;
        result.ratios[kind] = {
          write: q(r.writeMiBs, b.writeMiBs),
          coldNoCacheRead: q(r.coldNoCacheReadMiBs, b.readMiBs),
          coldRead: q(r.coldReadMiBs, b.readMiBs),
          warmMemRead: q(r.warmMemReadMiBs, b.readMiBs),
          warmDiskRead: q(r.warmDiskReadMiBs, b.readMiBs),
        };
        log(
          `chunk/${kind.padEnd(9)} write ${r.writeMiBs}, cold read ${r.coldNoCacheReadMiBs} (filling disk cache ${r.coldReadMiBs}), warm(mem) ${r.warmMemReadMiBs}, warm(disk) ${r.warmDiskReadMiBs} MiB/s`,
        );
      } finally {
        await stop();
      }
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  const out = opts.outFile ?? join('bench-results', 'data.json');
  await mkdir(dirname(out), { recursive: true });
  await writeFile(out, JSON.stringify(result, null, 2) + '\n');
  return result;
}

if (process.argv[1] !== undefined && /benchmarks[/\\]data\.(ts|js)$/.test(process.argv[1])) {
  const arg = process.argv[2];
  runDataBench(arg !== undefined ? { sizeBytes: parseSize(arg, 1024 * MiB) } : {}).catch((e: unknown) => {
    process.stderr.write(`${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    process.exitCode = 1;
  });
}
