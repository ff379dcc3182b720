/**
 * The small driver surface the SQL engine is written against, so SQLite (better-sqlite3)
 * and a later Postgres driver share every statement of sql-engine.ts / sql-tx.ts.
 *
 * Design: statements are plain SQL with `?` placeholders (a Postgres connection rewrites
 * them to $n). Everything dialect-specific is an expression builder on `SqlDialect`
 * (reading a binary column, appending bytes, probing a table) or the DDL in schema.ts.
 * Row values arrive as `unknown` and are converted with the helpers below, which accept
 * every representation drivers use for integers (bigint, number, decimal string).
 * Invariant: inode numbers never pass through a JS number (trash inodes exceed 2^53).
 */
import { FsError, Errno } from '../../base/errno.js';

export type SqlParam = bigint | number | string | Buffer | null;
export type SqlRow = Readonly<Record<string, unknown>>;

/** One connection inside an open transaction (or autocommit for DDL). */
export interface SqlConn {
  query(sql: string, params?: readonly SqlParam[]): Promise<SqlRow[]>;
  /** Runs a statement; resolves to the number of rows it changed. */
  exec(sql: string, params?: readonly SqlParam[]): Promise<number>;
  /**
   * Every row as column values in SELECT order: no per-row object with named keys, for the
   * hot lookups and big listings. Optional, see `rawRows`.
   */
  queryRaw?(sql: string, params?: readonly SqlParam[]): Promise<ReadonlyArray<readonly unknown[]>>;
}

/** All rows of `sql` as positional values, through the driver's raw mode when it has one. */
export async function rawRows(
  conn: SqlConn,
  sql: string,
  params: readonly SqlParam[] = [],
): Promise<ReadonlyArray<readonly unknown[]>> {
  if (conn.queryRaw !== undefined) return conn.queryRaw(sql, params);
  return (await conn.query(sql, params)).map((r) => Object.values(r));
}

/** First row of `sql` (a query on a unique key) as positional values, see `rawRows`. */
export async function firstRow(
  conn: SqlConn,
  sql: string,
  params: readonly SqlParam[],
): Promise<readonly unknown[] | undefined> {
  return (await rawRows(conn, sql, params))[0];
}

export interface SqlDialect {
  readonly name: string;
  /** Expression reading a binary column as bytes whatever its storage class. */
  blob(expr: string): string;
  /** Expression of `col` with the bytes of `param` appended, keeping a binary value. */
  append(col: string, param: string): string;
  /** Query with one `?` (table name) returning a row when the table exists. */
  readonly tableExistsSql: string;
  /** CREATE statements for a table prefix such as `jfs_`. */
  ddl(prefix: string): string[];
}

/** Runs `fn` in one transaction of the backend (serialised, retried on lock conflicts). */
export type TxRunner = <T>(
  fn: (conn: SqlConn) => Promise<T>,
  opts: { op: string; readonly: boolean },
) => Promise<T>;

export function toBig(v: unknown, what = 'integer'): bigint {
  if (typeof v === 'bigint') return v;
  if (typeof v === 'number' && Number.isInteger(v)) return BigInt(v);
  if (typeof v === 'string' && /^-?\d+$/.test(v)) return BigInt(v);
  throw new FsError(Errno.EIO, { message: `EIO: unexpected SQL value for ${what}: ${String(v)}` });
}

/** NULL-tolerant integer column (NULL = 0, as Go reads nullable columns). */
export function toNum(v: unknown, what = 'integer'): number {
  if (v === null || v === undefined) return 0;
  return Number(toBig(v, what));
}

export function toBuf(v: unknown): Buffer {
  if (Buffer.isBuffer(v)) return v;
  if (v instanceof Uint8Array) return Buffer.from(v.buffer, v.byteOffset, v.byteLength);
  if (typeof v === 'string') return Buffer.from(v, 'utf8');
  if (v === null || v === undefined) return Buffer.alloc(0);
  throw new FsError(Errno.EIO, { message: `EIO: unexpected SQL value for bytes: ${typeof v}` });
}

export function toStr(v: unknown): string {
  if (typeof v === 'string') return v;
  if (Buffer.isBuffer(v) || v instanceof Uint8Array) return toBuf(v).toString('utf8');
  return String(v);
}

/** `(?,?,…)` with n placeholders. */
export function placeholders(n: number): string {
  return `(${new Array<string>(n).fill('?').join(',')})`;
}

const sqlTexts = new WeakMap<TemplateStringsArray, Array<{ values: readonly unknown[]; text: string }>>();

/**
 * Template tag for statement text: returns the same string object every time a call site
 * is evaluated with the same interpolated values (table names, dialect expressions), so
 * the driver's prepared-statement cache hashes it once instead of building and hashing a
 * fresh string per query. At most 16 texts are kept per call site.
 */
export function sql(strings: TemplateStringsArray, ...values: unknown[]): string {
  let list = sqlTexts.get(strings);
  if (list === undefined) sqlTexts.set(strings, (list = []));
  next: for (const e of list) {
    for (let i = 0; i < values.length; i++) if (e.values[i] !== values[i]) continue next;
    return e.text;
  }
  let text = strings[0] ?? '';
  for (let i = 0; i < values.length; i++) text += String(values[i]) + (strings[i + 1] ?? '');
  if (list.length >= 16) list.shift();
  list.push({ values, text });
  return text;
}
