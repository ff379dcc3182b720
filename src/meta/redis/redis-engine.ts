/**
 * The Redis metadata engine: JuiceFS's exact Redis schema (docs/FORMAT.md §5) behind `MetaEngine`.
 * Design: `openRedisEngine` parses the URL, connects (failing fast), and builds the engine
 * from a shared connection (plain commands, read-only transactions) plus a bounded pool of
 * dedicated connections for WATCH/MULTI/EXEC (redis-tx.ts). Key names come from
 * redis-keys.ts; stats, quotas and ACLs from redis-quota-acl.ts.
 * Invariants: counters `nextinode`/`nextchunk` hold the LAST issued id (the contract speaks
 * "next unused", converted here); plain writes create no `sliceRef` entry (missing = one
 * reference); cluster mode prefixes every key with `{DB}`.
 */
import type {
  CounterName,
  DelFileRecord,
  DirEntryRecord,
  DirStat,
  EngineOptions,
  FreedSlice,
  MetaEngine,
  MetaTx,
  QuotaRecord,
  SessionRecord,
  TxOptions,
} from '../engine.js';
import { decodeAttr, decodeEntry, encodeAttr, encodeSlices } from '../encoding.js';
import type { AclRule } from '../encoding.js';
import { CHUNK_SIZE, ROOT_INODE, TRASH_INODE } from '../../base/types.js';
import type { Attr, Ino, Slice } from '../../base/types.js';
import type { Logger } from '../../util/logger.js';
import { MetaRetryPolicy, MetaUnavailableError, type MetaRetryStats } from '../retry-policy.js';
import { closeConn, ConnPool, openClient } from './redis-conn.js';
import { classified, GuardedConn, VolumeGuard } from './redis-guard.js';
import type { OpenedClient, RedisConn } from './redis-conn.js';
import {
  counterOffset,
  delFileMember,
  parseDelFileMember,
  parseSliceRefField,
  RedisKeys,
  sliceRefField,
} from './redis-keys.js';
import * as quota from './redis-quota-acl.js';
import { asArray, asBuffer, asInt, asString, pairs } from './redis-reply.js';
import { execMulti, globEscape, hscanAll, scanKeys } from './redis-scan.js';
import { existingChunks, MAX_CHUNK_INDEX } from './redis-chunks.js';
import { decodeChunkList, dropCommitMarker, runTxn } from './redis-tx.js';
import { KeyLocks } from '../key-locks.js';
import type { RedisTx, TxRunner } from './redis-tx.js';
import { parseRedisUrl } from './redis-url.js';
import type { RedisTarget } from './redis-url.js';

const MGET_BATCH = 4096;
const POOL_SIZE = 8;

export async function openRedisEngine(url: string, options: EngineOptions): Promise<MetaEngine> {
  const target = parseRedisUrl(url, options.password);
  const client = await openClient(target, options.connectTimeoutMs ?? 5000);
  const policy = new MetaRetryPolicy({ ...target.retry, ...options.retry });
  return new RedisEngine(target, client, options.maxRetries ?? 50, policy);
}

export class RedisEngine implements MetaEngine {
  readonly kind = 'redis';
  readonly displayUrl: string;
  readonly keys: RedisKeys;
  private readonly conn: RedisConn;
  private readonly pool: ConnPool;
  private readonly runner: TxRunner;
  private readonly acls: quota.RedisAcls;
  private readonly guard: VolumeGuard;
  private readonly policy: MetaRetryPolicy;
  private closing: Promise<void> | undefined;

  constructor(
    private readonly target: RedisTarget,
    private readonly client: OpenedClient,
    maxRetries: number,
    policy = new MetaRetryPolicy(),
  ) {
    this.displayUrl = target.displayUrl;
    this.keys = new RedisKeys(target.prefix);
    this.policy = policy;
    const what = `metadata engine ${target.displayUrl}`;
    this.guard = new VolumeGuard(this.keys.global('setting'), target.displayUrl);
    this.conn = new GuardedConn(client.conn, client.epoch, this.guard, policy, what);
    this.pool = new ConnPool(() => this.openDedicated(what), POOL_SIZE);
    this.runner = {
      pool: this.pool,
      shared: this.conn,
      keys: this.keys,
      maxRetries,
      conflicts: 0,
      retry: policy,
      what,
      scanNodes: () => client.masters(),
      locks: new KeyLocks(),
    };
    this.acls = new quota.RedisAcls(this.conn, this.keys);
  }

  useLogger(logger: Logger): void {
    this.policy.useLogger(logger);
    this.guard.useLogger(logger);
  }

