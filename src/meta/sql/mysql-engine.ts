/**
 * MySQL/MariaDB metadata engine (`mysql://`, docs/FORMAT.md §6) on `mysql2`.
 *
 * Design: every statement is the shared one of sql-engine.ts / sql-tx.ts, written in the
 * SQLite/PostgreSQL dialect; `mysqlStatement` translates it once per text: `"ident"` to
 * backquotes, `ON CONFLICT (..) DO UPDATE SET` to `ON DUPLICATE KEY UPDATE` with
 * `excluded.c` as `VALUES(c)`, `DO NOTHING` to a no-op update, and `RETURNING id` of an
 * INSERT to the insert id. Parameters are inlined as literals by this file (integers as
 * digits, bytes as X'..'), never sent as strings: MySQL compares a BIGINT column with a
 * string as a double, which would confuse inodes above 2^53. BIGINT results are read as
 * bigint. Connections report matched rows (CLIENT_FOUND_ROWS), as SQLite and PostgreSQL do.
 * Pool: max_open_conns (default 10), idle connections closed after max_idle_time (300 s).
 * Transactions: readers run as Go's (REPEATABLE READ, READ ONLY, JuiceFS's isolation on
 * MySQL). Go's writers lock the rows they read with SELECT ... FOR UPDATE; the shared
 * statements read without locking, so writers here run SERIALIZABLE (InnoDB then locks
 * every row a writer reads), which gives them SQLite's guarantee. A deadlock (1213), a
 * lock wait timeout (1205), a duplicate key (1062), MariaDB's "record has changed" (1020)
 * or too many connections (1040) — the errors Go's shouldRetry retries — roll back and run
 * the whole transaction again after i² ms, at most 50 times (EngineOptions.maxRetries),
 * then TxConflictError naming the op and the last error. A server that cannot be reached
 * is waited out by the retry policy (retry-policy.ts); a connection lost during COMMIT is
 * ambiguous and never retried.
 * Invariants: a connection that saw a connection error is destroyed, never reused;
 * opening never creates tables.
 */
import mysql from 'mysql2/promise';
import type { FieldPacket, PoolConnection, TypeCastField, TypeCastNext } from 'mysql2/promise';
import { setTimeout as sleep } from 'node:timers/promises';
import { TxConflictError, type EngineOptions, type MetaEngine } from '../engine.js';
import { FsError, Errno } from '../../base/errno.js';
import { MetaRetryPolicy, MetaUnavailableError } from '../retry-policy.js';
import type { Logger } from '../../util/logger.js';
import type { SqlConn, SqlDialect, SqlParam, SqlRow, TxRunner } from './sql-conn.js';
import { SqlEngine } from './sql-engine.js';
import { mysqlDdl } from './mysql-schema.js';
import { parseMysqlUrl, type MysqlUrl } from './mysql-url.js';

const MAX_ATTEMPTS = 50;
/** Server errors after which Go's shouldRetry runs a transaction again. */
const CONFLICT_ERRNOS = new Set([1213, 1205, 1062, 1020, 1040]);
/** Server errors of a connection that is gone (server shutdown, killed, lost). */
const CONN_ERRNOS = new Set([1053, 1077, 1927, 2002, 2003, 2006, 2013, 4031]);
const NET_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  'PROTOCOL_CONNECTION_LOST',
  'PROTOCOL_SEQUENCE_TIMEOUT',
]);

export const mysqlDialect: SqlDialect = {
  name: 'mysql',
  blob: (expr) => expr,
  append: (col, param) => `CONCAT(${col}, ${param})`,
  tableExistsSql:
    'SELECT table_name FROM information_schema.tables WHERE table_schema = DATABASE() AND table_name = ?',
  ddl: mysqlDdl,
};

/** The transaction kept conflicting with others past the bound. */
export class MysqlConflictError extends TxConflictError {
  constructor(op: string, attempts: number, last: unknown) {
    super(op, attempts);
    this.message = `MySQL transaction ${op} conflicted ${attempts} times, giving up (last: ${errText(last)})`;
    this.name = 'MysqlConflictError';
  }
}

