/** Disk cache layout, eviction, checksums, memory mode, writeback staging and restart. */
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ChunkStore } from '../chunk/chunk-store.js';
import { FileReader } from '../chunk/file-reader.js';
import { FileWriter } from '../chunk/file-writer.js';
import { FaultyStore } from '../object/faulty.js';
import { MemObjectStore } from '../object/mem/mem-store.js';
import { SliceModel } from '../../test/helpers/slice-model.js';
import { blockChecksums, crc32c } from './checksum.js';
import { DiskBlockCache } from './disk-cache.js';
import { MemBlockCache } from './mem-cache.js';
import { openBlockCache } from './open-cache.js';
import { Writeback } from './writeback.js';
import { pattern } from '../../test/helpers/pattern.js';

const KiB = 1024;
let dir: string;
const UUID = '6f1e2a3b-0000-4000-8000-000000000001';

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tjfs-cache-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const fill = (len: number, seed = 1): Buffer => pattern(len, seed, 7);

describe('checksum', () => {
  it('native and JavaScript checksums agree on every length', () => {
    for (const len of [
      1,
      7,
      8,
      9,
      4095,
      32 * KiB - 1,
      32 * KiB,
      32 * KiB + 1,
      100 * KiB + 3,
      4 * 1024 * KiB,
    ]) {
      const b = Buffer.alloc(len);
      for (let i = 0; i < len; i++) b[i] = (i * 131 + (i >> 7)) & 0xff;
      expect(blockChecksums(b).equals(blockChecksums(b, false)), `length ${len}`).toBe(true);
    }
  });

  it('crc32c check value and JuiceFS trailer layout', () => {
    expect(crc32c(Buffer.from('123456789'))).toBe(0xe3069283);
    const t = blockChecksums(Buffer.alloc(40 * KiB));
    expect(t.length).toBe(8);
    expect(t.readUInt32BE(0)).toBe(crc32c(Buffer.alloc(32 * KiB)));
  });
});

describe('MemBlockCache', () => {
  it('is bounded by bytes', async () => {
    const c = new MemBlockCache(100 * KiB);
    for (let i = 0; i < 5; i++) c.put(`k${i}`, Buffer.alloc(30 * KiB));
    expect(c.usedBytes).toBeLessThanOrEqual(100 * KiB);
    expect(await c.get('k0')).toBeUndefined();
    expect(await c.get('k4')).toBeDefined();
  });
});

describe('DiskBlockCache', () => {
  it('uses the JuiceFS layout and survives a restart', async () => {
    const c = await DiskBlockCache.open({ cacheDir: dir, uuid: UUID, checksum: 'full' });
    const key = 'chunks/0/1/1234_0_5000';
    c.put(key, fill(5000));
    await c.drain();
    const onDisk = await readFile(join(dir, UUID, 'raw', key));
    expect(onDisk.length).toBe(5004);
    expect((await c.get(key))?.equals(fill(5000))).toBe(true);
    const c2 = await DiskBlockCache.open({ cacheDir: dir, uuid: UUID, checksum: 'full' });
    expect(c2.items).toBe(1);
    expect((await c2.get(key))?.equals(fill(5000))).toBe(true);
  });

  it('tells the writer when it is done with a block: after the write, or at once when skipped', async () => {
    const c = await DiskBlockCache.open({ cacheDir: dir, uuid: UUID, checksum: 'full' });
    const key = 'chunks/0/1/1235_0_5000';
    const calls: string[] = [];
    c.put(key, fill(5000), () => calls.push('written'));
    expect(calls).toEqual([]); // the write is still queued: the buffer is in use
    await c.drain();
    expect(calls).toEqual(['written']);
    c.put(key, fill(5000), () => calls.push('skipped')); // already cached
    expect(calls).toEqual(['written', 'skipped']);
    expect((await c.get(key))?.equals(fill(5000))).toBe(true);
  });

  it('recreates its directories when they are removed behind its back', async () => {
    const c = await DiskBlockCache.open({ cacheDir: dir, uuid: UUID, checksum: 'full' });
    c.put('chunks/0/1/1_0_100', fill(100));
    await c.drain();
    await rm(join(dir, UUID, 'raw', 'chunks'), { recursive: true, force: true });
    c.put('chunks/0/1/2_0_100', fill(100, 2));
    await c.drain();
    expect((await c.get('chunks/0/1/2_0_100'))?.equals(fill(100, 2))).toBe(true);
  });

  it('evicts least recently used blocks beyond cacheSize', async () => {
    const c = await DiskBlockCache.open({ cacheDir: dir, uuid: UUID, cacheSize: 3 * (10 * KiB + 4 + 4096) }); // data, one checksum, per-item overhead
    for (let i = 0; i < 3; i++) {
      c.put(`chunks/0/0/${i + 1}_0_10240`, fill(10 * KiB, i));
      await c.drain();
    }
    await c.get('chunks/0/0/1_0_10240'); // touch 1: 2 is now the oldest
    c.put('chunks/0/0/9_0_10240', fill(10 * KiB));
    await c.drain();
    expect(c.items).toBe(3);
    expect(c.has('chunks/0/0/2_0_10240')).toBe(false);
    await expect(stat(c.path('chunks/0/0/2_0_10240'))).rejects.toThrow();
    expect(c.has('chunks/0/0/1_0_10240')).toBe(true);
  });

  it('detects a corrupted block and the chunk store refetches it', async () => {
    const mem = new MemObjectStore();
    const meta = new SliceModel();
    const cache = await DiskBlockCache.open({ cacheDir: dir, uuid: UUID, checksum: 'full' });
    const cs = new ChunkStore({ store: mem, blockSize: 64 * KiB, cache });
    const w = new FileWriter(cs, { allocSliceId: meta.allocSliceId, commit: meta.commit });
    await w.write(0, fill(100 * KiB));
    await w.flush();
    // a cold reader populates the disk cache
    const cold = new ChunkStore({ store: mem, blockSize: 64 * KiB, cache });
    await new FileReader(cold, { getSlices: meta.getSlices }).read(0, 100 * KiB, meta.length);
    await cache.drain();
    const key = 'chunks/0/0/1_0_65536';
    expect(cache.has(key)).toBe(true);
    const bad = await readFile(cache.path(key));
    bad[100] = (bad[100] ?? 0) ^ 0xff;
    await cache.corruptForTest(key, bad);
    mem.resetCounters();
    const fresh = new ChunkStore({ store: mem, blockSize: 64 * KiB, cache });
    const got = await new FileReader(fresh, { getSlices: meta.getSlices }).read(0, 100 * KiB, meta.length);
    expect(got.equals(fill(100 * KiB))).toBe(true);
    expect(cache.counters.corruptions).toBe(1);
    expect(mem.counters.get).toBe(1);
    // a warm read from the disk cache makes zero GETs
    await cache.drain();
    mem.resetCounters();
    const warm = new ChunkStore({ store: mem, blockSize: 64 * KiB, cache });
    await new FileReader(warm, { getSlices: meta.getSlices }).read(0, 100 * KiB, meta.length);
    expect(mem.counters.get).toBe(0);
    // A whole block from the disk cache lands in a pooled buffer (no fresh 4 MiB per hit).
    const again = new ChunkStore({ store: mem, blockSize: 64 * KiB, cache });
    const block = await again.getBlock(1, 100 * KiB, 0);
    expect(again.pool.owns(block)).toBe(true);
    expect(block.equals(fill(100 * KiB).subarray(0, 64 * KiB))).toBe(true);
    again.releaseBlock(block);
  });

  it('cache-dir memory gives a memory cache', async () => {
    const { cache, writeback } = await openBlockCache({ cacheDir: 'memory', uuid: UUID, cacheSize: 1 << 20 });
    expect(cache).toBeInstanceOf(MemBlockCache);
    expect(writeback).toBeUndefined();
  });
});

