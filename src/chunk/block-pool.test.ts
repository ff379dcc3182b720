/**
 * Pooled block buffers: reference counting in BlockPool, and the chunk store's promise that
 * a block handed out by getBlock keeps its bytes until released, even while the read
 * buffer evicts it and other downloads reuse freed buffers.
 */
import { describe, expect, it } from 'vitest';
import { MemBlockCache } from '../cache/mem-cache.js';
import { MemObjectStore } from '../object/mem/mem-store.js';
import { markReading, unmarkReading } from '../object/object-store.js';
import { BlockPool } from './block-pool.js';
import { ChunkStore } from './chunk-store.js';
import { FileReader } from './file-reader.js';
import { SliceModel } from '../../test/helpers/slice-model.js';
import { pattern as fill } from '../../test/helpers/pattern.js';

const KiB = 1024;
const BS = 64 * KiB;

describe('BlockPool', () => {
  it('hands out views of power-of-two size classes and reuses each class apart', () => {
    const pool = new BlockPool(4 * 64 * KiB);
    const a = pool.take(100 * KiB);
    expect(a.length).toBe(100 * KiB);
    expect(pool.capacityOf(a)).toBe(128 * KiB);
    expect(pool.classOf(1)).toBe(4 * KiB);
    expect(pool.classOf(4 * KiB + 1)).toBe(8 * KiB);
    expect(pool.classOf(200 * KiB)).toBe(256 * KiB);
    expect(() => pool.take(4 * 64 * KiB + 1)).toThrow(RangeError);
    pool.release(a);
    const small = pool.take(64 * KiB); // another class: a fresh buffer
    expect(small.buffer).not.toBe(a.buffer);
    const b = pool.take(65 * KiB); // same class as `a`: reused
    expect(b.buffer).toBe(a.buffer);
    expect(pool.reused).toBe(1);
    expect(pool.allocated).toBe(2);
  });

  it('keeps a bounded number of free small buffers', () => {
    const pool = new BlockPool(4 * 1024 * KiB);
    const many = Array.from({ length: 200 }, () => pool.take(64 * KiB));
    for (const b of many) pool.release(b);
    const again = Array.from({ length: 200 }, () => pool.take(64 * KiB));
    expect(pool.reused).toBe(128); // 8 MiB worth of 64 KiB buffers were kept
    for (const b of again) pool.release(b);
  });

  it('reuses a buffer only after its last reference, counted across subarrays', () => {
    const pool = new BlockPool(BS, 2);
    const a = pool.take();
    pool.hold(a.subarray(10, 20)); // a second holder through a view
    pool.release(a);
    expect(pool.freeCount).toBe(0);
    expect(pool.owns(a)).toBe(true);
    pool.release(a.subarray(5));
    expect(pool.freeCount).toBe(1);
    expect(pool.owns(a)).toBe(false);
    expect(pool.take()).toBe(a);
    expect(pool.reused).toBe(1);
  });

  it('does not reuse a buffer a timed-out upload may still be reading', () => {
    const pool = new BlockPool(BS, 4);
    const a = pool.take();
    markReading(a);
    pool.release(a);
    expect(pool.freeCount).toBe(0);
    unmarkReading(a);
    const b = pool.take();
    pool.release(b);
    expect(pool.freeCount).toBe(1);
  });

  it('ignores foreign buffers, drops discarded ones, keeps at most maxFree', () => {
    const pool = new BlockPool(BS, 1);
    const foreign = Buffer.alloc(BS);
    pool.hold(foreign);
    pool.release(foreign);
    expect(pool.freeCount).toBe(0);
    const [a, b, c] = [pool.take(), pool.take(), pool.take()];
    pool.discard(a);
    pool.release(a); // no longer counted: stays out of the pool
    pool.release(b);
    pool.release(c);
    expect(pool.freeCount).toBe(1);
    expect(pool.inUse).toBe(0);
    expect(pool.allocated).toBe(3);
  });
});

describe('MemBlockCache done callbacks', () => {
  it('runs done once when an entry is evicted, replaced, removed or not stored', async () => {
    const c = new MemBlockCache(2 * BS);
    const calls: string[] = [];
    const done = (k: string) => () => calls.push(k);
    const [a, b, x, big] = [Buffer.alloc(BS), Buffer.alloc(BS), Buffer.alloc(BS), Buffer.alloc(3 * BS)];
    expect(c.put('a', a, done('a'))).toBe(true);
    expect(c.put('a', a, done('a-again'))).toBe(false); // same bytes already stored
    expect(c.put('big', big, done('big'))).toBe(false);
    c.put('b', b, done('b'));
    c.put('x', x, done('x')); // evicts a
    c.put('b', Buffer.alloc(BS), done('b2')); // replaces b
    await c.remove('x');
    await c.close(); // clears b2
    expect(calls).toEqual(['a-again', 'big', 'a', 'b', 'x', 'b2']);
  });
});

