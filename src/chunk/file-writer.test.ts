/**
 * FileWriter during a flush: the length it reports never drops before the commit lands
 * (appenders and mmap rely on it), a second flush waits for the running one, and a
 * commit the engine refused leaves no objects behind.
 */
import { describe, expect, it } from 'vitest';
import { Errno, FsError, isFsError } from '../base/errno.js';
import type { Slice, Timespec } from '../base/types.js';
import { MemObjectStore } from '../object/mem/mem-store.js';
import { SliceModel } from '../../test/helpers/slice-model.js';
import { ChunkStore } from './chunk-store.js';
import { FileWriter, flushSeq } from './file-writer.js';
import { pattern as fill } from '../../test/helpers/pattern.js';

const MiB = 1024 * 1024;

/** A commit that waits until released, to look at the writer mid-flush. */
function gatedCommit(meta: SliceModel): {
  commit: (indx: number, s: Slice, m: Timespec) => Promise<void>;
  started: Promise<void>;
  open: () => void;
} {
  let open!: () => void;
  let started!: () => void;
  const gate = new Promise<void>((r) => (open = r));
  const startedP = new Promise<void>((r) => (started = r));
  return {
    commit: async (indx, s, m) => {
      started();
      await gate;
      await meta.commit(indx, s, m);
    },
    started: startedP,
    open,
  };
}

const settle = (): Promise<void> => new Promise((r) => setTimeout(r, 20));

/** A writer over a memory store whose commits wait for `g.open()`. */
function gatedWriter(): { meta: SliceModel; g: ReturnType<typeof gatedCommit>; w: FileWriter } {
  const meta = new SliceModel();
  const g = gatedCommit(meta);
  const w = new FileWriter(new ChunkStore({ store: new MemObjectStore() }), {
    allocSliceId: meta.allocSliceId,
    commit: g.commit,
    ino: 2n,
  });
  return { meta, g, w };
}

describe('FileWriter flush', () => {
  it('keeps reporting the written length until the commit has landed', async () => {
    const { meta, g, w } = gatedWriter();
    await w.write(1000, fill(5000));
    expect(w.pendingLength).toBe(6000);
    const flushed = w.flush();
    await g.started;
    // Uploaded, not committed: the metadata still says 0, so the writer must say 6000.
    expect(meta.length).toBe(0);
    expect(w.pendingLength).toBe(6000);
    g.open();
    await flushed;
    expect(meta.length).toBe(6000);
    expect(w.pendingLength).toBe(0);
  });

  it('a completed flush advances flushSeq in the same step as its bytes stop being pending', async () => {
    const meta = new SliceModel();
    const w = new FileWriter(new ChunkStore({ store: new MemObjectStore() }), {
      allocSliceId: meta.allocSliceId,
      commit: meta.commit,
      ino: 2n,
    });
    await w.write(0, fill(3000));
    const before = flushSeq();
    const flushed = w.flush();
    // A length read taken now, answered after the commit, can tell that it must count 3000.
    await flushed;
    expect(w.pendingLength).toBe(0);
    expect(w.flushedSeq).toBeGreaterThan(before);
    expect(w.flushedEnd).toBe(3000);
  });

  it('a small block kept for re-reads does not pin the 64 KiB page it was written into', async () => {
    const meta = new SliceModel();
    const cs = new ChunkStore({ store: new MemObjectStore() });
    const w = new FileWriter(cs, { allocSliceId: meta.allocSliceId, commit: meta.commit, ino: 2n });
    await w.write(0, fill(4097));
    await w.flush();
    // Served from the read buffer (no GET): the kept copy is its own small buffer.
    const b = await cs.getBlock(1, 4097, 0);
    expect(cs.stats.blockGets).toBe(0);
    expect(b.equals(fill(4097))).toBe(true);
    expect(b.buffer.byteLength).toBeLessThan(2 * 4097);
    cs.releaseBlock(b);
  });

  it('small files reuse pooled write pages and assembled blocks (no fresh memory per file)', async () => {
    const meta = new SliceModel();
    const cs = new ChunkStore({ store: new MemObjectStore(), bufferSize: 64 * 1024 * 1024 });
    for (let i = 0; i < 50; i++) {
      const w = new FileWriter(cs, {
        allocSliceId: meta.allocSliceId,
        commit: meta.commit,
        ino: BigInt(10 + i),
      });
      await w.write(0, fill(130 * 1024)); // three 64 KiB pages, assembled into one 256 KiB-class buffer
      await w.flush();
    }
    // The read buffer keeps each file's block; the pages go back to the pool every time.
    expect(cs.pool.reused).toBeGreaterThanOrEqual(49 * 3);
    expect(cs.pool.allocated).toBeLessThanOrEqual(3 + 50);
    const b = await cs.getBlock(1, 130 * 1024, 0);
    expect(b.equals(fill(130 * 1024))).toBe(true);
    cs.releaseBlock(b);
  });

  it('a second flush waits for the one in progress (fsync racing close)', async () => {
    const { meta, g, w } = gatedWriter();
    await w.write(0, fill(100));
    const first = w.flush();
    await g.started;
    let secondDone = false;
    const second = w.flush().then(() => (secondDone = true));
    await settle();
    expect(secondDone).toBe(false);
    g.open();
    await Promise.all([first, second]);
    expect(meta.commits).toBe(1);
  });

  it('a commit refused with ENOSPC deletes the objects of that slice and of the ones after it', async () => {
    const mem = new MemObjectStore();
    const meta = new SliceModel();
    const commit = async (indx: number, s: Slice, m: Timespec): Promise<void> => {
      if (indx === 1) throw new FsError(Errno.ENOSPC, { op: 'write' });
      await meta.commit(indx, s, m);
    };
    const w = new FileWriter(new ChunkStore({ store: mem }), {
      allocSliceId: meta.allocSliceId,
      commit,
      ino: 2n,
    });
    // Three slices in three chunks: the first commits, the second is refused, the third is never tried.
    await w.write(0, fill(MiB));
    await w.write(64 * MiB, fill(MiB));
    await w.write(128 * MiB, fill(MiB));
    const err = await w.flush().catch((e: unknown) => e);
    expect(isFsError(err, 'ENOSPC')).toBe(true);
    await settle();
    expect(meta.commits).toBe(1);
    expect(mem.keys().map((k) => k.split('/').pop())).toEqual(['1_0_1048576']);
  });

  it('after an ambiguous commit error (EIO) the objects of that slice stay: it may be committed', async () => {
    const mem = new MemObjectStore();
    const meta = new SliceModel();
    const commit = (): Promise<void> => Promise.reject(new FsError(Errno.EIO, { op: 'write' }));
    const w = new FileWriter(new ChunkStore({ store: mem }), {
      allocSliceId: meta.allocSliceId,
      commit,
      ino: 2n,
    });
    await w.write(0, fill(MiB));
    await w.write(64 * MiB, fill(MiB));
    expect(isFsError(await w.flush().catch((e: unknown) => e), 'EIO')).toBe(true);
    await settle();
    expect(mem.keys().map((k) => k.split('/').pop())).toEqual(['1_0_1048576']);
  });
});
