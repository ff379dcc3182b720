/**
 * FileWriter / FileReader behaviour: fault injection (EIO, nothing committed, nothing
 * hangs), request counting (caches save GETs, one GET per block when sequential),
 * backpressure, slice deletion and compaction.
 */
import { describe, expect, it, vi } from 'vitest';
import { isFsError } from '../base/errno.js';
import { FaultyStore, ThrottledStore } from '../object/faulty.js';
import { MemBlockCache } from '../cache/mem-cache.js';
import { MemObjectStore } from '../object/mem/mem-store.js';
import { RetryingStore } from '../object/retrying.js';
import { SliceModel } from '../../test/helpers/slice-model.js';
import type { ChunkStoreConfig } from './chunk-store.js';
import { ChunkStore } from './chunk-store.js';
import { compactChunk } from './compact.js';
import { FileReader } from './file-reader.js';
import { FileWriter } from './file-writer.js';
import { pattern as fill } from '../../test/helpers/pattern.js';

const KiB = 1024;
const MiB = 1024 * KiB;

function setup(cfg: Partial<ChunkStoreConfig> & Pick<ChunkStoreConfig, 'store'>): {
  cs: ChunkStore;
  meta: SliceModel;
  writer: FileWriter;
  reader: () => FileReader;
} {
  const cs = new ChunkStore({ blockSize: 4 * MiB, ...cfg });
  const meta = new SliceModel();
  const writer = new FileWriter(cs, { allocSliceId: meta.allocSliceId, commit: meta.commit, ino: 2n });
  return { cs, meta, writer, reader: () => new FileReader(cs, { getSlices: meta.getSlices, ino: 2n }) };
}

describe('faults', () => {
  it('a failing store makes flush reject with EIO and commits nothing', async () => {
    const mem = new MemObjectStore();
    const faulty = new FaultyStore(mem).addRule({
      ops: ['put'],
      permanent: true,
      match: (k) => k.includes('_1_'),
    });
    const { meta, writer } = setup({ store: new RetryingStore(faulty, { baseDelayMs: 1 }) });
    await writer.write(0, fill(10 * MiB));
    const err = await writer.flush().catch((e: unknown) => e);
    expect(isFsError(err, 'EIO')).toBe(true);
    expect(String((err as Error).message)).toContain('_1_');
    expect(meta.commits).toBe(0);
    // uncommitted objects are cleaned up in the background
    await new Promise((r) => setTimeout(r, 20));
    expect(mem.keys()).toEqual([]);
    // the writer is usable afterwards
    faulty.clearRules();
    await writer.write(0, fill(100));
    await writer.flush();
    expect(meta.commits).toBe(1);
  });

  it('a hung store times out: flush rejects, nothing hangs', async () => {
    const faulty = new FaultyStore(new MemObjectStore()).addRule({ ops: ['put'], hang: true });
    const { meta, writer } = setup({
      store: new RetryingStore(faulty, { retries: 1, baseDelayMs: 1, putTimeoutMs: 50 }),
    });
    await writer.write(0, fill(1000));
    const err = await writer.flush().catch((e: unknown) => e);
    expect(isFsError(err, 'EIO')).toBe(true);
    expect(meta.commits).toBe(0);
    faulty.releaseHung();
  });

  it('allocSliceId failure is EIO at flush', async () => {
    const cs = new ChunkStore({ store: new MemObjectStore() });
    const w = new FileWriter(cs, {
      allocSliceId: () => Promise.reject(new Error('meta down')),
      commit: () => Promise.resolve(),
    });
    await w.write(0, fill(10));
    await expect(w.flush()).rejects.toMatchObject({ code: 'EIO' });
  });

  it('a missing block re-reads the slice list once, then EIO naming the key', async () => {
    const mem = new MemObjectStore();
    const { meta, writer, reader } = setup({ store: mem, blockSize: 64 * KiB });
    await writer.write(0, fill(200 * KiB));
    await writer.flush();
    await mem.delete('chunks/0/0/1_1_65536');
    let calls = 0;
    const r = new FileReader(new ChunkStore({ store: mem, blockSize: 64 * KiB }), {
      getSlices: (i) => {
        calls++;
        return meta.getSlices(i);
      },
    });
    const err = await r.read(0, 200 * KiB, meta.length).catch((e: unknown) => e);
    expect(isFsError(err, 'EIO')).toBe(true);
    expect((err as Error).message).toContain('chunks/0/0/1_1_65536');
    expect(calls).toBe(2);
    expect((await reader().read(0, 1000, meta.length)).equals(fill(1000))).toBe(true);
  });

  it('reads reuse a chunk slice list for a second; invalidate() and a list read during it are not kept', async () => {
    const { cs, meta, writer } = setup({ store: new MemObjectStore(), blockSize: 64 * KiB });
    const data = fill(MiB);
    await writer.write(0, data);
    await writer.flush();
    let calls = 0;
    let hold: Promise<void> | undefined;
    const r = new FileReader(cs, {
      getSlices: async (i) => {
        calls++;
        const out = await meta.getSlices(i);
        if (hold !== undefined) await hold;
        return out;
      },
    });
    const check = async (at: number): Promise<void> => {
      expect((await r.read(at, 4096, meta.length)).equals(data.subarray(at, at + 4096))).toBe(true);
    };
    for (let i = 0; i < 20; i++) await check((i * 7919) % (1000 * KiB));
    expect(calls).toBe(1);
    r.invalidate();
    await check(900 * KiB);
    expect(calls).toBe(2);
    // a list read across an invalidate() serves that read only
    let release = (): void => undefined;
    hold = new Promise((ok) => (release = ok));
    r.invalidate();
    const pending = check(100 * KiB); // offsets far apart: random reads, no readahead
    await new Promise((ok) => setTimeout(ok, 10));
    r.invalidate();
    release();
    await pending;
    hold = undefined;
    await check(600 * KiB);
    expect(calls).toBe(4);
    vi.useFakeTimers({ now: Date.now() + 1500, toFake: ['Date'] });
    try {
      await check(300 * KiB);
      expect(calls).toBe(5);
    } finally {
      vi.useRealTimers();
    }
  });

  it('a missing block found again after compaction replaced the list', async () => {
    const mem = new MemObjectStore();
    const { cs, meta, writer } = setup({ store: mem, blockSize: 64 * KiB });
    for (let i = 0; i < 5; i++) {
      await writer.write(i * 10 * KiB, fill(10 * KiB, i));
      await writer.flush();
    }
    const before = await new FileReader(cs, { getSlices: meta.getSlices }).read(0, meta.length, meta.length);
    const res = await compactChunk(cs, await meta.getSlices(0), meta.allocSliceId);
    expect(res).toBeDefined();
    if (res === undefined) return;
    expect(res.replacement).toHaveLength(1);
    expect(res.dropped).toHaveLength(5);
    // reader saw the old list first; the old objects vanish; the retry sees the new list
    let first = true;
    const old = await meta.getSlices(0);
    const r = new FileReader(new ChunkStore({ store: mem, blockSize: 64 * KiB }), {
      getSlices: () => {
        const out = first ? old : [...res.replacement];
        first = false;
        return Promise.resolve(out);
      },
    });
    for (const d of res.dropped) await cs.removeSlice(d.id, d.size);
    expect((await r.read(0, meta.length, meta.length)).equals(before)).toBe(true);
  });
});

