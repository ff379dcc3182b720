/**
 * The engine contract: the small set of storage primitives every metadata engine (redis,
 * sqlite3, mem) implements with the exact keys/tables/encodings of
 * docs/FORMAT.md. All POSIX logic lives once in base-meta.ts on top of it.
 *
 * Transactions: `txn(fn)` runs `fn` with a `MetaTx` atomically. Reads happen immediately
 * (Redis: each read key is WATCHed first); writes are queued and applied at commit
 * (Redis: MULTI/EXEC; SQL: inside BEGIN IMMEDIATE ... COMMIT, may be applied at once).
 * Callers MUST NOT read a key after writing it in the same transaction: whether the read
 * sees the write is engine-specific. On a conflict the engine re-runs `fn` from scratch
 * (bounded retries, jittered backoff), so `fn` must have no side effects outside `tx`.
 * After the retry budget a `TxConflictError` is thrown (mapped to EIO by the base).
 *
 * Numbers: ids returned by `allocate` are "first id of the reserved batch"; counters read
 * with `getCounter` use the dump's meaning (nextInode/nextChunk = next unused id), the
 * engine converts from its own storage convention (Redis: last issued; SQL: next unused).
 */
import type { AclRule } from './encoding.js';
import type { Logger } from '../util/logger.js';
import type { MetaRetryOptions, MetaRetryStats } from './retry-policy.js';
import type { Attr, FileType, Ino, Slice } from '../base/types.js';
import type { DirAttrWrites } from './own-dir-attrs.js';

export type CounterName =
  | 'nextInode'
  | 'nextChunk'
  | 'nextSession'
  | 'nextTrash'
  | 'usedSpace'
  | 'totalInodes'
  | 'lastCleanupSessions'
  | 'lastCleanupFiles'
  | 'lastCleanupTrash'
  | 'nextCleanupSlices'
  | 'lastCleanupChangelog';

export interface DirStat {
  dataLength: number;
  usedSpace: number;
  usedInodes: number;
}

export interface QuotaRecord {
  maxSpace: number;
  maxInodes: number;
  usedSpace: number;
  usedInodes: number;
}

export interface FlockOwner {
  sid: number;
  owner: bigint;
  type: 'R' | 'W';
}

export interface PlockOwner {
  sid: number;
  owner: bigint;
  /** Concatenated 24-byte plock records (docs/FORMAT.md §3.5). */
  records: Buffer;
}

export interface SessionRecord {
  sid: number;
  /** Unix seconds. */
  expire: number;
  /** Session info JSON (docs/FORMAT.md §3.8), if stored. */
  info?: string;
}

export interface DelFileRecord {
  ino: Ino;
  length: number;
  /** Unix seconds of the deletion. */
  expire: number;
}

export interface DentryValue {
  ino: Ino;
  type: FileType;
}

export interface DirEntryRecord extends DentryValue {
  name: Buffer;
}

/** A slice whose last reference is gone: its objects may be deleted. */
export interface FreedSlice {
  id: number;
  size: number;
}

export interface MetaTx {
  /** Directory attributes this transaction wrote (recordDirAttr): read by MetaCore.txn once it commits. */
  readonly dirAttrWrites?: DirAttrWrites | undefined;
  getAttr(ino: Ino): Promise<Attr | undefined>;
  setAttr(ino: Ino, attr: Attr): void;
  deleteAttr(ino: Ino): void;

  getEntry(parent: Ino, name: Buffer): Promise<DentryValue | undefined>;
  /** Optional fast path: the entry and its attr in one round trip (attr absent if dangling). */
  getEntryAttr?(parent: Ino, name: Buffer): Promise<(DentryValue & { attr?: Attr }) | undefined>;
  /**
   * Optional fast path: the parent's attr (absent if missing) and the entry with its attr
   * (absent if missing) in one round trip, for lookups that check the parent.
   */
  getDirEntryAttr?(parent: Ino, name: Buffer): Promise<{ dir?: Attr; entry?: DentryValue & { attr?: Attr } }>;
  setEntry(parent: Ino, name: Buffer, value: DentryValue): void;
  deleteEntry(parent: Ino, name: Buffer): void;
  /** True when the directory has at least one stored entry. */
  hasEntries(parent: Ino): Promise<boolean>;

  /** Hard-link parents: parent inode -> number of links from it (only for attr.parent 0). */
  getParents(ino: Ino): Promise<Map<Ino, number>>;
  /** Redis: HINCRBY p{ino}; SQL: no-op (edges are the source of truth). */
  incrParent(ino: Ino, parent: Ino, delta: number): void;
  deleteParents(ino: Ino): void;

  getSymlink(ino: Ino): Promise<Buffer | undefined>;
  setSymlink(ino: Ino, target: Buffer): void;
  deleteSymlink(ino: Ino): void;