describe('ChunkStore with pooled blocks', () => {
  async function volume(blocks: number): Promise<{ cs: ChunkStore; data: Buffer }> {
    const cs = new ChunkStore({ store: new MemObjectStore(), blockSize: BS, bufferSize: 2 * BS });
    const data = fill(blocks * BS);
    await cs.writeSlice(1, data);
    return { cs, data };
  }
  const block = (data: Buffer, i: number): Buffer => data.subarray(i * BS, (i + 1) * BS);

  it('a held block keeps its bytes while the read buffer evicts it and buffers are reused', async () => {
    const { cs, data } = await volume(8);
    const first = await cs.getBlock(1, data.length, 0);
    const again = await cs.getBlock(1, data.length, 0); // read-buffer hit: its own reference
    expect(again).toBe(first);
    cs.releaseBlock(again);
    for (let i = 1; i < 8; i++) {
      const b = await cs.getBlock(1, data.length, i);
      expect(b.equals(block(data, i))).toBe(true);
      cs.releaseBlock(b);
    }
    expect(cs.pool.reused).toBeGreaterThan(0); // evicted blocks were downloaded into again
    expect(first.equals(block(data, 0))).toBe(true);
    cs.releaseBlock(first);
    // Nothing leaks: only the read buffer's two blocks are still out of the pool.
    expect(cs.pool.inUse).toBe(2);
  });

  it('every waiter of one download gets its own reference', async () => {
    const { cs, data } = await volume(6);
    const [x, y] = await Promise.all([cs.getBlock(1, data.length, 0), cs.getBlock(1, data.length, 0)]);
    expect(x).toBe(y);
    cs.releaseBlock(x);
    for (let i = 1; i < 6; i++) cs.releaseBlock(await cs.getBlock(1, data.length, i));
    expect(y.equals(block(data, 0))).toBe(true);
    cs.releaseBlock(y);
    expect(cs.pool.inUse).toBe(2);
  });

  it('ranged reads and file reads hold their block until released', async () => {
    const { cs, data } = await volume(6);
    const meta = new SliceModel();
    await meta.commit(0, { pos: 0, id: 1, size: data.length, off: 0, len: data.length }, { sec: 0, nsec: 0 });
    const reader = new FileReader(cs, { getSlices: meta.getSlices, ino: 2n });
    const whole = await reader.read(BS, BS, data.length); // one block: shared, not copied
    expect(cs.pool.owns(whole)).toBe(true);
    const range = await cs.getBlockRange(1, data.length, 1, 100, 50); // hit in the read buffer
    for (let i = 2; i < 6; i++) cs.releaseBlock(await cs.getBlock(1, data.length, i));
    expect(whole.equals(block(data, 1))).toBe(true);
    expect(range.equals(data.subarray(BS + 100, BS + 150))).toBe(true);
    reader.release(whole);
    cs.releaseBlock(range);
    const across = await reader.read(BS - 10, 20, data.length); // two blocks: a copy
    expect(cs.pool.owns(across)).toBe(false);
    expect(across.equals(data.subarray(BS - 10, BS + 10))).toBe(true);
    expect(cs.pool.inUse).toBe(2);
  });

  it('a range of a pooled block in a memory block cache is held by the reader, not borrowed', async () => {
    const store = new MemObjectStore();
    const data = fill(6 * BS);
    const cache = new MemBlockCache(16 * BS);
    // a read buffer too small for a block: ranges come from the block cache
    const cs = new ChunkStore({ store, blockSize: BS, bufferSize: BS / 2, cache, prefetch: 0 });
    await new ChunkStore({ store, blockSize: BS }).writeSlice(1, data);
    cs.releaseBlock(await cs.getBlock(1, data.length, 0)); // now held by the block cache only
    expect(cs.pool.inUse).toBe(1);
    const meta = new SliceModel();
    await meta.commit(0, { pos: 0, id: 1, size: data.length, off: 0, len: data.length }, { sec: 0, nsec: 0 });
    const reader = new FileReader(cs, { getSlices: meta.getSlices, ino: 2n });
    for (let k = 0; k < 3; k++) {
      const r = await reader.read(4 * BS + 100, 16, data.length); // random: not sequential
      reader.release(r);
      const got = await reader.read(BS / 2, 100, data.length); // block 0, from the cache
      expect(got.equals(data.subarray(BS / 2, BS / 2 + 100))).toBe(true);
      reader.release(got);
    }
    for (let k = 0; k < 3; k++) cs.releaseBlock(await cs.getBlock(1, data.length, 0)); // whole-block hits of the cache
    expect(cs.pool.inUse).toBe(1); // the cache's reference is intact
    for (let i = 1; i < 6; i++) cs.releaseBlock(await cs.getBlock(1, data.length, i)); // would reuse a freed block 0
    const again = await cs.getBlockRange(1, data.length, 0, 0, BS);
    expect(again.equals(block(data, 0))).toBe(true);
    cs.releaseBlock(again);
  });
});
