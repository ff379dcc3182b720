/**
 * The disk cache's --verify-cache-checksum levels, partial reads that read and check only
 * the pieces they cover, junk in cache files never served (dropped, refetched, re-cached,
 * counted, logged once), and a full / read-only / removed cache directory.
 */
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ChunkStore } from '../chunk/chunk-store.js';
import { FileReader } from '../chunk/file-reader.js';
import type { Logger } from '../util/logger.js';
import { MemObjectStore } from '../object/mem/mem-store.js';
import { pattern } from '../../test/helpers/pattern.js';
import { SliceModel } from '../../test/helpers/slice-model.js';
import { blockChecksums, PIECE, planRead, type ChecksumLevel } from './checksum.js';
import { DiskBlockCache, type BlockFileWriter, type DiskCacheOptions } from './disk-cache.js';
import { AtomicFileWriter } from '../util/atomic-write.js';

const KiB = 1024;
const BS = 256 * KiB; // 8 pieces
const UUID = '6f1e2a3b-0000-4000-8000-000000000002';
let dir: string;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tjfs-dcache-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

function recorder(): Logger & { lines: string[] } {
  const lines: string[] = [];
  return { lines, warn: (m) => lines.push(m), error: (m) => lines.push(m) };
}

const data = pattern(BS, 3, 13);
const KEY = `chunks/0/0/7_0_${BS}`;

async function cacheWith(
  level: ChecksumLevel,
  extra: Partial<DiskCacheOptions> = {},
): Promise<DiskBlockCache> {
  const c = await DiskBlockCache.open({ cacheDir: dir, uuid: UUID, checksum: level, ...extra });
  c.put(KEY, data);
  await c.drain();
  return c;
}

/** Flips one byte of the cached file (in place: the file keeps its length). */
async function flip(c: DiskBlockCache, at: number): Promise<void> {
  const f = await readFile(c.path(KEY));
  f[at] = (f[at] ?? 0) ^ 0x5a;
  await c.corruptForTest(KEY, f);
}

describe('planRead', () => {
  it('follows JuiceFS for each level', () => {
    const L = 100 * KiB; // 3 whole pieces and a 4 KiB last one
    expect(planRead('none', L, 10, 20)).toEqual({ readOff: 10, readEnd: 20, checkOff: 0, checkEnd: 0 });
    expect(planRead('full', L, 10, 20).checkEnd).toBe(0);
    expect(planRead('full', L, 0, L)).toEqual({ readOff: 0, readEnd: L, checkOff: 0, checkEnd: L });
    expect(planRead('shrink', L, 10, 20).checkEnd).toBe(0); // no whole piece inside
    expect(planRead('shrink', L, 10, 2 * PIECE + 5)).toEqual({
      readOff: 10,
      readEnd: 2 * PIECE + 5,
      checkOff: PIECE,
      checkEnd: 2 * PIECE,
    });
    expect(planRead('shrink', L, 3 * PIECE + 1, L).checkEnd).toBe(0); // starts inside the last piece
    expect(planRead('shrink', L, 3 * PIECE, L)).toMatchObject({ checkOff: 3 * PIECE, checkEnd: L });
    expect(planRead('extend', L, 10, 20)).toEqual({
      readOff: 0,
      readEnd: PIECE,
      checkOff: 0,
      checkEnd: PIECE,
    });
    expect(planRead('extend', L, PIECE + 1, 3 * PIECE + 100)).toEqual({
      readOff: PIECE,
      readEnd: L,
      checkOff: PIECE,
      checkEnd: L,
    });
  });
});

