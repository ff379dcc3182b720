/**
 * Redis directory stats, quotas (directory / user / group) and ACL rules (docs/FORMAT.md §3.6,
 * §3.7, §5.2), as functions over one connection and the key builder.
 * Design: stats and quota usage are decimal hash fields (HINCRBY-able); quota limits are
 * 16-byte values; ACL rules live in hash `acl` with ids from INCR `aclMaxId`. Identical
 * rules are deduplicated through a per-engine cache loaded from `acl` on first need.
 * Invariants: missing used-counters read as 0; ids of stored rules never change.
 */
import type { DirStat, QuotaRecord } from '../engine.js';
import { decodeAclRule, decodeQuotaLimit, encodeAclRule, encodeQuotaLimit } from '../encoding.js';
import type { AclRule } from '../encoding.js';
import type { Ino } from '../../base/types.js';
import type { RedisConn } from './redis-conn.js';
import type { QuotaKind, RedisKeys } from './redis-keys.js';
import { asBuffer, asInt, pairs } from './redis-reply.js';
import { execMulti } from './redis-scan.js';

export async function getDirStat(conn: RedisConn, keys: RedisKeys, ino: Ino): Promise<DirStat | undefined> {
  const [length, space, inodes] = keys.dirStatKeys();
  const field = ino.toString();
  const [l, s, n] = await Promise.all([
    conn.callBuffer('HGET', length, field),
    conn.callBuffer('HGET', space, field),
    conn.callBuffer('HGET', inodes, field),
  ]);
  if (asBuffer(l) === undefined || asBuffer(s) === undefined || asBuffer(n) === undefined) return undefined;
  return { dataLength: asInt(l), usedSpace: asInt(s), usedInodes: asInt(n) };
}

export async function setDirStat(conn: RedisConn, keys: RedisKeys, ino: Ino, st: DirStat): Promise<void> {
  const [length, space, inodes] = keys.dirStatKeys();
  const f = ino.toString();
  await execMulti(conn, [
    ['HSET', length, f, st.dataLength],
    ['HSET', space, f, st.usedSpace],
    ['HSET', inodes, f, st.usedInodes],
  ]);
}

/** All quotas of a kind, keyed by the decimal field (dir inode, uid or gid). */
export async function listQuotas(
  conn: RedisConn,
  keys: RedisKeys,
  kind: QuotaKind,
): Promise<Map<string, QuotaRecord>> {
  const [limitKey, spaceKey, inodesKey] = keys.quotaKeys(kind);
  const [limits, spaces, inodes] = await Promise.all([
    conn.callBuffer('HGETALL', limitKey),
    conn.callBuffer('HGETALL', spaceKey),
    conn.callBuffer('HGETALL', inodesKey),
  ]);
  const used = (reply: unknown): Map<string, number> =>
    new Map(pairs(reply).map(([f, v]) => [f.toString(), asInt(v)]));
  const usedSpace = used(spaces);
  const usedInodes = used(inodes);
  const out = new Map<string, QuotaRecord>();
  for (const [f, v] of pairs(limits)) {
    if (v.length < 16) continue; // not a limit record: ignore like Go does for bad values
    const field = f.toString();
    const { maxSpace, maxInodes } = decodeQuotaLimit(v);
    out.set(field, {
      maxSpace,
      maxInodes,
      usedSpace: usedSpace.get(field) ?? 0,
      usedInodes: usedInodes.get(field) ?? 0,
    });
  }
  return out;
}

export async function setQuota(
  conn: RedisConn,
  keys: RedisKeys,
  kind: QuotaKind,
  field: string,
  q: QuotaRecord,
): Promise<void> {
  const [limitKey, spaceKey, inodesKey] = keys.quotaKeys(kind);
  await execMulti(conn, [
    ['HSET', limitKey, field, encodeQuotaLimit(q.maxSpace, q.maxInodes)],
    ['HSET', spaceKey, field, q.usedSpace],
    ['HSET', inodesKey, field, q.usedInodes],
  ]);
}

/** ACL rules with a dedup cache (encoded rule hex -> id). */
export class RedisAcls {
  private byRule: Map<string, number> | undefined;

  constructor(
    private readonly conn: RedisConn,
    private readonly keys: RedisKeys,
  ) {}

  async get(id: number): Promise<AclRule | undefined> {
    const b = asBuffer(await this.conn.callBuffer('HGET', this.keys.global('acl'), String(id)));
    return b === undefined ? undefined : decodeAclRule(b);
  }

  async put(rule: AclRule): Promise<number> {
    const enc = encodeAclRule(rule);
    const hex = enc.toString('hex');
    const cache = this.byRule ?? (await this.load());
    const known = cache.get(hex);
    if (known !== undefined) return known;
    for (;;) {
      const id = asInt(await this.conn.call('INCR', this.keys.global('aclMaxId')));
      if (asInt(await this.conn.call('HSETNX', this.keys.global('acl'), String(id), enc)) === 1) {
        cache.set(hex, id);
        return id;
      }
    }
  }

  /** Stores a rule under `id` and raises aclMaxId to at least `id`. */
  async set(id: number, rule: AclRule): Promise<void> {
    const enc = encodeAclRule(rule);
    await this.conn.call('HSET', this.keys.global('acl'), String(id), enc);
    const maxKey = this.keys.global('aclMaxId');
    // Used by load (a single writer on an empty volume): a plain raise is enough.
    if (asInt(await this.conn.call('GET', maxKey)) < id) await this.conn.call('SET', maxKey, id);
    this.byRule?.set(enc.toString('hex'), id);
  }

  clearCache(): void {
    this.byRule = undefined;
  }

  private async load(): Promise<Map<string, number>> {
    const m = new Map<string, number>();
    for (const [f, v] of pairs(await this.conn.callBuffer('HGETALL', this.keys.global('acl')))) {
      const id = Number(f.toString());
      const hex = v.toString('hex');
      const prev = m.get(hex);
      if (prev === undefined || id < prev) m.set(hex, id);
    }
    this.byRule = m;
    return m;
  }
}
