/**
 * FileReader: reads byte ranges of one open file through its chunks' slice lists
 * (docs/FORMAT.md §4.3, §7.2), with readahead and random-read prefetch (docs/DESIGN.md §4).
 *
 * Design: each read fetches the slice lists of the chunks it touches (via the injected
 * `getSlices`), overlays them (newest record wins), and copies bytes out of whole blocks
 * from the chunk store; holes and ranges past every record read as zeros, and the read
 * is clamped to the file length. Sequential reads grow a readahead window (one block,
 * doubling up to --max-readahead) and fetch whole blocks ahead in the background.
 * Random reads take only their range (see `fetch`).
 *
 * Invariants: a missing block causes one re-read of the chunk's slice list (compaction
 * may have replaced it) and a retry, then EIO naming the key; the returned buffer may
 * share memory with the cache (a pooled block) and must not be mutated, and the caller
 * gives it back with `release` once it stopped reading it; readahead never reads past the
 * file length and at most --max-readahead ahead.
 */
import { FsError, Errno } from '../base/errno.js';
import type { Slice } from '../base/types.js';
import { CHUNK_SIZE } from '../base/types.js';
import { ObjectNotFoundError, isNotFound } from '../object/object-store.js';
import { blockLen } from '../base/block-key.js';
import type { ChunkStore } from './chunk-store.js';
import { mapLimit } from '../util/limits.js';
import type { Run } from './slice-view.js';
import { buildView, clipView } from './slice-view.js';

export interface FileReaderOptions {
  /** The chunk's slice records, oldest first ([] = no list). */
  getSlices(indx: number): Promise<readonly Slice[]>;
  ino?: bigint;
  /** Sequential-read tolerance: a read starting up to this far past the last end still counts. */
  seqSlack?: number;
}

/** A piece of a read served by one block: slice bytes [sliceOff, sliceOff+len) → out[dst]. */
interface Segment {
  id: number;
  size: number;
  index: number;
  inBlock: number;
  len: number;
  dst: number;
}

/**
 * How long a chunk's slice list is reused by reads of this open file. Its own writes,
 * truncates and copies invalidate it at once (`invalidate`), and so does every open, so
 * close-to-open holds; another client's fsync'd writes reach a reader that keeps the
 * file open within this time (the attribute cache's default TTL). JuiceFS keeps the list
 * while the file is open; reading it from the engine for every 4 KiB read cost as much
 * as the read itself.
 */
const VIEW_TTL_MS = 1000;
/** Random reads in a row in one block that make it worth fetching whole. */
const LOCAL_READS = 3;

export class FileReader {
  private lastEnd = 0;
  private window = 0;
  private aheadEnd = 0;
  /** The block (`id:index`) of the last random read, and how many random reads in a row hit it. */
  private lastRandomBlock = '';
  private sameBlockReads = 0;
  private readonly views = new Map<number, { view: Run[]; at: number }>();
  /** Bumped by `invalidate`: a list read before it is used once, never kept. */
  private generation = 0;
  private readonly bs: number;

  constructor(
    private readonly store: ChunkStore,
    private readonly opts: FileReaderOptions,
  ) {
    this.bs = store.blockSize;
  }

  /** Forgets cached slice views (call after this client commits to the file). */
  invalidate(): void {
    this.generation++;
    this.views.clear();
    this.aheadEnd = 0;
  }

  /**
   * Bytes [offset, offset+length) clamped to `fileLength`; pass the result to `release` after use.
   * `verifyCache`: blocks served from memory have their disk-cache file checked every time
   * (O_DIRECT readers such as warmup; ChunkStore.recheckCached).
   */
  async read(
    offset: number,
    length: number,
    fileLength: number,
    opts: { verifyCache?: boolean } = {},
  ): Promise<Buffer> {
    const end = Math.min(offset + length, fileLength);
    if (end <= offset) return Buffer.alloc(0);
    const slack = this.opts.seqSlack ?? 128 * 1024;
    const seq = offset >= this.lastEnd && offset <= this.lastEnd + slack;
    if (seq) {
      this.window = Math.min(
        this.store.maxReadahead,
        this.window === 0 ? Math.max(this.bs, 2 * (end - offset)) : this.window * 2,
      );
    } else {
      this.window = 0;
      this.aheadEnd = 0;
    }
    this.lastEnd = end;
    const out = await this.readRange(offset, end, seq, opts.verifyCache === true);
    if (seq && this.window > 0) this.readAhead(end, fileLength);
    return out;
  }