  getXattr(ino: Ino, name: string): Promise<Buffer | undefined>;
  listXattrs(ino: Ino): Promise<Map<string, Buffer>>;
  setXattr(ino: Ino, name: string, value: Buffer): void;
  deleteXattr(ino: Ino, name: string): void;
  deleteAllXattrs(ino: Ino): void;

  /** The chunk's slice records, oldest first; [] when the chunk has no list. */
  getChunk(ino: Ino, indx: number): Promise<Slice[]>;
  /**
   * Indexes in [first, last] whose chunk has a stored list, ascending. Costs what exists,
   * never the width of the range (Redis: pipelined EXISTS for a narrow range, SCAN of
   * `c{ino}_*` for a wide one, as Go's truncate; SQL: one indexed range query). Not
   * WATCHed: callers read the inode first, and every writer of a new list changes it.
   */
  listChunks(ino: Ino, first: number, last: number): Promise<number[]>;
  /** Appends records. `ifExists`: only when the list already exists (RPUSHX semantics). */
  appendSlices(ino: Ino, indx: number, slices: readonly Slice[], opts?: { ifExists?: boolean }): void;
  /** Records that a new slice was committed (SQL: chunk_ref row refs 1; Redis: nothing). */
  newSliceRef(id: number, size: number): void;
  /** Adds `delta` references to an existing slice (copy_file_range, clone). */
  incrSliceRef(id: number, size: number, delta: number): void;

  /** Buffered counter delta (usedSpace, totalInodes). */
  addCounter(name: CounterName, delta: number): void;
  /** Immediate increment returning the new value (nextTrash; not rolled back on retry). */
  incrCounter(name: CounterName, delta: number): Promise<number>;

  initDirStat(ino: Ino): void;
  updateDirStat(ino: Ino, delta: DirStat): void;
  deleteDirStat(ino: Ino): void;
  updateDirQuotaUsage(ino: Ino, space: number, inodes: number): void;
  deleteDirQuota(ino: Ino): void;
  /**
   * Adds usage to a user (uid) or group (gid) quota, creating an unlimited record (max -1)
   * when none exists, as Go's doFlushQuotas does (SQL: UPDATE or INSERT; Redis: HSETNX + HINCRBY).
   */
  updateUserGroupQuotaUsage(kind: 'user' | 'group', id: number, space: number, inodes: number): void;
  /** Removes a user or group quota's limits (-1), keeping its usage, as Go's doDelQuota does. */
  clearUserGroupQuotaLimits(kind: 'user' | 'group', id: number): void;

  addDelFile(ino: Ino, length: number, time: number): void;
  addSustained(sid: number, ino: Ino): void;
  removeSustained(sid: number, ino: Ino): void;

  getFlocks(ino: Ino): Promise<FlockOwner[]>;
  /** type null removes the owner's lock (and the locked{sid} bookkeeping when empty). */
  setFlock(ino: Ino, sid: number, owner: bigint, type: 'R' | 'W' | null): void;
  getPlocks(ino: Ino): Promise<PlockOwner[]>;
  /** Empty records remove the owner's entry. */
  setPlock(ino: Ino, sid: number, owner: bigint, records: Buffer): void;
}

export interface TxOptions {
  /** Name of the operation, for logs and errors. */
  op: string;
  /** Read-only: no commit, no WATCH needed. */
  readonly?: boolean;
}

export class TxConflictError extends Error {
  constructor(op: string, attempts: number) {
    super(`transaction ${op} conflicted ${attempts} times, giving up`);
    this.name = 'TxConflictError';
  }
}

export interface MetaEngine {
  /** 'redis' | 'sqlite3' | 'mem'. */
  readonly kind: string;
  /** The URL with any password replaced by '****'. */
  readonly displayUrl: string;

  txn<T>(fn: (tx: MetaTx) => Promise<T>, opts: TxOptions): Promise<T>;

  /** The stored setting text, or undefined when the database is not formatted. */
  getFormatText(): Promise<string | undefined>;
  /**
   * Writes the setting and, for a new volume, the root inode (and counters on SQL) as
   * `juicefs format` does (docs/FORMAT.md §5.6 / §6.6). Creates the trash inode when TrashDays > 0.
   * `rootAttr`/`trashAttr` carry the creation time.
   */
  initVolume(formatJson: string, opts: { isNew: boolean; rootAttr: Attr; trashAttr?: Attr }): Promise<void>;

  /** Reserves `n` ids of a counter; returns the first id of the batch. */
  allocate(name: 'nextInode' | 'nextChunk', n: number): Promise<number>;
  /** Counter value in dump semantics (see header). Missing = its initial value. */
  getCounter(name: CounterName): Promise<number>;
  /** Overwrites a counter in dump semantics (used by load). */
  setCounter(name: CounterName, value: number): Promise<void>;
  /** Sets the counter to `value` if its current value <= value - diff; true when set. */
  setCounterIfSmall(name: CounterName, value: number, diff: number): Promise<boolean>;

