/**
 * The metadata contract seen by the VFS, the API and the CLI. Every method takes the
 * caller's `Context`, checks POSIX permissions itself (so in-process API users get the
 * same answers as the kernel), and throws `FsError` with a proper errno. Expected
 * absences are values (`undefined`) only where documented.
 *
 * Concurrency: every mutation is one engine transaction, safe against other clients of the
 * same volume. Idempotency: none of the namespace ops are idempotent (EEXIST / ENOENT on a
 * repeat), `setattr`, `setxattr` and lock releases are.
 */
import type { Writable } from 'node:stream';
import type { Attr, Context, Entry, FileType, Ino, Slice, Timespec } from '../base/types.js';
import type { Logger } from '../util/logger.js';
import type { CloneOptions, CloneResult } from './clone.js';
import type { DumpOptions } from './dump/dump.js';
import type { FlockOwner, FreedSlice, PlockOwner, QuotaRecord, SessionRecord } from './engine.js';
import type { Format } from './format.js';
import type { MetaRetryStats } from './retry-policy.js';
import type { AclRule } from './encoding.js';

export type {
  CloneOptions,
  CloneResult,
  DumpOptions,
  FlockOwner,
  FreedSlice,
  MetaRetryStats,
  PlockOwner,
  QuotaRecord,
  SessionRecord,
};

export interface EntryResult {
  ino: Ino;
  attr: Attr;
}

export type TimeSet = Timespec | 'now';

export interface SetAttrRequest {
  mode?: number;
  uid?: number;
  gid?: number;
  atime?: TimeSet;
  mtime?: TimeSet;
  ctime?: Timespec;
  size?: number;
  flags?: number;
  /** Set when the request comes through an open handle (ftruncate): no write-permission check. */
  viaHandle?: boolean;
}

export interface MknodRequest {
  type: FileType;
  mode: number;
  umask?: number;
  rdev?: number;
}

export const RenameFlag = { NoReplace: 1, Exchange: 2, Whiteout: 4 } as const;
export const XattrFlag = { Create: 1, Replace: 2 } as const;
export const FallocMode = {
  KeepSize: 0x01,
  PunchHole: 0x02,
  CollapseRange: 0x08,
  ZeroRange: 0x10,
  InsertRange: 0x20,
} as const;

export interface StatFs {
  totalSpace: number;
  availSpace: number;
  usedInodes: number;
  availInodes: number;
}

/** Linux lock types. */
export const LockType = { Read: 0, Write: 1, Unlock: 2 } as const;
export type LockTypeValue = (typeof LockType)[keyof typeof LockType];

export interface PosixLock {
  type: LockTypeValue;
  start: bigint;
  /** Inclusive end; 0xFFFFFFFFFFFFFFFF = to EOF. */
  end: bigint;
  pid: number;
}

export interface SessionInfo {
  Version: string;
  HostName: string;
  IPAddrs?: string[];
  MountPoint: string;
  MountTime: string;
  ProcessID: number;
}

/** A file that may own data, with the slices its chunk lists reference (fsck, gc). */
export interface FileSlices {
  ino: Ino;
  length: number;
  slices: Slice[];
}

/** Volume usage as the engine's counters hold it (after this client's batched changes). */
export interface VolumeUsage {
  usedSpace: number;
  usedInodes: number;
}

/** The swap a compaction commits: see `Meta.replaceSlices`. */
export interface SliceSwap {
  /** The records read and merged (the first records of the chunk list). */
  old: readonly Slice[];
  replacement: readonly Slice[];
  /** The slice holding the merged bytes. */
  newSlice: FreedSlice;
  /** Slices that lose a reference by the swap. */
  dropped: readonly FreedSlice[];
}

export interface RemoveOptions {
  skipTrash?: boolean;
}