function errno(e: unknown): number | undefined {
  const n = (e as { errno?: unknown } | null)?.errno;
  return typeof n === 'number' && n >= 1000 ? n : undefined;
}

function errText(e: unknown): string {
  const n = errno(e);
  return `${n ? `${n} ` : ''}${e instanceof Error ? e.message : String(e)}`;
}

/** The server could not be reached or went away (nothing of the transaction is known to be applied). */
export function isConnectionError(e: unknown): boolean {
  if (e instanceof FsError || !(e instanceof Error)) return false;
  const n = errno(e);
  if (n !== undefined && CONN_ERRNOS.has(n)) return true;
  const code = (e as { code?: unknown }).code;
  if (typeof code === 'string' && NET_CODES.has(code)) return true;
  if ((e as { fatal?: unknown }).fatal === true) return true;
  return /connection is in closed state|Can't add new command when connection is in closed state/i.test(
    e.message,
  );
}

interface Translated {
  text: string;
  /** `INSERT ... RETURNING id`: answer with the insert id. */
  returningId: boolean;
}

const translated = new Map<string, Translated>();
const MAX_CACHED = 2000;

/** Outside single-quoted literals: `"x"` -> `` `x` ``. */
function backquote(s: string): string {
  let out = '';
  let inStr = false;
  for (const ch of s) {
    if (ch === "'") inStr = !inStr;
    out += !inStr && ch === '"' ? '`' : ch;
  }
  return out;
}

/** The shared statement text in MySQL's dialect (cached per text). */
export function mysqlStatement(sqlText: string): Translated {
  const hit = translated.get(sqlText);
  if (hit !== undefined) return hit;
  let text = backquote(sqlText);
  text = text.replace(/ON CONFLICT\s*\(([^)]*)\)\s*DO NOTHING/gi, (_m, cols: string) => {
    const first = (cols.split(',')[0] ?? '').trim();
    return `ON DUPLICATE KEY UPDATE ${first} = ${first}`;
  });
  text = text.replace(/ON CONFLICT\s*\([^)]*\)\s*DO UPDATE SET/gi, 'ON DUPLICATE KEY UPDATE');
  text = text.replace(/\bexcluded\.(`[^`]+`|\w+)/g, 'VALUES($1)');
  const ret = /\s+RETURNING\s+id\s*$/i.exec(text);
  if (ret) text = text.slice(0, ret.index);
  const t = { text, returningId: ret !== null };
  if (translated.size < MAX_CACHED) translated.set(sqlText, t);
  return t;
}

function literal(p: SqlParam): string {
  if (p === null) return 'NULL';
  if (typeof p === 'bigint') return p.toString();
  if (typeof p === 'number') {
    if (!Number.isFinite(p)) throw new FsError(Errno.EINVAL, { message: `EINVAL: bad SQL number ${p}` });
    return String(p);
  }
  if (Buffer.isBuffer(p)) return `X'${p.toString('hex')}'`;
  return mysql.escape(p);
}

/** `?` placeholders (outside quotes) replaced by literals. */
export function inlineParams(text: string, ps: readonly SqlParam[]): string {
  if (ps.length === 0) return text;
  let out = '';
  let n = 0;
  let quote: string | undefined;
  for (const ch of text) {
    if (quote !== undefined) {
      if (ch === quote) quote = undefined;
    } else if (ch === "'" || ch === '`') quote = ch;
    else if (ch === '?') {
      if (n >= ps.length)
        throw new FsError(Errno.EIO, { message: `EIO: too few SQL parameters for: ${text}` });
      out += literal(ps[n++] ?? null);
      continue;
    }
    out += ch;
  }
  return out;
}

/** BIGINT as bigint (inodes above 2^53), the rest as mysql2 reads it. */
function typeCast(field: TypeCastField, next: TypeCastNext): unknown {
  if (field.type === 'LONGLONG') {
    const s = field.string();
    return s === null ? null : BigInt(s);
  }
  return next();
}

