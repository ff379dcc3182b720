/**
 * `MetaEngine` over the JuiceFS SQL tables (docs/FORMAT.md §6), independent of the driver: a
 * dialect (expression builders + DDL) and a transaction runner are injected, so the
 * SQLite engine and a later Postgres engine share every statement here.
 *
 * Design: every method, even a single read, runs through `runTx`, which serialises use
 * of the connection; callers must therefore never call engine methods from inside a
 * `txn` callback (that would wait on itself). Counters use SQL semantics: nextInode and
 * nextChunk hold the next unused id, which is also the dump's meaning.
 * Invariants: tables are only created by `initVolume`; slice reference rows hold the
 * real refcount and are removed in the same transaction that frees them.
 */
import { KeyLocks } from '../key-locks.js';
import type { Logger } from '../../util/logger.js';
import type { MetaRetryStats } from '../retry-policy.js';
import type {
  CounterName,
  DelFileRecord,
  DirEntryRecord,
  DirStat,
  FreedSlice,
  MetaEngine,
  MetaTx,
  QuotaRecord,
  SessionRecord,
  TxOptions,
} from '../engine.js';
import { decodeSlices, encodeSlices, type AclRule } from '../encoding.js';
import { ROOT_INODE, TRASH_INODE, type FileType, type Ino, type Attr, type Slice } from '../../base/types.js';
import {
  placeholders,
  rawRows,
  sql,
  toBig,
  toBuf,
  toNum,
  toStr,
  type SqlConn,
  type SqlDialect,
  type SqlParam,
  type TxRunner,
} from './sql-conn.js';
import { allTableNames, sqlTables, type SqlTables } from './schema.js';
import { NODE_SELECT, nodeParams, valuesToAttr } from './sql-rows.js';
import * as qa from './sql-quota-acl.js';
import { SqlTx, incrCounterIn } from './sql-tx.js';
import { freeDroppedRefs } from './sql-slices.js';

/** Rows created by format for a new volume (docs/FORMAT.md §6.4). */
const FORMAT_COUNTERS: [CounterName, number][] = [
  ['nextInode', 2],
  ['nextChunk', 1],
  ['nextSession', 0],
  ['usedSpace', 0],
  ['totalInodes', 0],
  ['nextCleanupSlices', 0],
];
const INITIAL: Partial<Record<CounterName, number>> = { nextInode: 2, nextChunk: 1 };
const IN_BATCH = 500;

export interface SqlEngineConfig {
  kind: string;
  displayUrl: string;
  prefix: string;
  dialect: SqlDialect;
  runTx: TxRunner;
  close: () => Promise<void>;
  /** Makes every committed transaction durable (see MetaEngine.sync). */
  sync?: () => Promise<void>;
  /** Where waits for a locked database are logged (see MetaEngine.useLogger). */
  useLogger?: (logger: Logger) => void;
  /** Waits for a locked database (see MetaEngine.outageStats). */
  outageStats?: () => MetaRetryStats;
  /** Transactions restarted after a conflict (see MetaEngine.txRestarts). */
  txRestarts?: () => number;
  /**
   * Queue this client's write transactions by their first statement (key-locks.ts): for
   * servers with concurrent writers, where a client's own transactions would otherwise
   * fail each other (SQLite runs one writer at a time already). Only where a transaction's
   * snapshot is taken by its first statement, not by BEGIN (MySQL/MariaDB, not PostgreSQL).
   */
  queueWrites?: boolean;
}

/**
 * `conn`, with every statement waiting until `take` has the queue of the transaction's
 * first statement (its text and first parameter: the parent inode of a create, the inode
 * of a write).
 */
function queuedConn(conn: SqlConn, take: (key: string) => Promise<void>): SqlConn {
  const first = (sql: string, params: readonly SqlParam[]): Promise<void> =>
    take(`${sql}\0${String(params[0] ?? '')}`);
  const queryRaw = conn.queryRaw?.bind(conn);
  return {
    query: async (sql, params = []) => {
      await first(sql, params);
      return conn.query(sql, params);
    },
    exec: async (sql, params = []) => {
      await first(sql, params);
      return conn.exec(sql, params);
    },
    ...(queryRaw
      ? {
          queryRaw: async (sql: string, params: readonly SqlParam[] = []) => {
            await first(sql, params);
            return queryRaw(sql, params);
          },
        }
      : {}),
  };
}