export interface Meta {
  readonly sid: number;
  /** The volume's setting as last loaded (reloaded by each heartbeat). */
  readonly format: Format;
  /** A client without a session that refuses mutations with EROFS. */
  readonly readOnly: boolean;
  /** Where the metadata client logs (the layers above log there too). */
  readonly log: Logger;
  lookup(ctx: Context, parent: Ino, name: Buffer): Promise<EntryResult>;
  getattr(ctx: Context, ino: Ino): Promise<Attr>;
  /**
   * A directory's attributes as this client's last committed change left them, with their
   * age in ms, when younger than `maxAgeMs` (own-dir-attrs.ts); no engine access.
   */
  ownDirAttr(ino: Ino, maxAgeMs: number): { attr: Attr; ageMs: number } | undefined;
  setattr(ctx: Context, ino: Ino, req: SetAttrRequest): Promise<Attr>;
  access(ctx: Context, ino: Ino, mask: number): Promise<void>;
  statfs(ctx: Context, ino: Ino): Promise<StatFs>;
  mknod(ctx: Context, parent: Ino, name: Buffer, req: MknodRequest): Promise<EntryResult>;
  mkdir(ctx: Context, parent: Ino, name: Buffer, mode: number, umask?: number): Promise<EntryResult>;
  /** Creates and opens a regular file; EEXIST carries the existing inode in `err.ino`. */
  create(ctx: Context, parent: Ino, name: Buffer, mode: number, umask?: number): Promise<EntryResult>;
  symlink(ctx: Context, parent: Ino, name: Buffer, target: Buffer): Promise<EntryResult>;
  readlink(ctx: Context, ino: Ino): Promise<Buffer>;
  link(ctx: Context, ino: Ino, parent: Ino, name: Buffer): Promise<EntryResult>;
  /** `skipTrash` removes for good even when the volume keeps a trash (rmr --skip-trash). */
  unlink(ctx: Context, parent: Ino, name: Buffer, opts?: RemoveOptions): Promise<void>;
  rmdir(ctx: Context, parent: Ino, name: Buffer, opts?: RemoveOptions): Promise<void>;
  rename(
    ctx: Context,
    srcParent: Ino,
    srcName: Buffer,
    dstParent: Ino,
    dstName: Buffer,
    flags?: number,
  ): Promise<EntryResult>;
  /** `limit`: at most that many entries, in no order (for callers that remove them and ask again). */
  readdir(ctx: Context, ino: Ino, opts?: { plus?: boolean; limit?: number }): Promise<Entry[]>;
  /** flags: O_* open flags; checks permissions, registers the open for sustained inodes. */
  open(ctx: Context, ino: Ino, flags: number): Promise<Attr>;
  close(ino: Ino): Promise<void>;
  readChunk(ino: Ino, indx: number): Promise<Slice[]>;
  /** Commits one uploaded slice (docs/FORMAT.md §4.4). */
  writeSlice(ino: Ino, indx: number, slice: Slice, mtime: Timespec): Promise<void>;
  newSliceId(): Promise<number>;
  truncate(ctx: Context, ino: Ino, length: number, opts?: { viaHandle?: boolean }): Promise<Attr>;
  fallocate(ctx: Context, ino: Ino, mode: number, off: number, size: number): Promise<Attr>;
  copyFileRange(
    ctx: Context,
    fin: Ino,
    offIn: number,
    fout: Ino,
    offOut: number,
    size: number,
  ): Promise<number>;
  getxattr(ctx: Context, ino: Ino, name: string): Promise<Buffer>;
  listxattr(ctx: Context, ino: Ino): Promise<string[]>;
  setxattr(ctx: Context, ino: Ino, name: string, value: Buffer, flags?: number): Promise<void>;
  removexattr(ctx: Context, ino: Ino, name: string): Promise<void>;
  /** POSIX ACL of `ino` (type 1 access, 2 default; src/meta/acl.ts); an empty rule removes it. */
  setFacl(ctx: Context, ino: Ino, type: 1 | 2, rule: AclRule): Promise<Attr>;
  /** ENODATA when `ino` has no such ACL. */
  getFacl(ctx: Context, ino: Ino, type: 1 | 2): Promise<AclRule>;
  flock(ctx: Context, ino: Ino, owner: bigint, type: LockTypeValue, block: boolean): Promise<void>;
  getlk(ctx: Context, ino: Ino, owner: bigint, lock: PosixLock): Promise<PosixLock>;
  setlk(ctx: Context, ino: Ino, owner: bigint, block: boolean, lock: PosixLock): Promise<void>;

  /** Attributes of many inodes in one round trip where possible (no permission check). */
  getattrs(inos: readonly Ino[]): Promise<(Attr | undefined)[]>;
  /** Makes every transaction committed so far durable (fsync: SQLite WAL; no-op elsewhere). */
  sync(): Promise<void>;

