/**
 * Optimistic Redis transactions (docs/FORMAT.md §5.3): `RedisTx` implements `MetaTx` on one
 * dedicated connection, `runTxn` drives the WATCH / MULTI / EXEC retry loop.
 * Design: each read WATCHes its key first (WATCH and the read are written back to back,
 * one round trip); writes are queued as raw commands and sent in one MULTI/EXEC. EXEC
 * returning null is a conflict: the whole `fn` re-runs after a random 0..(i+1)²-1 ms sleep.
 * Invariants: a connection always leaves `runTxn` un-WATCHed (EXEC or UNWATCH), or it is
 * dropped from the pool; read-only transactions use the shared connection, no WATCH.
 *
 * Commits whose reply was lost (the server was killed, a Sentinel failover, a dropped link):
 * the EXEC may or may not have been applied, so neither "retry" nor "success" is safe to
 * assume. Each transaction connection owns a marker key (`tjfs-commit-{id}`, TTL 10 minutes,
 * deleted when the engine closes)
 * that every transaction WATCHes with its first read and sets to its sequence number as the
 * last command of its MULTI. After a lost reply, the marker is read and overwritten in one
 * script on the shared connection (which waits out the failover): the old value equal to
 * the sequence number means the transaction was applied (its value is returned; the EXEC
 * replies are unknown and read as empty); anything else means it was not, and the overwrite
 * makes a late EXEC still in flight fail its WATCH, so running the transaction again is safe.
 * A failover that lost the commit (asynchronous replication) reads as "not applied", which
 * it is on the new master.
 */
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { TxConflictError } from '../engine.js';
import type {
  CounterName,
  DentryValue,
  DirStat,
  FlockOwner,
  MetaTx,
  PlockOwner,
  TxOptions,
} from '../engine.js';
import {
  decodeAttr,
  decodeEntry,
  decodeSlice,
  encodeAttr,
  encodeEntry,
  encodeQuotaLimit,
  encodeSlice,
  lockOwnerField,
  parseLockOwnerField,
  SLICE_BYTES,
} from '../encoding.js';
import { FsError, Errno } from '../../base/errno.js';
import { MetaUnavailableError, type MetaRetryPolicy } from '../retry-policy.js';
import type { Attr, Ino, Slice } from '../../base/types.js';
import type { Arg, ConnPool, RedisConn } from './redis-conn.js';
import { existingChunks } from './redis-chunks.js';
import { counterOffset, delFileMember, sliceRefField } from './redis-keys.js';
import type { RedisKeys } from './redis-keys.js';
import type { KeyLocks } from '../key-locks.js';
import { lookupScript, type LookupReply } from './redis-lookup.js';
import { asBuffer, asInt, pairs } from './redis-reply.js';
import { recordDirAttr } from '../own-dir-attrs.js';

/** How long a commit marker outlives its connection's last transaction. */
const MARKER_TTL_MS = 600_000;

/** Returns the marker's old value and overwrites it, so that a late EXEC fails its WATCH. */
const FENCE_SCRIPT = `local v = redis.call('GET', KEYS[1])
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return v`;

/** A transaction's commit marker: the connection's key and this transaction's number. */
export interface CommitMarker {
  key: string;
  seq: number;
}

/** Each transaction connection's marker key and last sequence number. */
const markers = new WeakMap<RedisConn, CommitMarker>();

function nextMarker(conn: RedisConn, keys: RedisKeys): CommitMarker {
  let m = markers.get(conn);
  if (!m) {
    m = { key: keys.commitMarker(randomBytes(8).toString('hex')), seq: 0 };
    markers.set(conn, m);
  }
  m.seq++;
  return { key: m.key, seq: m.seq };
}

/** Deletes a connection's marker (the engine is closing; nothing of tjfs's own stays behind). */
export async function dropCommitMarker(conn: RedisConn): Promise<void> {
  const m = markers.get(conn);
  if (m) await conn.call('DEL', m.key);
}

/** The EXEC was sent and its reply lost: whether it was applied is resolved by `runTxn`. */
export class UnsureCommitError extends Error {
  /** The transaction function's value, returned when the commit turns out applied. */
  value: unknown;
  constructor(
    readonly marker: CommitMarker,
    readonly writes: number,
    readonly lost: MetaUnavailableError,
  ) {
    super(lost.message, { cause: lost });
    this.name = 'UnsureCommitError';
  }
}

