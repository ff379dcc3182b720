/**
 * Shared state of one metadata client (one session): engine, loaded format, clock, id
 * batches, open-file counts, quota cache and the callbacks to the data layer. The op
 * modules (ns-*.ts, file-ops.ts, xattr-ops.ts, lock-ops.ts, sessions.ts) are functions
 * over this core so that each stays small.
 */
import type { Clock } from './clock.js';
import {
  TxConflictError,
  type FreedSlice,
  type MetaEngine,
  type MetaTx,
  type QuotaRecord,
  type TxOptions,
} from './engine.js';
import { FsError, Errno, toFsError } from '../base/errno.js';
import type { MetaRetryOptions } from './retry-policy.js';
import type { Format } from './format.js';
import { OwnDirAttrs } from './own-dir-attrs.js';
import { RecentNames } from './recent-names.js';
import { StatsBatch } from './stats-batch.js';
import { UserGroupQuotas } from './ug-quota.js';
import { align4K, FileType, type Attr, type Ino, type Timespec } from '../base/types.js';
import { silentLogger, type Logger } from '../util/logger.js';

export interface MetaOptions {
  clock?: Clock;
  logger?: Logger;
  /** Read-only clients register no session and refuse mutations with EROFS. */
  readOnly?: boolean;
  /** Directory mtime updates closer than this to the previous one are skipped (Go: 100 ms). */
  skipDirMtimeMs?: number;
  /** Called with slices whose last reference is gone; the data layer deletes their objects. */
  onFreeSlices?: (slices: FreedSlice[]) => Promise<void>;
  /** Heartbeat period in seconds (session expire = now + 5 * heartbeat). */
  heartbeatSec?: number;
  /** Skip the background deletion of unlinked file data (tests inspect delfiles). */
  noBgDelete?: boolean;
  /** Subdirectory used as root (mount --subdir); resolved by the caller. */
  maxTxRetries?: number;
  /** How long an unreachable or locked engine is waited out (`--io-retries`, retry-policy.ts). */
  retry?: MetaRetryOptions;
}

export interface Counters {
  usedSpace: number;
  totalInodes: number;
}

/** File-data deletions one client runs at once (JuiceFS: maxDeleting, 100). */
const MAX_DELETING = 100;
/** Removed files waiting for a deletion slot before removals are slowed down. */
const MAX_DELETE_BACKLOG = 10_000;

export class MetaCore {
  readonly engine: MetaEngine;
  format: Format;
  sid = 0;
  readonly clock: Clock;
  readonly log: Logger;
  readonly readOnly: boolean;
  readonly skipDirMtimeNs: bigint;
  readonly heartbeatSec: number;
  readonly noBgDelete: boolean;
  onFreeSlices: (slices: FreedSlice[]) => Promise<void>;
  /** Open handle counts per inode (sustained-inode rule). */
  readonly opened = new Map<Ino, number>();
  /** Inodes this session keeps alive after their last unlink (mirror of session{sid}). */
  readonly sustained = new Set<Ino>();
  /** Directory attributes as this client last committed them (own-dir-attrs.ts). */
  readonly ownDirAttrs = new OwnDirAttrs();
  /** Which inode recently seen names had: guesses for removals and renames (recent-names.ts). */
  readonly names = new RecentNames();
  /** Directory quotas, refreshed on heartbeat. */
  dirQuotas = new Map<Ino, QuotaRecord>();
  /** User and group quotas (cache and accounting), refreshed on heartbeat. */
  readonly ug = new UserGroupQuotas(() => this.format.UserGroupQuota === true);
  /** Cached volume usage, refreshed on heartbeat and adjusted locally. */
  usage: Counters = { usedSpace: 0, totalInodes: 0 };
  /** Inodes 0 and 1 are never handed out; slice id 0 means a hole. */
  private readonly inodeIds = new IdBatch(
    () => this.engine.allocate('nextInode', 1024),
    1024,
    2,
    (e) => this.engineError(e, 'allocate inodes'),
  );
  private readonly sliceIds = new IdBatch(
    () => this.engine.allocate('nextChunk', 4096),
    4096,
    1,
    (e) => this.engineError(e, 'allocate slice ids'),
  );
  /** Background deletions in flight (awaited by close). */
  readonly pending = new Set<Promise<unknown>>();
  /** File-data deletions running, and removed files waiting for one (scheduleDelete). */
  private deleting = 0;
  private readonly deleteBacklog: { ino: Ino; length: number }[] = [];
  /** Removals waiting for room in a full backlog. */
  private readonly deleteRoom: (() => void)[] = [];
  /** Usage counters and directory stats, written in batches once a second. */
  readonly stats: StatsBatch;