describe('request counting', () => {
  it('sequential read of a 64 MiB file: one GET per block; cached re-read: zero GETs', async () => {
    const mem = new MemObjectStore();
    const { meta, writer } = setup({ store: mem });
    const data = fill(64 * MiB);
    for (let off = 0; off < data.length; off += MiB) await writer.write(off, data.subarray(off, off + MiB));
    await writer.flush();
    expect(mem.counters.put).toBe(16);
    const cs = new ChunkStore({ store: mem });
    const r = new FileReader(cs, { getSlices: meta.getSlices });
    mem.resetCounters();
    for (let off = 0; off < data.length; off += 128 * KiB) {
      const got = await r.read(off, 128 * KiB, meta.length);
      if (!got.equals(data.subarray(off, off + 128 * KiB))) throw new Error(`mismatch at ${off}`);
    }
    expect(mem.counters.get).toBe(16);
    mem.resetCounters();
    const r2 = new FileReader(cs, { getSlices: meta.getSlices });
    await r2.read(5 * MiB, 3 * MiB, meta.length);
    await r2.read(40 * MiB + 17, 1000, meta.length);
    expect(mem.counters.get).toBe(0);
  });

  it('random small reads with --prefetch 0 fetch only what is asked', async () => {
    const mem = new MemObjectStore();
    const { meta, writer } = setup({ store: mem });
    await writer.write(0, fill(16 * MiB));
    await writer.flush();
    const cs = new ChunkStore({ store: mem, prefetch: 0 });
    const r = new FileReader(cs, { getSlices: meta.getSlices });
    mem.resetCounters();
    for (const off of [9 * MiB, 1 * MiB + 5, 13 * MiB, 3 * MiB]) {
      expect(
        (await r.read(off, 4 * KiB, meta.length)).equals(fill(16 * MiB).subarray(off, off + 4 * KiB)),
      ).toBe(true);
    }
    expect(mem.counters.get).toBe(4);
    expect(mem.counters.bytesOut).toBe(16 * KiB);
  });

  it('random small reads fetch ranges only; a third one in a row in the same block prefetches it (--prefetch 1)', async () => {
    const mem = new MemObjectStore();
    const { meta, writer } = setup({ store: mem });
    await writer.write(0, fill(16 * MiB));
    await writer.flush();
    const cs = new ChunkStore({ store: mem, prefetch: 1 });
    const r = new FileReader(cs, { getSlices: meta.getSlices });
    mem.resetCounters();
    await r.read(9 * MiB, 4 * KiB, meta.length);
    await r.read(1 * MiB, 4 * KiB, meta.length);
    await new Promise((res) => setTimeout(res, 10));
    expect(mem.counters.get).toBe(2); // no whole block fetched behind random reads
    expect(mem.counters.bytesOut).toBe(8 * KiB);
    await r.read(3 * MiB, 4 * KiB, meta.length); // block 0 again, right after
    await new Promise((res) => setTimeout(res, 10));
    expect(cs.stats.blockGets).toBe(0);
    await r.read(2 * MiB + 8 * KiB, 4 * KiB, meta.length); // and a third time: a local pattern
    for (let i = 0; i < 200 && cs.stats.blockGets === 0; i++) await new Promise((res) => setTimeout(res, 10));
    expect(cs.stats.blockGets).toBe(1);
    mem.resetCounters();
    expect(
      (await r.read(2 * MiB, 4 * KiB, meta.length)).equals(
        fill(16 * MiB).subarray(2 * MiB, 2 * MiB + 4 * KiB),
      ),
    ).toBe(true);
    expect(mem.counters.get).toBe(0);
  });

  it('at open a file of at most a quarter block is fetched whole before its first read; larger files and --prefetch 0 are not', async () => {
    for (const [size, prefetch, gets] of [
      [300 * KiB, 1, 1],
      [MiB, 1, 1],
      [MiB + 1, 1, 0],
      [300 * KiB, 0, 0],
    ] as const) {
      const mem = new MemObjectStore();
      const { meta, writer } = setup({ store: mem });
      await writer.write(0, fill(size));
      await writer.flush();
      const cs = new ChunkStore({ store: mem, prefetch });
      const r = new FileReader(cs, { getSlices: meta.getSlices });
      mem.resetCounters();
      r.prefetchSmallFile(meta.length);
      for (let i = 0; i < 100 && cs.stats.blockGets < gets; i++)
        await new Promise((res) => setTimeout(res, 5));
      await new Promise((res) => setTimeout(res, 20));
      expect(cs.stats.blockGets, `${size} bytes, --prefetch ${prefetch}`).toBe(gets);
      if (gets === 0) continue;
      // The read that follows takes the block from memory: no second GET.
      expect((await r.read(0, size, meta.length)).equals(fill(size))).toBe(true);
      expect(mem.counters.get).toBe(1);
    }
  });

  it('cold random reads: at most a quarter block is a ranged GET, more is the whole block; sequential reads take whole blocks', async () => {
    const mem = new MemObjectStore();
    const { meta, writer } = setup({ store: mem });
    const data = fill(16 * MiB);
    await writer.write(0, data);
    await writer.flush();
    const cache = new MemBlockCache(64 * MiB);
    const cs = new ChunkStore({ store: mem, cache, prefetch: 0 });
    const r = new FileReader(cs, { getSlices: meta.getSlices });
    mem.resetCounters();
    expect((await r.read(9 * MiB, MiB, meta.length)).equals(data.subarray(9 * MiB, 10 * MiB))).toBe(true);
    expect(cs.stats).toMatchObject({ rangeGets: 1, blockGets: 0 });
    expect((await r.read(1 * MiB, MiB + 1, meta.length)).equals(data.subarray(MiB, 2 * MiB + 1))).toBe(true);
    expect(cs.stats).toMatchObject({ rangeGets: 1, blockGets: 1 });
    expect(cache.has(cs.blockKeyOf(1, data.length, 0))).toBe(true);
    // without a block cache a random read of any size is a ranged GET (as JuiceFS)
    const bare = new ChunkStore({ store: mem, prefetch: 0 });
    await new FileReader(bare, { getSlices: meta.getSlices }).read(13 * MiB, 2 * MiB, meta.length);
    expect(bare.stats).toMatchObject({ rangeGets: 1, blockGets: 0 });
    // sequential: whole blocks (and readahead), whatever the read size
    const seq = new ChunkStore({ store: mem, prefetch: 0 });
    const rs = new FileReader(seq, { getSlices: meta.getSlices });
    for (let off = 0; off < 2 * MiB; off += 4 * KiB) rs.release(await rs.read(off, 4 * KiB, meta.length));
    expect(seq.stats.rangeGets).toBe(0);
    expect(seq.stats.blockGets).toBeGreaterThanOrEqual(1);
    expect(seq.pool.inUse).toBeLessThanOrEqual(seq.buffer.items); // only the read buffer holds blocks
  });
});

