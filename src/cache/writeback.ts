/**
 * Writeback staging (`--writeback`, docs/DESIGN.md §5): blocks are written durably to
 * `{cacheDir}/{uuid}/rawstaging/{key}` (tmp + fsync + rename), hard-linked into the disk
 * cache, and uploaded in the background; staged files left by a previous run are found
 * by `start()` and uploaded again.
 *
 * Design: a FIFO of keys drained by `concurrency` workers; a failed upload is retried
 * with backoff (the block stays staged, readable through `getStaged`). A successful
 * upload removes the staging file. Staged files carry the disk cache's checksum trailer
 * (so the hard link in `raw/` is a valid cache file at every level) and are checked
 * before they are served or uploaded; files staged without one (older versions) are taken
 * as they are.
 *
 * Invariants: a block is staged (durable) before `stage` resolves, so the slice may be
 * committed; a staged file is deleted only after its upload succeeded or its slice was
 * deleted (`unstage`).
 */
import { mkdir, readFile, unlink } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { parseBlockKey } from '../base/block-key.js';
import { writeFileAtomic } from '../util/atomic-write.js';
import type { Logger } from '../util/logger.js';
import { RateLimitedLog } from '../util/rate-limited-log.js';
import type { WritebackStager } from './block-cache.js';
import { blockChecksums, checksumLength, checksumsMatch } from './checksum.js';
import type { DiskBlockCache } from './disk-cache.js';
import { scanBlocks } from './scan-blocks.js';

export interface WritebackOptions {
  cacheDir: string;
  uuid: string;
  /** Disk cache to hard-link staged blocks into (optional). */
  cache?: DiskBlockCache;
  /** Concurrent background uploads (default 4). */
  concurrency?: number;
  retryDelayMs?: number;
  /** Failed uploads are logged here (rate-limited, with the key and the backlog). */
  logger?: Logger;
}

/** The writeback backlog: staged blocks not uploaded yet, and upload failures so far. */
export interface StagingStats {
  blocks: number;
  bytes: number;
  failures: number;
}

/** The backlog of a Writeback stager (undefined for other stagers). */
export function stagingStats(w: WritebackStager | undefined): StagingStats | undefined {
  return w instanceof Writeback
    ? { blocks: w.pending, bytes: w.pendingBytes, failures: w.failures }
    : undefined;
}

export class Writeback implements WritebackStager {
  readonly dir: string;
  private readonly staged = new Set<string>();
  private readonly queue: string[] = [];
  private upload: ((key: string, data: Buffer) => Promise<void>) | undefined;
  private active = 0;
  private closed = false;
  private idle: (() => void)[] = [];
  private readonly concurrency: number;
  private readonly retryDelay: number;
  private readonly timers = new Set<NodeJS.Timeout>();
  /** Upload failures seen (each is retried). */
  failures = 0;
  /** Bytes of the staged blocks (from their keys). */
  pendingBytes = 0;
  private readonly log: RateLimitedLog | undefined;

  constructor(private readonly opts: WritebackOptions) {
    this.dir = join(opts.cacheDir, opts.uuid, 'rawstaging');
    this.concurrency = opts.concurrency ?? 4;
    this.retryDelay = opts.retryDelayMs ?? 1000;
    this.log = opts.logger === undefined ? undefined : new RateLimitedLog(opts.logger);
  }

  /** Adds `key` to the staged set and the byte count (false when it was there already). */
  private track(key: string): boolean {
    if (this.staged.has(key)) return false;
    this.staged.add(key);
    this.pendingBytes += parseBlockKey(key)?.len ?? 0;
    return true;
  }

  /** Removes `key` from the staged set and the byte count (false when it was not there). */
  private untrack(key: string): boolean {
    if (!this.staged.delete(key)) return false;
    this.pendingBytes -= parseBlockKey(key)?.len ?? 0;
    return true;
  }

  get pending(): number {
    return this.staged.size;
  }

  private path(key: string): string {
    return join(this.dir, key);
  }

  async stage(key: string, data: Buffer): Promise<void> {
    const p = this.path(key);
    await mkdir(dirname(p), { recursive: true });
    await writeFileAtomic(`${p}.tmp`, p, [data, blockChecksums(data)], { mode: 0o600, sync: true });
    this.track(key);
    await this.opts.cache?.adopt(key, p).catch(() => undefined);
    this.enqueue(key);
  }

  async getStaged(key: string): Promise<Buffer | undefined> {
    if (!this.staged.has(key)) return undefined;
    try {
      return await this.readStaged(key);
    } catch {
      return undefined; // unstaged (uploaded) meanwhile, or unreadable: the caller reads the object
    }
  }

  /** A staged block's data, its trailer checked when it has one. */
  private async readStaged(key: string): Promise<Buffer> {
    const raw = await readFile(this.path(key));
    const len = parseBlockKey(key)?.len ?? raw.length;
    const data = raw.subarray(0, len);
    if (raw.length === len) return data;
    if (raw.length === len + checksumLength(len) && checksumsMatch(data, raw.subarray(len))) return data;
    throw new Error(`staged block ${key} is corrupt (${raw.length} bytes, or a checksum mismatch)`);
  }

  async unstage(key: string): Promise<void> {
    if (!this.untrack(key)) return;
    await unlink(this.path(key)).catch(() => undefined);
    this.wakeIdle();
  }

  async start(upload: (key: string, data: Buffer) => Promise<void>): Promise<void> {
    this.upload = upload;
    await scanBlocks(this.dir, (key) => {
      if (this.track(key)) this.queue.push(key);
    });
    this.pump();
  }

  private enqueue(key: string): void {
    this.queue.push(key);
    this.pump();
  }

  private pump(): void {
    while (
      !this.closed &&
      this.upload !== undefined &&
      this.active < this.concurrency &&
      this.queue.length > 0
    ) {
      const key = this.queue.shift() as string;
      if (!this.staged.has(key)) continue;
      this.active++;
      void this.uploadOne(key).finally(() => {
        this.active--;
        this.pump();
        this.wakeIdle();
      }); // uploadOne never rejects: failures are retried
    }
  }

  private async uploadOne(key: string): Promise<void> {
    const upload = this.upload;
    if (upload === undefined) return;
    try {
      const data = await this.readStaged(key);
      await upload(key, data);
      this.untrack(key);
      await unlink(this.path(key)).catch(() => undefined);
    } catch (e) {
      if (!this.staged.has(key)) return;
      this.failures++;
      this.log?.warn(
        'upload',
        `writeback: upload of ${key} failed; kept staged and retried in ${this.retryDelay} ms`,
        {
          key,
          err: e instanceof Error ? e.message : String(e),
          stagedBlocks: this.staged.size,
          stagedBytes: this.pendingBytes,
        },
      );
      const t = setTimeout(() => {
        this.timers.delete(t);
        this.enqueue(key);
      }, this.retryDelay);
      this.timers.add(t);
    }
  }

  private wakeIdle(): void {
    if (this.staged.size > 0) return;
    const w = this.idle;
    this.idle = [];
    for (const f of w) f();
  }

  async flushAll(): Promise<void> {
    if (this.staged.size === 0) return;
    await new Promise<void>((r) => this.idle.push(r));
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    const w = this.idle;
    this.idle = [];
    for (const f of w) f();
  }
}
