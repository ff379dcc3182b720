/**
 * SQLite metadata engine (`sqlite3://path.db`, docs/FORMAT.md §6) on better-sqlite3.
 *
 * Design: one synchronous connection per engine. Transactions are serialised in the
 * process by a promise queue (the callback is async while the connection is shared),
 * write transactions use BEGIN IMMEDIATE, read-only ones run in autocommit mode (each
 * statement atomic). The connection's busy timeout is 0 after opening, so nothing blocks
 * the event loop: a BUSY answer (another process holds the write lock) rolls back and is
 * retried, the connection released meanwhile so reads go on, with jittered backoff (1 ms
 * growing to 250 ms) for as long as the retry policy waits out an unreachable engine
 * (`--io-retries`, retry-policy.ts: ~45-57 s by default), or `maxRetries` attempts when
 * that is given, then `DatabaseLockedError` (EIO, logged with the op). Any failure rolls
 * back, so no transaction is left open. All statements live in sql-engine.ts / sql-tx.ts;
 * this file only holds the SQLite-specific parts (URL, pragmas, dialect, transaction
 * control).
 * Invariants: integers are read as bigint (safe integers on) and integral JS numbers
 * are bound as bigint, so inodes above 2^53 round-trip exactly and no INTEGER column
 * receives a REAL. Opening never creates tables.
 */
import { existsSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import Database from 'better-sqlite3';
import { TxConflictError, type EngineOptions, type MetaEngine } from '../engine.js';
import type { Logger } from '../../util/logger.js';
import { FsError, Errno } from '../../base/errno.js';
import { MetaRetryPolicy, type MetaRetryStats } from '../retry-policy.js';
import { RateLimitedLog } from '../../util/rate-limited-log.js';
import type { SqlConn, SqlDialect, SqlParam, SqlRow, TxRunner } from './sql-conn.js';
import { sqliteDdl } from './schema.js';
import { SqlEngine } from './sql-engine.js';
import { SqliteCheckpointer } from './sqlite-checkpointer.js';

const BUSY_TIMEOUT_MS = 5000;
/** Commits after which a client starts the checkpoint worker (so short commands never do). */
const CHECKPOINTER_AFTER_COMMITS = 200;
const MAX_BACKOFF_MS = 250;

/** The database stayed locked by another process past the retry bound. */
export class DatabaseLockedError extends TxConflictError {
  constructor(op: string, attempts: number, ms: number) {
    super(op, attempts);
    this.message = `SQLite database locked by another process: ${op} gave up after ${attempts} attempts in ${(ms / 1000).toFixed(1)} s`;
    this.name = 'DatabaseLockedError';
  }
}

/** How long and how often a locked database is tried again. */
export interface BusyBound {
  /** Give up after this long (default: the retry policy's budget). */
  budgetMs: number;
  /** Give up after this many attempts (EngineOptions.maxRetries), if given. */
  maxAttempts?: number;
}

export const sqliteDialect: SqlDialect = {
  name: 'sqlite3',
  // `||` turns BLOBs into TEXT that may hold NULs: CAST reads the raw bytes back.
  blob: (expr) => `CAST(${expr} AS BLOB)`,
  append: (col, param) => `CAST(${col} || ${param} AS BLOB)`,
  tableExistsSql: "SELECT name FROM sqlite_master WHERE type = 'table' AND name = ?",
  ddl: sqliteDdl,
};

export interface SqliteUrl {
  path: string;
  /** `jfs_` or `jfs_{table_prefix}_`. */
  prefix: string;
}

/** Parses `sqlite3://relative.db` / `sqlite3:///abs.db[?table_prefix=x&...]`. */
export function parseSqliteUrl(url: string, cwd = process.cwd()): SqliteUrl {
  const m = /^sqlite3:\/\/([^?]*)(?:\?(.*))?$/i.exec(url);
  const raw = m?.[1];
  if (!m || !raw) {
    throw new FsError(Errno.EINVAL, {
      message: `invalid SQLite meta URL '${url}': expected sqlite3://path/to/file.db`,
    });
  }
  const query = new URLSearchParams(m[2] ?? '');
  const tp = query.get('table_prefix') ?? '';
  return { path: resolve(cwd, decodeURIComponent(raw)), prefix: tp ? `jfs_${tp}_` : 'jfs_' };
}

type Db = Database.Database;
type Stmt = Database.Statement<SqlParam[], unknown>;

function isBusy(e: unknown): boolean {
  const code = (e as { code?: unknown } | null)?.code; // SqliteError carries the result code name
  return typeof code === 'string' && (code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED'));
}

function bindable(params: readonly SqlParam[]): SqlParam[] {
  return params.map((p) => (typeof p === 'number' && Number.isInteger(p) ? BigInt(p) : p));
}

type Outcome = { ok: true; value: unknown } | { ok: false; error: unknown };

/** A write transaction that ran inside an open group and waits for the group's COMMIT. */
interface Member {
  fn: (conn: SqlConn) => Promise<unknown>;
  opts: { op: string; readonly: boolean };
  outcome: Outcome;
  settle: (o: Outcome) => void;
}

/** Write transactions that may share one COMMIT (see SqliteBackend). */
const MAX_GROUP = 32;

/**
 * The engine's single connection: cached prepared statements, serialised transactions.
 *
 * Group commit: COMMIT is the dearest part of a small write transaction (it appends the
 * changed pages to the WAL). When write transactions are queued behind the one running,
 * they run one after another inside a single SQLite transaction, each in its own SAVEPOINT
 * (a failing one rolls back only its own changes), and the last of them commits for all.
 * No member's result or error is handed out before that COMMIT succeeds; if it fails, the
 * group is rolled back and every member runs again in a transaction of its own, so each
 * gets the outcome it would have had alone. A read-only transaction commits an open group
 * before it reads, so readers only ever see committed state. A lone transaction runs as a
 * plain BEGIN IMMEDIATE ... COMMIT.
 */
export class SqliteBackend {
  /** Commits run and transactions that shared another's commit (metrics, tests). */
  readonly stats = { commits: 0, grouped: 0 };
  private readonly stmts = new Map<string, Stmt>();
  private queue: Promise<void> = Promise.resolve();
  /** Callers queued behind the current holder of the connection. */
  private waiters = 0;
  /** Members of the open group transaction, if one is open. */
  private group: Member[] | undefined;
  private closed = false;
  readonly conn: SqlConn;

  private log: RateLimitedLog | undefined;
  /** Tries that met another process's lock, and operations that gave up (metrics). */
  readonly outage: MetaRetryStats = { retries: 0, failures: 0 };

  private checkpointer: SqliteCheckpointer | undefined;

  constructor(
    private readonly db: Db,
    private readonly bound: BusyBound,
    /** The database file (for the checkpoint worker); undefined for in-memory databases. */
    private readonly path?: string,
  ) {
    this.conn = {
      query: (sql, params = []) => Promise.resolve(this.prepare(sql).all(...bindable(params)) as SqlRow[]), // rows are plain objects
      exec: (sql, params = []) => Promise.resolve(this.prepare(sql).run(...bindable(params)).changes),
      queryRaw: (sql, params = []) =>
        Promise.resolve(this.prepare(sql, true).all(...bindable(params)) as unknown[][]),
    };
  }

  private readonly rawStmts = new Map<string, Stmt>();

  /** The cached statement for `sql`; raw ones (rows as arrays) are separate statements. */
  private prepare(sql: string, raw = false): Stmt {
    const cache = raw ? this.rawStmts : this.stmts;
    let s = cache.get(sql);
    if (!s) {
      s = this.db.prepare<SqlParam[], unknown>(sql);
      if (raw) s.raw(true);
      cache.set(sql, s);
    }
    return s;
  }

  /** Waits for the previous holder of the connection; resolves to the release. */
  private acquire(): Promise<() => void> {
    let release: () => void = () => undefined;
    const mine = new Promise<void>((r) => (release = r));
    const prev = this.queue;
    this.queue = prev.then(() => mine);
    this.waiters++;
    return prev.then(() => {
      this.waiters--;
      return release;
    });
  }

  private checkOpen(op: string): void {
    if (this.closed) throw new FsError(Errno.EIO, { op, message: `EIO: ${op}: metadata engine is closed` });
  }

  /**
   * Runs a transaction; while another process holds the write lock it is tried again after a
   * pause taken without holding the connection, so that reads (and the WAL) go on meanwhile.
   */
  readonly runTx: TxRunner = async <T>(
    fn: (conn: SqlConn) => Promise<T>,
    opts: { op: string; readonly: boolean },
  ): Promise<T> => {
    const start = Date.now();
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.runTxOnce(fn, opts);
      } catch (e) {
        if (!isBusy(e)) throw e;
        const waited = Date.now() - start;
        if (waited >= this.bound.budgetMs || attempt >= (this.bound.maxAttempts ?? Infinity)) {
          this.outage.failures++;
          throw new DatabaseLockedError(opts.op, attempt, waited);
        }
        this.outage.retries++;
        if (attempt === 20)
          this.log?.warn(
            `busy:${opts.op}`,
            `SQLite database is locked by another process; ${opts.op} waits`,
            {
              op: opts.op,
            },
          );
        await sleep(Math.min(attempt * attempt, MAX_BACKOFF_MS) * (0.5 + Math.random()));
      }
    }
  };

  /** One try of a transaction; a lock conflict is thrown as is (runTx waits and retries). */
  private async runTxOnce<T>(
    fn: (conn: SqlConn) => Promise<T>,
    opts: { op: string; readonly: boolean },
  ): Promise<T> {
    const release = await this.acquire();
    let joined: { done: Promise<Outcome> } | undefined;
    try {
      this.checkOpen(opts.op);
      if (opts.readonly) {
        await this.commitGroup();
        return await this.attempt(fn, opts);
      }
      if (this.group === undefined && this.waiters === 0) return await this.attempt(fn, opts);
      joined = await this.runInGroup(fn, opts);
    } finally {
      release();
    }
    const o = await joined.done;
    if (o.ok) return o.value as T;
    throw o.error;
  }

  useLogger(logger: Logger): void {
    this.log = new RateLimitedLog(logger, 5000);
  }

  /** One transaction on its own, rolled back on any failure (a lock conflict included). */
  private async attempt<T>(
    fn: (conn: SqlConn) => Promise<T>,
    opts: { op: string; readonly: boolean },
  ): Promise<T> {
    try {
      // Read-only work runs in autocommit mode: each statement is atomic on its own and
      // skipping BEGIN/COMMIT halves the cost of a lookup (as Redis reads use no WATCH).
      if (!opts.readonly) this.begin();
      const result = await fn(this.conn);
      if (!opts.readonly) this.commit();
      return result;
    } catch (e) {
      this.rollback();
      throw e;
    }
  }

  /**
   * Runs a write transaction inside the open group (opening one if needed); resolves, while
   * the caller still holds the connection, to a promise of the member's final outcome.
   */
  private async runInGroup(
    fn: (conn: SqlConn) => Promise<unknown>,
    opts: { op: string; readonly: boolean },
  ): Promise<{ done: Promise<Outcome> }> {
    if (this.group === undefined) {
      this.begin(); // a lock conflict goes up to runTx, which waits without the connection
      this.group = [];
    }
    const c = this.groupControl();
    let outcome: Outcome;
    c.savepoint.run();
    try {
      outcome = { ok: true, value: await fn(this.conn) };
      c.releaseSavepoint.run();
    } catch (e) {
      outcome = { ok: false, error: e };
      try {
        c.rollbackTo.run();
        c.releaseSavepoint.run();
      } catch {
        // The whole transaction is gone (SQLite rolls back on some errors): run the
        // members alone.
        return this.abandonGroup(fn, opts);
      }
    }
    let settle: (o: Outcome) => void = () => undefined;
    const done = new Promise<Outcome>((r) => (settle = r));
    this.group.push({ fn, opts, outcome, settle });
    if (this.waiters === 0 || this.group.length >= MAX_GROUP) await this.commitGroup();
    return { done };
  }

  private groupControl(): {
    savepoint: Database.Statement;
    releaseSavepoint: Database.Statement;
    rollbackTo: Database.Statement;
  } {
    return (this.savepoints ??= {
      savepoint: this.db.prepare('SAVEPOINT tjfs_member'),
      releaseSavepoint: this.db.prepare('RELEASE tjfs_member'),
      rollbackTo: this.db.prepare('ROLLBACK TO tjfs_member'),
    });
  }

  private savepoints: ReturnType<SqliteBackend['groupControl']> | undefined;

  /** Commits the open group and settles its members (called with the connection held). */
  private async commitGroup(): Promise<void> {
    const g = this.group;
    if (g === undefined) return;
    this.group = undefined;
    try {
      this.commit();
    } catch {
      this.rollback();
      for (const m of g) m.settle(await this.alone(m));
      return;
    }
    this.stats.grouped += g.length - 1;
    // A member that met a lock conflict inside the group runs again on its own.
    for (const m of g) m.settle(!m.outcome.ok && isBusy(m.outcome.error) ? await this.alone(m) : m.outcome);
  }

  /** The transaction under the group failed as a whole: everyone runs alone. */
  private async abandonGroup(
    fn: (conn: SqlConn) => Promise<unknown>,
    opts: { op: string; readonly: boolean },
  ): Promise<{ done: Promise<Outcome> }> {
    const g = this.group ?? [];
    this.group = undefined;
    this.rollback();
    for (const m of g) m.settle(await this.alone(m));
    return { done: Promise.resolve(await this.alone({ fn, opts })) };
  }

  private async alone(m: Pick<Member, 'fn' | 'opts'>): Promise<Outcome> {
    try {
      return { ok: true, value: await this.attempt(m.fn, m.opts) };
    } catch (e) {
      return { ok: false, error: e };
    }
  }

  private control: { beginImmediate: Database.Statement; commit: Database.Statement } | undefined;

  /**
   * Starts a write transaction. The connection runs with busy_timeout 0 (set after opening), so
   * BEGIN IMMEDIATE never blocks the event loop on another writer: it fails fast with
   * SQLITE_BUSY and runTx backs off asynchronously. Control statements are prepared once.
   */
  private begin(): void {
    const c = (this.control ??= {
      beginImmediate: this.db.prepare('BEGIN IMMEDIATE'),
      commit: this.db.prepare('COMMIT'),
    });
    c.beginImmediate.run();
  }

  private commit(): void {
    this.control?.commit.run();
    if (++this.stats.commits === CHECKPOINTER_AFTER_COMMITS) this.startCheckpointer();
  }

  /**
   * A client that keeps writing gets its WAL checkpoints run by a worker thread (see
   * sqlite-checkpointer.ts); short commands never start one.
   */
  private startCheckpointer(): void {
    if (this.path === undefined || this.closed || this.checkpointer !== undefined) return;
    try {
      this.checkpointer = new SqliteCheckpointer(this.db, this.path, (e) =>
        this.log?.warn(
          'checkpointer',
          `SQLite checkpoint worker failed (${e}); checkpoints run inline again`,
        ),
      );
    } catch (e) {
      this.log?.warn(
        'checkpointer',
        `SQLite checkpoint worker not started (${String(e)}); checkpoints run inline`,
      );
    }
  }

  private rollback(): void {
    if (!this.db.inTransaction) return;
    try {
      this.db.exec('ROLLBACK');
    } catch {
      // SQLite may already have rolled back (e.g. after SQLITE_FULL); nothing is left open.
    }
  }

  /**
   * Durability point for fsync: with synchronous=NORMAL a WAL commit survives a process
   * crash but not a power loss until the WAL is synced; a passive checkpoint syncs it.
   */
  async sync(): Promise<void> {
    const release = await this.acquire();
    let worker: SqliteCheckpointer | undefined;
    try {
      await this.commitGroup();
      // The checkpoint worker syncs without holding the connection or the event loop.
      worker = this.checkpointer;
      if (worker === undefined && !this.closed) this.db.pragma('wal_checkpoint(PASSIVE)');
    } finally {
      release();
    }
    if (worker !== undefined && !(await worker.checkpoint())) await this.syncInline();
  }

  private async syncInline(): Promise<void> {
    const release = await this.acquire();
    try {
      if (!this.closed) this.db.pragma('wal_checkpoint(PASSIVE)');
    } finally {
      release();
    }
  }

  async close(): Promise<void> {
    const release = await this.acquire();
    try {
      await this.commitGroup();
      await this.checkpointer?.stop();
      if (!this.closed) {
        this.closed = true;
        this.stmts.clear();
        this.rawStmts.clear();
        this.db.close();
      }
    } finally {
      release();
    }
  }
}