export class SqlEngine implements MetaEngine {
  readonly kind: string;
  readonly displayUrl: string;
  private readonly t: SqlTables;
  private readonly d: SqlDialect;

  /** This client's write transactions, queued by their first statement (cfg.queueWrites). */
  private readonly locks: KeyLocks | undefined;

  constructor(private readonly cfg: SqlEngineConfig) {
    this.locks = cfg.queueWrites === true ? new KeyLocks() : undefined;
    this.kind = cfg.kind;
    this.displayUrl = cfg.displayUrl;
    this.t = sqlTables(cfg.prefix);
    this.d = cfg.dialect;
  }

  private run<T>(op: string, readonly: boolean, fn: (c: SqlConn) => Promise<T>): Promise<T> {
    return this.cfg.runTx(fn, { op, readonly });
  }

  async txn<T>(fn: (tx: MetaTx) => Promise<T>, opts: TxOptions): Promise<T> {
    const readonly = opts.readonly ?? false;
    // The queue is taken once, by the first statement of the first attempt, and held
    // across the restarts of a conflict until the transaction is over.
    const hold = readonly ? undefined : this.locks?.holder();
    try {
      return await this.run(opts.op, readonly, async (conn) => {
        const tx = new SqlTx(hold ? queuedConn(conn, hold.take) : conn, this.t, this.d);
        const result = await fn(tx);
        if (readonly && tx.pendingWrites > 0)
          throw new Error(`transaction ${opts.op} is read-only but wrote`);
        await tx.flush();
        return result;
      });
    } finally {
      hold?.release();
    }
  }

  private async tableExists(c: SqlConn, name: string): Promise<boolean> {
    return (await c.query(this.d.tableExistsSql, [name])).length > 0;
  }

  getFormatText(): Promise<string | undefined> {
    return this.run('getFormat', true, async (c) => {
      if (!(await this.tableExists(c, this.t.setting))) return undefined;
      const rows = await c.query(sql`SELECT value FROM ${this.t.setting} WHERE name = ?`, ['format']);
      return rows[0] ? toStr(rows[0]['value']) : undefined;
    });
  }

  initVolume(formatJson: string, opts: { isNew: boolean; rootAttr: Attr; trashAttr?: Attr }): Promise<void> {
    const t = this.t;
    return this.run('initVolume', false, async (c) => {
      for (const stmt of this.d.ddl(t.prefix)) await c.exec(stmt);
      const old = await c.query(sql`SELECT value FROM ${t.setting} WHERE name = ?`, ['format']);
      if (old[0]) {
        // Enabling DirStats / UserGroupQuota drops the outdated rows, as Go's format does.
        const before = parseFlags(toStr(old[0]['value']));
        const after = parseFlags(formatJson);
        if (!before.DirStats && after.DirStats) await c.exec(sql`DELETE FROM ${t.dirStats}`);
        if (!before.UserGroupQuota && after.UserGroupQuota)
          await c.exec(sql`DELETE FROM ${t.userGroupQuota}`);
      }
      if (opts.trashAttr) await this.insertNode(c, TRASH_INODE, opts.trashAttr);
      await c.exec(
        sql`INSERT INTO ${t.setting} (name, value) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET value = excluded.value`,
        ['format', formatJson],
      );
      if (!opts.isNew) return;
      await this.insertNode(c, ROOT_INODE, opts.rootAttr);
      for (const [name, value] of FORMAT_COUNTERS) {
        await c.exec(
          sql`INSERT INTO ${t.counter} (name, value) VALUES (?, ?) ON CONFLICT (name) DO NOTHING`,
          [name, value],
        );
      }
    });
  }

  private async insertNode(c: SqlConn, ino: Ino, attr: Attr): Promise<void> {
    const cols = NODE_SELECT.split(', ');
    await c.exec(
      sql`INSERT INTO ${this.t.node} (${NODE_SELECT}) VALUES ${placeholders(cols.length)} ON CONFLICT (inode) DO NOTHING`,
      nodeParams(ino, attr),
    );
  }

  private async readCounter(c: SqlConn, name: CounterName): Promise<number | undefined> {
    const rows = await c.query(sql`SELECT value FROM ${this.t.counter} WHERE name = ?`, [name]);
    return rows[0] ? toNum(rows[0]['value']) : undefined;
  }