describe('checksum levels on a corrupted piece', () => {
  // Piece 2 is bad. Reads: inside piece 0; part of piece 2; all of pieces 1-3; the whole block.
  const cases: [ChecksumLevel, { p0: boolean; part2: boolean; all2: boolean; whole: boolean }][] = [
    ['none', { p0: true, part2: true, all2: true, whole: true }],
    ['full', { p0: true, part2: true, all2: true, whole: false }],
    ['shrink', { p0: true, part2: true, all2: false, whole: false }],
    ['extend', { p0: true, part2: false, all2: false, whole: false }],
  ];
  for (const [level, served] of cases) {
    it(`${level}: serves ${JSON.stringify(served)}`, async () => {
      const reads: [keyof typeof served, () => Promise<Buffer | undefined>][] = [];
      const c = await cacheWith(level);
      expect((await stat(c.path(KEY))).size).toBe(level === 'none' ? BS : BS + 32);
      await flip(c, 2 * PIECE + 100);
      reads.push(['p0', () => c.getRange(KEY, 100, 4 * KiB)]);
      reads.push(['part2', () => c.getRange(KEY, 2 * PIECE + 50, 4 * KiB)]);
      reads.push(['all2', () => c.getRange(KEY, PIECE - 1, 2 * PIECE + 2)]);
      reads.push(['whole', () => c.get(KEY)]);
      for (const [name, read] of reads) {
        const got = await read();
        expect(got !== undefined, `${level} ${name}`).toBe(served[name]);
        if (!served[name]) {
          expect(c.has(KEY)).toBe(false); // dropped: the next read refetches
          await expect(stat(c.path(KEY))).rejects.toThrow();
          expect(c.counters.corruptions).toBe(1);
          return;
        }
      }
      expect(c.counters.corruptions).toBe(0);
    });
  }

  it('a good partial read returns exactly the bytes asked for, at every level', async () => {
    for (const level of ['none', 'full', 'shrink', 'extend'] as const) {
      const c = await cacheWith(level);
      for (const [off, len] of [
        [0, 1],
        [100, 4 * KiB],
        [PIECE - 3, 6],
        [BS - 5, 5],
        [0, BS - 1],
      ] as const) {
        expect(
          (await c.getRange(KEY, off, len))?.equals(data.subarray(off, off + len)),
          `${level} ${off}+${len}`,
        ).toBe(true);
      }
      expect(await c.getRange(KEY, BS - 5, 10)).toBeUndefined(); // past the block
      await rm(join(dir, UUID), { recursive: true });
    }
  });
});

describe('junk in the cache directory is never served', () => {
  for (const junk of ['same length', 'block length, no trailer', 'short', 'long']) {
    it(`junk of ${junk}: dropped, refetched, re-cached, counted, logged`, async () => {
      const log = recorder();
      const mem = new MemObjectStore();
      const meta = new SliceModel();
      const cache = await DiskBlockCache.open({ cacheDir: dir, uuid: UUID, logger: log }); // default level: extend
      await new ChunkStore({ store: mem, blockSize: BS, cache }).writeSlice(1, pattern(2 * BS, 5));
      await meta.commit(0, { pos: 0, id: 1, size: 2 * BS, off: 0, len: 2 * BS }, { sec: 0, nsec: 0 });
      const read = async (off: number, len: number): Promise<Buffer> => {
        const r = new FileReader(new ChunkStore({ store: mem, blockSize: BS, cache }), {
          getSlices: meta.getSlices,
        });
        return r.read(off, len, meta.length);
      };
      await read(0, 2 * BS); // fills the cache
      await cache.drain();
      const keys = [`chunks/0/0/1_0_${BS}`, `chunks/0/0/1_1_${BS}`];
      const goods = await Promise.all(keys.map((k) => readFile(cache.path(k))));
      const size = { 'same length': BS + 32, 'block length, no trailer': BS, short: 1000, long: BS + 39 }[
        junk
      ] as number;
      for (const k of keys) await writeFile(cache.path(k), pattern(size, 99, 1));
      mem.resetCounters();
      expect(
        (await read(BS + 5000, 4 * KiB)).equals(pattern(2 * BS, 5).subarray(BS + 5000, BS + 5000 + 4 * KiB)),
      ).toBe(true); // random 4 KiB
      await cache.drain(); // block 1 is cached again before block 0's readahead looks for it
      expect((await read(0, BS)).equals(pattern(BS, 5))).toBe(true); // whole block read
      expect(cache.counters.corruptions).toBe(2);
      expect(mem.counters.get).toBe(2); // each block fetched whole once
      await cache.drain();
      for (const [i, k] of keys.entries())
        expect((await readFile(cache.path(k))).equals(goods[i] as Buffer), `${k} replaced`).toBe(true);
      expect(goods[0]?.subarray(BS).equals(blockChecksums(pattern(BS, 5)))).toBe(true);
      expect(log.lines.filter((l) => l.includes('corrupt'))).toHaveLength(1); // rate-limited
      mem.resetCounters();
      await read(0, 2 * BS);
      expect(mem.counters.get).toBe(0); // the replaced files serve again
    });
  }
});

