/**
 * `MetaTx` over SQL rows (docs/FORMAT.md §6.3, §6.5), shared by every SQL dialect.
 *
 * Design: reads run at once on the transaction's connection; writes are queued as
 * single parameterized statements and run in order by `flush()` just before COMMIT (so
 * the void write methods need no driver round trip, and a Postgres driver can reuse this
 * class as is). `incrCounter` is the only write applied immediately: its new value is
 * the result. Every statement is independent of earlier queued ones, which is what the
 * contract's "no read after write" rule allows.
 * Invariants: entry names and symlink/xattr values are bound as Buffer (BLOB); binary
 * columns are read through `dialect.blob()` (SQLite stores `||` results as TEXT).
 */
import type { CounterName, DentryValue, DirStat, FlockOwner, MetaTx, PlockOwner } from '../engine.js';
import { decodeSlices, encodeSlices } from '../encoding.js';
import type { Attr, FileType, Ino, Slice } from '../../base/types.js';
import {
  firstRow,
  sql,
  toBig,
  toBuf,
  toNum,
  toStr,
  type SqlConn,
  type SqlDialect,
  type SqlParam,
} from './sql-conn.js';
import type { SqlTables } from './schema.js';
import {
  LTYPE_READ,
  LTYPE_WRITE,
  NODE_SELECT,
  ltypeToFlock,
  nodeParams,
  nodeUpsertSql,
  ownerFromSql,
  ownerToSql,
  valuesToAttr,
} from './sql-rows.js';
import { recordDirAttr } from '../own-dir-attrs.js';

/** NODE_SELECT qualified with the node table's alias `n`. */
const JOINED_NODE_COLS = NODE_SELECT.split(',')
  .map((c) => `n.${c.trim()}`)
  .join(', ');

interface PendingWrite {
  sql: string;
  params: SqlParam[];
}

/** Reads a counter inside a transaction and adds `delta`; returns the new value. */
export async function incrCounterIn(
  conn: SqlConn,
  t: SqlTables,
  name: string,
  delta: number,
): Promise<number> {
  const rows = await conn.query(sql`SELECT value FROM ${t.counter} WHERE name = ?`, [name]);
  const row = rows[0];
  const v = (row ? toBig(row['value']) : 0n) + BigInt(delta);
  if (row) await conn.exec(sql`UPDATE ${t.counter} SET value = ? WHERE name = ?`, [v, name]);
  else await conn.exec(sql`INSERT INTO ${t.counter} (name, value) VALUES (?, ?)`, [name, v]);
  return Number(v);
}

export class SqlTx implements MetaTx {
  private readonly pending: PendingWrite[] = [];
  dirAttrWrites: Map<Ino, Attr | undefined> | undefined;

  constructor(
    private readonly conn: SqlConn,
    private readonly t: SqlTables,
    private readonly d: SqlDialect,
  ) {}

  get pendingWrites(): number {
    return this.pending.length;
  }

  /** Runs the queued writes in order; call once, right before COMMIT. */
  async flush(): Promise<void> {
    for (const w of this.pending.splice(0)) await this.conn.exec(w.sql, w.params);
  }

  private write(sql: string, params: SqlParam[]): void {
    this.pending.push({ sql, params });
  }

  async getAttr(ino: Ino): Promise<Attr | undefined> {
    const row = await firstRow(this.conn, sql`SELECT ${NODE_SELECT} FROM ${this.t.node} WHERE inode = ?`, [
      ino,
    ]);
    return row ? valuesToAttr(row, 0, ino) : undefined;
  }

  setAttr(ino: Ino, attr: Attr): void {
    this.write(nodeUpsertSql(this.t.node), nodeParams(ino, attr));
    this.dirAttrWrites = recordDirAttr(this.dirAttrWrites, ino, attr);
  }

  deleteAttr(ino: Ino): void {
    this.write(sql`DELETE FROM ${this.t.node} WHERE inode = ?`, [ino]);
    this.dirAttrWrites = recordDirAttr(this.dirAttrWrites, ino, undefined);
  }