  outageStats(): MetaRetryStats {
    return this.policy.stats;
  }

  txRestarts(): number {
    return this.runner.conflicts;
  }

  /** A transaction connection: failures classified, the volume checked before first use. */
  private async openDedicated(what: string): Promise<RedisConn> {
    const lost = this.guard.lostError;
    if (lost) throw lost;
    let raw: RedisConn;
    try {
      raw = await this.client.openDedicated();
    } catch (e) {
      throw new MetaUnavailableError(e instanceof Error ? e.message : String(e), false, { cause: e });
    }
    const conn = classified(raw, what);
    try {
      await this.guard.verify(conn);
    } catch (e) {
      raw.disconnect();
      throw e;
    }
    return conn;
  }

  async txn<T>(fn: (tx: MetaTx) => Promise<T>, opts: TxOptions): Promise<T> {
    return (await runTxn(this.runner, fn, opts)).value;
  }

  async getFormatText(): Promise<string | undefined> {
    const text = asString(await this.conn.callBuffer('GET', this.keys.global('setting')));
    if (text !== undefined) this.guard.arm(text); // from now on its absence means lost data
    return text;
  }

  async initVolume(
    formatJson: string,
    opts: { isNew: boolean; rootAttr: Attr; trashAttr?: Attr },
  ): Promise<void> {
    if (opts.trashAttr)
      await this.conn.call('SETNX', this.keys.inode(TRASH_INODE), encodeAttr(opts.trashAttr));
    await this.conn.call('SET', this.keys.global('setting'), formatJson);
    this.guard.arm(formatJson);
    if (opts.isNew) await this.conn.call('SET', this.keys.inode(ROOT_INODE), encodeAttr(opts.rootAttr));
  }

  async allocate(name: 'nextInode' | 'nextChunk', n: number): Promise<number> {
    const last = asInt(await this.conn.call('INCRBY', this.keys.counter(name), n));
    return last - n + 1;
  }

  async getCounter(name: CounterName): Promise<number> {
    return asInt(await this.conn.call('GET', this.keys.counter(name))) + counterOffset(name);
  }

  async setCounter(name: CounterName, value: number): Promise<void> {
    await this.conn.call('SET', this.keys.counter(name), value - counterOffset(name));
  }

  async setCounterIfSmall(name: CounterName, value: number, diff: number): Promise<boolean> {
    const key = this.keys.counter(name);
    const off = counterOffset(name);
    const run = async (tx: RedisTx): Promise<boolean> => {
      const current = asInt(await tx.read(key, 'GET')) + off;
      if (current > value - diff) return false;
      tx.queue('SET', key, value - off);
      return true;
    };
    return (await runTxn(this.runner, run, { op: `setCounterIfSmall ${name}` })).value;
  }

  async newSessionId(): Promise<number> {
    return asInt(await this.conn.call('INCR', this.keys.counter('nextSession')));
  }

  async putSession(sid: number, expire: number, info?: string): Promise<void> {
    const cmds: (string | number)[][] = [['ZADD', this.keys.global('allSessions'), expire, String(sid)]];
    if (info !== undefined) cmds.push(['HSET', this.keys.global('sessionInfos'), String(sid), info]);
    await execMulti(this.conn, cmds);
  }

  async listSessions(): Promise<SessionRecord[]> {
    const [all, infos] = await Promise.all([
      this.conn.callBuffer('ZRANGE', this.keys.global('allSessions'), 0, -1, 'WITHSCORES'),
      this.conn.callBuffer('HGETALL', this.keys.global('sessionInfos')),
    ]);
    const info = new Map(pairs(infos).map(([f, v]) => [f.toString(), v.toString()]));
    return pairs(all).map(([m, score]) => {
      const sid = m.toString();
      const text = info.get(sid);
      return {
        sid: Number(sid),
        expire: Number(score.toString()),
        ...(text === undefined ? {} : { info: text }),
      };
    });
  }

  async deleteSession(sid: number): Promise<void> {
    await execMulti(this.conn, [
      ['ZREM', this.keys.global('allSessions'), String(sid)],
      ['HDEL', this.keys.global('sessionInfos'), String(sid)],
      ['DEL', this.keys.sustained(sid)],
      ['DEL', this.keys.locked(sid)],
    ]);
  }

  async listSustained(sid: number): Promise<Ino[]> {
    const members = asArray(await this.conn.callBuffer('SMEMBERS', this.keys.sustained(sid)));
    return members.flatMap((m) => {
      const s = asString(m);
      return s !== undefined && /^\d+$/.test(s) ? [BigInt(s)] : [];
    });
  }