function openDatabase(path: string, op: string): Db {
  const dir = dirname(path);
  if (!existsSync(dir) || !statSync(dir).isDirectory()) {
    throw new FsError(Errno.ENOENT, {
      op,
      path,
      message: `ENOENT: cannot open SQLite database ${path}: directory ${dir} does not exist`,
    });
  }
  let db: Db;
  try {
    db = new Database(path);
  } catch (e) {
    throw new FsError(Errno.EIO, {
      op,
      path,
      cause: e,
      message: `EIO: cannot open SQLite database ${path}: ${String(e)}`,
    });
  }
  try {
    db.defaultSafeIntegers(true);
    db.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
    db.pragma('journal_mode = WAL');
    // Commits do not fsync (they survive a crash of the process); fsync(2) on the file
    // system calls sync(), which syncs the WAL. This keeps fsyncs off the event loop for
    // every create/unlink while keeping fsync's power-loss guarantee.
    db.pragma('synchronous = NORMAL');
    // When the WAL restarts after a checkpoint, cut it to nothing rather than overwrite it.
    // A WAL frame is 24 bytes + a page, so every frame straddles two file pages; once the
    // old WAL's pages have left the page cache (drop_caches, memory pressure) each frame
    // written over them first reads both back, synchronously: 7 such reads made an unlink's
    // commit 350 of its 510 us after drop_caches. Appending to an empty file reads nothing.
    // Python unlinks through FUSE after drop_caches: 1865-1996/s -> 2891-3040/s.
    db.pragma('journal_size_limit = 0');
    // From here on every wait is asynchronous (see begin()).
    db.pragma('busy_timeout = 0');
  } catch (e) {
    db.close();
    throw new FsError(Errno.EIO, {
      op,
      path,
      cause: e,
      message: `EIO: cannot set up SQLite database ${path}: ${String(e)}`,
    });
  }
  return db;
}

export async function openSqliteEngine(url: string, options: EngineOptions): Promise<MetaEngine> {
  const { path, prefix } = parseSqliteUrl(url);
  const db = openDatabase(path, 'open meta');
  const bound: BusyBound = {
    budgetMs: new MetaRetryPolicy(options.retry).budgetMs(),
    ...(options.maxRetries === undefined ? {} : { maxAttempts: Math.max(1, options.maxRetries) }),
  };
  const backend = new SqliteBackend(db, bound, path === ':memory:' || path === '' ? undefined : path);
  return new SqlEngine({
    kind: 'sqlite3',
    displayUrl: url,
    prefix,
    dialect: sqliteDialect,
    runTx: backend.runTx,
    close: () => backend.close(),
    sync: () => backend.sync(),
    useLogger: (logger) => backend.useLogger(logger),
    outageStats: () => backend.outage,
    txRestarts: () => backend.outage.retries, // a busy database: another process holds the write lock
  });
}
