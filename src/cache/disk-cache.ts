/**
 * Disk block cache in JuiceFS's layout (docs/DESIGN.md §6):
 * `{cacheDir}/{uuid}/raw/chunks/…/{id}_{index}_{len}` holds uncompressed blocks, written
 * as `.tmp` then renamed; unless `--verify-cache-checksum none`, a CRC32C per 32 KiB piece
 * follows the data, checked on reads as the level says (see checksum.ts).
 *
 * Design: an in-memory index (Map in LRU order) rebuilt by scanning `raw/` at open;
 * accounting counts size + 4096 per item; puts are queued with a byte bound and dropped
 * when the queue is full (a cache is best effort); eviction removes least recently used
 * items while usage exceeds `cacheSize` or free space falls below `freeSpaceRatio`
 * (checked at most once a second with statfs). Reads of part of a block read only the
 * pieces covering it. A full, read-only or failing directory degrades the cache
 * (CacheHealth: one log line, probes until it works again); a removed one is recreated.
 *
 * Invariants: `get`/`getRange` never return bytes of the wrong length or, at the level's
 * checks, with a bad checksum: such a file is deleted, counted in `counters.corruptions`,
 * logged (rate-limited) and reported as a miss, so the caller refetches; the index never
 * counts a file that is not on disk after its write.
 */