  async listLockedInodes(sid: number): Promise<Ino[]> {
    const members = asArray(await this.conn.callBuffer('SMEMBERS', this.keys.locked(sid)));
    const out = new Set<Ino>();
    for (const m of members) {
      const ino = this.keys.parseLockKey(asString(m) ?? '');
      if (ino !== undefined) out.add(ino);
    }
    return [...out];
  }

  async listDelFiles(): Promise<DelFileRecord[]> {
    const reply = await this.conn.callBuffer('ZRANGE', this.keys.global('delfiles'), 0, -1, 'WITHSCORES');
    return pairs(reply).flatMap(([m, score]) => {
      const parsed = parseDelFileMember(m.toString()); // legacy members are skipped
      return parsed ? [{ ...parsed, expire: Number(score.toString()) }] : [];
    });
  }

  async removeDelFile(ino: Ino, length: number): Promise<void> {
    await this.conn.call('ZREM', this.keys.global('delfiles'), delFileMember(ino, length));
  }

  async deleteChunk(ino: Ino, indx: number): Promise<FreedSlice[]> {
    const key = this.keys.chunk(ino, indx);
    const { value: slices, replies } = await runTxn(
      this.runner,
      async (tx) => {
        const list = decodeChunkList(await tx.read(key, 'LRANGE', 0, -1), ino, indx).filter((s) => s.id > 0);
        tx.queue('DEL', key);
        for (const s of list)
          tx.queue('HINCRBY', this.keys.global('sliceRef'), sliceRefField(s.id, s.size), -1);
        return list;
      },
      { op: 'deleteChunk' },
    );
    return this.collectFreed(slices, replies.slice(1));
  }

  /** Slices whose HINCRBY -1 reply went below zero; their sliceRef fields are removed. */
  private async collectFreed(
    slices: readonly FreedSlice[],
    replies: readonly unknown[],
  ): Promise<FreedSlice[]> {
    const freed = new Map<string, FreedSlice>();
    slices.forEach((s, i) => {
      if (asInt(replies[i]) < 0) freed.set(sliceRefField(s.id, s.size), { id: s.id, size: s.size });
    });
    if (freed.size > 0) await this.conn.call('HDEL', this.keys.global('sliceRef'), ...freed.keys());
    return [...freed.values()];
  }

  listChunkIndexes(ino: Ino, length: number): Promise<number[]> {
    // Probe 0..length/64MiB as Go does, unless SCAN is cheaper (then: every list it has).
    const last = Math.ceil(length / CHUNK_SIZE);
    return existingChunks(this.conn, this.client.masters(), this.keys, ino, 0, last, MAX_CHUNK_INDEX);
  }

  async replaceSlices(
    ino: Ino,
    indx: number,
    old: readonly Slice[],
    replacement: readonly Slice[],
    newSlice: FreedSlice,
    dropped: readonly FreedSlice[],
  ): Promise<{ ok: boolean; freed: FreedSlice[] }> {
    const key = this.keys.chunk(ino, indx);
    const refs = this.keys.global('sliceRef');
    const want = encodeSlices(old);
    const drops = dropped.filter((s) => s.id > 0);
    const { value: ok, replies } = await runTxn(
      this.runner,
      async (tx) => {
        if (old.length === 0) {
          await tx.read(key, 'EXISTS'); // nothing to compare; just WATCH the list
        } else {
          const raw = asArray(await tx.read(key, 'LRANGE', 0, old.length - 1));
          const have = Buffer.concat(raw.map((b) => asBuffer(b) ?? Buffer.alloc(0)));
          if (raw.length !== old.length || !have.equals(want)) return false;
        }
        tx.queue('LTRIM', key, old.length, -1);
        if (replacement.length > 0) tx.queue('LPUSH', key, ...encodeSlicesReversed(replacement));
        tx.queue('HSET', refs, sliceRefField(newSlice.id, newSlice.size), '0');
        for (const s of drops) tx.queue('HINCRBY', refs, sliceRefField(s.id, s.size), -1);
        return true;
      },
      { op: 'replaceSlices' },
    );
    if (!ok) return { ok: false, freed: [] };
    const first = 2 + (replacement.length > 0 ? 1 : 0);
    return { ok: true, freed: await this.collectFreed(drops, replies.slice(first)) };
  }

  async listOrphanSlices(): Promise<FreedSlice[]> {
    const out: FreedSlice[] = [];
    await hscanAll(this.conn, this.keys.global('sliceRef'), (page) => {
      for (const [f, v] of page) {
        const s = parseSliceRefField(f.toString());
        if (s && asInt(v) < 0) out.push(s);
      }
    });
    return out;
  }

