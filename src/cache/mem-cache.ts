/**
 * Byte-bounded in-memory block cache (lru-cache with maxSize + sizeCalculation).
 *
 * Used for the read buffer of the chunk store and for `--cache-dir memory`.
 * Invariants: never holds more than `maxBytes` of block data; blocks larger than the
 * whole cache are not stored; stored buffers are shared, never mutated.
 */
import { LRUCache } from 'lru-cache';
import type { BlockCache } from './block-cache.js';

export class MemBlockCache implements BlockCache {
  private readonly lru: LRUCache<string, Buffer> | undefined;

  constructor(readonly maxBytes: number) {
    this.lru =
      maxBytes > 0
        ? new LRUCache<string, Buffer>({ maxSize: maxBytes, sizeCalculation: (b) => Math.max(1, b.length) })
        : undefined;
  }

  /** Synchronous lookup (hot path). */
  peek(key: string): Buffer | undefined {
    return this.lru?.get(key);
  }

  get(key: string): Promise<Buffer | undefined> {
    return Promise.resolve(this.lru?.get(key));
  }

  put(key: string, data: Buffer): void {
    if (this.lru === undefined || data.length > this.maxBytes) return;
    this.lru.set(key, data);
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