  // Session life cycle (JuiceFS: NewSession, FlushSession, CloseSession).
  /** Registers a session (writable clients) and loads caches; `heartbeat` starts the timer. */
  start(info?: Partial<SessionInfo>, opts?: { heartbeat?: boolean }): Promise<void>;
  /** One heartbeat now: session expire, setting reload, usage and quota caches, cleanups. */
  heartbeat(): Promise<void>;
  /** Removes expired trash hours now (normally hourly from the heartbeat). */
  cleanupTrash(force?: boolean): Promise<number>;
  /** Flushes background work, cleans this session (locks, sustained inodes), closes the engine. */
  stop(opts?: { keepEngine?: boolean }): Promise<void>;
  /** All client sessions of the volume (JuiceFS: ListSessions). */
  listSessions(): Promise<SessionRecord[]>;
  /**
   * Continues session `sid` of an earlier process of this client (the supervisor's previous
   * worker) instead of the one `start` registered, so its locks and sustained inodes stay ours.
   */
  adoptSession(sid: number, info: Partial<SessionInfo>): Promise<void>;
  /** Counts an open made by an earlier process of this session (no permission check). */
  adoptOpen(ino: Ino): void;
  /** The flock and POSIX lock owners of an inode, of every session (JuiceFS: ListLocks). */
  listLocks(ino: Ino): Promise<{ flocks: FlockOwner[]; plocks: PlockOwner[] }>;

  // Space: volume capacity and directory quotas (JuiceFS: StatFS, HandleQuota).
  /** The volume's counters (JuiceFS: the usage of StatFS and `status`), not clamped. */
  usage(): Promise<VolumeUsage>;
  /** True when the volume has a capacity or a directory quota (cached): writes must reserve space. */
  hasSpaceLimits(): boolean;
  /** The quota-bearing directories above a file (through every parent of a hard link). */
  quotaDirs(ino: Ino): Promise<Ino[]>;
  /** ENOSPC when `space`/`inodes` more would exceed the volume limits (cached usage). */
  checkCapacity(space: number, inodes: number, op: string): void;
  /** EDQUOT when `space`/`inodes` more would exceed a quota of `dirs` (cached usage). */
  checkQuotas(dirs: readonly Ino[], space: number, inodes: number, op: string): void;
  listQuotas(): Promise<Map<Ino, QuotaRecord>>;
  getQuota(ino: Ino): Promise<QuotaRecord | undefined>;
  /**
   * Sets a directory quota's limits; a limit not given keeps its current value (0 without a
   * quota). The recorded usage is kept, or with `recount` computed by walking the tree below.
   */
  setQuota(
    ino: Ino,
    limits: { maxSpace?: number; maxInodes?: number },
    opts?: { recount?: boolean },
  ): Promise<QuotaRecord>;
  deleteQuota(ino: Ino): Promise<void>;

  // Scans, compaction, dump (JuiceFS: ScanSlices, Compact, DumpMeta).
  /**
   * Calls `onFile` for every distinct file that may own data: reachable from the root or the
   * trash, kept by a session (sustained) or waiting for deletion (delfiles).
   */
  scanFiles(onFile: (f: FileSlices) => Promise<void>): Promise<void>;
  /**
   * Commits a compaction: replaces the first `swap.old.length` records of a chunk with
   * `swap.replacement` iff they are unchanged, registers the new slice and drops a reference
   * of each dropped one. `ok` false when the list changed; `freed`: slices left unreferenced.
   */
  replaceSlices(ino: Ino, indx: number, swap: SliceSwap): Promise<{ ok: boolean; freed: FreedSlice[] }>;
  /**
   * Metadata-only copy of `srcIno` (file, symlink or tree) as `name` in `dstParent`, sharing
   * its slices with one more reference each (JuiceFS: Clone; see clone.ts). EEXIST, EACCES,
   * EPERM (trash), ENOENT; a failure leaves nothing behind.
   */
  clone(ctx: Context, srcIno: Ino, dstParent: Ino, name: Buffer, opts?: CloneOptions): Promise<CloneResult>;
  /** Streams the metadata as JuiceFS JSON (`dump`). */
  dump(out: Writable, opts?: DumpOptions): Promise<void>;

  // Observation (JuiceFS: OnMsg-style hooks and the meta metrics).
  /** `fn` sees each transaction's op and duration in seconds (metrics); one observer. */
  onTxn(fn: (op: string, seconds: number) => void): void;
  /** How often an unreachable or locked engine was waited out and given up on. */
  outageStats(): MetaRetryStats | undefined;
  /** Transactions restarted after a conflict (MetaEngine.txRestarts); undefined when not counted. */
  txRestarts(): number | undefined;
}
