/**
 * FileWriter: buffers one open file's writes into slices per 64 MiB chunk and uploads
 * their blocks (docs/FORMAT.md §4.4), Go's slice-writer model.
 *
 * Design: a write lands in an unfrozen slice writer of its chunk when it starts inside
 * that slice's not-yet-uploaded tail or right at its end (Go's findWritableSlice);
 * otherwise a new slice writer starts at the write offset. Data sits in 64 KiB pages, or
 * in one recycled block-sized buffer when a big write starts the block (streaming writers),
 * bounded by the store's ByteBudget (writers wait when it is full: backpressure). A
 * block is uploaded as soon as it is full while writing continues; a slice is frozen
 * when it reaches the chunk end, when 4 newer slices exist, or on flush, and its partial
 * tail block is uploaded then. `flush()` waits for every upload and then commits the
 * records in creation order through the injected callback.
 *
 * Invariants: upload before commit, always; a failed upload makes flush reject with
 * EIO and commit nothing (the uncommitted objects are deleted in the background); slice
 * ids come from `allocSliceId` and are never reused; records never cross a chunk; calls
 * are serialized (a write waits for a running flush and the other way round).
 */
import { FsError, Errno, toFsError } from '../base/errno.js';
import type { Slice, Timespec } from '../base/types.js';
import { CHUNK_SIZE } from '../base/types.js';
import type { ChunkStore } from './chunk-store.js';

const PAGE = 64 * 1024;
/** Commit errors after which the record is certainly not in the metadata. */
const DEFINITE_REFUSALS = new Set<number>([Errno.ENOENT, Errno.ENOSPC, Errno.EDQUOT]);
/**
 * A block whose first write is at least this big is held as one block-sized buffer: FUSE
 * streams 1 MiB writes; small files (one small write) keep using pages.
 */
const WHOLE_BLOCK_MIN = 8 * PAGE;

export interface FileWriterOptions {
  allocSliceId(): Promise<number>;
  /** Appends one record to chunk `indx` (metadata commit, docs/FORMAT.md §4.4). */
  commit(indx: number, slice: Slice, mtime: Timespec): Promise<void>;
  now?: () => Timespec;
  /** For error messages. */
  ino?: bigint;
}

function wallClock(): Timespec {
  const ms = Date.now();
  return { sec: Math.floor(ms / 1000), nsec: (ms % 1000) * 1_000_000 };
}

class SliceWriter {
  length = 0;
  frozen = false;
  idP: Promise<number> | undefined;
  id = 0;
  /** Pages of blocks not yet handed to an upload. */
  readonly blocks = new Map<number, Buffer[]>();
  /** Blocks not yet handed to an upload that are held as one block-sized buffer. */
  readonly whole = new Map<number, Buffer>();
  /** Blocks [0, sent) have been handed to uploads. */
  sent = 0;
  readonly uploads: Promise<void>[] = [];
  error: unknown;
  mtime: Timespec;

  constructor(
    readonly seq: number,
    readonly indx: number,
    readonly pos: number,
    now: Timespec,
  ) {
    this.mtime = now;
  }
}

let flushClock = 0;

/**
 * A client-wide counter of completed flushes. Take it before a metadata read of a file's
 * length: a writer whose flushedSeq is above it finished committing meanwhile, so the read
 * may predate that commit and flushedEnd must be counted (pendingLength no longer is).
 */
export function flushSeq(): number {
  return flushClock;
}

export class FileWriter {
  /** flushSeq() right after this writer's last successful flush, and the end it covered. */
  flushedSeq = 0;
  flushedEnd = 0;
  private readonly chunks = new Map<number, SliceWriter[]>();
  private seq = 0;
  private lock: Promise<void> = Promise.resolve();
  private pendingEnd = 0;
  private readonly bs: number;
  private readonly now: () => Timespec;

  constructor(
    private readonly store: ChunkStore,
    private readonly opts: FileWriterOptions,
  ) {
    this.bs = store.blockSize;
    this.now = opts.now ?? wallClock;
  }

  /** File length implied by unflushed writes (0 when nothing is pending). */
  get pendingLength(): number {
    return this.pendingEnd;
  }

  get hasPending(): boolean {
    return this.chunks.size > 0;
  }