export class RedisTx implements MetaTx {
  dirAttrWrites: Map<Ino, Attr | undefined> | undefined;
  /** Queued writes: [command, ...args]. */
  readonly writes: Arg[][] = [];
  private readonly watched = new Set<string>();
  /** Lock hashes read in this transaction (field -> value), kept current by set*lock. */
  private readonly lockState = new Map<string, Map<string, Buffer>>();
  /** Unlocks on lock hashes not read in this tx: locked{sid} is settled at commit. */
  private readonly pendingUnlocks: { key: string; sid: number }[] = [];

  constructor(
    readonly conn: RedisConn,
    readonly keys: RedisKeys,
    readonly readonly: boolean,
    readonly op: string,
    /** The nodes a SCAN must visit (the master nodes; the connection itself when standalone). */
    private readonly scanNodes: () => readonly RedisConn[] = () => [conn],
    /** Set by the last command of the MULTI, WATCHed with the first read (see the header). */
    private readonly marker?: CommitMarker,
    /** Takes this process's queue of the first key read (key-locks.ts); every read waits for it. */
    private readonly lockFirst?: (key: string) => Promise<void>,
  ) {}

  /** Runs a read command on `key`, WATCHing the key first (once) in a writable tx. */
  async read(key: string, command: string, ...args: Arg[]): Promise<unknown> {
    if (this.readonly) return this.conn.callBuffer(command, key, ...args);
    if (this.lockFirst) await this.lockFirst(key);
    if (this.watched.has(key)) return this.conn.callBuffer(command, key, ...args);
    this.watched.add(key);
    const [, reply] = await Promise.all([
      this.conn.call('WATCH', key, ...this.unwatchedMarker()),
      this.conn.callBuffer(command, key, ...args),
    ]);
    return reply;
  }

  /** The marker key the first time it is asked for (to be WATCHed then), else nothing. */
  private unwatchedMarker(): string[] {
    if (!this.marker || this.watched.has(this.marker.key)) return [];
    this.watched.add(this.marker.key);
    return [this.marker.key];
  }

  queue(command: string, ...args: Arg[]): void {
    if (this.readonly) throw new Error(`redis: write ${command} in read-only transaction ${this.op}`);
    this.writes.push([command, ...args]);
  }

  /** Sends the queued writes; null on a WATCH conflict, else the EXEC replies. */
  async commit(): Promise<unknown[] | null> {
    await this.settlePendingUnlocks();
    if (this.writes.length === 0) {
      if (this.watched.size > 0) await this.conn.call('UNWATCH');
      return [];
    }
    const multi = this.conn.multi();
    for (const [command, ...args] of this.writes) multi.call(String(command), ...args);
    if (this.marker) {
      const unwatched = this.unwatchedMarker();
      // Written before the MULTI on the same connection; its own failure shows in the EXEC's.
      if (unwatched.length > 0) this.conn.call('WATCH', ...unwatched).catch(() => undefined);
      multi.call('SET', this.marker.key, String(this.marker.seq), 'PX', MARKER_TTL_MS);
    }
    let replies: [Error | null, unknown][] | null;
    try {
      replies = await multi.exec();
    } catch (e) {
      if (this.marker && e instanceof MetaUnavailableError && e.ambiguous)
        throw new UnsureCommitError(this.marker, this.writes.length, e);
      throw e;
    }
    if (replies === null) return null;
    return replies.slice(0, this.writes.length).map(([err, value], i) => {
      if (err) {
        const command = String(this.writes[i]?.[0]);
        throw new FsError(Errno.EIO, {
          op: this.op,
          cause: err,
          message: `EIO: redis ${command} failed in ${this.op}: ${err.message}`,
        });
      }
      return value;
    });
  }

  async getAttr(ino: Ino): Promise<Attr | undefined> {
    const b = asBuffer(await this.read(this.keys.inode(ino), 'GET'));
    return b === undefined ? undefined : decodeAttr(b, ino);
  }
  setAttr(ino: Ino, attr: Attr): void {
    this.queue('SET', this.keys.inode(ino), encodeAttr(attr));
    this.dirAttrWrites = recordDirAttr(this.dirAttrWrites, ino, attr);
  }
  deleteAttr(ino: Ino): void {
    this.queue('DEL', this.keys.inode(ino));
    this.dirAttrWrites = recordDirAttr(this.dirAttrWrites, ino, undefined);
  }

