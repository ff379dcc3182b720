/**
 * ChunkStore: the per-volume block layer between file readers/writers and an object store
 * (docs/FORMAT.md §7, §8): block keys, compression, upload/download concurrency, read buffer, block
 * cache, writeback staging, slice deletion.
 *
 * Design: blocks are fetched whole (single-flight per key) into a byte-bounded memory
 * read buffer and the optional block cache (disk or memory); random reads take only their
 * range from the block cache, and small ones of uncompressed blocks not cached use ranged
 * GETs that bypass the caches. Uploads pass through a
 * `maxUploads` semaphore; with writeback they are staged on disk and uploaded later.
 *
 * Invariants: objects are written only for slices not yet committed and never rewritten;
 * a fetched block is exactly its key's length after decompression or the fetch fails;
 * concurrency is bounded by maxUploads / maxDownloads / maxDeletes.
 *
 * Buffer ownership: whole blocks of uncompressed volumes are read into pooled buffers
 * (BlockPool). Every buffer returned by getBlock/getBlockRange carries one reference that
 * the caller gives back with `releaseBlock` once it stopped reading the bytes (a no-op for
 * buffers that are not pooled); the read buffer and the block cache hold their own.
 */
import type { BlockCache, WritebackStager } from '../cache/block-cache.js';
import { MemBlockCache } from '../cache/mem-cache.js';
import type { ObjectStore } from '../object/object-store.js';
import { isNotFound } from '../object/object-store.js';
import { blockCount, blockKey, blockLen } from '../base/block-key.js';
import { BlockPool, MIN_CLASS } from './block-pool.js';
import type { Codec, CompressionName } from './compress.js';
import { CorruptBlockError, getCodec } from './compress.js';
import { ByteBudget, Semaphore, mapLimit } from '../util/limits.js';

export const MiB = 1024 * 1024;

export interface ChunkStoreConfig {
  store: ObjectStore;
  /** Block size in bytes (volume BlockSize * 1024); default 4 MiB. */
  blockSize?: number;
  compression?: CompressionName | string;
  hashPrefix?: boolean;
  /** Concurrent block uploads (--max-uploads), default 20. */
  maxUploads?: number;
  /** Concurrent block downloads (--max-downloads), default 200. */
  maxDownloads?: number;
  /** Concurrent deletes (--max-deletes), default 10. */
  maxDeletes?: number;
  /** Write buffer and read buffer, each bounded by this many bytes (--buffer-size, 300 MiB). */
  bufferSize?: number;
  /** Block cache behind the read buffer (disk cache or `--cache-dir memory`). */
  cache?: BlockCache;
  /** Writeback staging (--writeback). */
  writeback?: WritebackStager;
  /** Whole blocks prefetched in the background on random reads (--prefetch), default 1. */
  prefetch?: number;
  /** Readahead window limit in bytes (--max-readahead), default 8 blocks. */
  maxReadahead?: number;
  /** Also cache full blocks on write (--cache-large-write); partial ones always are. */
  cacheLargeWrite?: boolean;
  /**
   * Whether the store can read a byte range of an object (default true). Sealed objects
   * (an encrypted volume) open whole only, so small reads then fetch, and cache, whole blocks.
   */
  rangeReads?: boolean;
}

export interface ChunkStoreStats {
  blockGets: number;
  rangeGets: number;
  blockPuts: number;
  bufferHits: number;
  cacheHits: number;
  bytesDownloaded: number;
  bytesUploaded: number;
  /** Bytes served by the block cache or writeback staging (JuiceFS blockcache_hit_bytes). */
  cacheHitBytes: number;
  /** Bytes handed to the block cache to keep (JuiceFS blockcache_write_bytes). */
  cacheWriteBytes: number;
  /** Cached blocks dropped because they failed their checks (from the block cache). */
  readonly cacheCorruptions: number;
  /** Failed block cache reads and writes (from the block cache). */
  readonly cacheErrors: number;
}

/** Block buffers kept for reuse (16 x 4 MiB by default). */
const MAX_FREE_BLOCKS = 16;

/** A block download in flight, and how many getBlock calls wait for it (one reference each). */
interface Fetch {
  promise: Promise<Buffer>;
  waiters: number;
}

