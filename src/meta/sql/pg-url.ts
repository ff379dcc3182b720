/**
 * `postgres://` meta URLs as JuiceFS reads them (pkg/meta/sql.go newSQLMeta, then pgx):
 * `postgres://[user][:password]@host[:5432]/db[?sslmode=...&search_path=...]`.
 *
 * Design: JuiceFS's own options are taken out of the query first (table_prefix,
 * max_open_conns, max_idle_conns, max_idle_time, max_life_time); what remains goes to the
 * driver as pgx would: sslmode, connect_timeout, application_name, `host` (a socket
 * directory) and any other key as a run-time parameter of the session (search_path
 * among them). search_path may name only one schema, as in JuiceFS. A password missing
 * from the URL comes from the caller (the CLI reads META_PASSWORD / META_PASSWORD_FILE).
 * Invariants: the display URL never shows a password.
 */
import { FsError, Errno } from '../../base/errno.js';

export interface PgUrl {
  host: string;
  port: number;
  user?: string;
  password?: string;
  database: string;
  /** `jfs_` or `jfs_{table_prefix}_`. */
  prefix: string;
  /** undefined: no TLS (sslmode disable/allow/prefer, or none given). */
  ssl?: { rejectUnauthorized: boolean };
  /** Session parameters sent at connect (search_path, application_name, ...). */
  params: Record<string, string>;
  maxOpenConns: number;
  idleMs: number;
  lifeMs: number;
  connectTimeoutMs?: number;
  displayUrl: string;
}

const DEFAULT_MAX_CONNS = 10;

function bad(url: string, why: string): FsError {
  return new FsError(Errno.EINVAL, {
    message: `invalid PostgreSQL meta URL '${redactPg(url)}': ${why} (expected postgres://[user][:password]@host[:5432]/db[?sslmode=...])`,
  });
}

/** The URL with the password replaced by '****'. */
export function redactPg(url: string): string {
  return url.replace(/^(postgres(?:ql)?:\/\/[^:@/]*:)[^@/]*@/i, '$1****@');
}

function intOpt(url: string, q: URLSearchParams, key: string, dflt: number): number {
  const v = q.get(key);
  q.delete(key);
  if (v === null || v === '') return dflt;
  if (!/^\d+$/.test(v)) throw bad(url, `${key} must be an integer, not '${v}'`);
  return Number(v);
}

function sslFor(url: string, mode: string | null): PgUrl['ssl'] {
  switch (mode ?? 'prefer') {
    case 'disable':
    case 'allow':
    case 'prefer':
      return undefined;
    case 'require':
      return { rejectUnauthorized: false };
    case 'verify-ca':
    case 'verify-full':
      return { rejectUnauthorized: true };
    default:
      throw bad(url, `unknown sslmode '${mode}'`);
  }
}

/** Parses a postgres:// URL; `password` is used when the URL has none. */
export function parsePgUrl(url: string, password?: string): PgUrl {
  const m = /^postgres(?:ql)?:\/\/(?:([^@/]*)@)?([^/?]*)(?:\/([^?]*))?(?:\?(.*))?$/i.exec(url);
  if (!m) throw bad(url, 'not a URL');
  const [, auth, hostPort = '', db = '', query = ''] = m;
  const q = new URLSearchParams(query);
  const tp = q.get('table_prefix') ?? '';
  q.delete('table_prefix');
  const maxOpen = intOpt(url, q, 'max_open_conns', 0);
  intOpt(url, q, 'max_idle_conns', 0); // the pool keeps what it opened, up to max_open_conns
  const idleS = intOpt(url, q, 'max_idle_time', 300);
  const lifeS = intOpt(url, q, 'max_life_time', 0);
  let user: string | undefined;
  let pass: string | undefined;
  if (auth !== undefined) {
    const i = auth.indexOf(':');
    user = decodeURIComponent(i < 0 ? auth : auth.slice(0, i)) || undefined;
    pass = i < 0 ? undefined : decodeURIComponent(auth.slice(i + 1)) || undefined;
  }
  const hp = /^(\[[^\]]*\]|[^:]*)(?::(\d*))?$/.exec(hostPort);
  if (!hp) throw bad(url, `bad host '${hostPort}'`);
  let host = (hp[1] ?? '').replace(/^\[|\]$/g, '');
  const socketDir = q.get('host');
  q.delete('host');
  if (socketDir) host = socketDir;
  if (!host) throw bad(url, 'no host');
  const port = hp[2] ? Number(hp[2]) : 5432;
  if (!(port > 0 && port < 65536)) throw bad(url, `bad port '${hp[2] ?? ''}'`);
  const database = decodeURIComponent(db);
  if (!database) throw bad(url, 'no database name');
  const ssl = sslFor(url, q.get('sslmode'));
  q.delete('sslmode');
  const ct = q.get('connect_timeout');
  q.delete('connect_timeout');
  const searchPath = q.get('search_path');
  if (searchPath !== null && searchPath.split(',').length > 1)
    throw bad(url, 'currently, only one schema is supported in search_path');
  const params: Record<string, string> = {};
  for (const [k, v] of q) params[k] = v;
  return {
    host,
    port,
    ...(user === undefined ? {} : { user }),
    ...((pass ?? password) ? { password: (pass ?? password) as string } : {}),
    database,
    prefix: tp ? `jfs_${tp}_` : 'jfs_',
    ...(ssl ? { ssl } : {}),
    params,
    maxOpenConns: maxOpen > 0 ? maxOpen : DEFAULT_MAX_CONNS,
    idleMs: idleS * 1000,
    lifeMs: lifeS * 1000,
    ...(ct && /^\d+$/.test(ct) ? { connectTimeoutMs: Number(ct) * 1000 } : {}),
    displayUrl: redactPg(url),
  };
}