interface OkPacket {
  affectedRows: number;
  insertId: number | string | bigint;
}

function connOf(c: PoolConnection): SqlConn {
  const run = async (
    sql: string,
    ps: readonly SqlParam[],
    array: boolean,
  ): Promise<[unknown, Translated]> => {
    const t = mysqlStatement(sql);
    const [res] = (await c.query({ sql: inlineParams(t.text, ps), rowsAsArray: array })) as [
      unknown,
      FieldPacket[],
    ];
    return [res, t];
  };
  return {
    query: async (sql, ps = []) => {
      const [res, t] = await run(sql, ps, false);
      if (t.returningId) return [{ id: BigInt((res as OkPacket).insertId) }];
      return Array.isArray(res) ? (res as SqlRow[]) : [];
    },
    exec: async (sql, ps = []) => {
      const [res] = await run(sql, ps, false);
      return Array.isArray(res) ? res.length : (res as OkPacket).affectedRows;
    },
    queryRaw: async (sql, ps = []) => {
      const [res] = await run(sql, ps, true);
      return Array.isArray(res) ? (res as unknown[][]) : [];
    },
  };
}

/** The pool and the transaction loop of one engine. */
export class MysqlBackend {
  readonly stats = { commits: 0, conflicts: 0 };
  private readonly policy: MetaRetryPolicy;
  private readonly maxAttempts: number;
  private logger: Logger | undefined;
  private closed = false;

  constructor(
    private readonly pool: mysql.Pool,
    private readonly where: string,
    options: EngineOptions,
  ) {
    this.policy = new MetaRetryPolicy(options.retry);
    this.maxAttempts = Math.max(1, options.maxRetries ?? MAX_ATTEMPTS);
  }

  useLogger(logger: Logger): void {
    this.logger = logger;
    this.policy.useLogger(logger);
  }

  warn(msg: string): void {
    if (this.logger) this.logger.warn(msg);
    else process.emitWarning(msg);
  }

  get outage(): MetaRetryPolicy['stats'] {
    return this.policy.stats;
  }

  readonly runTx: TxRunner = <T>(
    fn: (conn: SqlConn) => Promise<T>,
    opts: { op: string; readonly: boolean },
  ) => this.policy.run(opts.op, `MySQL at ${this.where}`, () => this.untilNoConflict(fn, opts));

  private async untilNoConflict<T>(
    fn: (conn: SqlConn) => Promise<T>,
    opts: { op: string; readonly: boolean },
  ): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.once(fn, opts);
      } catch (e) {
        if (!CONFLICT_ERRNOS.has(errno(e) ?? 0)) throw e;
        this.stats.conflicts++;
        if (attempt >= this.maxAttempts) throw new MysqlConflictError(opts.op, attempt, e);
        if (attempt === 10)
          this.logger?.warn(`MySQL transaction ${opts.op} retried ${attempt} times: ${errText(e)}`);
        await sleep(attempt * attempt);
      }
    }
  }

  private async connect(op: string): Promise<PoolConnection> {
    if (this.closed) throw new FsError(Errno.EIO, { op, message: `EIO: ${op}: metadata engine is closed` });
    try {
      return await this.pool.getConnection();
    } catch (e) {
      if (CONFLICT_ERRNOS.has(errno(e) ?? 0)) throw e; // too many connections: Go retries
      throw new MetaUnavailableError(`cannot connect: ${errText(e)}`, false, { cause: e });
    }
  }

  /** One try: START TRANSACTION, the callback, COMMIT; any failure rolls back (or drops the connection). */
  private async once<T>(
    fn: (conn: SqlConn) => Promise<T>,
    opts: { op: string; readonly: boolean },
  ): Promise<T> {
    const c = await this.connect(opts.op);
    let broken = false;
    try {
      let result: T;
      try {
        // Both sent at once: the second waits for the first on the connection.
        await Promise.all([
          c.query(`SET TRANSACTION ISOLATION LEVEL ${opts.readonly ? 'REPEATABLE READ' : 'SERIALIZABLE'}`),
          c.query(opts.readonly ? 'START TRANSACTION READ ONLY' : 'START TRANSACTION'),
        ]);
        result = await fn(connOf(c));
      } catch (e) {
        if (isConnectionError(e)) {
          broken = true;
          throw new MetaUnavailableError(`connection lost: ${errText(e)}`, false, { cause: e });
        }
        await c.query('ROLLBACK').catch(() => (broken = true));
        throw e;
      }
      try {
        await c.query('COMMIT');
      } catch (e) {
        if (!isConnectionError(e)) throw e;
        broken = true;
        throw new MetaUnavailableError(`connection lost during COMMIT: ${errText(e)}`, !opts.readonly, {
          cause: e,
        });
      }
      this.stats.commits++;
      return result;
    } finally {
      if (broken) c.destroy();
      else c.release();
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.pool.end();
  }
}