export class ChunkStore {
  readonly store: ObjectStore;
  readonly blockSize: number;
  readonly codec: Codec;
  readonly hashPrefix: boolean;
  readonly prefetch: number;
  readonly maxReadahead: number;
  readonly budget: ByteBudget;
  readonly buffer: MemBlockCache;
  readonly cache: BlockCache | undefined;
  readonly writeback: WritebackStager | undefined;
  readonly stats: ChunkStoreStats;
  private readonly uploads: Semaphore;
  private readonly downloads: Semaphore;
  private readonly deletes: Semaphore;
  private readonly prefetches: Semaphore;
  private readonly inflight = new Map<string, Fetch>();
  private readonly cacheLargeWrite: boolean;
  private readonly rangeReads: boolean;
  /** Block-sized buffers of streaming writers and whole-block downloads. */
  readonly pool: BlockPool;

  constructor(cfg: ChunkStoreConfig) {
    this.store = cfg.store;
    this.blockSize = cfg.blockSize ?? 4 * MiB;
    this.codec = getCodec(cfg.compression ?? 'none');
    this.hashPrefix = cfg.hashPrefix ?? false;
    this.prefetch = cfg.prefetch ?? 1;
    this.rangeReads = cfg.rangeReads ?? true;
    this.maxReadahead = cfg.maxReadahead ?? 8 * this.blockSize;
    const bufferSize = cfg.bufferSize ?? 300 * MiB;
    this.budget = new ByteBudget(bufferSize);
    // With a disk cache behind it, the read buffer is for readahead and the blocks being
    // read, not a second cache: twice the readahead window. Holding 300 MiB of blocks a
    // stream has passed made every new block a fresh 4 MiB allocation, and on this VM the
    // first touch of fresh memory costs more than the read itself (a cold sequential read
    // went from 150-210 to 490-500 MB/s and used half the CPU with the smaller buffer).
    const onDisk = cfg.cache !== undefined && cfg.cache.inMemory !== true;
    this.buffer = new MemBlockCache(onDisk ? Math.min(bufferSize, 2 * this.maxReadahead) : bufferSize);
    this.cache = cfg.cache;
    const cache = cfg.cache;
    this.stats = {
      blockGets: 0,
      rangeGets: 0,
      blockPuts: 0,
      bufferHits: 0,
      cacheHits: 0,
      bytesDownloaded: 0,
      bytesUploaded: 0,
      cacheHitBytes: 0,
      cacheWriteBytes: 0,
      get cacheCorruptions() {
        return cache?.counters?.corruptions ?? 0;
      },
      get cacheErrors() {
        return cache?.counters?.errors ?? 0;
      },
    };
    this.writeback = cfg.writeback;
    this.uploads = new Semaphore(cfg.maxUploads ?? 20);
    this.downloads = new Semaphore(cfg.maxDownloads ?? 200);
    this.deletes = new Semaphore(cfg.maxDeletes ?? 10);
    this.prefetches = new Semaphore(Math.max(1, this.prefetch));
    this.cacheLargeWrite = cfg.cacheLargeWrite ?? false;
    this.pool = new BlockPool(this.blockSize, MAX_FREE_BLOCKS);
  }

  /** Starts background work (writeback re-uploads of blocks staged before a restart). */
  async start(): Promise<void> {
    await this.writeback?.start((key, data) => this.putObject(key, data));
  }

  key(id: number, index: number, len: number): string {
    return blockKey(id, index, len, this.hashPrefix);
  }

  blockKeyOf(id: number, sliceSize: number, index: number): string {
    return this.key(id, index, blockLen(sliceSize, index, this.blockSize));
  }

  /** Compresses and PUTs one block now (bounded by maxUploads). */
  async putObject(key: string, data: Buffer | (() => Buffer)): Promise<void> {
    await this.uploads.run(async () => {
      // Lazy data: writers assemble a block from pages only once an upload slot is free.
      const payload = await this.codec.compress(typeof data === 'function' ? data() : data);
      await this.store.put(key, payload);
      this.stats.blockPuts++;
      this.stats.bytesUploaded += payload.length;
    });
  }