  async getEntry(parent: Ino, name: Buffer): Promise<DentryValue | undefined> {
    const b = asBuffer(await this.read(this.keys.entries(parent), 'HGET', name));
    return b === undefined ? undefined : decodeEntry(b);
  }
  /** Read-only, standalone: dentry and attr in one round trip (redis-lookup.ts). */
  async getEntryAttr(parent: Ino, name: Buffer): Promise<(DentryValue & { attr?: Attr }) | undefined> {
    if (!this.scripted()) {
      const e = await this.getEntry(parent, name);
      if (!e) return undefined;
      const attr = await this.getAttr(e.ino);
      return attr ? { ...e, attr } : e;
    }
    return this.scriptedEntry(
      await lookupScript(this.conn, this.keys.entries(parent), name, this.inodePrefix()),
    );
  }

  /** Read-only, standalone: the parent's attr, the dentry and its attr in one round trip. */
  async getDirEntryAttr(
    parent: Ino,
    name: Buffer,
  ): Promise<{ dir?: Attr; entry?: DentryValue & { attr?: Attr } }> {
    if (!this.scripted()) {
      const [dir, entry] = await Promise.all([this.getAttr(parent), this.getEntryAttr(parent, name)]);
      return { ...(dir ? { dir } : {}), ...(entry ? { entry } : {}) };
    }
    const r = await lookupScript(this.conn, this.keys.entries(parent), name, this.inodePrefix(), parent);
    const entry = await this.scriptedEntry(r);
    return {
      ...(r.parent ? { dir: decodeAttr(r.parent, parent) } : {}),
      ...(entry ? { entry } : {}),
    };
  }

  /** Whether the lookup script can run: read-only, and key names without a cluster prefix. */
  private scripted(): boolean {
    return this.readonly && this.keys.prefix === '';
  }

  private inodePrefix(): string {
    return this.keys.inode(0n).slice(0, -1);
  }

  private async scriptedEntry(r: LookupReply): Promise<(DentryValue & { attr?: Attr }) | undefined> {
    if (!r.entry) return undefined;
    const e = decodeEntry(r.entry);
    const b =
      r.attr ??
      (r.attrSkipped ? asBuffer(await this.conn.callBuffer('GET', this.keys.inode(e.ino))) : undefined);
    return b ? { ...e, attr: decodeAttr(b, e.ino) } : e;
  }

  setEntry(parent: Ino, name: Buffer, value: DentryValue): void {
    this.queue('HSET', this.keys.entries(parent), name, encodeEntry(value.type, value.ino));
  }
  deleteEntry(parent: Ino, name: Buffer): void {
    this.queue('HDEL', this.keys.entries(parent), name);
  }
  async hasEntries(parent: Ino): Promise<boolean> {
    return asInt(await this.read(this.keys.entries(parent), 'HLEN')) > 0;
  }

  async getParents(ino: Ino): Promise<Map<Ino, number>> {
    const out = new Map<Ino, number>();
    for (const [f, v] of pairs(await this.read(this.keys.parents(ino), 'HGETALL'))) {
      const n = asInt(v);
      if (n > 0) out.set(BigInt(f.toString()), n);
    }
    return out;
  }
  incrParent(ino: Ino, parent: Ino, delta: number): void {
    this.queue('HINCRBY', this.keys.parents(ino), parent.toString(), delta);
  }
  deleteParents(ino: Ino): void {
    this.queue('DEL', this.keys.parents(ino));
  }

  async getSymlink(ino: Ino): Promise<Buffer | undefined> {
    return asBuffer(await this.read(this.keys.symlink(ino), 'GET'));
  }
  setSymlink(ino: Ino, target: Buffer): void {
    this.queue('SET', this.keys.symlink(ino), target);
  }
  deleteSymlink(ino: Ino): void {
    this.queue('DEL', this.keys.symlink(ino));
  }

