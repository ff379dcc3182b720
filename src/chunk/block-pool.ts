/**
 * BlockPool: reference-counted, reusable block-sized buffers (Go JuiceFS's page
 * Acquire/Release).
 *
 * Why: a cold sequential read fetches a new 4 MiB block every few milliseconds. Fresh
 * ArrayBuffers of that size make V8 run full mark-compacts (~30 per GiB read, about a fifth
 * of the mount daemon's CPU) and fault in new pages; reusing the buffers avoids both.
 *
 * Smaller buffers (a small file's 64 KiB write pages, its assembled block, the copy the
 * caches keep of it) come from power-of-two size classes, for the same reasons.
 *
 * Ownership: `take()` hands out a buffer with one reference. Every holder that keeps the
 * bytes past the current synchronous step (the read buffer, a queued disk-cache write, a
 * FUSE reply not yet written, a reader between fetch and copy) calls `hold` first and
 * `release` when done; the buffer returns to the free list when the count reaches zero.
 * References are counted per ArrayBuffer, so a subarray of a pooled block holds and
 * releases that block. Buffers the pool did not hand out are ignored by hold/release, so
 * callers need not know where a buffer came from. A buffer that an object-store call given
 * up on may still read (`isStillRead`: a timed-out PUT goes on) is never reused.
 */
import { optionalNative } from '../native/addon.js';
import { isStillRead } from '../object/object-store.js';

const native = optionalNative();
/** Block buffers start on a page boundary so the disk cache can write them with O_DIRECT. */
const ALIGN = 4096;

/** The smallest size class: buffers below it come from Node's own small-buffer slab. */
export const MIN_CLASS = 4096;

/** Free buffers kept per size class below the block size: at most this many bytes' worth. */
const SMALL_CLASS_FREE_BYTES = 8 * 1024 * 1024;

export class BlockPool {
  /** Free buffers per capacity (powers of two from MIN_CLASS, and the block size). */
  private readonly free = new Map<number, Buffer[]>();
  private readonly refs = new Map<ArrayBufferLike, { buf: Buffer; n: number }>();
  /** Buffers allocated, and `take()` calls served from a free list. */
  allocated = 0;
  reused = 0;

  constructor(
    readonly blockSize: number,
    /** Free block-sized buffers kept for reuse; beyond that, released buffers are left to the GC. */
    private readonly maxFree = 16,
  ) {}

  /**
   * A buffer of `size` bytes (default: a whole block) with one reference (the caller's).
   * Its bytes are garbage. It is a view of a buffer of the next size class (a power of two,
   * at most twice `size`), which the pool reuses once every reference is released: a
   * small file's write pages and its assembled block cost no fresh memory, page faults or
   * garbage collections.
   */
  take(size = this.blockSize): Buffer {
    if (!(size > 0 && size <= this.blockSize))
      throw new RangeError(`BlockPool.take: ${size} bytes (block ${this.blockSize})`);
    const cap = this.classOf(size);
    let buf = this.free.get(cap)?.pop();
    if (buf !== undefined) this.reused++;
    else {
      buf = cap === this.blockSize ? allocAligned(cap) : Buffer.allocUnsafeSlow(cap);
      this.allocated++;
    }
    this.refs.set(buf.buffer, { buf, n: 1 });
    return size === cap ? buf : buf.subarray(0, size);
  }

  /** The capacity `take(size)` hands out. */
  classOf(size: number): number {
    if (size <= MIN_CLASS) return Math.min(MIN_CLASS, this.blockSize);
    const p = 2 ** Math.ceil(Math.log2(size));
    return Math.min(p, this.blockSize);
  }

  /** Bytes a pooled buffer `b` belongs to really holds (its class); undefined for other buffers. */
  capacityOf(b: Buffer): number | undefined {
    return this.refs.get(b.buffer)?.buf.length;
  }

  /** Adds `n` references to the pooled block `b` belongs to (no-op for other buffers). */
  hold(b: Buffer, n = 1): void {
    const e = this.refs.get(b.buffer);
    if (e !== undefined) e.n += n;
  }

  /** Drops one reference; the block is reusable once none is left. */
  release(b: Buffer): void {
    const e = this.refs.get(b.buffer);
    if (e === undefined) return;
    if (--e.n > 0) return;
    this.refs.delete(b.buffer);
    // A timed-out upload may still be sending these bytes: leave the buffer to the GC.
    if (isStillRead(e.buf)) return;
    const cap = e.buf.length;
    let list = this.free.get(cap);
    if (list === undefined) this.free.set(cap, (list = []));
    const keep =
      cap === this.blockSize ? this.maxFree : Math.max(4, Math.floor(SMALL_CLASS_FREE_BYTES / cap));
    if (list.length < keep) list.push(e.buf);
  }

  /** Forgets a block without reusing it (something may still write to it); the GC frees it. */
  discard(b: Buffer): void {
    this.refs.delete(b.buffer);
  }

  /** Whether `b` is (part of) a block currently handed out by this pool. */
  owns(b: Buffer): boolean {
    return this.refs.has(b.buffer);
  }

  /** Blocks handed out and not yet fully released. */
  get inUse(): number {
    return this.refs.size;
  }

  /** Free buffers of block size kept for reuse. */
  get freeCount(): number {
    return this.free.get(this.blockSize)?.length ?? 0;
  }
}

/**
 * A fresh buffer of `cap` bytes that owns its ArrayBuffer (which keys its count), starting
 * on a page boundary when the addon can tell, so the disk cache can write it with O_DIRECT.
 */
function allocAligned(cap: number): Buffer {
  if (native === undefined) return Buffer.allocUnsafeSlow(cap);
  const raw = Buffer.allocUnsafeSlow(cap + ALIGN);
  const pad = native.alignPad(raw, ALIGN);
  return raw.subarray(pad, pad + cap);
}
