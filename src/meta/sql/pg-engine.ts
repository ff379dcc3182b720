/**
 * PostgreSQL metadata engine (`postgres://`, docs/FORMAT.md §6) on node-postgres (`pg`).
 *
 * Design: every statement is the shared one of sql-engine.ts / sql-tx.ts; this file holds
 * the driver: a connection pool (max_open_conns, default 10; idle connections closed after
 * max_idle_time, 300 s, as JuiceFS), `?` placeholders rewritten to `$n`, and each distinct
 * statement text prepared once per connection (a named statement). Transactions: read-only
 * ones run as Go's roTxn does (REPEATABLE READ, READ ONLY). Go runs writers at the
 * default READ COMMITTED and locks the rows it reads with SELECT ... FOR UPDATE; the
 * shared statements were written for SQLite's single writer and read without locking, so
 * writers here run SERIALIZABLE, which gives them SQLite's guarantee and still conflicts
 * with a Go writer on every row both change. A serialization failure (40001), a deadlock
 * (40P01), a duplicate key (23505, as Go retries it) or an aborted transaction (25P02)
 * rolls back and runs the whole transaction again after i² ms, at most 50 times as Go
 * (EngineOptions.maxRetries), then TxConflictError naming the op and the last error. A
 * server that cannot be reached (connect refused, connection lost before COMMIT, server
 * shutting down) is waited out by the retry policy (retry-policy.ts). A writer learns its
 * transaction id and backend pid with its BEGIN (same round trip); when the connection is
 * lost during COMMIT, `txid_status` on another connection settles it: committed is
 * success, aborted runs the transaction again, in progress (the old backend still lives)
 * terminates that backend and asks again; a status it cannot learn leaves it ambiguous
 * (EIO, never retried).
 * Invariants: BIGINT columns are read as bigint (a per-pool type parser), so inodes above
 * 2^53 round-trip; a client that saw a connection error is destroyed, never reused;
 * opening never creates tables.
 */
import pg from 'pg';
import { setTimeout as sleep } from 'node:timers/promises';
import { TxConflictError, type EngineOptions, type MetaEngine } from '../engine.js';
import { FsError, Errno } from '../../base/errno.js';
import { MetaRetryPolicy, MetaUnavailableError } from '../retry-policy.js';
import type { Logger } from '../../util/logger.js';
import type { SqlConn, SqlDialect, SqlParam, SqlRow, TxRunner } from './sql-conn.js';
import { SqlEngine } from './sql-engine.js';
import { pgDdl } from './pg-schema.js';
import { parsePgUrl, type PgUrl } from './pg-url.js';

const MAX_ATTEMPTS = 50;
const INT8_OID = 20;
/** Distinct statement texts prepared by name; more run unnamed (parsed each time). */
const MAX_NAMED = 1000;

/** SQLSTATEs after which Go's shouldRetry runs a transaction again. */
/** Socket errors of a server that is down or unreachable. */
const NET_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
]);
const CONFLICT_CODES = new Set(['40001', '40P01', '23505', '25P02']);

export const pgDialect: SqlDialect = {
  name: 'postgres',
  blob: (expr) => expr,
  append: (col, param) => `${col} || ${param}`,
  tableExistsSql:
    'SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema() AND table_name = ?',
  ddl: pgDdl,
};

/** The transaction kept conflicting with others past the bound. */
export class PgConflictError extends TxConflictError {
  constructor(op: string, attempts: number, last: unknown) {
    super(op, attempts);
    this.message = `PostgreSQL transaction ${op} conflicted ${attempts} times, giving up (last: ${errText(last)})`;
    this.name = 'PgConflictError';
  }
}

function errText(e: unknown): string {
  const code = sqlState(e);
  return `${code ? `${code} ` : ''}${e instanceof Error ? e.message : String(e)}`;
}

/** The SQLSTATE of a server error, else undefined. */
function sqlState(e: unknown): string | undefined {
  const code = (e as { code?: unknown } | null)?.code;
  return typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code) ? code : undefined;
}

/** The server could not be reached or went away (nothing of the transaction is known to be applied). */
export function isConnectionError(e: unknown): boolean {
  if (e instanceof FsError || !(e instanceof Error)) return false;
  const state = sqlState(e);
  if (state !== undefined)
    return state.startsWith('08') || state === '57P01' || state === '57P02' || state === '57P03';
  const code = (e as { code?: unknown } | null)?.code;
  if (typeof code === 'string' && NET_CODES.has(code)) return true;
  return /Connection terminated|connection error|timeout expired|not queryable/i.test(e.message);
}

const texts = new Map<string, { text: string; name: string | undefined }>();

/** `?` placeholders as `$1, $2, ...` (outside quotes), and the statement's prepared name. */
export function pgStatement(sql: string): { text: string; name: string | undefined } {
  let s = texts.get(sql);
  if (s !== undefined) return s;
  let out = '';
  let n = 0;
  let quote: string | undefined;
  for (const ch of sql) {
    if (quote !== undefined) {
      if (ch === quote) quote = undefined;
    } else if (ch === "'" || ch === '"') quote = ch;
    else if (ch === '?') {
      out += `$${++n}`;
      continue;
    }
    out += ch;
  }
  const ddl = /^\s*(CREATE|DROP|ALTER)\b/i.test(sql);
  s = { text: out, name: ddl || texts.size >= MAX_NAMED ? undefined : `tjfs_${texts.size}` };
  texts.set(sql, s);
  return s;
}