  async getEntry(parent: Ino, name: Buffer): Promise<DentryValue | undefined> {
    const rows = await this.conn.query(
      sql`SELECT inode, type FROM ${this.t.edge} WHERE parent = ? AND name = ?`,
      [parent, name],
    );
    const r = rows[0];
    return r ? { ino: toBig(r['inode'], 'inode'), type: toNum(r['type']) as FileType } : undefined; // type as stored
  }

  async getEntryAttr(parent: Ino, name: Buffer): Promise<(DentryValue & { attr?: Attr }) | undefined> {
    // One join, as Go's lookup does: the edge and its node in a single query.
    const r = await firstRow(
      this.conn,
      sql`SELECT e.inode, e.type, ${JOINED_NODE_COLS} FROM ${this.t.edge} e LEFT JOIN ${this.t.node} n ON n.inode = e.inode WHERE e.parent = ? AND e.name = ?`,
      [parent, name],
    );
    if (!r) return undefined;
    const ino = toBig(r[0], 'inode');
    const out: DentryValue & { attr?: Attr } = { ino, type: toNum(r[1]) as FileType };
    if (r[2] !== null && r[2] !== undefined) out.attr = valuesToAttr(r, 2, ino); // the node row exists
    return out;
  }

  setEntry(parent: Ino, name: Buffer, value: DentryValue): void {
    this.write(
      sql`INSERT INTO ${this.t.edge} (parent, name, inode, type) VALUES (?, ?, ?, ?) ON CONFLICT (parent, name) DO UPDATE SET inode = excluded.inode, type = excluded.type`,
      [parent, name, value.ino, value.type],
    );
  }

  deleteEntry(parent: Ino, name: Buffer): void {
    this.write(sql`DELETE FROM ${this.t.edge} WHERE parent = ? AND name = ?`, [parent, name]);
  }

  async hasEntries(parent: Ino): Promise<boolean> {
    const rows = await this.conn.query(sql`SELECT 1 AS x FROM ${this.t.edge} WHERE parent = ? LIMIT 1`, [
      parent,
    ]);
    return rows.length > 0;
  }

  async getParents(ino: Ino): Promise<Map<Ino, number>> {
    const rows = await this.conn.query(
      sql`SELECT parent, count(*) AS n FROM ${this.t.edge} WHERE inode = ? GROUP BY parent`,
      [ino],
    );
    return new Map(rows.map((r) => [toBig(r['parent'], 'parent'), toNum(r['n'])]));
  }

  incrParent(_ino: Ino, _parent: Ino, _delta: number): void {
    // SQL keeps no parent table: jfs_edge rows are the source of truth.
  }

  deleteParents(_ino: Ino): void {
    // See incrParent.
  }

  async getSymlink(ino: Ino): Promise<Buffer | undefined> {
    const rows = await this.conn.query(
      sql`SELECT ${this.d.blob('target')} AS target FROM ${this.t.symlink} WHERE inode = ?`,
      [ino],
    );
    return rows[0] ? toBuf(rows[0]['target']) : undefined;
  }

  setSymlink(ino: Ino, target: Buffer): void {
    this.write(
      sql`INSERT INTO ${this.t.symlink} (inode, target) VALUES (?, ?) ON CONFLICT (inode) DO UPDATE SET target = excluded.target`,
      [ino, target],
    );
  }

  deleteSymlink(ino: Ino): void {
    this.write(sql`DELETE FROM ${this.t.symlink} WHERE inode = ?`, [ino]);
  }

  async getXattr(ino: Ino, name: string): Promise<Buffer | undefined> {
    const rows = await this.conn.query(
      sql`SELECT ${this.d.blob('value')} AS value FROM ${this.t.xattr} WHERE inode = ? AND name = ?`,
      [ino, name],
    );
    return rows[0] ? toBuf(rows[0]['value']) : undefined;
  }

  async listXattrs(ino: Ino): Promise<Map<string, Buffer>> {
    const rows = await this.conn.query(
      sql`SELECT name, ${this.d.blob('value')} AS value FROM ${this.t.xattr} WHERE inode = ?`,
      [ino],
    );
    return new Map(rows.map((r) => [toStr(r['name']), toBuf(r['value'])]));
  }

  setXattr(ino: Ino, name: string, value: Buffer): void {
    this.write(
      sql`INSERT INTO ${this.t.xattr} (inode, name, value) VALUES (?, ?, ?) ON CONFLICT (inode, name) DO UPDATE SET value = excluded.value`,
      [ino, name, value],
    );
  }