describe('partial reads of cached blocks', () => {
  it('a random 4 KiB read checks only its pieces and loads no whole block', async () => {
    const mem = new MemObjectStore();
    const cache = await DiskBlockCache.open({ cacheDir: dir, uuid: UUID });
    await new ChunkStore({ store: mem, blockSize: BS, cache, cacheLargeWrite: true }).writeSlice(7, data);
    await cache.drain();
    await flip(cache, PIECE + 1); // a piece the read does not cover
    mem.resetCounters();
    const cs = new ChunkStore({ store: mem, blockSize: BS, cache });
    const at = 6 * PIECE + 10;
    const got = await cs.getBlockRange(7, BS, 0, at, 4 * KiB);
    expect(got.equals(data.subarray(at, at + 4 * KiB))).toBe(true);
    expect(cs.stats.cacheHits).toBe(1);
    expect(cs.buffer.items).toBe(0); // no whole block read into memory
    expect(mem.counters.get).toBe(0);
    expect(cache.counters.corruptions).toBe(0);
    expect(cs.pool.inUse).toBe(0);
  });
});

/** A writer that fails with `code` while `failing` is set. */
function faultyWriter(): BlockFileWriter & { failing: string | undefined; calls: number } {
  const real = new AtomicFileWriter();
  const w = {
    failing: undefined as string | undefined,
    calls: 0,
    async write(...args: Parameters<BlockFileWriter['write']>): Promise<void> {
      w.calls++;
      if (w.failing !== undefined)
        throw Object.assign(new Error(`${w.failing}: injected`), { code: w.failing });
      await real.write(...args);
    },
  };
  return w;
}