  /**
   * Persists block `index` of slice `id` (data = its uncompressed bytes): uploads it, or
   * stages it when writeback is on. Resolves when the block is durable. `data` may be a
   * function producing the bytes (called once, inside the upload slot); `len` is its length.
   * The caches take their own references to a pooled `data`; the caller keeps its own.
   */
  async writeBlock(id: number, index: number, len: number, data: Buffer | (() => Buffer)): Promise<void> {
    const key = this.key(id, index, len);
    let bytes: Buffer | undefined = typeof data === 'function' ? undefined : data;
    const get = (): Buffer => (bytes ??= (data as () => Buffer)());
    if (this.writeback !== undefined) {
      await this.writeback.stage(key, get());
    } else {
      await this.putObject(key, get);
    }
    // Like Go: only partial blocks (small files, tails) are kept for re-reads by default.
    if (bytes !== undefined && (this.cacheLargeWrite || len < this.blockSize)) this.keepWritten(key, bytes);
  }

  /**
   * A block just written, kept for re-reads. A disk cache only reads the buffer until the
   * block is on disk (and serves it from memory meanwhile): it gets a reference, no copy,
   * and the writer's pooled pages go back to the pool once it is written. Like Go, a
   * written block does not also stay in the read buffer then. A memory cache (or, without
   * a cache, the read buffer) keeps it: a copy of its own size when it is a view of a
   * larger buffer.
   */
  private keepWritten(key: string, block: Buffer): void {
    const cache = this.cache;
    if (cache !== undefined) this.stats.cacheWriteBytes += block.length;
    if (cache !== undefined && cache.inMemory !== true) {
      this.pool.hold(block);
      cache.put(key, block, () => this.pool.release(block));
      return;
    }
    const data = this.ownSized(block);
    const release = (): void => this.pool.release(data);
    if (cache !== undefined) cache.put(key, data, release);
    else this.buffer.put(key, data, release);
  }

  /**
   * `block` with one reference for a holder that keeps it: itself (with a new reference)
   * unless it is a view into a buffer more than twice its size (a 4 KiB append in a 64 KiB
   * write page), which is copied into a pooled buffer of its own size class first. A
   * holder counts `length` bytes; keeping the view would keep the whole page alive (16x
   * more memory than counted for a 4 KiB append: the soak benchmark's appenders grew a
   * daemon by 25 MB/s).
   */
  private ownSized(block: Buffer): Buffer {
    if ((this.pool.capacityOf(block) ?? block.buffer.byteLength) <= 2 * block.length) {
      this.pool.hold(block);
      return block;
    }
    const data =
      block.length >= MIN_CLASS ? this.pool.take(block.length) : Buffer.allocUnsafeSlow(block.length);
    block.copy(data);
    return data;
  }

  /**
   * A block served from the read buffer is in the disk cache too, unless its file was removed
   * behind the cache (`warmup --evict` deletes files of a live mount): the cache checks now
   * and then and stores the block again, so a warmup after an evict fills the cache even
   * when the daemon still has the blocks in memory. At most once per 10 s per block, or every
   * time for O_DIRECT readers (`always`: warmup reads with O_DIRECT).
   */
  private recheckCached(key: string, hit: Buffer, always: boolean): void {
    const cache = this.cache;
    if (cache?.recheck === undefined) return;
    this.pool.hold(hit);
    cache.recheck(key, hit, () => this.pool.release(hit), always);
  }

  /**
   * Puts a fetched block into the read buffer and, when `toCache`, the block cache; each
   * holds a reference.
   */
  private keep(key: string, block: Buffer, toCache: boolean): void {
    const data = this.ownSized(block);
    const release = (): void => this.pool.release(data);
    this.buffer.put(key, data, release);
    if (toCache && this.cache !== undefined) {
      this.stats.cacheWriteBytes += data.length;
      this.pool.hold(data);
      this.cache.put(key, data, release);
    }
  }

  /**
   * A block-sized buffer (one reference, the caller's) for a writer that fills whole blocks.
   * Streaming writes then need no 64 KiB pages, no concatenation before the upload and no
   * fresh memory per block (which would also drive the garbage collector).
   */
  takeBlockBuffer(): Buffer {
    return this.pool.take();
  }

  /** Gives back a reference to a block from takeBlockBuffer, getBlock or getBlockRange. */
  releaseBlock(b: Buffer): void {
    this.pool.release(b);
  }

