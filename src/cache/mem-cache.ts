/**
 * Byte-bounded in-memory block cache (lru-cache with maxSize + sizeCalculation).
 *
 * Used for the read buffer of the chunk store and for `--cache-dir memory`.
 * Invariants: never holds more than `maxBytes` of block data; blocks larger than the
 * whole cache are not stored; stored buffers are shared, never mutated. A `put`'s `done`
 * runs exactly once: when the entry is evicted, replaced, removed or cleared, or at once
 * when the block is not stored.
 */
import { LRUCache } from 'lru-cache';
import type { BlockCache } from './block-cache.js';

interface Entry {
  data: Buffer;
  done?: () => void;
}

export class MemBlockCache implements BlockCache {
  private readonly lru: LRUCache<string, Entry> | undefined;
  readonly inMemory = true;

  constructor(readonly maxBytes: number) {
    this.lru =
      maxBytes > 0
        ? new LRUCache<string, Entry>({
            maxSize: maxBytes,
            sizeCalculation: (e) => Math.max(1, e.data.length),
            dispose: (e) => e.done?.(),
          })
        : undefined;
  }

  /** Synchronous lookup (hot path). */
  peek(key: string): Buffer | undefined {
    return this.lru?.get(key)?.data;
  }

  get(key: string): Promise<Buffer | undefined> {
    return Promise.resolve(this.peek(key));
  }

  getRange(key: string, off: number, len: number): Promise<Buffer | undefined> {
    const b = this.peek(key);
    return Promise.resolve(
      b !== undefined && off >= 0 && len > 0 && off + len <= b.length
        ? b.subarray(off, off + len)
        : undefined,
    );
  }

  has(key: string): boolean {
    return this.lru?.has(key) ?? false;
  }

  /** Stores `data` under `key`; false (and `done` called at once) when it is not stored. */
  put(key: string, data: Buffer, done?: () => void): boolean {
    if (this.lru === undefined || data.length > this.maxBytes || this.lru.peek(key)?.data === data) {
      done?.();
      return false;
    }
    this.lru.set(key, done !== undefined ? { data, done } : { data });
    return true;
  }

  remove(key: string): Promise<void> {
    this.lru?.delete(key);
    return Promise.resolve();
  }

  get usedBytes(): number {
    return this.lru?.calculatedSize ?? 0;
  }

  get items(): number {
    return this.lru?.size ?? 0;
  }

  drain(): Promise<void> {
    return Promise.resolve();
  }

  close(): Promise<void> {
    this.lru?.clear();
    return Promise.resolve();
  }
}