describe('write path', () => {
  it('backpressure: buffered bytes stay within the budget while the store is slow', async () => {
    const mem = new MemObjectStore();
    const slow = new ThrottledStore(mem, { bytesPerSec: 64 * MiB, latencyMs: 5 });
    const { cs, meta, writer } = setup({
      store: slow,
      blockSize: 256 * KiB,
      bufferSize: 1 * MiB,
      maxUploads: 2,
    });
    let peak = 0;
    for (let off = 0; off < 8 * MiB; off += 128 * KiB) {
      await writer.write(off, fill(128 * KiB, off));
      peak = Math.max(peak, cs.budget.inUse);
    }
    await writer.flush();
    expect(peak).toBeLessThanOrEqual(1 * MiB + 64 * KiB);
    expect(meta.commits).toBe(1);
    expect(meta.chunks.get(0)).toEqual([{ pos: 0, id: 1, size: 8 * MiB, off: 0, len: 8 * MiB }]);
  });

  it('streaming writes reuse uploaded block buffers without mixing files', async () => {
    const { cs } = setup({ store: new MemObjectStore() });
    const taken: Buffer[] = [];
    const take = cs.takeBlockBuffer.bind(cs);
    cs.takeBlockBuffer = () => {
      const b = take();
      taken.push(b);
      return b;
    };
    // Three files of 3.5 blocks in 1 MiB writes, one after the other: the later ones get the
    // first one's buffers back (the cached partial tail block is a copy).
    let nextId = 1;
    const files = [1, 2, 3].map((seed) => ({ data: fill(14 * MiB, seed), meta: new SliceModel() }));
    for (const f of files) {
      f.meta.allocSliceId = () => Promise.resolve(nextId++); // slice ids unique across the files
      const w = new FileWriter(cs, { allocSliceId: f.meta.allocSliceId, commit: f.meta.commit, ino: 2n });
      for (let off = 0; off < f.data.length; off += MiB) await w.write(off, f.data.subarray(off, off + MiB));
      await w.flush();
    }
    expect(taken.length).toBe(12);
    expect(new Set(taken).size).toBeLessThanOrEqual(4);
    for (const f of files) {
      const r = new FileReader(cs, { getSlices: f.meta.getSlices, ino: 2n });
      expect((await r.read(0, f.data.length, f.data.length)).equals(f.data)).toBe(true);
    }
    expect(cs.budget.inUse).toBe(0);
    // A small file written at once keeps to 64 KiB pages (no 4 MiB buffer per small file).
    const small = new FileWriter(cs, {
      allocSliceId: () => Promise.resolve(nextId++),
      commit: () => Promise.resolve(),
      ino: 3n,
    });
    await small.write(0, fill(128 * KiB));
    await small.flush();
    expect(taken.length).toBe(12);
  });

  it('sequential writes make one slice per chunk; records split at chunk borders', async () => {
    const { meta, writer } = setup({ store: new MemObjectStore() });
    await writer.write(64 * MiB - 10, fill(30));
    expect(writer.pendingLength).toBe(64 * MiB + 20);
    await writer.flush();
    expect(meta.chunks.get(0)).toEqual([{ pos: 64 * MiB - 10, id: 1, size: 10, off: 0, len: 10 }]);
    expect(meta.chunks.get(1)).toEqual([{ pos: 0, id: 2, size: 20, off: 0, len: 20 }]);
    expect(writer.pendingLength).toBe(0);
  });

  it('overwrite of uploaded data starts a new slice committed after the old one', async () => {
    const mem = new MemObjectStore();
    const { meta, writer, reader } = setup({ store: mem, blockSize: 64 * KiB });
    await writer.write(0, fill(200 * KiB, 1));
    await writer.write(10, fill(5, 9));
    await writer.flush();
    expect(meta.chunks.get(0)?.map((s) => [s.id, s.pos, s.len])).toEqual([
      [1, 0, 200 * KiB],
      [2, 10, 5],
    ]);
    const want = fill(200 * KiB, 1);
    fill(5, 9).copy(want, 10);
    expect((await reader().read(0, 200 * KiB, meta.length)).equals(want)).toBe(true);
  });

  it('removeSlice deletes every block object', async () => {
    const mem = new MemObjectStore();
    const { cs, meta, writer } = setup({ store: mem, blockSize: 64 * KiB });
    await writer.write(0, fill(150 * KiB));
    await writer.flush();
    expect(mem.keys()).toEqual(['chunks/0/0/1_0_65536', 'chunks/0/0/1_1_65536', 'chunks/0/0/1_2_22528']);
    await cs.removeSlice(1, 150 * KiB);
    expect(mem.size).toBe(0);
    await cs.removeSlice(1, 150 * KiB); // idempotent
    expect(meta.commits).toBe(1);
  });
});
