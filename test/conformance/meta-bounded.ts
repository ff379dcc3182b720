/**
 * Bounded work (issue 13 part 1), run on every engine: truncate, every fallocate mode and
 * copy_file_range over ranges of up to 2^55..2^62 bytes finish at once with little heap and
 * touch only chunks that exist; narrow ranges still store exactly Go's records.
 */
import { Writable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { scanFiles } from '../../src/meta/scan.js';
import { dumpMeta } from '../../src/meta/dump/dump.js';
import { metaCore, type BaseMeta } from '../../src/meta/base-meta.js';
import { FallocMode } from '../../src/meta/meta.js';
import { buildVisible } from '../../src/meta/slices.js';
import { CHUNK_SIZE as CS, MAX_FILE_SIZE, ROOT_INODE, type Ino, type Slice } from '../../src/base/types.js';
import { makeVolume, n, root, type EngineTarget, type Volume } from '../helpers/meta-fixture.js';
import { expectErrno } from './meta-suite.js';

const HUGE = 999_999_999_999_999; // `truncate -s 999999999999999 f`
const HUGE_LAST = Math.floor(HUGE / CS);
const P55 = 2 ** 55;
const FAR = 1_000_000; // a data chunk 61 TiB into the file
const MS = 5000; // per call; the old per-chunk loops took minutes or ran out of heap
const HEAP = 50 * 1024 * 1024;

const hole = (pos: number, len: number, off = 0): Slice => ({ pos, id: 0, size: 0, off, len });
const data = (id: number, pos: number, len: number, off = 0, size = 100_000): Slice => ({
  pos,
  id,
  size,
  off,
  len,
});

export function runBoundedWork(target: EngineTarget): void {
  describe(`bounded work: ${target.name}`, () => {
    let v: Volume;
    let m: BaseMeta;

    beforeEach(async () => {
      v = await makeVolume(target);
      m = await v.client();
    });
    afterEach(async () => {
      await v.close();
      await target.cleanup?.();
    });

    async function mkfile(name: string): Promise<Ino> {
      const r = await m.create(root, ROOT_INODE, n(name), 0o644);
      await m.close(r.ino);
      return r.ino;
    }
    async function write(ino: Ino, indx: number, pos: number, len: number): Promise<number> {
      const id = await m.newSliceId();
      await m.writeSlice(ino, indx, data(id, pos, len), v.clock.now());
      return id;
    }
    const chunksOf = (ino: Ino): Promise<number[]> => v.engines[0]!.listChunkIndexes(ino, 2 ** 56);
    /** Slice records queued (mem engine only; elsewhere 0). */
    const records = (): number =>
      (metaCore(m).engine as { ops?: ReadonlyMap<string, number> }).ops?.get('tx.records') ?? 0;

    /** Runs `fn`, asserting its time, heap growth and (mem) records written. */
    async function bounded<T>(fn: () => Promise<T>, maxRecords = 16): Promise<T> {
      const [heap0, rec0, t0] = [process.memoryUsage().heapUsed, records(), performance.now()];
      const r = await fn();
      expect(performance.now() - t0).toBeLessThan(MS);
      expect(process.memoryUsage().heapUsed - heap0).toBeLessThan(HEAP);
      expect(records() - rec0).toBeLessThanOrEqual(maxRecords);
      return r;
    }

    it('truncate to 999999999999999 and back writes holes only where chunks exist', async () => {
      const f = await mkfile('f');
      const id = await write(f, 0, 0, 1000);
      await bounded(() => m.truncate(root, f, HUGE));
      expect((await m.getattr(root, f)).length).toBe(HUGE);
      // Go's records: the first chunk's rest and the last chunk's part, nothing between.
      expect(await m.readChunk(f, 0)).toEqual([data(id, 0, 1000), hole(1000, CS - 1000)]);
      expect(await m.readChunk(f, HUGE_LAST)).toEqual([hole(0, HUGE % CS)]);
      expect(await chunksOf(f)).toEqual([0, HUGE_LAST]);
      const mid = await write(f, 5000, 0, 100);
      await bounded(() => m.truncate(root, f, 10));
      expect((await m.getattr(root, f)).length).toBe(10);
      expect((await m.readChunk(f, 0)).at(-1)).toEqual(hole(10, CS - 10));
      expect(await m.readChunk(f, 5000)).toEqual([data(mid, 0, 100), hole(0, CS)]);
      expect((await m.readChunk(f, HUGE_LAST)).at(-1)).toEqual(hole(0, HUGE % CS));
      expect(await chunksOf(f)).toEqual([0, 5000, HUGE_LAST]);
      await metaCore(m).stats.flush();
      expect(await v.engines[0]!.getCounter('usedSpace')).toBe(4096);
    });

    it('unlinking a huge sparse file deletes its lists without walking its length', async () => {
      const f = await mkfile('f');
      await write(f, 0, 0, 1000);
      await m.truncate(root, f, HUGE);
      await write(f, FAR, 0, 1000);
      await bounded(async () => {
        await m.unlink(root, ROOT_INODE, n('f'));
        await Promise.all([...metaCore(m).pending]);
      });
      expect(await chunksOf(f)).toEqual([]);
    });

    it('dump and the fsck/gc scan of a huge sparse file read only its lists', async () => {
      const f = await mkfile('f');
      const a = await write(f, 0, 0, 1000);
      await m.truncate(root, f, HUGE);
      const b = await write(f, FAR, 0, 1000);
      let text = '';
      const sink = new Writable({
        write(chunk: Buffer, _enc, done) {
          text += chunk.toString();
          done();
        },
      });
      await bounded(() => dumpMeta(v.engines[0]!, sink));
      const dumped = (
        JSON.parse(text) as { FSTree: { entries: Record<string, { chunks?: { index: number }[] }> } }
      ).FSTree.entries['f'];
      expect(dumped?.chunks?.map((c) => c.index)).toEqual([0, FAR, HUGE_LAST]);
      const seen: number[][] = [];
      await bounded(() => scanFiles(v.engines[0]!, async (x) => void seen.push(x.slices.map((s) => s.id))));
      expect(seen).toEqual([[a, b]]);
    });

    it('every fallocate mode with 2^55-byte ranges over a 2^52-byte sparse file', async () => {
      // Lengths stay exact doubles (the VFS refuses ranges past 2^53 with EFBIG); the sizes
      // asked for reach 2^55, and the zeroed ranges span 2^26..2^27 chunks.
      const [L, M] = [2 ** 52, 1.5 * 2 ** 52];
      const f = await mkfile('f');
      const a = await write(f, 0, 0, 1000);
      const b = await write(f, FAR, 0, 1000);
      await bounded(() => m.truncate(root, f, L));
      await bounded(() => m.fallocate(root, f, 0, 0, L));
      await bounded(() => m.fallocate(root, f, FallocMode.KeepSize, 0, P55));
      expect((await m.getattr(root, f)).length).toBe(L);
      await bounded(() => m.fallocate(root, f, 0, L / 2, L));
      expect((await m.getattr(root, f)).length).toBe(M);
      await bounded(() => m.fallocate(root, f, FallocMode.ZeroRange, CS / 2, L));
      expect((await m.readChunk(f, 0)).at(-1)).toEqual(hole(CS / 2, CS / 2));
      expect(await m.readChunk(f, FAR)).toEqual([data(b, 0, 1000), hole(1000, CS - 1000), hole(0, CS)]);
      expect(await m.readChunk(f, L / CS)).toEqual([hole(0, CS / 2)]);
      await bounded(() => m.fallocate(root, f, FallocMode.PunchHole | FallocMode.KeepSize, 0, P55));
      await bounded(() => m.fallocate(root, f, FallocMode.ZeroRange | FallocMode.KeepSize, 10, P55));
      expect(await m.readChunk(f, 0)).toEqual([
        data(a, 0, 1000),
        hole(CS / 2, CS / 2),
        hole(0, CS),
        hole(10, CS - 10),
      ]);
      expect((await m.readChunk(f, FAR)).slice(3)).toEqual([hole(0, CS), hole(0, CS)]);
      expect(await m.readChunk(f, L / CS)).toEqual([hole(0, CS / 2), hole(0, CS), hole(0, CS)]);
      expect(await chunksOf(f)).toEqual([0, FAR, L / CS]);
      expect((await m.getattr(root, f)).length).toBe(M);
      await expectErrno(m.fallocate(root, f, 0, MAX_FILE_SIZE - 1024, 1024), 'EFBIG');
      await expectErrno(m.truncate(root, f, MAX_FILE_SIZE), 'EFBIG');
    });

    it('a file 2^55 bytes long (a Go client may make one) truncates back down at once', async () => {
      const f = await mkfile('f');
      const a = await write(f, FAR, 0, 1000);
      await bounded(() => m.fallocate(root, f, 0, 0, P55));
      expect((await m.getattr(root, f)).length).toBe(P55);
      await bounded(() => m.truncate(root, f, 10));
      expect(await m.readChunk(f, FAR)).toEqual([data(a, 0, 1000), hole(0, CS)]);
      expect(await chunksOf(f)).toEqual([0, FAR]);
    });

    it("a narrow fallocate still writes Go's record in every chunk it covers", async () => {
      const f = await mkfile('f');
      await m.truncate(root, f, 10 * CS);
      const before = await chunksOf(f);
      await m.fallocate(root, f, FallocMode.PunchHole | FallocMode.KeepSize, 2 * CS + 5, 3 * CS);
      expect(before).toEqual([0]);
      expect(await chunksOf(f)).toEqual([0, 2, 3, 4, 5]);
      expect(await m.readChunk(f, 2)).toEqual([hole(5, CS - 5)]);
      expect(await m.readChunk(f, 3)).toEqual([hole(0, CS)]);
      expect(await m.readChunk(f, 5)).toEqual([hole(0, 5)]);
    });

    it('copy_file_range of 2^62 bytes copies what the source holds (a short count)', async () => {
      const src = await mkfile('src');
      const a = await write(src, 0, 0, 1000);
      const b = await write(src, FAR, 0, 1000);
      const srcLen = FAR * CS + 1000;
      const g = await mkfile('g');
      expect(await bounded(() => m.copyFileRange(root, src, 0, g, 0, 2 ** 62))).toBe(srcLen);
      expect((await m.getattr(root, g)).length).toBe(srcLen);
      expect(await chunksOf(g)).toEqual([0, FAR]);
      // Go's records: the runs over a full-chunk hole, holes with their running offsets.
      expect(await m.readChunk(g, 0)).toEqual([data(a, 0, 1000), hole(1000, CS - 1000, 1000)]);
      expect(await m.readChunk(g, FAR)).toEqual([data(b, 0, 1000)]);
      // What the kernel passes after clamping to the source's end: the same work.
      const g2 = await mkfile('g2');
      expect(await bounded(() => m.copyFileRange(root, src, 0, g2, 0, srcLen))).toBe(srcLen);
      expect(await chunksOf(g2)).toEqual([0, FAR]);
      await expectErrno(m.copyFileRange(root, src, 0, g, MAX_FILE_SIZE - 1024, 2 ** 62), 'EFBIG');
      expect(await m.copyFileRange(root, src, srcLen, g, 0, 2 ** 62)).toBe(0);
    });

    it('a wide copy masks stale data only in destination chunks that exist', async () => {
      const src = await mkfile('src');
      const a = await write(src, 0, 0, 1000);
      const b = await write(src, FAR, 0, 1000);
      const srcLen = FAR * CS + 1000;
      const h = await mkfile('h');
      const stale = await write(h, FAR / 2, 0, 5000);
      const half = CS / 2;
      expect(await bounded(() => m.copyFileRange(root, src, 0, h, half, 2 ** 62))).toBe(srcLen);
      expect((await m.getattr(root, h)).length).toBe(half + srcLen);
      expect(await chunksOf(h)).toEqual([0, 1, FAR / 2, FAR]);
      expect(await m.readChunk(h, 0)).toEqual([data(a, half, 1000), hole(half + 1000, half - 1000, 1000)]);
      expect(await m.readChunk(h, 1)).toEqual([hole(0, half, half)]);
      // The stale chunk gets the holes Go writes there: halves of two absent source chunks.
      const masked = await m.readChunk(h, FAR / 2);
      expect(masked).toEqual([data(stale, 0, 5000), hole(0, half, half), hole(half, half, 0)]);
      expect(buildVisible(masked).every((r) => r.id === 0)).toBe(true);
      expect(await m.readChunk(h, FAR)).toEqual([data(b, half, 1000)]);
    });

    it("a narrow copy stores exactly Go's records, holes included", async () => {
      const src = await mkfile('src');
      const a = await write(src, 0, 100, 200);
      await write(src, 2, 0, 10);
      const g = await mkfile('g');
      expect(await m.copyFileRange(root, src, 50, g, CS - 100, CS)).toBe(CS);
      // Source chunk 0 from byte 50: hole 50..100, data, hole to its end; chunk 1 (no list):
      // one hole. Holes keep the running offsets of Go's buildSlice.
      expect(await m.readChunk(g, 0)).toEqual([hole(CS - 100, 50, 50), data(a, CS - 50, 50, 0)]);
      expect(await m.readChunk(g, 1)).toEqual([
        data(a, 0, 150, 50),
        hole(150, CS - 300, 300),
        hole(CS - 150, 50, 0),
      ]);
      expect(await chunksOf(g)).toEqual([0, 1]);
    });
  });
}
