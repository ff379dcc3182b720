/**
 * BlockPool: reference-counted, reusable block-sized buffers (Go JuiceFS's page
 * Acquire/Release).
 *
 * Why: a cold sequential read fetches a new 4 MiB block every few milliseconds. Fresh
 * ArrayBuffers of that size make V8 run full mark-compacts (~30 per GiB read, about a fifth
 * of the mount daemon's CPU) and fault in new pages; reusing the buffers avoids both.
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

export class BlockPool {
  private readonly free: Buffer[] = [];
  private readonly refs = new Map<ArrayBufferLike, { buf: Buffer; n: number }>();
  /** Buffers allocated, and `take()` calls served from the free list. */
  allocated = 0;
  reused = 0;

  constructor(
    readonly blockSize: number,
    /** Free buffers kept for reuse; beyond that, released buffers are left to the GC. */
    private readonly maxFree = 16,
  ) {}

  /** A block-sized buffer with one reference (the caller's). Its bytes are garbage. */
  take(): Buffer {
    let buf = this.free.pop();
    if (buf !== undefined) this.reused++;
    else {
      // Slow (unpooled) allocation: the buffer owns its ArrayBuffer, which keys its count.
      if (native !== undefined) {
        const raw = Buffer.allocUnsafeSlow(this.blockSize + ALIGN);
        const pad = native.alignPad(raw, ALIGN);
        buf = raw.subarray(pad, pad + this.blockSize);
      } else {
        buf = Buffer.allocUnsafeSlow(this.blockSize);
      }
      this.allocated++;
    }
    this.refs.set(buf.buffer, { buf, n: 1 });
    return buf;
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
    if (this.free.length < this.maxFree && !isStillRead(e.buf)) this.free.push(e.buf);
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

  get freeCount(): number {
    return this.free.length;
  }
}