describe('writeback', () => {
  it('stages, commits, uploads in the background; readable before upload', async () => {
    const mem = new MemObjectStore();
    const faulty = new FaultyStore(mem).addRule({ ops: ['put'], times: 2 });
    const meta = new SliceModel();
    const { writeback } = await openBlockCache({
      cacheDir: dir,
      uuid: UUID,
      cacheSize: 1 << 30,
      writeback: true,
    });
    expect(writeback).toBeInstanceOf(Writeback);
    await writeback?.close();
    const cache = await DiskBlockCache.open({ cacheDir: dir, uuid: UUID });
    const wb = new Writeback({ cacheDir: dir, uuid: UUID, cache, retryDelayMs: 1 });
    const cs = new ChunkStore({ store: faulty, blockSize: 64 * KiB, cache, writeback: wb });
    const w = new FileWriter(cs, { allocSliceId: meta.allocSliceId, commit: meta.commit });
    await w.write(0, fill(150 * KiB));
    await w.flush(); // committed once staged
    expect(meta.commits).toBe(1);
    expect(mem.size).toBe(0); // upload not started yet (start() not called)
    const other = new ChunkStore({ store: mem, blockSize: 64 * KiB, writeback: wb });
    expect(
      (await new FileReader(other, { getSlices: meta.getSlices }).read(0, 150 * KiB, meta.length)).equals(
        fill(150 * KiB),
      ),
    ).toBe(true);
    expect(cache.items).toBe(3); // staged blocks are hard-linked into raw/
    await cs.start();
    await wb.flushAll();
    expect(mem.keys()).toEqual(['chunks/0/0/1_0_65536', 'chunks/0/0/1_1_65536', 'chunks/0/0/1_2_22528']);
    await cs.close();
  });

  it('re-uploads blocks staged before a restart', async () => {
    const mem = new MemObjectStore();
    const meta = new SliceModel();
    const wb1 = new Writeback({ cacheDir: dir, uuid: UUID });
    const cs1 = new ChunkStore({ store: mem, blockSize: 64 * KiB, writeback: wb1 });
    const w = new FileWriter(cs1, { allocSliceId: meta.allocSliceId, commit: meta.commit });
    await w.write(0, fill(70 * KiB));
    await w.flush();
    await wb1.close(); // "crash" before any upload
    expect(mem.size).toBe(0);
    const wb2 = new Writeback({ cacheDir: dir, uuid: UUID });
    const cs2 = new ChunkStore({ store: mem, blockSize: 64 * KiB, writeback: wb2 });
    await cs2.start();
    await wb2.flushAll();
    expect(mem.keys()).toEqual(['chunks/0/0/1_0_65536', 'chunks/0/0/1_1_6144']);
    const r = new FileReader(new ChunkStore({ store: mem, blockSize: 64 * KiB }), {
      getSlices: meta.getSlices,
    });
    expect((await r.read(0, 70 * KiB, meta.length)).equals(fill(70 * KiB))).toBe(true);
    await cs2.close();
  });
});