  constructor(engine: MetaEngine, format: Format, clock: Clock, opts: MetaOptions) {
    this.engine = engine;
    this.format = format;
    this.clock = clock;
    this.log = opts.logger ?? silentLogger;
    this.readOnly = opts.readOnly ?? false;
    this.skipDirMtimeNs = BigInt(Math.round((opts.skipDirMtimeMs ?? 100) * 1e6));
    this.heartbeatSec = opts.heartbeatSec ?? 12;
    this.noBgDelete = opts.noBgDelete ?? false;
    this.onFreeSlices = opts.onFreeSlices ?? (async () => {});
    engine.useLogger?.(this.log);
    this.stats = new StatsBatch(engine, (e) =>
      this.log.warn('writing usage statistics failed (kept for the next try)', { err: String(e) }),
    );
  }

  now(): Timespec {
    return this.clock.now();
  }

  /**
   * Runs an engine transaction and maps its failures to the POSIX boundary in one place:
   * FsErrors pass through (EIO ones, e.g. a corrupt attr naming its inode, are logged); a
   * TxConflictError after the engine's retry budget and any unknown error become EIO
   * naming the op, logged with the stack.
   */
  /** Observes each transaction's duration in seconds (metrics); set by the VFS. */
  txObserver: ((op: string, seconds: number) => void) | undefined;

  async txn<T>(fn: (tx: MetaTx) => Promise<T>, opts: TxOptions): Promise<T> {
    const start = this.txObserver ? process.hrtime.bigint() : 0n;
    const began = performance.now(); // OwnDirAttrs ages entries on the monotonic clock
    let last: MetaTx | undefined; // the attempt that committed, when it returns
    try {
      const r = await this.engine.txn((tx) => fn((last = tx)), opts);
      if (last !== undefined) {
        this.stats.committed(last);
        this.ug.committed(last);
        if (last.dirAttrWrites !== undefined) this.ownDirAttrs.note(last.dirAttrWrites, began);
      }
      return r;
    } catch (e) {
      throw this.engineError(e, opts.op);
    } finally {
      if (this.txObserver) this.txObserver(opts.op, Number(process.hrtime.bigint() - start) / 1e9);
    }
  }

  /** The FsError for an engine failure (see `txn`); logs EIO with the inode or the stack. */
  engineError(e: unknown, op: string): FsError {
    if (e instanceof FsError) {
      if (e.errno === Errno.EIO)
        this.log.error(e.message, { op, ...(e.ino === undefined ? {} : { ino: String(e.ino) }) });
      return e;
    }
    const err =
      e instanceof TxConflictError
        ? new FsError(Errno.EIO, {
            op,
            cause: e,
            message: `EIO: ${op}: ${e.message} (metadata engine too busy)`,
          })
        : toFsError(e, { op });
    this.log.error(err.message, { op, stack: e instanceof Error ? e.stack : String(e) });
    return err;
  }

  checkWritable(op: string): void {
    if (this.readOnly) throw new FsError(Errno.EROFS, { op });
    if (this.format.ChangeLog) {
      throw new FsError(Errno.EROFS, {
        op,
        message: `EROFS: ${op}: volume has ChangeLog enabled (read-only for tjfs)`,
      });
    }
  }

  async nextInode(): Promise<Ino> {
    return BigInt(await this.inodeIds.next());
  }

  nextSliceId(): Promise<number> {
    return this.sliceIds.next();
  }

  /** Sets mtime/ctime of a directory unless the last change is younger than skip-dir-mtime. */
  touchDir(attr: Attr, now: Timespec, force: boolean): boolean {
    if (!force) {
      const last = BigInt(attr.mtime) * 1_000_000_000n + BigInt(attr.mtimensec);
      const cur = BigInt(now.sec) * 1_000_000_000n + BigInt(now.nsec);
      if (cur - last < this.skipDirMtimeNs && cur >= last) return false;
    }
    setMtime(attr, now);
    setCtime(attr, now);
    return true;
  }