  newSessionId(): Promise<number>;
  /** Creates or refreshes a session: expire and (when given) info. */
  putSession(sid: number, expire: number, info?: string): Promise<void>;
  listSessions(): Promise<SessionRecord[]>;
  /** Removes the session's info, expire, sustained set and lock bookkeeping. */
  deleteSession(sid: number): Promise<void>;
  listSustained(sid: number): Promise<Ino[]>;
  /** All inodes where the session holds flocks or plocks. */
  listLockedInodes(sid: number): Promise<Ino[]>;

  listDelFiles(): Promise<DelFileRecord[]>;
  removeDelFile(ino: Ino, length: number): Promise<void>;

  /**
   * Deletes one chunk list and drops one reference from each slice in it, atomically;
   * returns the slices that have no reference left (their ref bookkeeping removed).
   */
  deleteChunk(ino: Ino, indx: number): Promise<FreedSlice[]>;
  /**
   * Chunk indexes that have a stored list, ascending: at least every one below `length`
   * (SQL and mem: all rows; Redis: probes 0..length/64MiB when that is narrow, else SCANs
   * `c{ino}_*`, so a huge sparse length costs what exists).
   */
  listChunkIndexes(ino: Ino, length: number): Promise<number[]>;
  /**
   * Replaces the first `old.length` records of a chunk with `replacement` iff they are
   * byte-identical to `old` (compaction, docs/FORMAT.md §4.6); registers the new slice and drops
   * one reference of each id in `dropped`. Returns false when the list changed, and the
   * slices freed by the drop.
   */
  replaceSlices(
    ino: Ino,
    indx: number,
    old: readonly Slice[],
    replacement: readonly Slice[],
    newSlice: FreedSlice,
    dropped: readonly FreedSlice[],
  ): Promise<{ ok: boolean; freed: FreedSlice[] }>;
  /** Slices whose refcount is at or below zero (leftovers for cleanup). */
  listOrphanSlices(): Promise<FreedSlice[]>;
  /** Slice reference counts for dump/fsck: total references of each slice with an entry. */
  getSliceRefs(): Promise<Map<number, number>>;

  /**
   * Entries of a directory (unordered): all of them, or at most `limit` (some of them, for
   * callers that remove what they get and ask again, as rmr does, with memory bounded by
   * the batch instead of by the directory).
   */
  listEntries(parent: Ino, limit?: number): Promise<DirEntryRecord[]>;
  /** Attrs of many inodes in one round trip where possible. */
  getAttrs(inos: readonly Ino[]): Promise<(Attr | undefined)[]>;

  getDirStat(ino: Ino): Promise<DirStat | undefined>;
  setDirStat(ino: Ino, stat: DirStat): Promise<void>;
  listDirQuotas(): Promise<Map<Ino, QuotaRecord>>;
  setDirQuota(ino: Ino, quota: QuotaRecord): Promise<void>;
  listUserGroupQuotas(kind: 'user' | 'group'): Promise<Map<number, QuotaRecord>>;
  setUserGroupQuota(kind: 'user' | 'group', id: number, quota: QuotaRecord): Promise<void>;

  /** ACL rules by id (docs/FORMAT.md §3.7). */
  getAcl(id: number): Promise<AclRule | undefined>;
  /** Stores a rule under a new id (or returns an existing identical one). */
  putAcl(rule: AclRule): Promise<number>;
  /** Stores a rule under a given id (load). */
  setAcl(id: number, rule: AclRule): Promise<void>;

  /**
   * Makes every transaction committed so far durable against power loss (fsync). Engines
   * whose commits are already durable (or whose durability is the server's) omit it.
   */
  sync?(): Promise<void>;

  /** True when the database holds no volume data at all (load requires it). */
  isEmpty(): Promise<boolean>;
  /** Where the engine logs outages, retries and lost data (set by the client core). */
  useLogger?(logger: Logger): void;
  /** How often an unreachable or locked engine was waited out, and given up on (metrics). */
  outageStats?(): MetaRetryStats;
  /**
   * Transactions run again after a conflict with another client (Redis WATCH, SQL
   * serialization failure or deadlock, SQLite busy), since the engine opened: JuiceFS's
   * `juicefs_transaction_restart`.
   */
  txRestarts?(): number;
  /** Removes every key/table row of the volume (tests, destroy). */
  reset(): Promise<void>;
  close(): Promise<void>;
}

export interface EngineOptions {
  /** Redis/SQL: give up connecting after this many milliseconds. */
  connectTimeoutMs?: number;
  /** Max transaction attempts before TxConflictError (default 50). */
  maxRetries?: number;
  /** How long an unreachable or locked engine is waited out (retry-policy.ts). */
  retry?: MetaRetryOptions;
  /** Redis: password used when the URL carries none (the CLI reads REDIS_PASSWORD / META_PASSWORD). */
  password?: string;
}