  async getXattr(ino: Ino, name: string): Promise<Buffer | undefined> {
    return asBuffer(await this.read(this.keys.xattrs(ino), 'HGET', name));
  }
  async listXattrs(ino: Ino): Promise<Map<string, Buffer>> {
    const out = new Map<string, Buffer>();
    for (const [f, v] of pairs(await this.read(this.keys.xattrs(ino), 'HGETALL'))) out.set(f.toString(), v);
    return out;
  }
  setXattr(ino: Ino, name: string, value: Buffer): void {
    this.queue('HSET', this.keys.xattrs(ino), name, value);
  }
  deleteXattr(ino: Ino, name: string): void {
    this.queue('HDEL', this.keys.xattrs(ino), name);
  }
  deleteAllXattrs(ino: Ino): void {
    this.queue('DEL', this.keys.xattrs(ino));
  }

  async getChunk(ino: Ino, indx: number): Promise<Slice[]> {
    return decodeChunkList(await this.read(this.keys.chunk(ino, indx), 'LRANGE', 0, -1), ino, indx);
  }
  listChunks(ino: Ino, first: number, last: number): Promise<number[]> {
    return existingChunks(this.conn, this.scanNodes(), this.keys, ino, first, last);
  }
  appendSlices(ino: Ino, indx: number, slices: readonly Slice[], opts?: { ifExists?: boolean }): void {
    if (slices.length === 0) return;
    this.queue(opts?.ifExists ? 'RPUSHX' : 'RPUSH', this.keys.chunk(ino, indx), ...slices.map(encodeSlice));
  }
  newSliceRef(_id: number, _size: number): void {
    // Redis: a missing sliceRef field means one reference; plain writes create no entry.
  }
  incrSliceRef(id: number, size: number, delta: number): void {
    this.queue('HINCRBY', this.keys.global('sliceRef'), sliceRefField(id, size), delta);
  }

  addCounter(name: CounterName, delta: number): void {
    if (delta !== 0) this.queue('INCRBY', this.keys.counter(name), delta);
  }
  async incrCounter(name: CounterName, delta: number): Promise<number> {
    return asInt(await this.conn.call('INCRBY', this.keys.counter(name), delta)) + counterOffset(name);
  }

  initDirStat(ino: Ino): void {
    for (const key of this.keys.dirStatKeys()) this.queue('HSET', key, ino.toString(), '0');
  }
  updateDirStat(ino: Ino, delta: DirStat): void {
    // Like Go's flush: all three fields together (a zero delta still creates the field).
    if (delta.dataLength === 0 && delta.usedSpace === 0 && delta.usedInodes === 0) return;
    const [length, space, inodes] = this.keys.dirStatKeys();
    this.queue('HINCRBY', length, ino.toString(), delta.dataLength);
    this.queue('HINCRBY', space, ino.toString(), delta.usedSpace);
    this.queue('HINCRBY', inodes, ino.toString(), delta.usedInodes);
  }
  deleteDirStat(ino: Ino): void {
    for (const key of this.keys.dirStatKeys()) this.queue('HDEL', key, ino.toString());
  }
  updateDirQuotaUsage(ino: Ino, space: number, inodes: number): void {
    if (space === 0 && inodes === 0) return;
    const [, usedSpace, usedInodes] = this.keys.quotaKeys('dir');
    this.queue('HINCRBY', usedSpace, ino.toString(), space);
    this.queue('HINCRBY', usedInodes, ino.toString(), inodes);
  }
  deleteDirQuota(ino: Ino): void {
    for (const key of this.keys.quotaKeys('dir')) this.queue('HDEL', key, ino.toString());
  }
  updateUserGroupQuotaUsage(kind: 'user' | 'group', id: number, space: number, inodes: number): void {
    if (space === 0 && inodes === 0) return;
    const [limits, usedSpace, usedInodes] = this.keys.quotaKeys(kind);
    this.queue('HSETNX', limits, String(id), encodeQuotaLimit(-1, -1));
    this.queue('HINCRBY', usedSpace, String(id), space);
    this.queue('HINCRBY', usedInodes, String(id), inodes);
  }
  clearUserGroupQuotaLimits(kind: 'user' | 'group', id: number): void {
    this.queue('HSET', this.keys.quotaKeys(kind)[0], String(id), encodeQuotaLimit(-1, -1));
  }