  /** ENOSPC when the volume capacity or inode limit would be exceeded. */
  checkCapacity(space: number, inodes: number, op: string): void {
    const cap = this.format.Capacity ?? 0;
    if (cap > 0 && space > 0 && this.usage.usedSpace + space > cap) {
      throw new FsError(Errno.ENOSPC, { op, message: `ENOSPC: ${op}: volume capacity ${cap} bytes reached` });
    }
    const max = this.format.Inodes ?? 0;
    if (max > 0 && inodes > 0 && this.usage.totalInodes + inodes > max) {
      throw new FsError(Errno.ENOSPC, { op, message: `ENOSPC: ${op}: volume inode limit ${max} reached` });
    }
  }

  /** Records a usage change of `tx` for the batched counters (see StatsBatch); noteUsage updates the local cache. */
  addUsage(tx: MetaTx, space: number, inodes: number): void {
    if (space !== 0 || inodes !== 0) this.stats.usage(tx, space, inodes);
  }

  noteUsage(space: number, inodes: number): void {
    this.usage.usedSpace += space;
    this.usage.totalInodes += inodes;
  }

  /**
   * Quota-bearing ancestors of `dir` (inclusive), read inside the tx. Empty when no
   * directory quota exists (the common case costs nothing).
   */
  async quotaAncestors(tx: MetaTx, dir: Ino): Promise<Ino[]> {
    if (this.dirQuotas.size === 0 || !this.format.DirStats) return [];
    const out: Ino[] = [];
    let cur = dir;
    for (let depth = 0; depth < 1000; depth++) {
      if (this.dirQuotas.has(cur)) out.push(cur);
      if (cur === 1n) break;
      const a = await tx.getAttr(cur);
      if (!a || a.parent === 0n || a.parent === cur) break;
      cur = a.parent;
    }
    return out;
  }

  /** EDQUOT when any quota in `quotas` would be exceeded by the deltas. */
  checkQuotas(quotas: readonly Ino[], space: number, inodes: number, op: string): void {
    for (const q of quotas) {
      const r = this.dirQuotas.get(q);
      if (!r) continue;
      if (
        (space > 0 && r.maxSpace > 0 && r.usedSpace + space > r.maxSpace) ||
        (inodes > 0 && r.maxInodes > 0 && r.usedInodes + inodes > r.maxInodes)
      ) {
        throw new FsError(Errno.EDQUOT, {
          op,
          ino: q,
          message: `EDQUOT: ${op}: quota of directory inode ${q} exceeded`,
        });
      }
    }
  }

  applyQuotas(tx: MetaTx, quotas: Ino[], space: number, inodes: number): void {
    for (const q of quotas) tx.updateDirQuotaUsage(q, space, inodes);
  }

  noteQuotas(quotas: Ino[], space: number, inodes: number): void {
    for (const q of quotas) {
      const r = this.dirQuotas.get(q);
      if (r) {
        r.usedSpace += space;
        r.usedInodes += inodes;
      }
    }
  }

  dirStat(tx: MetaTx, dir: Ino, length: number, space: number, inodes: number): void {
    if (!this.format.DirStats) return;
    this.stats.dir(tx, dir, { dataLength: length, usedSpace: space, usedInodes: inodes });
  }

  /** Deletes a removed directory's stat row (in `tx`) and drops its batched deltas. */
  dropDirStat(tx: MetaTx, dir: Ino): void {
    tx.deleteDirStat(dir);
    this.stats.dirRemoved(tx, dir);
  }

  /** Runs a background task, logging failures and tracking it for close(). */
  background(name: string, task: () => Promise<unknown>): void {
    const p = task().catch((e: unknown) => this.log.error(`${name} failed`, { err: String(e) }));
    this.pending.add(p);
    void p.finally(() => this.pending.delete(p));
  }

  /** Deletes the data of a removed file (docs/FORMAT.md §4.7) and its delfiles entry. */
  async deleteFileData(ino: Ino, length: number): Promise<void> {
    const indexes = await this.engine.listChunkIndexes(ino, length);
    for (const indx of indexes) {
      const freed = await this.engine.deleteChunk(ino, indx);
      if (freed.length > 0) await this.onFreeSlices(freed);
    }
    await this.engine.removeDelFile(ino, length);
  }

