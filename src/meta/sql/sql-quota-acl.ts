/**
 * Accounting and ACL rows of the SQL engine: jfs_dir_stats, jfs_dir_quota,
 * jfs_user_group_quota (qtype 1 user, 2 group) and jfs_acl (docs/FORMAT.md §4.12, §6.2, §6.3).
 *
 * Design: plain functions over an open transaction's connection, called by SqlEngine
 * inside `runTx`. ACL named entries are stored as bare (id u32, perm u16) pairs, with no
 * count prefix; `putAcl` reuses the lowest id holding an identical rule (Go dedups by
 * a client cache, so duplicates from other clients are tolerated, never created here).
 */
import type { DirStat, QuotaRecord } from '../engine.js';
import { decodeAclEntries, encodeAclEntries, type AclRule } from '../encoding.js';
import type { Ino } from '../../base/types.js';
import {
  toBig,
  sql,
  toBuf,
  toNum,
  type SqlConn,
  type SqlDialect,
  type SqlParam,
  type SqlRow,
} from './sql-conn.js';
import type { SqlTables } from './schema.js';

const QUOTA_COLS = 'max_space, max_inodes, used_space, used_inodes';
const QUOTA_SETS =
  'max_space = excluded.max_space, max_inodes = excluded.max_inodes, ' +
  'used_space = excluded.used_space, used_inodes = excluded.used_inodes';

export async function getDirStat(c: SqlConn, t: SqlTables, ino: Ino): Promise<DirStat | undefined> {
  const rows = await c.query(
    sql`SELECT data_length, used_space, used_inodes FROM ${t.dirStats} WHERE inode = ?`,
    [ino],
  );
  const r = rows[0];
  if (!r) return undefined;
  return {
    dataLength: toNum(r['data_length']),
    usedSpace: toNum(r['used_space']),
    usedInodes: toNum(r['used_inodes']),
  };
}

export async function setDirStat(c: SqlConn, t: SqlTables, ino: Ino, s: DirStat): Promise<void> {
  await c.exec(
    sql`INSERT INTO ${t.dirStats} (inode, data_length, used_space, used_inodes) VALUES (?, ?, ?, ?) ON CONFLICT (inode) DO UPDATE SET data_length = excluded.data_length, used_space = excluded.used_space, used_inodes = excluded.used_inodes`,
    [ino, s.dataLength, s.usedSpace, s.usedInodes],
  );
}

export async function listDirQuotas(c: SqlConn, t: SqlTables): Promise<Map<Ino, QuotaRecord>> {
  const rows = await c.query(sql`SELECT inode, ${QUOTA_COLS} FROM ${t.dirQuota}`);
  return new Map(rows.map((r) => [toBig(r['inode']), quotaFromRow(r)]));
}

export async function setDirQuota(c: SqlConn, t: SqlTables, ino: Ino, q: QuotaRecord): Promise<void> {
  await c.exec(
    sql`INSERT INTO ${t.dirQuota} (inode, ${QUOTA_COLS}) VALUES (?, ?, ?, ?, ?) ON CONFLICT (inode) DO UPDATE SET ${QUOTA_SETS}`,
    [ino, ...quotaParams(q)],
  );
}

export async function listUserGroupQuotas(
  c: SqlConn,
  t: SqlTables,
  kind: 'user' | 'group',
): Promise<Map<number, QuotaRecord>> {
  const rows = await c.query(sql`SELECT qkey, ${QUOTA_COLS} FROM ${t.userGroupQuota} WHERE qtype = ?`, [
    qtype(kind),
  ]);
  return new Map(rows.map((r) => [toNum(r['qkey']), quotaFromRow(r)]));
}

export async function setUserGroupQuota(
  c: SqlConn,
  t: SqlTables,
  kind: 'user' | 'group',
  id: number,
  q: QuotaRecord,
): Promise<void> {
  await c.exec(
    sql`INSERT INTO ${t.userGroupQuota} (qtype, qkey, ${QUOTA_COLS}) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (qtype, qkey) DO UPDATE SET ${QUOTA_SETS}`,
    [qtype(kind), id, ...quotaParams(q)],
  );
}

function aclCols(d: SqlDialect): string {
  return `owner, "group", mask, other, ${d.blob('named_users')} AS named_users, ${d.blob('named_groups')} AS named_groups`;
}

export async function getAcl(
  c: SqlConn,
  t: SqlTables,
  d: SqlDialect,
  id: number,
): Promise<AclRule | undefined> {
  const rows = await c.query(sql`SELECT ${aclCols(d)} FROM ${t.acl} WHERE id = ?`, [id]);
  return rows[0] ? aclFromRow(rows[0]) : undefined;
}

export async function putAcl(c: SqlConn, t: SqlTables, d: SqlDialect, rule: AclRule): Promise<number> {
  const rows = await c.query(
    sql`SELECT id, ${aclCols(d)} FROM ${t.acl} WHERE owner = ? AND "group" = ? AND mask = ? AND other = ? ORDER BY id`,
    [rule.owner, rule.group, rule.mask, rule.other],
  );
  const same = rows.find((r) => sameAcl(aclFromRow(r), rule));
  if (same) return toNum(same['id']);
  const ins = await c.query(
    sql`INSERT INTO ${t.acl} (owner, "group", mask, other, named_users, named_groups) VALUES (?, ?, ?, ?, ?, ?) RETURNING id`,
    aclParams(rule),
  );
  return toNum(ins[0]?.['id']);
}

export async function setAcl(c: SqlConn, t: SqlTables, id: number, rule: AclRule): Promise<void> {
  await c.exec(
    sql`INSERT INTO ${t.acl} (id, owner, "group", mask, other, named_users, named_groups) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET owner = excluded.owner, "group" = excluded."group", mask = excluded.mask, other = excluded.other, named_users = excluded.named_users, named_groups = excluded.named_groups`,
    [id, ...aclParams(rule)],
  );
}

function quotaParams(q: QuotaRecord): SqlParam[] {
  return [q.maxSpace, q.maxInodes, q.usedSpace, q.usedInodes];
}

function quotaFromRow(r: SqlRow): QuotaRecord {
  return {
    maxSpace: toNum(r['max_space']),
    maxInodes: toNum(r['max_inodes']),
    usedSpace: toNum(r['used_space']),
    usedInodes: toNum(r['used_inodes']),
  };
}

function qtype(kind: 'user' | 'group'): number {
  return kind === 'user' ? 1 : 2;
}

function aclParams(r: AclRule): SqlParam[] {
  return [r.owner, r.group, r.mask, r.other, encodeAclEntries(r.users), encodeAclEntries(r.groups)];
}

function aclFromRow(r: SqlRow): AclRule {
  return {
    owner: toNum(r['owner']),
    group: toNum(r['group']),
    mask: toNum(r['mask']),
    other: toNum(r['other']),
    users: decodeAclEntries(toBuf(r['named_users'])),
    groups: decodeAclEntries(toBuf(r['named_groups'])),
  };
}

function sameAcl(a: AclRule, b: AclRule): boolean {
  const eq = (x: AclRule['users'], y: AclRule['users']): boolean =>
    x.length === y.length && x.every((e, i) => e.id === y[i]?.id && e.perm === y[i]?.perm);
  return (
    a.owner === b.owner &&
    a.group === b.group &&
    a.mask === b.mask &&
    a.other === b.other &&
    eq(a.users, b.users) &&
    eq(a.groups, b.groups)
  );
}
