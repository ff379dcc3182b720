/**
 * Disk block cache in JuiceFS's layout (features §2.13):
 * `{cacheDir}/{uuid}/raw/chunks/…/{id}_{index}_{len}` holds uncompressed blocks, written
 * as `.tmp` then renamed; with checksums on, a CRC32C per 32 KiB piece follows the data.
 *
 * Design: an in-memory index (Map in LRU order) rebuilt by scanning `raw/` at open;
 * accounting counts size + 4096 per item; puts are queued with a byte bound and dropped
 * when the queue is full (a cache is best effort); eviction removes least recently used
 * items while usage exceeds `cacheSize` or free space falls below `freeSpaceRatio`
 * (checked at most once a second with statfs).
 *
 * Invariants: `get` never returns a block of the wrong length or, with verification on,
 * with a bad checksum (a corrupted file is deleted and reported as a miss, so the
 * caller refetches); the index never counts a file that is not on disk after its write.
 */
import { link, mkdir, statfs, unlink, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { parseBlockKey } from '../chunk/block-key.js';
import { Semaphore } from '../chunk/limits.js';
import { readFileSplit } from '../object/file/read-whole.js';
import type { BlockCache } from './block-cache.js';
import { blockChecksums, checksumLength, checksumsMatch } from './checksum.js';
import { scanBlocks } from './scan-blocks.js';
import { AtomicFileWriter } from '../util/atomic-write.js';

export type ChecksumLevel = 'none' | 'full' | 'shrink' | 'extend';

export interface DiskCacheOptions {
  /** --cache-dir (one directory). */
  cacheDir: string;
  /** Volume UUID: the cache root is `{cacheDir}/{uuid}`. */
  uuid: string;
  /** --cache-size in bytes (default 100 GiB). */
  cacheSize?: number;
  /** --free-space-ratio (default 0.1). */
  freeSpaceRatio?: number;
  /** --verify-cache-checksum; anything but 'none' writes and verifies whole-block CRCs. */
  checksum?: ChecksumLevel;
  /** File mode of cached blocks (--cache-mode, default 0600). */
  mode?: number;
  /**
   * Bytes of queued cache writes before new puts are dropped (default 60 MiB: 20% of the
   * default 300 MiB buffer, as JuiceFS sizes its pending queue). One writer drains the queue,
   * also as JuiceFS: a reader outrunning the disk skips caching instead of competing for it.
   */
  maxPendingBytes?: number;
}

const OVERHEAD = 4096;

function errCode(e: unknown): string | undefined {
  return e instanceof Error ? (e as NodeJS.ErrnoException).code : undefined;
}

export class DiskBlockCache implements BlockCache {
  readonly root: string;
  readonly rawDir: string;
  private readonly index = new Map<string, number>();
  private used = 0;
  private pendingBytes = 0;
  private readonly writing = new Set<Promise<void>>();
  private lastStatfs = 0;
  private lowSpace = false;
  private readonly cacheSize: number;
  private readonly ratio: number;
  private readonly verify: boolean;
  private readonly mode: number;
  private readonly maxPending: number;
  /** Cache writes in flight: few, so they never occupy the whole libuv pool that reads need. */
  private readonly writers = new Semaphore(1);
  /** Block files: write + rename, one mkdir per directory rather than per block. */
  private readonly files = new AtomicFileWriter();
  /** Entries dropped because their checksum or length was wrong (tests, metrics). */
  corruptions = 0;

  private constructor(opts: DiskCacheOptions) {
    this.root = join(opts.cacheDir, opts.uuid);
    this.rawDir = join(this.root, 'raw');
    this.cacheSize = opts.cacheSize ?? 100 * 1024 ** 3;
    this.ratio = opts.freeSpaceRatio ?? 0.1;
    this.verify = (opts.checksum ?? 'none') !== 'none';
    this.mode = opts.mode ?? 0o600;
    this.maxPending = opts.maxPendingBytes ?? 60 * 1024 * 1024;
  }

  /** Opens (creating) the cache and indexes blocks already on disk. */
  static async open(opts: DiskCacheOptions): Promise<DiskBlockCache> {
    const c = new DiskBlockCache(opts);
    await mkdir(c.rawDir, { recursive: true });
    await scanBlocks(c.rawDir, (key, b) => c.account(key, b.len + (c.verify ? checksumLength(b.len) : 0)));
    await c.evict();
    return c;
  }

  private account(key: string, size: number): void {
    const old = this.index.get(key);
    if (old !== undefined) this.used -= old + OVERHEAD;
    this.index.delete(key);
    this.index.set(key, size);
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
    return this.index.has(key);
  }

  async get(key: string, into?: Buffer): Promise<Buffer | undefined> {
    const size = this.index.get(key);
    if (size === undefined) return undefined;
    const len = parseBlockKey(key)?.len;
    if (len === undefined) return undefined;
    let data: Buffer;
    let trailer: Buffer;
    try {
      // The block lands in the caller's buffer when it has room, the checksum trailer apart.
      const head = into !== undefined && into.length >= len ? into.subarray(0, len) : Buffer.allocUnsafe(len);
      [data, trailer] = await readFileSplit(this.path(key), head);
    } catch {
      this.forget(key);
      return undefined;
    }
    this.index.delete(key); // LRU touch
    this.index.set(key, size);
    if (data.length === len && trailer.length === 0) return data;
    if (data.length === len && trailer.length === checksumLength(len) && (!this.verify || checksumsMatch(data, trailer))) return data;
    this.corruptions++;
    await this.remove(key);
    return undefined;
  }

  put(key: string, data: Buffer, done?: () => void): void {
    if (this.index.has(key) || this.pendingBytes + data.length > this.maxPending || this.lowSpace) {
      done?.();
      return;
    }
    this.pendingBytes += data.length;
    const p = this.writers
      .run(() => this.write(key, data))
      .catch(() => undefined)
      .finally(() => {
        this.pendingBytes -= data.length;
        this.writing.delete(p);
        done?.();
      });
    this.writing.add(p);
  }

  private async write(key: string, data: Buffer): Promise<void> {
    const p = this.path(key);
    // O_DIRECT for page-aligned blocks (pooled downloads): filling the cache while reading
    // then costs no copy into the page cache, about a quarter of a cold read's CPU here.
    await this.files.write(`${p}.tmp`, p, this.verify ? [data, blockChecksums(data)] : [data], this.mode, true);
    this.account(key, data.length + (this.verify ? checksumLength(data.length) : 0));
    await this.evict();
  }

  /** Indexes a file already written elsewhere (writeback staging) by hard-linking it. */
  async adopt(key: string, src: string): Promise<void> {
    const p = this.path(key);
    await mkdir(dirname(p), { recursive: true });
    try {
      await link(src, p);
    } catch (e) {
      if (errCode(e) !== 'EEXIST') throw e;
    }
    const len = parseBlockKey(key)?.len ?? 0;
    this.account(key, len);
    await this.evict();
  }

  private forget(key: string): void {
    const size = this.index.get(key);
    if (size === undefined) return;
    this.index.delete(key);
    this.used -= size + OVERHEAD;
  }

  async remove(key: string): Promise<void> {
    this.forget(key);
    await unlink(this.path(key)).catch(() => undefined);
  }

  private async checkSpace(): Promise<void> {
    const now = Date.now();
    if (now - this.lastStatfs < 1000) return;
    this.lastStatfs = now;
    try {
      const st = await statfs(this.rawDir);
      const free = st.blocks > 0 ? st.bavail / st.blocks : 1;
      const ifree = st.files > 0 ? st.ffree / st.files : 1;
      this.lowSpace = free < this.ratio || ifree < this.ratio;
    } catch {
      this.lowSpace = false;
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
  }

  /** Test hook: write raw bytes over a cached file (simulated disk corruption). */
  async corruptForTest(key: string, data: Buffer): Promise<void> {
    await writeFile(this.path(key), data);
  }
}