  /**
   * Whole uncompressed block `index` of slice (id, sliceSize); single-flight per key. The
   * result carries one reference: give it back with releaseBlock.
   */
  getBlock(id: number, sliceSize: number, index: number, verifyCache = false): Promise<Buffer> {
    const len = blockLen(sliceSize, index, this.blockSize);
    const key = this.key(id, index, len);
    const hit = this.buffer.peek(key);
    if (hit !== undefined) {
      this.stats.bufferHits++;
      this.recheckCached(key, hit, verifyCache);
      this.pool.hold(hit);
      return Promise.resolve(hit);
    }
    let f = this.inflight.get(key);
    if (f === undefined) {
      const nf: Fetch = { promise: Promise.resolve(Buffer.alloc(0)), waiters: 0 };
      nf.promise = this.loadBlock(key, len, nf);
      this.inflight.set(key, nf);
      f = nf;
    }
    f.waiters++;
    return f.promise;
  }

  private async loadBlock(key: string, len: number, f: Fetch): Promise<Buffer> {
    let got: { data: Buffer; cached: boolean };
    try {
      got = await this.fetchBlock(key, len);
    } finally {
      this.inflight.delete(key);
    }
    // Same step as leaving `inflight`: every waiter so far gets its reference, later
    // callers find the block in the read buffer (or start a new fetch).
    this.pool.hold(got.data, f.waiters);
    this.keep(key, got.data, !got.cached);
    this.pool.release(got.data); // the fetch's own reference
    return got.data;
  }

  /** A block from the cache, staging or the object store (pooled when uncompressed and whole). */
  private async fetchBlock(key: string, len: number): Promise<{ data: Buffer; cached: boolean }> {
    const whole = len === this.blockSize;
    if (this.cache !== undefined) {
      const into = whole ? this.pool.take() : undefined;
      const hit = await this.cache.get(key, into).catch(() => undefined);
      // Disk reads finish before `get` settles: `into` is free again unless it holds the hit.
      if (into !== undefined && hit?.buffer !== into.buffer) this.pool.release(into);
      if (hit !== undefined && hit.length === len) {
        this.stats.cacheHits++;
        this.stats.cacheHitBytes += len;
        // The fetch's own reference: `into` carries one; a memory cache's pooled block does not.
        if (hit.buffer !== into?.buffer) this.pool.hold(hit);
        return { data: hit, cached: true };
      }
      if (hit !== undefined && hit.buffer === into?.buffer) this.pool.release(hit); // wrong length: give `into` back
    }
    const staged = await this.writeback?.getStaged(key);
    if (staged !== undefined && staged.length === len) {
      this.stats.cacheHits++;
      this.stats.cacheHitBytes += len;
      return { data: staged, cached: true };
    }
    const into = this.codec.name === 'none' && whole ? this.pool.take() : undefined;
    let raw: Buffer;
    try {
      raw = await this.downloads.run(() => this.store.get(key, undefined, into));
    } catch (e) {
      if (into !== undefined) this.pool.discard(into); // a timed-out read may still land in it
      throw e;
    }
    if (into !== undefined && raw.buffer !== into.buffer) this.pool.discard(into);
    this.stats.blockGets++;
    this.stats.bytesDownloaded += raw.length;
    try {
      return { data: await this.codec.decompress(raw, len), cached: false };
    } catch (e) {
      this.pool.release(raw);
      // A truncated or garbled object: the error (and so the log line) names its key.
      throw e instanceof CorruptBlockError
        ? new CorruptBlockError(`object ${key}: ${e.message}`, { cause: e })
        : e;
    }
  }