  private serialize<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.lock.then(fn);
    this.lock = run.then(
      () => undefined,
      () => undefined,
    );
    return run;
  }

  /** Buffers `data` at file `offset`; may wait for buffer space (backpressure). */
  write(offset: number, data: Buffer): Promise<void> {
    if (data.length === 0) return Promise.resolve();
    return this.serialize(async () => {
      let done = 0;
      while (done < data.length) {
        const at = offset + done;
        const indx = Math.floor(at / CHUNK_SIZE);
        const pos = at % CHUNK_SIZE;
        const n = Math.min(data.length - done, CHUNK_SIZE - pos);
        await this.writeChunk(indx, pos, data.subarray(done, done + n));
        done += n;
      }
      this.pendingEnd = Math.max(this.pendingEnd, offset + data.length);
    });
  }

  private async writeChunk(indx: number, pos: number, data: Buffer): Promise<void> {
    let list = this.chunks.get(indx);
    if (list === undefined) {
      list = [];
      this.chunks.set(indx, list);
    }
    let s = this.findWritable(list, pos, data.length);
    if (s === undefined) {
      s = new SliceWriter(this.seq++, indx, pos, this.now());
      list.push(s);
    }
    await this.writeSlice(s, pos - s.pos, data);
    s.mtime = this.now();
    if (s.pos + s.length >= CHUNK_SIZE) this.freeze(s);
  }

  /** Go's findWritableSlice: newest first; freeze slices with more than 3 newer ones. */
  private findWritable(list: SliceWriter[], pos: number, size: number): SliceWriter | undefined {
    for (let i = 0; i < list.length; i++) {
      const s = list[list.length - 1 - i] as SliceWriter;
      if (!s.frozen) {
        const flushoff = s.sent * this.bs;
        if (pos >= s.pos + flushoff && pos <= s.pos + s.length) return s;
        if (i > 3) this.freeze(s);
      }
      if (pos < s.pos + s.length && s.pos < pos + size) return undefined; // overlaps: new slice
    }
    return undefined;
  }

  private async writeSlice(s: SliceWriter, rel: number, data: Buffer): Promise<void> {
    let i = 0;
    while (i < data.length) {
      const at = rel + i;
      const bi = Math.floor(at / this.bs);
      const inBlock = at - bi * this.bs;
      let block = s.whole.get(bi);
      if (block === undefined && inBlock === 0 && !s.blocks.has(bi) && data.length - i >= WHOLE_BLOCK_MIN) {
        // A big write starts this block (streaming): hold it as one buffer.
        await this.store.budget.acquire(this.bs);
        block = this.store.takeBlockBuffer();
        s.whole.set(bi, block);
      }
      // Where the bytes go: the block's own buffer, or the 64 KiB page holding `inBlock`.
      const [target, off] = block !== undefined ? [block, inBlock] : await this.page(s, bi, inBlock);
      const n = Math.min(data.length - i, target.length - off);
      data.copy(target, off, i, i + n);
      i += n;
      if (at + n > s.length) s.length = at + n;
      if (s.length >= (bi + 1) * this.bs && bi === s.sent) this.sendBlock(s, bi, this.bs);
    }
  }

  /** The page of block `bi` that holds byte `inBlock` (allocated on first use) and the offset in it. */
  private async page(s: SliceWriter, bi: number, inBlock: number): Promise<[Buffer, number]> {
    const pi = Math.floor(inBlock / PAGE);
    let pages = s.blocks.get(bi);
    if (pages === undefined) {
      pages = [];
      s.blocks.set(bi, pages);
    }
    let page = pages[pi];
    if (page === undefined) {
      const size = Math.min(PAGE, this.bs - pi * PAGE);
      await this.store.budget.acquire(size);
      page = this.store.pool.take(size);
      pages[pi] = page;
    }
    return [page, inBlock - pi * PAGE];
  }

  /** Hands block `bi` (of `len` bytes) to an upload; errors are kept on the slice. */
  private sendBlock(s: SliceWriter, bi: number, len: number): void {
    const pages = s.blocks.get(bi) ?? [];
    const block = s.whole.get(bi);
    s.blocks.delete(bi);
    s.whole.delete(bi);
    s.sent = bi + 1;
    const held = block !== undefined ? this.bs : pages.reduce((a, p) => a + p.length, 0);
    this.store.budget.markDraining(held);
    s.idP ??= this.opts.allocSliceId();
    // Pooled buffers this upload owns: the pages or the whole block, and what assemble made.
    const owned: Buffer[] = block !== undefined ? [block] : [...pages];
    const assemble = (): Buffer => {
      const first = pages[0];
      if (block === undefined && pages.length === 1 && first !== undefined) return first.subarray(0, len);
      if (block !== undefined && len === this.bs) return block;
      // A partial block may be kept by the caches: one buffer of its own size class, so
      // they never pin a whole block (or several pages) for a small file.
      const out = this.store.pool.take(len);
      owned.push(out);
      if (block !== undefined) block.copy(out, 0, 0, len);
      else
        for (let i = 0, at = 0; at < len; i++, at += PAGE)
          (pages[i] as Buffer).copy(out, at, 0, Math.min(PAGE, len - at));
      return out;
    };
    const up = (async () => {
      const id = await (s.idP as Promise<number>);
      s.id = id;
      try {
        await this.store.writeBlock(id, bi, len, assemble);
      } catch (e) {
        // A timed-out upload attempt may still be reading the buffers: never reuse them.
        for (const b of owned) this.store.pool.discard(b);
        throw e;
      }
      // The caches took their own references (or copies).
      for (const b of owned) this.store.releaseBlock(b);
    })()
      .catch((e: unknown) => {
        s.error ??= e;
      })
      .finally(() => this.store.budget.release(held, true));
    s.uploads.push(up);
  }

  /** No more writes go to `s`; its partial tail block (if any) is uploaded now. */
  private freeze(s: SliceWriter): void {
    if (s.frozen) return;
    s.frozen = true;
    const tailStart = s.sent * this.bs;
    if (s.length > tailStart) this.sendBlock(s, s.sent, s.length - tailStart);
  }

  /**
   * Uploads everything pending, then commits the records in write order. Rejects with
   * EIO (committing nothing) when an upload failed; a commit failure is passed through
   * as an FsError (records after it are not committed).
   */
  flush(): Promise<void> {
    return this.serialize(async () => {
      const all = [...this.chunks.values()].flat().sort((a, b) => a.seq - b.seq);
      this.chunks.clear();
      if (all.length === 0) return;
      // pendingEnd keeps covering these slices until they are committed (or have failed):
      // a getattr answered meanwhile must not report the old, shorter length, or the
      // kernel's size goes backwards (appenders reuse an offset, mmap faults get SIGBUS).
      const end = this.pendingEnd;
      let ok = false;
      try {
        await this.uploadAndCommit(all);
        ok = true;
      } finally {
        // In the same step as pendingEnd drops, so no reader sees neither (see flushSeq).
        if (ok) {
          this.flushedEnd = end;
          this.flushedSeq = ++flushClock;
        }
        this.pendingEnd = 0;
      }
    });
  }

  private async uploadAndCommit(all: SliceWriter[]): Promise<void> {
    for (const s of all) this.freeze(s);
    for (const s of all) for (const p of s.uploads) await p;
    const failed = all.find((s) => s.error !== undefined);
    if (failed !== undefined) {
      this.discard(all);
      const cause = failed.error;
      const why = cause instanceof Error ? cause.message : String(cause);
      throw new FsError(Errno.EIO, {
        op: 'flush',
        ...(this.opts.ino !== undefined ? { ino: this.opts.ino } : {}),
        cause,
        message: `EIO: flush: upload failed: ${why}`,
      });
    }
    for (let i = 0; i < all.length; i++) {
      const s = all[i] as SliceWriter;
      try {
        await this.opts.commit(
          s.indx,
          { pos: s.pos, id: s.id, size: s.length, off: 0, len: s.length },
          s.mtime,
        );
      } catch (e) {
        const err = toFsError(e, {
          op: 'flush',
          ...(this.opts.ino !== undefined ? { ino: this.opts.ino } : {}),
        });
        // The records after this one were never tried: their objects are garbage. This
        // one's are too when the engine refused it for certain (as Go: ENOENT, ENOSPC,
        // EDQUOT); after other errors (a timeout) it may have been committed after all.
        this.discard(all.slice(DEFINITE_REFUSALS.has(err.errno) ? i : i + 1));
        throw err;
      }
    }
  }

  /** Deletes the objects of never-committed slices in the background. */
  private discard(slices: SliceWriter[]): void {
    for (const s of slices) {
      if (s.id > 0) this.store.removeSlice(s.id, s.length).catch(() => undefined);
    }
  }
}
