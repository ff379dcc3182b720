/**
 * Random 4 KiB preads of a file whose blocks are in the disk cache, through the in-process
 * API (no FUSE): one read in flight, as fio psync. The file is written, read once to fill
 * `--cache-dir`, then the volume is reopened (empty memory read buffer) and read at random
 * offsets. The second pass measures the steady state (the cache files in the page cache).
 * Before them, a cold client (empty disk cache) reads at random from the object store.
 *
 * Run: npm run build && node dist/benchmarks/cache-random-read.js
 * Knobs (env): TJFS_BENCH_RR_MIB (file size, default 1024), TJFS_BENCH_RR_OPS (reads per
 * pass, default 20000), TJFS_BENCH_RR_CHECKSUM (none|full|shrink|extend, default: the
 * runtime's default), TJFS_BENCH_RR_WARM=1 (cache files read once first: page-cached),
 * TJFS_BENCH_RR_DROP=1 (kernel caches dropped before the passes: cache files read from disk).
 */
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openVolume, type VolumeOptions } from '../src/api/volume.js';
import { formatTestVolume } from '../test/helpers/api-volume.js';
import { dropCaches } from '../src/cli/commands/bench.js';
import { envNumber } from './stamp.js';

const MiB = 1024 * 1024;
const READ = 4096;

async function randomReads(
  opts: VolumeOptions,
  metaUrl: string,
  size: number,
  ops: number,
  seed: number,
): Promise<number> {
  const vol = await openVolume(metaUrl, opts);
  try {
    const fh = await vol.open('/big', 'r');
    const buf = Buffer.alloc(READ);
    let x = seed;
    const t0 = performance.now();
    const cpu0 = process.cpuUsage();
    for (let i = 0; i < ops; i++) {
      x = (Math.imul(x, 1103515245) + 12345) >>> 0;
      const at = Math.floor((x / 2 ** 32) * (size / READ)) * READ;
      const { bytesRead } = await fh.read(buf, 0, READ, at);
      if (bytesRead !== READ) throw new Error(`short read at ${at}: ${bytesRead}`);
    }
    const iops = ops / ((performance.now() - t0) / 1000);
    const cpu = process.cpuUsage(cpu0);
    const cpuUsPerRead = Math.round((cpu.user + cpu.system) / ops); // this process's CPU: steadier than IOPS on a busy machine
    await fh.close();
    const { blockGets, rangeGets, cacheHits, bufferHits, bytesDownloaded } = vol.core.rt.chunks.stats;
    console.error(
      JSON.stringify({
        iops: Math.round(iops),
        cpuUsPerRead,
        blockGets,
        rangeGets,
        cacheHits,
        bufferHits,
        mibDownloaded: Math.round(bytesDownloaded / 2 ** 20),
      }),
    );
    return Math.round(iops);
  } finally {
    await vol.close();
  }
}

async function main(): Promise<void> {
  const size = envNumber('TJFS_BENCH_RR_MIB', 1024) * MiB;
  const ops = envNumber('TJFS_BENCH_RR_OPS', 20000);
  const level = process.env['TJFS_BENCH_RR_CHECKSUM'];
  const vol = await formatTestVolume({ meta: 'sqlite', storage: 'file' });
  const cacheDir = await mkdtemp(join(tmpdir(), 'tjfs-rr-cache-'));
  const opts: VolumeOptions = {
    cacheDir,
    cacheSize: 4 * size,
    ...(level ? { cacheChecksum: level as 'extend' } : {}),
  };
  try {
    const w = await openVolume(vol.metaUrl, opts);
    const fh = await w.open('/big', 'w');
    const chunk = Buffer.alloc(4 * MiB);
    for (let off = 0; off < size; off += chunk.length) {
      for (let i = 0; i < chunk.length; i += 4096) chunk.writeUInt32LE((off + i) >>> 12, i);
      await fh.write(chunk, 0, chunk.length, off);
    }
    await fh.close();
    await w.close();
    // Sequential passes, each by a fresh client, until every block is in the disk cache (a
    // reader outrunning the cache disk drops cache writes).
    const big = Buffer.alloc(4 * MiB);
    let cached = 0;
    for (let pass = 0; pass < 8 && cached < size / (4 * MiB); pass++) {
      const v = await openVolume(vol.metaUrl, opts);
      const r = await v.open('/big', 'r');
      for (let off = 0; off < size; off += big.length) await r.read(big, 0, big.length, off);
      await r.close();
      await v.core.rt.chunks.cache?.drain();
      cached = v.core.rt.chunks.cache?.items ?? 0;
      await v.close();
    }
    console.error(`cached blocks: ${cached}`);
    // TJFS_BENCH_RR_WARM=1: read every cache file once, so the random passes find them in
    // the page cache (the code's cost without the disk's; results vary less run to run).
    if (process.env['TJFS_BENCH_RR_WARM'] === '1') {
      for (const e of await readdir(cacheDir, { withFileTypes: true, recursive: true })) {
        if (e.isFile()) await readFile(join(e.parentPath, e.name));
      }
    }
    // TJFS_BENCH_RR_DROP=1: the kernel's caches are dropped before the first pass, as
    // `npm run bench -- fuse` does before its random-read phases (cache files read from disk).
    if (process.env['TJFS_BENCH_RR_DROP'] === '1') await dropCaches();
    // A cold client: an empty disk cache, every read from the object store.
    const coldDir = await mkdtemp(join(tmpdir(), 'tjfs-rr-cold-'));
    const cold = await randomReads({ ...opts, cacheDir: coldDir }, vol.metaUrl, size, ops, 3);
    await rm(coldDir, { recursive: true, force: true });
    const first = await randomReads(opts, vol.metaUrl, size, ops, 1);
    const second = await randomReads(opts, vol.metaUrl, size, ops, 2);
    console.log(
      JSON.stringify({
        fileMiB: size / MiB,
        ops,
        checksum: level ?? 'default',
        coldIops: cold,
        firstPassIops: first,
        secondPassIops: second,
      }),
    );
  } finally {
    await rm(cacheDir, { recursive: true, force: true });
    await vol.cleanup();
  }
}

await main();