  private async writeCounter(c: SqlConn, name: CounterName, value: number): Promise<void> {
    await c.exec(
      sql`INSERT INTO ${this.t.counter} (name, value) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET value = excluded.value`,
      [name, value],
    );
  }

  allocate(name: 'nextInode' | 'nextChunk', n: number): Promise<number> {
    return this.run(`allocate ${name}`, false, async (c) => {
      const first = (await this.readCounter(c, name)) ?? INITIAL[name] ?? 0;
      await this.writeCounter(c, name, first + n);
      return first;
    });
  }

  getCounter(name: CounterName): Promise<number> {
    return this.run(
      `getCounter ${name}`,
      true,
      async (c) => (await this.readCounter(c, name)) ?? INITIAL[name] ?? 0,
    );
  }

  setCounter(name: CounterName, value: number): Promise<void> {
    return this.run(`setCounter ${name}`, false, (c) => this.writeCounter(c, name, value));
  }

  setCounterIfSmall(name: CounterName, value: number, diff: number): Promise<boolean> {
    return this.run(`setCounterIfSmall ${name}`, false, async (c) => {
      const cur = (await this.readCounter(c, name)) ?? 0;
      if (cur > value - diff) return false;
      await this.writeCounter(c, name, value);
      return true;
    });
  }

  newSessionId(): Promise<number> {
    return this.run('newSessionId', false, (c) => incrCounterIn(c, this.t, 'nextSession', 1));
  }

  putSession(sid: number, expire: number, info?: string): Promise<void> {
    const s = this.t.session2;
    return this.run('putSession', false, async (c) => {
      if (info !== undefined) {
        await c.exec(
          sql`INSERT INTO ${s} (sid, expire, info) VALUES (?, ?, ?) ON CONFLICT (sid) DO UPDATE SET expire = excluded.expire, info = excluded.info`,
          [sid, expire, Buffer.from(info, 'utf8')],
        );
        return;
      }
      if ((await c.exec(sql`UPDATE ${s} SET expire = ? WHERE sid = ?`, [expire, sid])) === 0) {
        await c.exec(sql`INSERT INTO ${s} (sid, expire, info) VALUES (?, ?, NULL)`, [sid, expire]);
      }
    });
  }

  listSessions(): Promise<SessionRecord[]> {
    return this.run('listSessions', true, async (c) => {
      if (!(await this.tableExists(c, this.t.session2))) return [];
      const rows = await c.query(
        sql`SELECT sid, expire, ${this.d.blob('info')} AS info FROM ${this.t.session2}`,
      );
      return rows.map((r) => {
        const rec: SessionRecord = { sid: toNum(r['sid']), expire: toNum(r['expire']) };
        if (r['info'] !== null && r['info'] !== undefined) rec.info = toBuf(r['info']).toString('utf8');
        return rec;
      });
    });
  }

  deleteSession(sid: number): Promise<void> {
    const t = this.t;
    return this.run('deleteSession', false, async (c) => {
      for (const table of [t.session2, t.sustained, t.flock, t.plock]) {
        await c.exec(sql`DELETE FROM ${table} WHERE sid = ?`, [sid]);
      }
    });
  }

  listSustained(sid: number): Promise<Ino[]> {
    return this.run('listSustained', true, async (c) =>
      (await c.query(sql`SELECT inode FROM ${this.t.sustained} WHERE sid = ?`, [sid])).map((r) =>
        toBig(r['inode']),
      ),
    );
  }

  listLockedInodes(sid: number): Promise<Ino[]> {
    const t = this.t;
    return this.run('listLockedInodes', true, async (c) => {
      const rows = await c.query(
        sql`SELECT inode FROM ${t.flock} WHERE sid = ? UNION SELECT inode FROM ${t.plock} WHERE sid = ?`,
        [sid, sid],
      );
      return rows.map((r) => toBig(r['inode']));
    });
  }

  listDelFiles(): Promise<DelFileRecord[]> {
    return this.run('listDelFiles', true, async (c) =>
      (await c.query(sql`SELECT inode, length, expire FROM ${this.t.delfile}`)).map((r) => ({
        ino: toBig(r['inode']),
        length: toNum(r['length']),
        expire: toNum(r['expire']),
      })),
    );
  }