  /**
   * Deletes a removed file's data in the background: at most MAX_DELETING at once (JuiceFS's
   * maxDeleting); more wait in a backlog that the running deletions drain. Resolves at once,
   * or, when the backlog is full, once it has room again, so a caller removing files faster
   * than their data goes (rmr of a million files) is slowed down instead of holding a
   * promise per removed file (memory grew with the volume).
   */
  scheduleDelete(ino: Ino, length: number): Promise<void> {
    if (this.noBgDelete) return Promise.resolve();
    if (this.deleting >= MAX_DELETING) {
      this.deleteBacklog.push({ ino, length });
      if (this.deleteBacklog.length < MAX_DELETE_BACKLOG) return Promise.resolve();
      return new Promise((resolve) => this.deleteRoom.push(resolve));
    }
    this.deleting++;
    this.background(`delete data of inode ${ino}`, async () => {
      try {
        await this.deleteFileData(ino, length);
        for (let next = this.deleteBacklog.pop(); next !== undefined; next = this.deleteBacklog.pop()) {
          if (this.deleteBacklog.length < MAX_DELETE_BACKLOG / 2)
            for (const r of this.deleteRoom.splice(0)) r();
          const { ino: i, length: l } = next;
          await this.deleteFileData(i, l).catch((e: unknown) =>
            this.log.error(`delete data of inode ${i} failed`, { err: String(e) }),
          ); // its delfiles entry stays: the hourly cleanup retries it
        }
      } finally {
        this.deleting--;
        for (const r of this.deleteRoom.splice(0)) r();
      }
    });
    return Promise.resolve();
  }
}

/**
 * Ids reserved from an engine counter in batches (docs/FORMAT.md §4.2) and handed out locally; one
 * reservation in flight at a time, ids below `min` skipped.
 */
class IdBatch {
  private cur = 0;
  private end = 0;
  private pending: Promise<void> | undefined;

  constructor(
    private readonly reserve: () => Promise<number>,
    private readonly size: number,
    private readonly min: number,
    private readonly mapError: (e: unknown) => Error,
  ) {}

  async next(): Promise<number> {
    for (;;) {
      if (this.cur < this.end) {
        const v = this.cur++;
        if (v >= this.min) return v;
        continue;
      }
      this.pending ??= this.reserve().then(
        (first) => {
          this.cur = first;
          this.end = first + this.size;
          this.pending = undefined;
        },
        (e: unknown) => {
          this.pending = undefined;
          throw this.mapError(e);
        },
      );
      await this.pending;
    }
  }
}

export function setMtime(a: Attr, t: Timespec): void {
  a.mtime = t.sec;
  a.mtimensec = t.nsec;
}

export function setCtime(a: Attr, t: Timespec): void {
  a.ctime = t.sec;
  a.ctimensec = t.nsec;
}

export function setAtime(a: Attr, t: Timespec): void {
  a.atime = t.sec;
  a.atimensec = t.nsec;
}

/** Space an inode accounts for: align4K(length) for files, 4096 otherwise. */
export function inodeSpace(a: Attr): number {
  return a.type === FileType.File ? align4K(a.length) : 4096;
}

export function fileLength(a: Attr): number {
  return a.type === FileType.File ? a.length : 0;
}

export async function mustGetAttr(tx: MetaTx, ino: Ino, op: string): Promise<Attr> {
  const a = await tx.getAttr(ino);
  if (!a) throw new FsError(Errno.ENOENT, { op, ino });
  return a;
}

export async function mustGetDir(tx: MetaTx, ino: Ino, op: string): Promise<Attr> {
  return dirAttr(await tx.getAttr(ino), ino, op);
}

/** `a` when it is a directory's attr: ENOENT when there is none, ENOTDIR for anything else. */
export function dirAttr(a: Attr | undefined, ino: Ino, op: string): Attr {
  if (!a) throw new FsError(Errno.ENOENT, { op, ino });
  if (a.type !== FileType.Directory) throw new FsError(Errno.ENOTDIR, { op, ino });
  return a;
}