function params(ps: readonly SqlParam[]): unknown[] {
  return ps.map((p) => (typeof p === 'bigint' ? p.toString() : p));
}

/**
 * The statements of one transaction on its connection. Calls made without waiting for the
 * previous one (Promise.all in the shared code) are queued here: pg 9 will refuse a query
 * while one is running on the same client.
 */
function connOf(client: pg.PoolClient): SqlConn {
  let tail: Promise<unknown> = Promise.resolve();
  const run = <R extends pg.QueryResultRow>(
    sql: string,
    ps: readonly SqlParam[],
    array: boolean,
  ): Promise<pg.QueryResult<R>> => {
    const st = pgStatement(sql);
    const cfg: pg.QueryConfig = { ...st, values: params(ps), ...(array ? { rowMode: 'array' } : {}) };
    const p = tail.then(() => client.query<R>(cfg));
    tail = p.catch(() => undefined);
    return p;
  };
  return {
    query: async (sql, ps = []) => (await run(sql, ps, false)).rows as SqlRow[],
    exec: async (sql, ps = []) => (await run(sql, ps, false)).rowCount ?? 0,
    queryRaw: async (sql, ps = []) => (await run(sql, ps, true)).rows as unknown[][],
  };
}

/** Times `settle` asks a transaction's status (ending its backend between tries). */
const SETTLE_TRIES = 10;

/** BEGIN for a writer, learning its transaction id and backend pid in the same round trip. */
async function beginWriter(client: pg.PoolClient): Promise<{ xid: string; pid: number }> {
  const rs = (await client.query(
    'BEGIN ISOLATION LEVEL SERIALIZABLE; SELECT txid_current()::text AS xid, pg_backend_pid() AS pid',
  )) as unknown as pg.QueryResult<{ xid: string; pid: number }>[];
  const row = rs[1]?.rows[0];
  if (row === undefined) throw new Error('PostgreSQL: BEGIN returned no transaction id');
  return { xid: row.xid, pid: Number(row.pid) };
}

/** The pool and the transaction loop of one engine. */
export class PgBackend {
  readonly stats = { commits: 0, conflicts: 0 };
  private readonly policy: MetaRetryPolicy;
  private logger: Logger | undefined;
  private closed = false;

  constructor(
    private readonly pool: pg.Pool,
    private readonly where: string,
    options: EngineOptions,
  ) {
    this.policy = new MetaRetryPolicy(options.retry);
    this.maxAttempts = Math.max(1, options.maxRetries ?? MAX_ATTEMPTS);
    // A connection that breaks (server restart) must not crash the process: every client
    // logs its own, checked out or idle (the pool listens to idle clients only, so a
    // checked-out client whose connection died between queries threw an unhandled 'error'
    // event). The pool re-emits an idle client's error, already logged; it needs a listener.
    pool.on('connect', (client) =>
      client.on('error', (e) =>
        this.logger?.warn(`PostgreSQL connection at ${this.where} lost: ${e.message}`),
      ),
    );
    pool.on('error', () => undefined);
  }

  private readonly maxAttempts: number;

  useLogger(logger: Logger): void {
    this.logger = logger;
    this.policy.useLogger(logger);
  }

  get outage(): MetaRetryPolicy['stats'] {
    return this.policy.stats;
  }

  readonly runTx: TxRunner = <T>(
    fn: (conn: SqlConn) => Promise<T>,
    opts: { op: string; readonly: boolean },
  ) => this.policy.run(opts.op, `PostgreSQL at ${this.where}`, () => this.untilNoConflict(fn, opts));

