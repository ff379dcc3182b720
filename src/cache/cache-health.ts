/**
 * CacheHealth: whether the disk cache directory takes writes and serves reads (JuiceFS's
 * disk cache states, reduced to what tjfs needs).
 *
 * A write failing with ENOSPC/EDQUOT (full), EROFS/EACCES/EPERM (read-only) or ENOENT that
 * recreating the directories did not fix (missing) degrades the cache: puts are dropped and
 * blocks come from the object store; blocks already cached are still read. EIO (a failing
 * device) also stops reads. The degradation and the recovery are each logged once. While
 * degraded, one write every `retryMs` is let through as a probe; its success ends it.
 *
 * Invariants: at most one probe in flight; a fault never throws to the reader or writer.
 */
import type { Logger } from '../util/logger.js';

export type CacheFault = 'full' | 'read-only' | 'missing' | 'io';

const FAULTS: Record<string, CacheFault> = {
  ENOSPC: 'full',
  EDQUOT: 'full',
  EROFS: 'read-only',
  EACCES: 'read-only',
  EPERM: 'read-only',
  ENOENT: 'missing',
  ENOTDIR: 'missing',
  EIO: 'io',
};

/** The fault an error of a cache file operation shows, if it is one that degrades the cache. */
export function cacheFault(e: unknown): CacheFault | undefined {
  const code = e instanceof Error ? (e as NodeJS.ErrnoException).code : undefined; // cast: Node fs errors carry `code`
  return code !== undefined ? FAULTS[code] : undefined;
}

export function errorCode(e: unknown): string {
  return (e instanceof Error ? (e as NodeJS.ErrnoException).code : undefined) ?? String(e); // cast: as above
}

export interface CacheHealthOptions {
  dir: string;
  log: Logger;
  now?: () => number;
  /** Time between probes while degraded (default 10 s). */
  retryMs?: number;
}

export class CacheHealth {
  private current: CacheFault | undefined;
  private probeAt = 0;
  private probing = false;
  private readonly now: () => number;
  private readonly retryMs: number;
  /** Times the cache degraded (metrics, tests). */
  degradations = 0;

  constructor(private readonly opts: CacheHealthOptions) {
    this.now = opts.now ?? Date.now;
    this.retryMs = opts.retryMs ?? 10_000;
  }

  get fault(): CacheFault | undefined {
    return this.current;
  }

  /** Whether a cache write may go to disk now (while degraded: one probe every retryMs). */
  mayWrite(): boolean {
    if (this.current === undefined) return true;
    if (this.probing || this.now() < this.probeAt) return false;
    this.probing = true;
    return true;
  }

  /** Whether cached blocks may be read (not while the device reports I/O errors). */
  mayRead(): boolean {
    return this.current !== 'io';
  }

  /** A write (or probe) succeeded. */
  ok(): void {
    this.probing = false;
    if (this.current === undefined) return;
    this.opts.log.warn(
      `cache directory ${this.opts.dir} is usable again (was ${this.current}); caching blocks again`,
    );
    this.current = undefined;
  }

  /** An operation failed with `e`; returns the fault when it degrades the cache. */
  failed(e: unknown): CacheFault | undefined {
    this.probing = false;
    const f = cacheFault(e);
    if (f === undefined) return undefined;
    this.probeAt = this.now() + this.retryMs;
    if (this.current === undefined) {
      this.degradations++;
      const what = f === 'io' ? 'blocks are read from the object store' : 'new blocks are not cached';
      this.opts.log.warn(
        `cache directory ${this.opts.dir} is ${f} (${errorCode(e)}): ${what}; retrying every ${this.retryMs / 1000} s`,
      );
    }
    this.current = f;
    return f;
  }
}