export function poolOptions(u: MysqlUrl, options: EngineOptions): mysql.PoolOptions {
  return {
    ...(u.socketPath !== undefined
      ? { socketPath: u.socketPath }
      : { host: u.host ?? '127.0.0.1', port: u.port ?? 3306 }),
    database: u.database,
    ...(u.user === undefined ? {} : { user: u.user }),
    ...(u.password === undefined ? {} : { password: u.password }),
    ...(u.ssl ? { ssl: u.ssl } : {}),
    ...(u.charset ? { charset: u.charset } : {}),
    connectionLimit: u.maxOpenConns,
    maxIdle: u.maxOpenConns,
    idleTimeout: u.idleMs,
    connectTimeout: options.connectTimeoutMs ?? u.connectTimeoutMs ?? 10_000,
    supportBigNumbers: true,
    bigNumberStrings: true,
    flags: ['FOUND_ROWS'],
    typeCast,
    waitForConnections: true,
    queueLimit: 0,
  };
}

/**
 * The pool of a parsed URL. Session variables of the URL (`?key=value`) are set on each new
 * connection, as the Go driver does (the SET is queued before any other statement on it);
 * mysql2 reports a refused variable only to the SET's callback, so it is logged there.
 */
export function createMysqlPool(
  u: MysqlUrl,
  options: EngineOptions,
  onError?: (e: Error) => void,
): mysql.Pool {
  const pool = mysql.createPool(poolOptions(u, options));
  const vars = Object.entries(u.vars);
  if (vars.length > 0) {
    const stmt = `SET ${vars.map(([k, v]) => `${k}=${v}`).join(', ')}`;
    pool.pool.on('connection', (conn) => conn.query(stmt, (e: Error | null) => e && onError?.(e)));
  }
  return pool;
}

export async function openMysqlEngine(url: string, options: EngineOptions): Promise<MetaEngine> {
  const u = parseMysqlUrl(url, options.password);
  const where = `${u.socketPath ?? `${u.host ?? ''}:${u.port ?? 3306}`}/${u.database}`;
  // The warning hook runs on a later connection event, after `backend` is set.
  const pool = createMysqlPool(u, options, (e) =>
    backend.warn(`MySQL session variable of ${u.displayUrl} refused: ${e.message}`),
  );
  const backend = new MysqlBackend(pool, where, options);
  try {
    await pool.query('SELECT 1'); // as Go's Ping at open: an unreachable server fails now
  } catch (e) {
    await backend.close();
    throw new FsError(Errno.EIO, {
      op: 'open meta',
      cause: e,
      message: `EIO: cannot use MySQL at ${where}: ${errText(e)}`,
    });
  }
  return new SqlEngine({
    kind: 'mysql',
    displayUrl: u.displayUrl,
    prefix: u.prefix,
    dialect: mysqlDialect,
    runTx: backend.runTx,
    close: () => backend.close(),
    useLogger: (logger) => backend.useLogger(logger),
    outageStats: () => backend.outage,
    txRestarts: () => backend.stats.conflicts,
    queueWrites: true,
  });
}