describe('an unusable cache directory', () => {
  for (const [code, fault] of [
    ['ENOSPC', 'full'],
    ['EROFS', 'read-only'],
    ['EIO', 'io'],
  ] as const) {
    it(`${code}: degrades with one log line, reads go on, recovers after a probe`, async () => {
      const log = recorder();
      let now = 1_000_000;
      const writer = faultyWriter();
      const c = await DiskBlockCache.open({
        cacheDir: dir,
        uuid: UUID,
        logger: log,
        writer,
        now: () => now,
        retryMs: 5000,
      });
      c.put('chunks/0/0/1_0_100', pattern(100));
      await c.drain();
      writer.failing = code;
      for (let i = 2; i < 40; i++) {
        c.put(`chunks/0/0/${i}_0_100`, pattern(100, i));
        await c.drain();
      }
      expect(c.health.fault).toBe(fault);
      expect(writer.calls).toBe(2); // one failed write, then puts are dropped
      expect(log.lines).toHaveLength(1);
      expect(log.lines[0]).toContain(fault);
      expect(c.counters.errors).toBe(1);
      // blocks already cached are still read, unless the device fails reads too
      expect((await c.get('chunks/0/0/1_0_100')) !== undefined).toBe(fault !== 'io');
      now += 5000; // a probe that still fails: no new line
      c.put('chunks/0/0/50_0_100', pattern(100));
      await c.drain();
      expect(writer.calls).toBe(3);
      expect(log.lines).toHaveLength(1);
      writer.failing = undefined;
      now += 5000;
      c.put('chunks/0/0/51_0_100', pattern(100, 51));
      await c.drain();
      expect(c.health.fault).toBeUndefined();
      expect(log.lines).toHaveLength(2);
      expect(log.lines[1]).toContain('usable again');
      expect((await c.get('chunks/0/0/51_0_100'))?.equals(pattern(100, 51))).toBe(true);
    });
  }

  it('a removed directory is recreated (one log line) and caching goes on', async () => {
    const log = recorder();
    const c = await DiskBlockCache.open({ cacheDir: dir, uuid: UUID, logger: log });
    for (let i = 1; i <= 5; i++) c.put(`chunks/0/0/${i}_0_100`, pattern(100, i));
    await c.drain();
    await rm(join(dir, UUID), { recursive: true });
    for (let i = 1; i <= 5; i++) expect(await c.get(`chunks/0/0/${i}_0_100`)).toBeUndefined();
    // Checked in the background: wait for the recreation's log line, not only for the
    // index to empty (the failed gets drop their own entries first).
    const recreated = (): boolean => log.lines.some((l) => l.includes('removed'));
    for (let i = 0; i < 200 && (c.items > 0 || !recreated()); i++)
      await new Promise((r) => setTimeout(r, 10));
    expect(c.items).toBe(0);
    expect((await stat(c.rawDir)).isDirectory()).toBe(true);
    expect(log.lines.filter((l) => l.includes('removed'))).toHaveLength(1);
    c.put('chunks/0/0/9_0_100', pattern(100, 9));
    await c.drain();
    expect((await c.get('chunks/0/0/9_0_100'))?.equals(pattern(100, 9))).toBe(true);
    expect(c.counters.corruptions).toBe(0);
  });

  it('a directory that cannot be created: the cache opens degraded, reads come from the object store', async () => {
    const log = recorder();
    await writeFile(join(dir, 'file'), 'x');
    const cache = await DiskBlockCache.open({ cacheDir: join(dir, 'file'), uuid: UUID, logger: log });
    expect(cache.health.fault).toBe('missing');
    const mem = new MemObjectStore();
    const cs = new ChunkStore({ store: mem, blockSize: BS, cache });
    await cs.writeSlice(1, data);
    const got = await cs.getBlock(1, BS, 0);
    expect(got.equals(data)).toBe(true);
    cs.releaseBlock(got);
    await cache.drain();
    expect(log.lines).toHaveLength(1);
  });
});

describe('a block file removed behind the cache (warmup --evict on a live mount)', () => {
  it('is stored again from the read buffer when the block is read from memory', async () => {
    const mem = new MemObjectStore();
    const meta = new SliceModel();
    const cache = await DiskBlockCache.open({ cacheDir: dir, uuid: UUID });
    const cs = new ChunkStore({ store: mem, blockSize: BS, cache });
    await cs.writeSlice(1, pattern(BS, 5));
    await meta.commit(0, { pos: 0, id: 1, size: BS, off: 0, len: BS }, { sec: 0, nsec: 0 });
    const reader = new FileReader(cs, { getSlices: meta.getSlices });
    await reader.read(0, BS, meta.length); // fetched: into the read buffer and the disk cache
    await cache.drain();
    const key = `chunks/0/0/1_0_${BS}`;
    const file = cache.path(key);
    await rm(file); // as `tjfs warmup --evict` does, without telling the daemon
    const gets = mem.counters.get;
    expect((await reader.read(0, BS, meta.length)).equals(pattern(BS, 5))).toBe(true);
    expect(mem.counters.get).toBe(gets); // served from memory
    await cache.drain();
    expect((await stat(file)).size).toBeGreaterThanOrEqual(BS);
    // Checked at most once per 10 s: a second removal right away goes unnoticed by a plain read.
    await rm(file);
    await reader.read(0, 4 * KiB, meta.length);
    await cache.drain();
    await expect(stat(file)).rejects.toThrow(/ENOENT/);
    expect(cache.has(key)).toBe(true);
    // An O_DIRECT reader (warmup) has it checked every time.
    await reader.read(0, 4 * KiB, meta.length, { verifyCache: true });
    await cache.drain();
    expect((await stat(file)).size).toBeGreaterThanOrEqual(BS);
    await cache.close();
  });
});
