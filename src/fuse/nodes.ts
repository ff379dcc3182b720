/**
 * NodeTable: kernel lookup counts per nodeid (docs/FUSE.md §5).
 *
 * Design: nodeid == ino (JuiceFS inode numbers are stable and never reused), so the table
 * only counts references: +1 per entry handed to the kernel (before the reply is written),
 * −nlookup per FORGET. It answers "does the kernel know this inode?" so invalidation
 * notifications are only sent when useful.
 * Invariants: the root (1) is pinned and never removed; counts never go negative (an
 * over-forget is clamped and counted in `underflows`); O(1) per operation.
 */
import type { Ino } from '../base/types.js';
import { FUSE_ROOT_ID } from './abi.js';

export class NodeTable {
  private readonly counts = new Map<Ino, bigint>();
  /** Forgets for unknown nodeids or larger than the count (kernel/server mismatch). */
  underflows = 0;

  /** Records one more kernel reference (call before writing the entry reply). */
  ref(ino: Ino): void {
    if (ino === 0n || ino === FUSE_ROOT_ID) return;
    this.counts.set(ino, (this.counts.get(ino) ?? 0n) + 1n);
  }

  /** Undoes `ref` when the entry reply could not be delivered. */
  unref(ino: Ino): void {
    this.forget(ino, 1n);
  }

  /** Drops `nlookup` references; returns true when the kernel no longer knows the inode. */
  forget(ino: Ino, nlookup: bigint): boolean {
    if (ino === FUSE_ROOT_ID) return false;
    const c = this.counts.get(ino);
    if (c === undefined || c < nlookup) this.underflows++;
    if (c === undefined) return true;
    if (c <= nlookup) {
      this.counts.delete(ino);
      return true;
    }
    this.counts.set(ino, c - nlookup);
    return false;
  }

  /** True while the kernel holds at least one reference (root: always). */
  known(ino: Ino): boolean {
    return ino === FUSE_ROOT_ID || this.counts.has(ino);
  }

  count(ino: Ino): bigint {
    return ino === FUSE_ROOT_ID ? 1n : (this.counts.get(ino) ?? 0n);
  }

  get size(): number {
    return this.counts.size;
  }

  /** The connection ended: all counts implicitly drop to zero. */
  clear(): void {
    this.counts.clear();
  }
}