  async getSliceRefs(): Promise<Map<number, number>> {
    const out = new Map<number, number>();
    await hscanAll(this.conn, this.keys.global('sliceRef'), (page) => {
      for (const [f, v] of page) {
        const s = parseSliceRefField(f.toString());
        if (s) out.set(s.id, asInt(v) + 1);
      }
    });
    return out;
  }

  async listEntries(parent: Ino, limit?: number): Promise<DirEntryRecord[]> {
    const out: DirEntryRecord[] = [];
    const max = limit ?? Infinity;
    await hscanAll(
      this.conn,
      this.keys.entries(parent),
      (page) => {
        for (const [name, v] of page) {
          if (out.length >= max) return false;
          out.push({ name, ...decodeEntry(v) });
        }
        return out.length < max;
      },
      Math.min(1000, max),
    );
    return out;
  }

  async getAttrs(inos: readonly Ino[]): Promise<(Attr | undefined)[]> {
    const out: (Attr | undefined)[] = [];
    for (let start = 0; start < inos.length; start += MGET_BATCH) {
      const batch = inos.slice(start, start + MGET_BATCH);
      const values = asArray(await this.conn.callBuffer('MGET', ...batch.map((i) => this.keys.inode(i))));
      batch.forEach((ino, i) => {
        const b = asBuffer(values[i]);
        out.push(b === undefined ? undefined : decodeAttr(b, ino));
      });
    }
    return out;
  }

  getDirStat(ino: Ino): Promise<DirStat | undefined> {
    return quota.getDirStat(this.conn, this.keys, ino);
  }
  setDirStat(ino: Ino, stat: DirStat): Promise<void> {
    return quota.setDirStat(this.conn, this.keys, ino, stat);
  }
  async listDirQuotas(): Promise<Map<Ino, QuotaRecord>> {
    const m = await quota.listQuotas(this.conn, this.keys, 'dir');
    return new Map([...m].map(([k, v]) => [BigInt(k), v]));
  }
  setDirQuota(ino: Ino, q: QuotaRecord): Promise<void> {
    return quota.setQuota(this.conn, this.keys, 'dir', ino.toString(), q);
  }
  async listUserGroupQuotas(kind: 'user' | 'group'): Promise<Map<number, QuotaRecord>> {
    const m = await quota.listQuotas(this.conn, this.keys, kind);
    return new Map([...m].map(([k, v]) => [Number(k), v]));
  }
  setUserGroupQuota(kind: 'user' | 'group', id: number, q: QuotaRecord): Promise<void> {
    return quota.setQuota(this.conn, this.keys, kind, String(id), q);
  }

  getAcl(id: number): Promise<AclRule | undefined> {
    return this.acls.get(id);
  }
  putAcl(rule: AclRule): Promise<number> {
    return this.acls.put(rule);
  }
  setAcl(id: number, rule: AclRule): Promise<void> {
    return this.acls.set(id, rule);
  }

  async isEmpty(): Promise<boolean> {
    if (this.target.mode !== 'cluster') return asInt(await this.conn.call('DBSIZE')) === 0;
    let found = false;
    for (const node of this.client.masters()) {
      await scanKeys(node, `${globEscape(this.keys.prefix)}*`, (keys) => {
        found = keys.length > 0;
        return !found;
      });
      if (found) return false;
    }
    return true;
  }

  async reset(): Promise<void> {
    this.acls.clearCache();
    this.guard.disarm();
    if (this.target.mode !== 'cluster') {
      await this.conn.call('FLUSHDB');
      return;
    }
    for (const node of this.client.masters()) {
      const batches: Buffer[][] = [];
      await scanKeys(node, `${globEscape(this.keys.prefix)}*`, (keys) => {
        if (keys.length > 0) batches.push(keys);
      });
      for (const keys of batches) await node.call('DEL', ...keys);
    }
  }

  close(): Promise<void> {
    this.closing ??= (async () => {
      await this.pool.close(dropCommitMarker);
      await closeConn(this.conn);
    })();
    return this.closing;
  }
}

/** Records last-to-first, so that one LPUSH leaves them first-to-last at the head. */
function encodeSlicesReversed(list: readonly Slice[]): Buffer[] {
  const out: Buffer[] = [];
  for (let i = list.length - 1; i >= 0; i--) {
    const s = list[i];
    if (s) out.push(encodeSlices([s]));
  }
  return out;
}