  deleteXattr(ino: Ino, name: string): void {
    this.write(sql`DELETE FROM ${this.t.xattr} WHERE inode = ? AND name = ?`, [ino, name]);
  }

  deleteAllXattrs(ino: Ino): void {
    this.write(sql`DELETE FROM ${this.t.xattr} WHERE inode = ?`, [ino]);
  }

  async getChunk(ino: Ino, indx: number): Promise<Slice[]> {
    const rows = await this.conn.query(
      sql`SELECT ${this.d.blob('slices')} AS slices FROM ${this.t.chunk} WHERE inode = ? AND indx = ?`,
      [ino, indx],
    );
    return rows[0] ? decodeSlices(toBuf(rows[0]['slices']), ino, indx) : [];
  }

  async listChunks(ino: Ino, first: number, last: number): Promise<number[]> {
    const rows = await this.conn.query(
      sql`SELECT indx FROM ${this.t.chunk} WHERE inode = ? AND indx BETWEEN ? AND ? ORDER BY indx`,
      [ino, first, last],
    );
    return rows.map((r) => toNum(r['indx']));
  }

  appendSlices(ino: Ino, indx: number, slices: readonly Slice[], opts?: { ifExists?: boolean }): void {
    if (slices.length === 0) return;
    const buf = encodeSlices(slices);
    const c = this.t.chunk;
    if (opts?.ifExists) {
      this.write(sql`UPDATE ${c} SET slices = ${this.d.append('slices', '?')} WHERE inode = ? AND indx = ?`, [
        buf,
        ino,
        indx,
      ]);
      return;
    }
    this.write(
      sql`INSERT INTO ${c} (inode, indx, slices) VALUES (?, ?, ?) ON CONFLICT (inode, indx) DO UPDATE SET slices = ${this.d.append(`${c}.slices`, 'excluded.slices')}`,
      [ino, indx, buf],
    );
  }

  newSliceRef(id: number, size: number): void {
    this.write(
      sql`INSERT INTO ${this.t.chunkRef} (chunkid, size, refs) VALUES (?, ?, 1) ON CONFLICT (chunkid) DO UPDATE SET refs = ${this.t.chunkRef}.refs + 1`,
      [id, size],
    );
  }

  incrSliceRef(id: number, _size: number, delta: number): void {
    // As Go's copy_file_range/clone: only an existing row is touched (a missing row is
    // never freed, which leaks at worst).
    this.write(sql`UPDATE ${this.t.chunkRef} SET refs = refs + ? WHERE chunkid = ?`, [delta, id]);
  }

  addCounter(name: CounterName, delta: number): void {
    if (delta === 0) return;
    this.write(
      sql`INSERT INTO ${this.t.counter} (name, value) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET value = ${this.t.counter}.value + excluded.value`,
      [name, delta],
    );
  }

  incrCounter(name: CounterName, delta: number): Promise<number> {
    return incrCounterIn(this.conn, this.t, name, delta);
  }

  initDirStat(ino: Ino): void {
    this.write(
      sql`INSERT INTO ${this.t.dirStats} (inode, data_length, used_space, used_inodes) VALUES (?, 0, 0, 0) ON CONFLICT (inode) DO UPDATE SET data_length = 0, used_space = 0, used_inodes = 0`,
      [ino],
    );
  }

  updateDirStat(ino: Ino, delta: DirStat): void {
    // As Go: only an existing row is updated; a missing stat is recomputed by the caller.
    this.write(
      sql`UPDATE ${this.t.dirStats} SET data_length = data_length + ?, used_space = used_space + ?, used_inodes = used_inodes + ? WHERE inode = ?`,
      [delta.dataLength, delta.usedSpace, delta.usedInodes, ino],
    );
  }

  deleteDirStat(ino: Ino): void {
    this.write(sql`DELETE FROM ${this.t.dirStats} WHERE inode = ?`, [ino]);
  }

  updateDirQuotaUsage(ino: Ino, space: number, inodes: number): void {
    this.write(
      sql`UPDATE ${this.t.dirQuota} SET used_space = used_space + ?, used_inodes = used_inodes + ? WHERE inode = ?`,
      [space, inodes, ino],
    );
  }