  removeDelFile(ino: Ino, _length: number): Promise<void> {
    // The inode is the row's primary key (Go deletes by inode only).
    return this.run('removeDelFile', false, async (c) => {
      await c.exec(sql`DELETE FROM ${this.t.delfile} WHERE inode = ?`, [ino]);
    });
  }

  deleteChunk(ino: Ino, indx: number): Promise<FreedSlice[]> {
    const t = this.t;
    return this.run('deleteChunk', false, async (c) => {
      const rows = await c.query(
        sql`SELECT ${this.d.blob('slices')} AS slices FROM ${t.chunk} WHERE inode = ? AND indx = ?`,
        [ino, indx],
      );
      if (!rows[0]) return [];
      const slices = decodeSlices(toBuf(rows[0]['slices']), ino, indx);
      await c.exec(sql`DELETE FROM ${t.chunk} WHERE inode = ? AND indx = ?`, [ino, indx]);
      return freeDroppedRefs(c, t, slices, { matchSize: false });
    });
  }

  listChunkIndexes(ino: Ino, _length: number): Promise<number[]> {
    return this.run('listChunkIndexes', true, async (c) =>
      (await c.query(sql`SELECT indx FROM ${this.t.chunk} WHERE inode = ? ORDER BY indx`, [ino])).map((r) =>
        toNum(r['indx']),
      ),
    );
  }

  replaceSlices(
    ino: Ino,
    indx: number,
    old: readonly Slice[],
    replacement: readonly Slice[],
    newSlice: FreedSlice,
    dropped: readonly FreedSlice[],
  ): Promise<{ ok: boolean; freed: FreedSlice[] }> {
    const t = this.t;
    return this.run('replaceSlices', false, async (c) => {
      const rows = await c.query(
        sql`SELECT ${this.d.blob('slices')} AS slices FROM ${t.chunk} WHERE inode = ? AND indx = ?`,
        [ino, indx],
      );
      const cur = rows[0] ? toBuf(rows[0]['slices']) : undefined;
      const oldBuf = encodeSlices(old);
      if (!cur || cur.length < oldBuf.length || !cur.subarray(0, oldBuf.length).equals(oldBuf)) {
        return { ok: false, freed: [] };
      }
      const next = Buffer.concat([encodeSlices(replacement), cur.subarray(oldBuf.length)]);
      await c.exec(sql`UPDATE ${t.chunk} SET slices = ? WHERE inode = ? AND indx = ?`, [next, ino, indx]);
      await c.exec(
        sql`INSERT INTO ${t.chunkRef} (chunkid, size, refs) VALUES (?, ?, 1) ON CONFLICT (chunkid) DO UPDATE SET refs = ${t.chunkRef}.refs + 1`,
        [newSlice.id, newSlice.size],
      );
      const freed = await freeDroppedRefs(c, t, dropped, { matchSize: true });
      return { ok: true, freed };
    });
  }

  listOrphanSlices(): Promise<FreedSlice[]> {
    return this.run('listOrphanSlices', true, async (c) =>
      (await c.query(sql`SELECT chunkid, size FROM ${this.t.chunkRef} WHERE refs <= 0`)).map((r) => ({
        id: toNum(r['chunkid']),
        size: toNum(r['size']),
      })),
    );
  }

  getSliceRefs(): Promise<Map<number, number>> {
    return this.run('getSliceRefs', true, async (c) => {
      const rows = await c.query(sql`SELECT chunkid, refs FROM ${this.t.chunkRef}`);
      return new Map(rows.map((r) => [toNum(r['chunkid']), toNum(r['refs'])]));
    });
  }

  listEntries(parent: Ino, limit?: number): Promise<DirEntryRecord[]> {
    // The limit is an integer we format ourselves (MySQL refuses a placeholder in LIMIT).
    const cap = limit === undefined ? '' : ` LIMIT ${Math.max(0, Math.floor(limit))}`;
    return this.run('listEntries', true, async (c) => {
      const rows = await rawRows(
        c,
        sql`SELECT ${this.d.blob('name')} AS name, inode, type FROM ${this.t.edge} WHERE parent = ?${cap}`,
        [parent],
      );
      // type as stored: the edge row carries Go's type code.
      return rows.map((r) => ({
        name: toBuf(r[0]),
        ino: toBig(r[1]),
        type: toNum(r[2]) as FileType,
      }));
    });
  }