  addDelFile(ino: Ino, length: number, time: number): void {
    this.queue('ZADD', this.keys.global('delfiles'), time, delFileMember(ino, length));
  }
  addSustained(sid: number, ino: Ino): void {
    this.queue('SADD', this.keys.sustained(sid), ino.toString());
  }
  removeSustained(sid: number, ino: Ino): void {
    this.queue('SREM', this.keys.sustained(sid), ino.toString());
  }

  async getFlocks(ino: Ino): Promise<FlockOwner[]> {
    const state = await this.readLocks(this.keys.flock(ino));
    const out: FlockOwner[] = [];
    for (const [field, v] of state) {
      const { sid, owner } = parseLockOwnerField(field);
      out.push({ sid, owner, type: v.toString() === 'W' ? 'W' : 'R' });
    }
    return out;
  }
  setFlock(ino: Ino, sid: number, owner: bigint, type: 'R' | 'W' | null): void {
    this.setLock(this.keys.flock(ino), sid, owner, type === null ? undefined : Buffer.from(type));
  }
  async getPlocks(ino: Ino): Promise<PlockOwner[]> {
    const state = await this.readLocks(this.keys.plock(ino));
    return [...state].map(([field, records]) => ({ ...parseLockOwnerField(field), records }));
  }
  setPlock(ino: Ino, sid: number, owner: bigint, records: Buffer): void {
    this.setLock(this.keys.plock(ino), sid, owner, records.length === 0 ? undefined : records);
  }

  private async readLocks(key: string): Promise<Map<string, Buffer>> {
    const state = new Map<string, Buffer>();
    for (const [f, v] of pairs(await this.read(key, 'HGETALL'))) state.set(f.toString(), v);
    this.lockState.set(key, state);
    return state;
  }

  /**
   * HSET/HDEL an owner's lock and keep locked{sid}: SADD on set; SREM once no field of the
   * session remains in the hash (decided now if the hash was read, else at commit).
   */
  private setLock(key: string, sid: number, owner: bigint, value: Buffer | undefined): void {
    const field = lockOwnerField(sid, owner);
    const state = this.lockState.get(key);
    if (value !== undefined) {
      this.queue('HSET', key, field, value);
      this.queue('SADD', this.keys.locked(sid), key);
      state?.set(field, value);
      return;
    }
    this.queue('HDEL', key, field);
    if (!state) {
      this.pendingUnlocks.push({ key, sid });
      return;
    }
    state.delete(field);
    if (!hasSessionField(state, sid)) this.queue('SREM', this.keys.locked(sid), key);
  }

  /**
   * For unlocks whose lock hash was not read: read (and WATCH) it now, replay this tx's
   * queued HSET/HDEL on it, and SREM the key from locked{sid} when no field of sid is left.
   */
  private async settlePendingUnlocks(): Promise<void> {
    for (const { key, sid } of this.pendingUnlocks.splice(0)) {
      const state = new Map<string, Buffer>();
      for (const [f, v] of pairs(await this.read(key, 'HGETALL'))) state.set(f.toString(), v);
      for (const [command, k, field, value] of this.writes) {
        if (k !== key || typeof field !== 'string') continue;
        if (command === 'HDEL') state.delete(field);
        else if (command === 'HSET' && Buffer.isBuffer(value)) state.set(field, value);
      }
      this.lockState.set(key, state);
      if (!hasSessionField(state, sid)) this.queue('SREM', this.keys.locked(sid), key);
    }
  }
}

function hasSessionField(state: ReadonlyMap<string, Buffer>, sid: number): boolean {
  const prefix = `${sid}_`;
  return [...state.keys()].some((f) => f.startsWith(prefix));
}

/** Decodes an LRANGE reply of a chunk; any element not 24 bytes long is EIO. */
export function decodeChunkList(reply: unknown, ino: Ino, indx: number): Slice[] {
  const out: Slice[] = [];
  for (const el of Array.isArray(reply) ? reply : []) {
    const b = asBuffer(el);
    if (b === undefined || b.length !== SLICE_BYTES) {
      throw new FsError(Errno.EIO, {
        op: 'read chunk',
        ino,
        message: `EIO: corrupt slice record in chunk ${indx} of inode ${ino}: ${b?.length ?? 0} bytes`,
      });
    }
    out.push(decodeSlice(b));
  }
  return out;
}