import { link, mkdir, stat, statfs, unlink, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { LRUCache } from 'lru-cache';
import { parseBlockKey } from '../base/block-key.js';
import { Semaphore } from '../util/limits.js';
import { silentLogger, type Logger } from '../util/logger.js';
import { AtomicFileWriter, canChecksumInWrite } from '../util/atomic-write.js';
import { RateLimitedLog } from '../util/rate-limited-log.js';
import type { BlockCache, CacheCounters } from './block-cache.js';
import { CacheHealth, cacheFault, errorCode } from './cache-health.js';
import { readCachedBlock, readCachedRange, type CacheRead } from './cache-file.js';
import { blockChecksums, checksumLength, PIECE, type ChecksumLevel } from './checksum.js';
import { FdCache } from './fd-cache.js';
import { scanBlocks } from './scan-blocks.js';

export type { ChecksumLevel } from './checksum.js';

/** How block files are written: AtomicFileWriter's `write` (tests inject failing writers). */
export type BlockFileWriter = Pick<AtomicFileWriter, 'write'>;

export interface DiskCacheOptions {
  /** --cache-dir (one directory). */
  cacheDir: string;
  /** Volume UUID: the cache root is `{cacheDir}/{uuid}`. */
  uuid: string;
  /** --cache-size in bytes (default 100 GiB). */
  cacheSize?: number;
  /** --free-space-ratio (default 0.1). */
  freeSpaceRatio?: number;
  /** --verify-cache-checksum (default 'extend', as JuiceFS). */
  checksum?: ChecksumLevel;
  /** File mode of cached blocks (--cache-mode, default 0600). */
  mode?: number;
  /**
   * Bytes of queued cache writes before new puts are dropped (default 60 MiB: 20% of the
   * default 300 MiB buffer, as JuiceFS sizes its pending queue). One writer drains the queue,
   * also as JuiceFS: a reader outrunning the disk skips caching instead of competing for it.
   */
  maxPendingBytes?: number;
  logger?: Logger;
  now?: () => number;
  /** Time between probes of a degraded cache directory (default 10 s). */
  retryMs?: number;
  writer?: BlockFileWriter;
}

/** How often a block read from memory has its cache file checked (`recheck`). */
const RECHECK_MS = 10_000;
const OVERHEAD = 4096;

interface Entry {
  size: number;
}

export class DiskBlockCache implements BlockCache {
  readonly root: string;
  readonly rawDir: string;
  readonly level: ChecksumLevel;
  readonly counters: CacheCounters = { corruptions: 0, errors: 0 };
  readonly health: CacheHealth;
  /** Key → entry in LRU order; a new entry object per written file (a stale reader's verdict must not drop a newer file). */
  private readonly index = new Map<string, Entry>();
  private used = 0;
  private pendingBytes = 0;
  /** Blocks queued or being written: served from memory until they are on disk. */
  private readonly pendingData = new Map<string, Buffer>();
  private readonly writing = new Set<Promise<void>>();
  private lastStatfs = 0;
  private lastRootCheck = 0;
  private lowSpace = false;
  private readonly cacheSize: number;
  private readonly ratio: number;
  private readonly mode: number;
  private readonly maxPending: number;
  private readonly now: () => number;
  private readonly log: RateLimitedLog;
  /** Cache writes in flight: few, so they never occupy the whole libuv pool that reads need. */
  private readonly writers = new Semaphore(1);
  /** Block files: write + rename, one mkdir per directory rather than per block. */
  private readonly files: BlockFileWriter;
  /** Open descriptors of recently read block files (a partial read is then one pread). */
  private readonly fds = new FdCache(256);
  /** Checksum trailers of recently read or written files (512 B per 4 MiB block), by entry. */
  private readonly trailers = new LRUCache<Entry, Buffer>({ max: 8192 });
  /** When `recheck` last looked at a key's file: at most once per RECHECK_MS. */
  private readonly rechecked = new LRUCache<string, number>({ max: 4096 });

  private constructor(opts: DiskCacheOptions) {
    this.root = join(opts.cacheDir, opts.uuid);
    this.rawDir = join(this.root, 'raw');
    this.cacheSize = opts.cacheSize ?? 100 * 1024 ** 3;
    this.ratio = opts.freeSpaceRatio ?? 0.1;
    this.level = opts.checksum ?? 'extend';
    this.mode = opts.mode ?? 0o600;
    this.maxPending = opts.maxPendingBytes ?? 60 * 1024 * 1024;
    this.now = opts.now ?? Date.now;
    const logger = opts.logger ?? silentLogger;
    this.log = new RateLimitedLog(logger, 10_000, this.now);
    this.health = new CacheHealth({
      dir: this.root,
      log: logger,
      now: this.now,
      ...(opts.retryMs !== undefined ? { retryMs: opts.retryMs } : {}),
    });
    this.files = opts.writer ?? new AtomicFileWriter();
  }

  /** Opens (creating) the cache and indexes blocks already on disk; an unusable directory starts degraded. */
  static async open(opts: DiskCacheOptions): Promise<DiskBlockCache> {
    const c = new DiskBlockCache(opts);
    try {
      await mkdir(c.rawDir, { recursive: true });
    } catch (e) {
      c.counters.errors++;
      if (c.health.failed(e) === undefined) throw e;
    }
    await scanBlocks(c.rawDir, (key, b) => c.account(key, c.fileSize(b.len)));
    await c.evict();
    return c;
  }

  private fileSize(len: number): number {
    return len + (this.level !== 'none' ? checksumLength(len) : 0);
  }

  private account(key: string, size: number): void {
    const old = this.index.get(key);
    if (old !== undefined) {
      this.used -= old.size + OVERHEAD;
      this.fds.drop(this.path(key)); // another file now
    }
    this.index.delete(key);
    this.index.set(key, { size });
    this.used += size + OVERHEAD;
  }

  path(key: string): string {
    return join(this.rawDir, key);
  }

  get usedBytes(): number {
    return this.used;
  }

  get items(): number {
    return this.index.size;
  }

  has(key: string): boolean {
    return this.index.has(key) || this.pendingData.has(key);
  }

  /**
   * The whole block; `into`: a buffer to read it into when it has room (the result is then
   * a subarray of it). A block still waiting to be written is the caller's own buffer.
   */
  async get(key: string, into?: Buffer): Promise<Buffer | undefined> {
    const queued = this.pendingData.get(key);
    if (queued !== undefined) return queued;
    const len = this.readable(key);
    if (len === undefined) return undefined;
    return this.served(key, () => readCachedBlock(this.path(key), len, this.level, into));
  }

  /** Bytes [off, off+len) of a cached block, reading (and checking) only the pieces that cover them. */
  async getRange(key: string, off: number, len: number): Promise<Buffer | undefined> {
    const queued = this.pendingData.get(key);
    if (queued !== undefined)
      return off >= 0 && len > 0 && off + len <= queued.length ? queued.subarray(off, off + len) : undefined;
    const blen = this.readable(key);
    if (blen === undefined || off < 0 || len <= 0 || off + len > blen) return undefined;
    const entry = this.index.get(key);
    return this.served(key, async () => {
      const sums = entry !== undefined ? this.trailers.get(entry) : undefined;
      const r = await this.fds.use(this.path(key), (fd) =>
        readCachedRange(fd, blen, this.level, off, len, sums),
      );
      if (r.trailer !== undefined && 'data' in r && entry !== undefined) this.trailers.set(entry, r.trailer);
      return r;
    });
  }

  /** The block length of a cached key that may be read now. */
  private readable(key: string): number | undefined {
    if (!this.index.has(key) || !this.health.mayRead()) return undefined;
    return parseBlockKey(key)?.len;
  }

  private async served(key: string, read: () => Promise<CacheRead>): Promise<Buffer | undefined> {
    const entry = this.index.get(key);
    let r: CacheRead;
    try {
      r = await read();
    } catch (e) {
      this.readFailed(key, entry, e);
      return undefined;
    }
    if ('corrupt' in r) {
      this.counters.corruptions++;
      this.log.warn(
        'cache-corrupt',
        `cache block ${key} is corrupt (${r.corrupt}): dropped, reading it from the object store`,
        { file: this.path(key) },
      );
      // Unless another read dropped it first (and a good copy may be there by now).
      if (entry !== undefined && this.index.get(key) === entry) await this.remove(key);
      return undefined;
    }
    if (entry !== undefined && this.index.get(key) === entry) {
      this.index.delete(key); // LRU touch
      this.index.set(key, entry);
    }
    return r.data;
  }

  private readFailed(key: string, entry: Entry | undefined, e: unknown): void {
    if (entry !== undefined && this.index.get(key) === entry) this.forget(key);
    if (cacheFault(e) === 'missing') {
      this.checkRoot().catch(() => undefined); // never rejects: failures go to health
      return;
    }
    this.counters.errors++;
    this.health.failed(e);
    this.log.warn(
      'cache-read',
      `cache read of ${key} failed (${errorCode(e)}): reading it from the object store`,
    );
  }

  /**
   * After a file was missing (at most once a second): if the whole directory is gone, the
   * index is emptied and the directory recreated.
   */
  private async checkRoot(): Promise<void> {
    const t = this.now();
    if (t - this.lastRootCheck < 1000) return;
    this.lastRootCheck = t;
    try {
      await stat(this.rawDir);
      return;
    } catch (e) {
      if (cacheFault(e) !== 'missing') return;
    }
    try {
      await mkdir(this.rawDir, { recursive: true });
      this.log.warn('cache-recreated', `cache directory ${this.rawDir} was removed: recreated it empty`);
    } catch (e) {
      this.counters.errors++;
      this.health.failed(e);
    }
    this.index.clear(); // every file went with the directory
    this.used = 0;
    this.trailers.clear();
    this.fds.dropAll();
  }

  put(key: string, data: Buffer, done?: () => void): void {
    if (this.lowSpace) this.checkSpace().catch(() => undefined); // else nothing would notice space coming back
    // mayWrite last: when degraded it hands out the one probe, which this put then must make.
    if (
      this.index.has(key) ||
      this.pendingData.has(key) ||
      this.pendingBytes + data.length > this.maxPending ||
      this.lowSpace ||
      !this.health.mayWrite()
    ) {
      done?.();
      return;
    }
    this.pendingBytes += data.length;
    this.pendingData.set(key, data);
    const p = this.writers
      .run(() => this.write(key, data))
      .finally(() => {
        this.pendingData.delete(key);
        this.pendingBytes -= data.length;
        this.writing.delete(p);
        done?.();
      });
    this.writing.add(p);
  }

  /** Writes one block file; never rejects (a failure is counted, logged once, and may degrade the cache). */
  private async write(key: string, data: Buffer): Promise<void> {
    const p = this.path(key);
    // The trailer is computed by the write's own pool job when it can (a 4 MiB block's is
    // 0.2-0.5 ms of CRC that would otherwise hold up the JS thread, once per block read cold).
    const inJob = this.level !== 'none' && canChecksumInWrite;
    const sums =
      this.level === 'none'
        ? undefined
        : inJob
          ? Buffer.allocUnsafe(checksumLength(data.length))
          : blockChecksums(data);
    try {
      // O_DIRECT for page-aligned blocks (pooled downloads): filling the cache while reading
      // then costs no copy into the page cache, about a quarter of a cold read's CPU here.
      const parts = sums !== undefined ? [data, sums] : [data];
      await this.files.write(`${p}.tmp`, p, parts, this.mode, true, inJob ? PIECE : 0);
    } catch (e) {
      this.counters.errors++;
      const fault = this.health.failed(e);
      if (fault === undefined) this.log.warn('cache-write', `cache write of ${key} failed (${errorCode(e)})`);
      if (fault === 'full') await this.checkSpace(true).then(() => this.evict());
      return;
    }
    this.health.ok();
    this.account(key, this.fileSize(data.length));
    const entry = this.index.get(key);
    if (entry !== undefined && sums !== undefined) this.trailers.set(entry, sums);
    await this.evict();
  }

  /** Indexes a file already written elsewhere (writeback staging, with its trailer) by hard-linking it. */
  async adopt(key: string, src: string): Promise<void> {
    const p = this.path(key);
    await mkdir(dirname(p), { recursive: true });
    try {
      await link(src, p);
    } catch (e) {
      if (errorCode(e) !== 'EEXIST') throw e;
    }
    const len = parseBlockKey(key)?.len ?? 0;
    this.account(key, len + checksumLength(len));
    await this.evict();
  }

  private forget(key: string): void {
    const e = this.index.get(key);
    if (e === undefined) return;
    this.index.delete(key);
    this.used -= e.size + OVERHEAD;
    this.trailers.delete(e);
    this.fds.drop(this.path(key));
  }

  recheck(key: string, data: Buffer, done: () => void, always = false): void {
    const now = this.now();
    const last = this.rechecked.get(key);
    if (!this.index.has(key) || (!always && last !== undefined && now - last < RECHECK_MS)) {
      done();
      return;
    }
    this.rechecked.set(key, now);
    const p: Promise<void> = stat(this.path(key))
      .then(
        () => done(),
        (e: unknown) => {
          if (errorCode(e) !== 'ENOENT' || !this.index.has(key)) return done();
          this.forget(key);
          this.put(key, data, done); // queued before this check leaves `writing`: drain waits for both
        },
      )
      .finally(() => this.writing.delete(p));
    this.writing.add(p);
  }

  async remove(key: string): Promise<void> {
    this.forget(key);
    await unlink(this.path(key)).catch(() => undefined); // gone already, or a read-only directory: the index no longer has it
  }

  private async checkSpace(force = false): Promise<void> {
    const now = this.now();
    if (!force && now - this.lastStatfs < 1000) return;
    this.lastStatfs = now;
    try {
      const st = await statfs(this.rawDir);
      const free = st.blocks > 0 ? st.bavail / st.blocks : 1;
      const ifree = st.files > 0 ? st.ffree / st.files : 1;
      this.lowSpace = free < this.ratio || ifree < this.ratio;
    } catch (e) {
      this.lowSpace = false;
      if (cacheFault(e) === 'missing') await this.checkRoot();
    }
  }

  /** Evicts least recently used blocks while over `cacheSize` or short of disk space. */
  private async evict(): Promise<void> {
    await this.checkSpace();
    let budget = this.lowSpace ? Math.max(1, Math.floor(this.index.size / 10)) : 0;
    while (this.used > this.cacheSize || budget > 0) {
      const oldest = this.index.keys().next().value;
      if (oldest === undefined) break;
      budget--;
      await this.remove(oldest);
    }
  }

  async drain(): Promise<void> {
    while (this.writing.size > 0) await Promise.all([...this.writing]); // bounded by maxPendingBytes
  }

  async close(): Promise<void> {
    await this.drain();
    this.fds.dropAll();
  }

  /** Test hook: write raw bytes over a cached file (simulated disk corruption). */
  async corruptForTest(key: string, data: Buffer): Promise<void> {
    await writeFile(this.path(key), data);
  }
}