  private async untilNoConflict<T>(
    fn: (conn: SqlConn) => Promise<T>,
    opts: { op: string; readonly: boolean },
  ): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.once(fn, opts);
      } catch (e) {
        if (!CONFLICT_CODES.has(sqlState(e) ?? '')) throw e;
        this.stats.conflicts++;
        if (attempt >= this.maxAttempts) throw new PgConflictError(opts.op, attempt, e);
        if (attempt === 10)
          this.logger?.warn(`PostgreSQL transaction ${opts.op} retried ${attempt} times: ${errText(e)}`);
        await sleep(attempt * attempt);
      }
    }
  }

  private async connect(op: string): Promise<pg.PoolClient> {
    if (this.closed) throw new FsError(Errno.EIO, { op, message: `EIO: ${op}: metadata engine is closed` });
    try {
      return await this.pool.connect();
    } catch (e) {
      throw new MetaUnavailableError(`cannot connect: ${errText(e)}`, false, { cause: e });
    }
  }

  /** One try: BEGIN, the callback, COMMIT; any failure rolls back (or drops the connection). */
  private async once<T>(
    fn: (conn: SqlConn) => Promise<T>,
    opts: { op: string; readonly: boolean },
  ): Promise<T> {
    const client = await this.connect(opts.op);
    let broken: Error | undefined;
    let self: { xid: string; pid: number } | undefined;
    let released = false;
    try {
      let result: T;
      try {
        if (opts.readonly) await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
        else self = await beginWriter(client);
        result = await fn(connOf(client));
      } catch (e) {
        if (isConnectionError(e)) {
          broken = e as Error;
          throw new MetaUnavailableError(`connection lost: ${errText(e)}`, false, { cause: e });
        }
        await client.query('ROLLBACK').catch((r: Error) => (broken = r));
        throw e;
      }
      try {
        await client.query('COMMIT');
      } catch (e) {
        if (!isConnectionError(e)) throw e; // the server answered: rolled back (40001 among them)
        broken = e as Error;
        const lost = `connection lost during COMMIT: ${errText(e)}`;
        if (self === undefined) throw new MetaUnavailableError(lost, false, { cause: e });
        client.release(broken); // its pool slot is needed to ask
        released = true;
        const status = await this.settle(self);
        if (status === 'aborted')
          throw new MetaUnavailableError(`${lost} (not committed)`, false, { cause: e });
        if (status !== 'committed')
          throw new MetaUnavailableError(`${lost}; its outcome could not be learned (${status})`, true, {
            cause: e,
          });
      }
      this.stats.commits++;
      return result;
    } finally {
      if (!released) client.release(broken ?? false);
    }
  }

  /**
   * The fate of a transaction whose COMMIT reply was lost, asked on another connection
   * (the pool waits for one while the server is down, within the retry policy's bound).
   */
  private async settle(self: { xid: string; pid: number }): Promise<string> {
    let last = 'unknown';
    for (let i = 0; i < SETTLE_TRIES; i++) {
      try {
        const r = await this.policy.run('settle COMMIT', `PostgreSQL at ${this.where}`, async () => {
          try {
            return await this.pool.query<{ s: string | null }>('SELECT txid_status($1::bigint) AS s', [
              self.xid,
            ]);
          } catch (e) {
            if (isConnectionError(e)) throw new MetaUnavailableError(errText(e), false, { cause: e });
            throw e;
          }
        });
        last = r.rows[0]?.s ?? 'too old to know';
        if (last !== 'in progress') return last;
        // The old backend still holds it (a dropped link, not a dead server): end it, ask again.
        await this.pool.query('SELECT pg_terminate_backend($1)', [self.pid]).catch(() => undefined);
      } catch (e) {
        return `status query failed: ${errText(e)}`;
      }
      await sleep(50 * (i + 1));
    }
    return last;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.pool.end();
  }
}

export function poolConfig(u: PgUrl, options: EngineOptions): pg.PoolConfig {
  const sessionParams = Object.entries(u.params).map(([k, v]) => `-c ${k}=${v.replace(/[\\ ]/g, '\\$&')}`);
  return {
    host: u.host,
    port: u.port,
    database: u.database,
    ...(u.user === undefined ? {} : { user: u.user }),
    ...(u.password === undefined ? {} : { password: u.password }),
    ...(u.ssl ? { ssl: u.ssl } : {}),
    ...(sessionParams.length > 0 ? { options: sessionParams.join(' ') } : {}),
    max: u.maxOpenConns,
    idleTimeoutMillis: u.idleMs,
    ...(u.lifeMs > 0 ? { maxLifetimeSeconds: Math.ceil(u.lifeMs / 1000) } : {}),
    connectionTimeoutMillis: options.connectTimeoutMs ?? u.connectTimeoutMs ?? 10_000,
    types: {
      getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
        oid === INT8_OID ? (v: string) => BigInt(v) : pg.types.getTypeParser(oid, format ?? 'text')) as never,
    },
  };
}

export async function openPgEngine(url: string, options: EngineOptions): Promise<MetaEngine> {
  const u = parsePgUrl(url, options.password);
  const where = `${u.host}:${u.port}/${u.database}`;
  const pool = new pg.Pool(poolConfig(u, options));
  const backend = new PgBackend(pool, where, options);
  try {
    await pool.query('SELECT 1'); // as Go's Ping at open: an unreachable server fails now
  } catch (e) {
    await backend.close();
    throw new FsError(Errno.EIO, {
      op: 'open meta',
      cause: e,
      message: `EIO: cannot use PostgreSQL at ${where}: ${errText(e)}`,
    });
  }
  return new SqlEngine({
    kind: 'postgres',
    displayUrl: u.displayUrl,
    prefix: u.prefix,
    dialect: pgDialect,
    runTx: backend.runTx,
    close: () => backend.close(),
    useLogger: (logger) => backend.useLogger(logger),
    outageStats: () => backend.outage,
    txRestarts: () => backend.stats.conflicts,
    // No queue: BEGIN already takes the snapshot (txid_current()), so a transaction that
    // waited in the queue would read from before the one it waited for and fail anyway
    // (measured: every queued create restarted once).
  });
}