export interface TxRunner {
  pool: ConnPool;
  /** Shared connection for read-only transactions. */
  shared: RedisConn;
  keys: RedisKeys;
  /** WATCH conflicts tolerated before TxConflictError. */
  maxRetries: number;
  /** WATCH conflicts seen (each one re-runs the transaction). */
  conflicts: number;
  /** How an unreachable server is waited out (whole transactions are retried). */
  retry: MetaRetryPolicy;
  /** Names the engine in log lines. */
  what: string;
  /** Master nodes for SCAN (standalone: the shared connection). */
  scanNodes?: () => readonly RedisConn[];
  /** This process's write transactions, queued by the first key they read. */
  locks?: KeyLocks;
}

/** UNWATCH; false when the connection is unusable (it must then be dropped). */
async function unwatch(conn: RedisConn): Promise<boolean> {
  try {
    await conn.call('UNWATCH');
    return true;
  } catch {
    return false;
  }
}

/**
 * Runs `fn` as an optimistic transaction; returns its value and the EXEC replies. While the
 * server is unreachable the whole transaction runs again (fresh reads, fresh WATCHes) per
 * the retry policy; an EXEC whose reply was lost is resolved by its commit marker first
 * (see the header): applied, it is done; not applied, it runs again.
 */
export async function runTxn<T>(
  runner: TxRunner,
  fn: (tx: RedisTx) => Promise<T>,
  opts: TxOptions,
): Promise<{ value: T; replies: unknown[] }> {
  if (opts.readonly) {
    return {
      value: await fn(new RedisTx(runner.shared, runner.keys, true, opts.op, runner.scanNodes)),
      replies: [],
    };
  }
  return runner.retry.run(opts.op, runner.what, async () => {
    try {
      return await runTxnOnce(runner, fn, opts);
    } catch (e) {
      if (!(e instanceof UnsureCommitError)) throw e;
      if (!(await wasApplied(runner, e))) throw new MetaUnavailableError(`${e.message} (not applied)`, false);
      // Applied: the EXEC replies are lost; callers read them as empty (see the header).
      return { value: e.value as T, replies: new Array<unknown>(e.writes).fill(undefined) };
    }
  });
}

/** Reads and fences a lost commit's marker on the shared connection (it waits out outages). */
async function wasApplied(runner: TxRunner, e: UnsureCommitError): Promise<boolean> {
  let before: unknown;
  try {
    before = await runner.shared.call('EVAL', FENCE_SCRIPT, 1, e.marker.key, 'fenced', MARKER_TTL_MS);
  } catch (err) {
    if (err instanceof FsError && err.errno !== Errno.EIO) throw err;
    const why = err instanceof Error ? err.message : String(err);
    throw new MetaUnavailableError(`${e.message}; checking whether it was applied failed: ${why}`, true);
  }
  return asBuffer(before)?.toString() === String(e.marker.seq);
}

async function runTxnOnce<T>(
  runner: TxRunner,
  fn: (tx: RedisTx) => Promise<T>,
  opts: TxOptions,
): Promise<{ value: T; replies: unknown[] }> {
  const conn = await runner.pool.acquire();
  let broken = false;
  // The first key read is queued for once and held across conflicts, until the end.
  const hold = runner.locks?.holder();
  try {
    for (let attempt = 0; attempt < runner.maxRetries; attempt++) {
      const tx = new RedisTx(
        conn,
        runner.keys,
        false,
        opts.op,
        runner.scanNodes,
        nextMarker(conn, runner.keys),
        hold?.take,
      );
      let value: T | undefined;
      let replies: unknown[] | null;
      try {
        value = await fn(tx);
        replies = await tx.commit();
      } catch (e) {
        broken = !(await unwatch(conn));
        if (e instanceof UnsureCommitError) e.value = value;
        throw e;
      }
      if (replies !== null) return { value, replies };
      runner.conflicts++;
      // EXEC already dropped the WATCHes; UNWATCH anyway (cheap, and keeps the invariant obvious).
      broken = !(await unwatch(conn));
      if (broken) break;
      await sleep(Math.floor(Math.random() * (attempt + 1) ** 2));
    }
    // EXEC answered "not applied" before the connection broke: running again is safe.
    if (broken) throw new MetaUnavailableError(`redis connection lost in ${opts.op}`, false);
    throw new TxConflictError(opts.op, runner.maxRetries);
  } finally {
    runner.pool.release(conn, broken);
    hold?.release();
  }
}
