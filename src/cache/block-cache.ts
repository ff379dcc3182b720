/**
 * The block cache contract used by the chunk layer (memory or disk).
 *
 * Keys are block keys relative to the volume (`chunks/…/{id}_{i}_{len}`); values are
 * UNCOMPRESSED block bytes. A cache is best effort: `get` returns undefined on a miss or
 * on a corrupted entry (which it drops), `put` never throws and may ignore the block.
 * Writeback staging (`stage`) is only offered by disk caches.
 */

/** Cumulative counts a cache reports (metrics). */
export interface CacheCounters {
  /** Cached blocks that failed their checks and were dropped (then read from the object store). */
  corruptions: number;
  /** Cache reads and writes that failed with an I/O error. */
  errors: number;
}

export interface BlockCache {
  /** `into`: a buffer the cache may read the block into (the result is then a subarray of it). */
  get(key: string, into?: Buffer): Promise<Buffer | undefined>;
  /**
   * Bytes [off, off+len) of a cached block, reading only what covers them (a disk cache
   * reads and checks the 32 KiB pieces, not the block); undefined on a miss, a bad range or
   * a dropped corrupt entry.
   */
  getRange(key: string, off: number, len: number): Promise<Buffer | undefined>;
  /** Whether the cache holds the key (a `get` may still miss: the entry may turn out corrupt). */
  has(key: string): boolean;
  /**
   * Stores a copy-safe block (the caller will not mutate it). Fire-and-forget. `done` runs
   * once the cache no longer reads `data` (written out, evicted, or not taken), so the
   * caller may then reuse the buffer.
   */
  put(key: string, data: Buffer, done?: () => void): void;
  remove(key: string): Promise<void>;
  /**
   * A block served from memory that the cache should also hold: checks now and then that its
   * copy still exists (files removed behind the cache's back, as `warmup --evict` does) and
   * stores `data` again when it is gone. `done` as for `put`.
   */
  recheck?(key: string, data: Buffer, done: () => void, always?: boolean): void;
  /**
   * Whether the cache keeps the buffers it is given (a memory cache) rather than reading
   * them only until they are written out (a disk cache): a buffer kept must not pin a
   * much larger one.
   */
  readonly inMemory?: boolean;
  /** Bytes currently used (including per-item overhead for disk caches). */
  readonly usedBytes: number;
  readonly items: number;
  readonly counters?: CacheCounters;
  /** Waits for queued writes (tests, shutdown). */
  drain(): Promise<void>;
  close(): Promise<void>;
}

/**
 * Writeback staging (`--writeback`): blocks are made durable on local disk, the slice is
 * committed, and the upload happens in the background (also after a restart).
 */
export interface WritebackStager {
  /** Stores the uncompressed block durably and queues its upload. */
  stage(key: string, data: Buffer): Promise<void>;
  /** A staged (not yet uploaded) block, if any. */
  getStaged(key: string): Promise<Buffer | undefined>;
  /** Drops a staged block (its slice was deleted) and cancels its upload. */
  unstage(key: string): Promise<void>;
  /** Starts uploading with `upload` (and re-queues blocks staged before a restart). */
  start(upload: (key: string, data: Buffer) => Promise<void>): Promise<void>;
  /** Waits until every staged block is uploaded (umount --flush, tests). */
  flushAll(): Promise<void>;
  readonly pending: number;
  close(): Promise<void>;
}