  /** Ends the use of a buffer from `read` (it may be a pooled block's bytes). */
  release(data: Buffer): void {
    this.store.releaseBlock(data);
  }

  private async readRange(offset: number, end: number, seq: boolean, verify: boolean): Promise<Buffer> {
    const first = Math.floor(offset / CHUNK_SIZE);
    const last = Math.floor((end - 1) / CHUNK_SIZE);
    if (first === last) {
      const single = await this.readChunk(
        first,
        offset - first * CHUNK_SIZE,
        end - first * CHUNK_SIZE,
        undefined,
        0,
        seq,
        verify,
      );
      if (single !== undefined) return single;
    }
    const out = Buffer.allocUnsafe(end - offset);
    for (let indx = first; indx <= last; indx++) {
      const cs = Math.max(offset, indx * CHUNK_SIZE);
      const ce = Math.min(end, (indx + 1) * CHUNK_SIZE);
      await this.readChunk(
        indx,
        cs - indx * CHUNK_SIZE,
        ce - indx * CHUNK_SIZE,
        out,
        cs - offset,
        seq,
        verify,
      );
    }
    return out;
  }

  /** The chunk's view when read less than VIEW_TTL_MS ago, else read now. */
  private async recentView(indx: number): Promise<Run[]> {
    const cached = this.views.get(indx);
    return cached !== undefined && Date.now() - cached.at < VIEW_TTL_MS ? cached.view : this.viewOf(indx);
  }

  private async viewOf(indx: number): Promise<Run[]> {
    const generation = this.generation;
    const view = buildView(await this.opts.getSlices(indx));
    if (generation !== this.generation) return view;
    this.views.set(indx, { view, at: Date.now() });
    if (this.views.size > 16) {
      const oldest = this.views.keys().next().value;
      if (oldest !== undefined) this.views.delete(oldest);
    }
    return view;
  }

  /**
   * Reads chunk bytes [cs, ce) into out[dst…]. With `out` undefined, returns a buffer
   * (zero-copy when one block serves the whole range: then it holds that block).
   */
  private async readChunk(
    indx: number,
    cs: number,
    ce: number,
    out: Buffer | undefined,
    dst: number,
    seq: boolean,
    verify = false,
  ): Promise<Buffer | undefined> {
    for (let attempt = 0; ; attempt++) {
      // A retry reads the list again: a slice it named may have been compacted away.
      const runs = clipView(attempt === 0 ? await this.recentView(indx) : await this.viewOf(indx), cs, ce);
      const segs = this.segments(runs, cs, dst);
      try {
        if (out === undefined && runs.length === 1 && segs.length === 1 && segs[0] !== undefined) {
          return await this.fetch(segs[0], seq, verify);
        }
        const buf = out ?? Buffer.allocUnsafe(ce - cs);
        for (const r of runs) if (r.id === 0) buf.fill(0, dst + r.pos - cs, dst + r.pos - cs + r.len);
        await mapLimit(segs, 16, async (s) => {
          const data = await this.fetch(s, seq, verify);
          data.copy(buf, s.dst);
          this.store.releaseBlock(data);
        });
        return buf;
      } catch (e) {
        if (isNotFound(e) && attempt === 0) continue; // compaction may have replaced it
        throw this.ioError(e);
      }
    }
  }

  private segments(runs: Run[], cs: number, dst: number): Segment[] {
    const segs: Segment[] = [];
    for (const r of runs) {
      if (r.id === 0) continue;
      let done = 0;
      while (done < r.len) {
        const d = r.off + done;
        const index = Math.floor(d / this.bs);
        const inBlock = d - index * this.bs;
        const len = Math.min(r.len - done, this.bs - inBlock);
        segs.push({ id: r.id, size: r.size, index, inBlock, len, dst: dst + (r.pos - cs) + done });
        done += len;
      }
    }
    return segs;
  }