  /**
   * `len` bytes at `off` inside a block, for a read that is not sequential. Served from the
   * read buffer or an in-flight fetch of the whole block when there is one; else from the
   * block cache, reading only the range (a disk cache reads and checks the 32 KiB pieces
   * covering it); else with a ranged GET when `rangeGet` (uncompressed volumes: the caller
   * decides, see FileReader); else by fetching the whole block. A cached block found corrupt
   * is fetched whole, so the cache gets a good copy again. A result inside a pooled block
   * holds it: give it back with releaseBlock.
   */
  async getBlockRange(
    id: number,
    sliceSize: number,
    index: number,
    off: number,
    len: number,
    rangeGet = true,
    verifyCache = false,
  ): Promise<Buffer> {
    const blen = blockLen(sliceSize, index, this.blockSize);
    const key = this.key(id, index, blen);
    const hit = this.buffer.peek(key);
    if (hit !== undefined) {
      this.stats.bufferHits++;
      this.recheckCached(key, hit, verifyCache);
      this.pool.hold(hit);
      return hit.subarray(off, off + len);
    }
    const whole = async (): Promise<Buffer> =>
      (await this.getBlock(id, sliceSize, index)).subarray(off, off + len);
    if (this.inflight.has(key)) return whole();
    if (this.cache !== undefined && this.cache.has(key)) {
      const cached = await this.cache.getRange(key, off, len).catch(() => undefined);
      if (cached !== undefined && cached.length === len) {
        this.stats.cacheHits++;
        this.stats.cacheHitBytes += len;
        this.pool.hold(cached); // a memory cache hands out its (pooled) block: the caller's reference
        return cached;
      }
      if (!this.cache.has(key)) return whole(); // dropped as corrupt: refetch and re-cache it
    }
    const staged = await this.writeback?.getStaged(key);
    if (staged !== undefined && staged.length === blen) return staged.subarray(off, off + len);
    if (!rangeGet || !this.rangeReads || this.codec.name !== 'none') return whole();
    const data = await this.downloads.run(() => this.store.get(key, { off, len }));
    this.stats.rangeGets++;
    this.stats.bytesDownloaded += data.length;
    if (data.length !== len) throw new Error(`short ranged read of ${key}: ${data.length} of ${len} bytes`);
    return data;
  }

  /** Whether the block is in the read buffer or the block cache. */
  isCached(id: number, sliceSize: number, index: number): boolean {
    const key = this.blockKeyOf(id, sliceSize, index);
    return this.buffer.peek(key) !== undefined || this.cache?.has(key) === true;
  }

  /**
   * Fetches a whole block in the background if a prefetch slot is free; no-op when
   * cached, in flight, or all `--prefetch` slots are busy. Errors are ignored (the
   * foreground read will report them).
   */
  prefetchBlock(id: number, sliceSize: number, index: number, force = false): void {
    const key = this.blockKeyOf(id, sliceSize, index);
    if (this.buffer.peek(key) !== undefined || this.inflight.has(key)) return;
    if (force) {
      this.getBlock(id, sliceSize, index).then(
        (b) => this.releaseBlock(b),
        () => undefined,
      );
      return;
    }
    if (this.prefetch <= 0 || !this.prefetches.tryAcquire()) return;
    this.getBlock(id, sliceSize, index)
      .then(
        (b) => this.releaseBlock(b),
        () => undefined,
      )
      .finally(() => this.prefetches.release());
  }

  /** Deletes every block object of a slice (not-found ignored), and its cached copies. */
  async removeSlice(id: number, size: number): Promise<void> {
    if (id === 0) return;
    const n = blockCount(size, this.blockSize);
    const indexes = Array.from({ length: n }, (_, i) => i);
    await mapLimit(indexes, 4, async (i) => {
      const key = this.blockKeyOf(id, size, i);
      await this.buffer.remove(key);
      await this.cache?.remove(key);
      await this.writeback?.unstage(key);
      await this.deletes.run(async () => {
        try {
          await this.store.delete(key);
        } catch (e) {
          if (!isNotFound(e)) throw e;
        }
      });
    });
  }

  /** Writes a whole slice from one buffer (compaction); blocks uploaded with bounded parallelism. */
  async writeSlice(id: number, data: Buffer): Promise<void> {
    const n = blockCount(data.length, this.blockSize);
    const indexes = Array.from({ length: n }, (_, i) => i);
    await mapLimit(indexes, 4, (i) =>
      this.writeBlock(
        id,
        i,
        blockLen(data.length, i, this.blockSize),
        data.subarray(i * this.blockSize, i * this.blockSize + blockLen(data.length, i, this.blockSize)),
      ),
    );
  }

  async close(): Promise<void> {
    await this.cache?.drain();
    await this.writeback?.close();
    await this.cache?.close();
  }
}