  deleteDirQuota(ino: Ino): void {
    this.write(sql`DELETE FROM ${this.t.dirQuota} WHERE inode = ?`, [ino]);
  }

  updateUserGroupQuotaUsage(kind: 'user' | 'group', id: number, space: number, inodes: number): void {
    if (space === 0 && inodes === 0) return;
    // One upsert for Go's UPDATE-then-INSERT: a missing record is created unlimited (-1).
    this.write(
      sql`INSERT INTO ${this.t.userGroupQuota} (qtype, qkey, max_space, max_inodes, used_space, used_inodes) VALUES (?, ?, -1, -1, ?, ?) ON CONFLICT (qtype, qkey) DO UPDATE SET used_space = ${this.t.userGroupQuota}.used_space + excluded.used_space, used_inodes = ${this.t.userGroupQuota}.used_inodes + excluded.used_inodes`,
      [kind === 'user' ? 1 : 2, id, space, inodes],
    );
  }

  clearUserGroupQuotaLimits(kind: 'user' | 'group', id: number): void {
    this.write(
      sql`UPDATE ${this.t.userGroupQuota} SET max_space = -1, max_inodes = -1 WHERE qtype = ? AND qkey = ?`,
      [kind === 'user' ? 1 : 2, id],
    );
  }

  addDelFile(ino: Ino, length: number, time: number): void {
    this.write(
      sql`INSERT INTO ${this.t.delfile} (inode, length, expire) VALUES (?, ?, ?) ON CONFLICT (inode) DO UPDATE SET length = excluded.length, expire = excluded.expire`,
      [ino, length, time],
    );
  }

  addSustained(sid: number, ino: Ino): void {
    this.write(
      sql`INSERT INTO ${this.t.sustained} (sid, inode) VALUES (?, ?) ON CONFLICT (sid, inode) DO NOTHING`,
      [sid, ino],
    );
  }

  removeSustained(sid: number, ino: Ino): void {
    this.write(sql`DELETE FROM ${this.t.sustained} WHERE sid = ? AND inode = ?`, [sid, ino]);
  }

  async getFlocks(ino: Ino): Promise<FlockOwner[]> {
    const rows = await this.conn.query(sql`SELECT sid, owner, ltype FROM ${this.t.flock} WHERE inode = ?`, [
      ino,
    ]);
    return rows.map((r) => ({
      sid: toNum(r['sid']),
      owner: ownerFromSql(r['owner']),
      type: ltypeToFlock(r['ltype']),
    }));
  }

  setFlock(ino: Ino, sid: number, owner: bigint, type: 'R' | 'W' | null): void {
    const o = ownerToSql(owner);
    if (type === null) {
      this.write(sql`DELETE FROM ${this.t.flock} WHERE inode = ? AND sid = ? AND owner = ?`, [ino, sid, o]);
      return;
    }
    this.write(
      sql`INSERT INTO ${this.t.flock} (inode, sid, owner, ltype) VALUES (?, ?, ?, ?) ON CONFLICT (inode, sid, owner) DO UPDATE SET ltype = excluded.ltype`,
      [ino, sid, o, type === 'R' ? LTYPE_READ : LTYPE_WRITE],
    );
  }

  async getPlocks(ino: Ino): Promise<PlockOwner[]> {
    const rows = await this.conn.query(
      sql`SELECT sid, owner, ${this.d.blob('records')} AS records FROM ${this.t.plock} WHERE inode = ?`,
      [ino],
    );
    return rows.map((r) => ({
      sid: toNum(r['sid']),
      owner: ownerFromSql(r['owner']),
      records: toBuf(r['records']),
    }));
  }

  setPlock(ino: Ino, sid: number, owner: bigint, records: Buffer): void {
    const o = ownerToSql(owner);
    if (records.length === 0) {
      this.write(sql`DELETE FROM ${this.t.plock} WHERE inode = ? AND sid = ? AND owner = ?`, [ino, sid, o]);
      return;
    }
    this.write(
      sql`INSERT INTO ${this.t.plock} (inode, sid, owner, records) VALUES (?, ?, ?, ?) ON CONFLICT (inode, sid, owner) DO UPDATE SET records = excluded.records`,
      [ino, sid, o, records],
    );
  }
}
