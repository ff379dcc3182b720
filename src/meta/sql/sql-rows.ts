/**
 * Column encodings of the SQL engine (docs/FORMAT.md §6.3): jfs_node rows <-> Attr, the
 * microsecond + sub-microsecond time split, flock types and lock owners.
 *
 * Invariants: times are split on the exact nanosecond count with floor division, so the
 * nsec columns are always 0..999 and negative times round-trip; decoding goes through
 * the nanosecond total, so rows Go wrote with truncating division (negative nsec column)
 * decode to the same instant. Inodes stay bigint end to end.
 */
import { FsError, Errno } from '../../base/errno.js';
import type { Attr, FileType, Ino } from '../../base/types.js';
import { toBig, toNum, type SqlParam } from './sql-conn.js';

const NS_PER_US = 1000n;
const NS_PER_S = 1_000_000_000n;

function floorDiv(a: bigint, b: bigint): bigint {
  const q = a / b;
  return a % b !== 0n && a < 0n !== b < 0n ? q - 1n : q;
}

/** (sec, nsec) -> [microseconds, 0..999 nanoseconds]. */
export function splitTime(sec: number, nsec: number): [bigint, bigint] {
  const ns = BigInt(sec) * NS_PER_S + BigInt(nsec);
  const us = floorDiv(ns, NS_PER_US);
  return [us, ns - us * NS_PER_US];
}

/** [microseconds, sub-microsecond nanoseconds] -> (sec, nsec with 0 <= nsec < 1e9). */
export function joinTime(us: unknown, nsec: unknown): { sec: number; nsec: number } {
  const ns = toBig(us, 'time') * NS_PER_US + (nsec === null || nsec === undefined ? 0n : toBig(nsec, 'time'));
  const sec = floorDiv(ns, NS_PER_S);
  return { sec: Number(sec), nsec: Number(ns - sec * NS_PER_S) };
}

/** Column list of a node SELECT (names, never positions: old databases differ in order). */
export const NODE_SELECT =
  'inode, type, flags, mode, uid, gid, atime, mtime, ctime, atimensec, mtimensec, ctimensec, ' +
  'nlink, length, rdev, parent, access_acl_id, default_acl_id, tier_id';

/** A node from positional values in NODE_SELECT order, starting at `at`. */
export function valuesToAttr(v: readonly unknown[], at: number, ino: Ino): Attr {
  const type = toNum(v[at + 1]);
  if (!Number.isInteger(type) || type < 1 || type > 7) {
    throw new FsError(Errno.EIO, {
      op: 'decode node',
      ino,
      message: `EIO: corrupt node row of inode ${ino}: type ${String(v[at + 1])}`,
    });
  }
  const a = joinTime(v[at + 6], v[at + 9]);
  const m = joinTime(v[at + 7], v[at + 10]);
  const c = joinTime(v[at + 8], v[at + 11]);
  const parent = v[at + 15];
  return {
    flags: toNum(v[at + 2]),
    type: type as FileType, // range-checked above
    mode: toNum(v[at + 3]) & 0o7777,
    uid: toNum(v[at + 4]),
    gid: toNum(v[at + 5]),
    atime: a.sec,
    atimensec: a.nsec,
    mtime: m.sec,
    mtimensec: m.nsec,
    ctime: c.sec,
    ctimensec: c.nsec,
    nlink: toNum(v[at + 12]),
    length: toNum(v[at + 13]),
    rdev: toNum(v[at + 14]),
    parent: parent === null || parent === undefined ? 0n : toBig(parent, 'parent'),
    accessAcl: toNum(v[at + 16]),
    defaultAcl: toNum(v[at + 17]),
    tier: toNum(v[at + 18]),
  };
}

const upsertCache = new Map<string, string>();

/** Upsert of a whole node row; parameters from `nodeParams`. */
export function nodeUpsertSql(table: string): string {
  let sql = upsertCache.get(table);
  if (sql === undefined) {
    const cols = NODE_SELECT.split(', ');
    const sets = cols
      .filter((c) => c !== 'inode')
      .map((c) => `${c} = excluded.${c}`)
      .join(', ');
    sql = `INSERT INTO ${table} (${NODE_SELECT}) VALUES (${cols.map(() => '?').join(',')}) ON CONFLICT (inode) DO UPDATE SET ${sets}`;
    upsertCache.set(table, sql);
  }
  return sql;
}

export function nodeParams(ino: Ino, a: Attr): SqlParam[] {
  const [at, atn] = splitTime(a.atime, a.atimensec);
  const [mt, mtn] = splitTime(a.mtime, a.mtimensec);
  const [ct, ctn] = splitTime(a.ctime, a.ctimensec);
  return [
    ino,
    a.type,
    a.flags,
    a.mode & 0o7777,
    a.uid >>> 0,
    a.gid >>> 0,
    at,
    mt,
    ct,
    atn,
    mtn,
    ctn,
    a.nlink,
    a.length,
    a.rdev >>> 0,
    a.parent,
    a.accessAcl,
    a.defaultAcl,
    a.tier,
  ];
}

/** jfs_flock.ltype: the character code of 'R' / 'W'. */
export const LTYPE_READ = 82;
export const LTYPE_WRITE = 87;

export function ltypeToFlock(v: unknown): 'R' | 'W' {
  return toNum(v) === LTYPE_READ ? 'R' : 'W';
}

/** Lock owners are stored as the 64-bit owner reinterpreted as signed int64. */
export function ownerToSql(owner: bigint): bigint {
  return BigInt.asIntN(64, owner);
}

export function ownerFromSql(v: unknown): bigint {
  return BigInt.asUintN(64, toBig(v, 'owner'));
}