  /**
   * One segment's bytes, holding a reference to their block (give it back with releaseBlock).
   * A read that is not sequential and not a whole block takes only its range (JuiceFS
   * cached_store.go): from the block cache at any size, and from the object store with a
   * ranged GET when it is at most a quarter of the block or there is no block cache; else
   * the whole block is fetched. The whole block is fetched in the background only when the
   * pattern asks for it: sequential reads (readahead), or LOCAL_READS random reads in a row
   * in the same uncached block (up to --prefetch at a time). Uniformly random reads over n
   * blocks do that once in n^2 reads, so they keep to ranges; a hot block gets cached.
   */
  private async fetch(s: Segment, seq: boolean, verify: boolean): Promise<Buffer> {
    const blen = blockLen(s.size, s.index, this.bs);
    if (s.inBlock + s.len > blen) {
      throw new FsError(Errno.EIO, {
        message: `EIO: slice ${s.id} record points past its data (size ${s.size})`,
      });
    }
    if (!seq && s.len < blen) {
      const rangeGet = this.store.cache === undefined || s.len <= blen / 4;
      const data = await this.store.getBlockRange(s.id, s.size, s.index, s.inBlock, s.len, rangeGet, verify);
      const block = `${s.id}:${s.index}`;
      this.sameBlockReads = block === this.lastRandomBlock ? this.sameBlockReads + 1 : 1;
      this.lastRandomBlock = block;
      if (this.sameBlockReads >= LOCAL_READS && !this.store.isCached(s.id, s.size, s.index)) {
        this.store.prefetchBlock(s.id, s.size, s.index);
      }
      return data;
    }
    const block = await this.store.getBlock(s.id, s.size, s.index, verify);
    return s.inBlock === 0 && s.len === block.length ? block : block.subarray(s.inBlock, s.inBlock + s.len);
  }

  private ioError(e: unknown): FsError {
    if (e instanceof FsError) return e;
    const ino = this.opts.ino !== undefined ? { ino: this.opts.ino } : {};
    if (e instanceof ObjectNotFoundError) {
      return new FsError(Errno.EIO, {
        op: 'read',
        ...ino,
        cause: e,
        message: `EIO: read: block ${e.key} is missing`,
      });
    }
    const why = e instanceof Error ? e.message : String(e);
    return new FsError(Errno.EIO, { op: 'read', ...ino, cause: e, message: `EIO: read: ${why}` });
  }

  /**
   * Called at open: a file of at most a quarter block (JuiceFS's limit for ranged reads) is
   * fetched whole in the background, so the first READ, one kernel round trip after the
   * OPEN reply, finds its slice list read and its block in memory or on its way instead of
   * starting both then. Small files are nearly always read whole once opened for reading.
   * Off with --prefetch 0; O_DIRECT readers skip it (they check the disk cache themselves).
   */
  prefetchSmallFile(fileLength: number): void {
    if (fileLength <= 0 || fileLength > this.bs / 4 || this.store.prefetch <= 0) return;
    this.prefetchRange(0, fileLength).catch(() => undefined);
  }

  /** Starts background whole-block fetches for [from, end + window) within the file. */
  private readAhead(end: number, fileLength: number): void {
    const target = Math.min(fileLength, end + this.window);
    const from = Math.max(end, this.aheadEnd);
    if (from >= target) return;
    this.aheadEnd = target;
    this.prefetchRange(from, target).catch(() => undefined);
  }

  private async prefetchRange(from: number, to: number): Promise<void> {
    for (let indx = Math.floor(from / CHUNK_SIZE); indx * CHUNK_SIZE < to; indx++) {
      const view = await this.recentView(indx);
      const cs = Math.max(from, indx * CHUNK_SIZE) - indx * CHUNK_SIZE;
      const ce = Math.min(to, (indx + 1) * CHUNK_SIZE) - indx * CHUNK_SIZE;
      for (const s of this.segments(clipView(view, cs, ce), cs, 0)) {
        this.store.prefetchBlock(s.id, s.size, s.index, true);
      }
    }
  }
}