  getAttrs(inos: readonly Ino[]): Promise<(Attr | undefined)[]> {
    return this.run('getAttrs', true, async (c) => {
      const found = new Map<bigint, Attr>();
      for (let i = 0; i < inos.length; i += IN_BATCH) {
        const batch = inos.slice(i, i + IN_BATCH);
        const rows = await rawRows(
          c,
          sql`SELECT ${NODE_SELECT} FROM ${this.t.node} WHERE inode IN ${placeholders(batch.length)}`,
          batch,
        );
        for (const r of rows) {
          const ino = toBig(r[0]);
          found.set(ino, valuesToAttr(r, 0, ino));
        }
      }
      return inos.map((ino) => found.get(ino));
    });
  }

  getDirStat(ino: Ino): Promise<DirStat | undefined> {
    return this.run('getDirStat', true, (c) => qa.getDirStat(c, this.t, ino));
  }

  setDirStat(ino: Ino, stat: DirStat): Promise<void> {
    return this.run('setDirStat', false, (c) => qa.setDirStat(c, this.t, ino, stat));
  }

  listDirQuotas(): Promise<Map<Ino, QuotaRecord>> {
    return this.run('listDirQuotas', true, (c) => qa.listDirQuotas(c, this.t));
  }

  setDirQuota(ino: Ino, q: QuotaRecord): Promise<void> {
    return this.run('setDirQuota', false, (c) => qa.setDirQuota(c, this.t, ino, q));
  }

  listUserGroupQuotas(kind: 'user' | 'group'): Promise<Map<number, QuotaRecord>> {
    return this.run('listUserGroupQuotas', true, (c) => qa.listUserGroupQuotas(c, this.t, kind));
  }

  setUserGroupQuota(kind: 'user' | 'group', id: number, q: QuotaRecord): Promise<void> {
    return this.run('setUserGroupQuota', false, (c) => qa.setUserGroupQuota(c, this.t, kind, id, q));
  }

  getAcl(id: number): Promise<AclRule | undefined> {
    return this.run('getAcl', true, (c) => qa.getAcl(c, this.t, this.d, id));
  }

  putAcl(rule: AclRule): Promise<number> {
    return this.run('putAcl', false, (c) => qa.putAcl(c, this.t, this.d, rule));
  }

  setAcl(id: number, rule: AclRule): Promise<void> {
    return this.run('setAcl', false, (c) => qa.setAcl(c, this.t, id, rule));
  }

  isEmpty(): Promise<boolean> {
    return this.run('isEmpty', true, async (c) => {
      if (!(await this.tableExists(c, this.t.setting))) return true;
      for (const table of [this.t.setting, this.t.node]) {
        if (!(await this.tableExists(c, table))) continue;
        if ((await c.query(sql`SELECT 1 AS x FROM ${table} LIMIT 1`)).length > 0) return false;
      }
      return true;
    });
  }

  reset(): Promise<void> {
    return this.run('reset', false, async (c) => {
      for (const table of allTableNames(this.t)) await c.exec(`DROP TABLE IF EXISTS ${table}`);
    });
  }

  async sync(): Promise<void> {
    await this.cfg.sync?.();
  }

  useLogger(logger: Logger): void {
    this.cfg.useLogger?.(logger);
  }

  outageStats(): MetaRetryStats {
    return this.cfg.outageStats?.() ?? { retries: 0, failures: 0 };
  }

  txRestarts(): number {
    return this.cfg.txRestarts?.() ?? 0;
  }

  close(): Promise<void> {
    return this.cfg.close();
  }
}

/** DirStats / UserGroupQuota of a setting JSON; false when unreadable. */
function parseFlags(json: string): { DirStats: boolean; UserGroupQuota: boolean } {
  try {
    const v: unknown = JSON.parse(json);
    const o = typeof v === 'object' && v !== null ? (v as Record<string, unknown>) : {};
    return { DirStats: o['DirStats'] === true, UserGroupQuota: o['UserGroupQuota'] === true };
  } catch {
    return { DirStats: false, UserGroupQuota: false };
  }
}
