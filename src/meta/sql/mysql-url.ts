/**
 * `mysql://` meta URLs as JuiceFS reads them: the scheme is cut off and the rest is a Go
 * MySQL DSN (go-sql-driver ParseDSN after JuiceFS's recoveryMysqlPwd):
 * `mysql://[user[:password]@][net[(addr)]]/db[?param=value&...]`, e.g.
 * `mysql://root:pw@(127.0.0.1:3306)/juicefs`, `mysql://u:p@tcp(db:3306)/jfs`,
 * `mysql://u:p@unix(/run/mysqld/mysqld.sock)/jfs`.
 *
 * Design: the password runs to the last '@' before the database slash and is URL-decoded
 * (recoveryMysqlPwd). The network is `tcp` unless named; a tcp address without a port gets
 * 3306, no address at all is 127.0.0.1:3306 (unix: /tmp/mysql.sock), as the Go driver
 * normalises. JuiceFS's own options are taken out of the query first (table_prefix,
 * max_open_conns, max_idle_conns, max_idle_time, max_life_time); of the driver's, charset,
 * timeout (a Go duration) and tls are used; any other key is a session variable set on
 * each connection (`SET key=value`), as the Go driver does. A password missing from the
 * URL comes from the caller (the CLI reads META_PASSWORD / META_PASSWORD_FILE).
 * Invariants: the display URL never shows a password.
 */
import { FsError, Errno } from '../../base/errno.js';

export interface MysqlUrl {
  /** tcp: host and port; unix: socketPath. */
  host?: string;
  port?: number;
  socketPath?: string;
  user?: string;
  password?: string;
  database: string;
  /** `jfs_` or `jfs_{table_prefix}_`. */
  prefix: string;
  charset?: string;
  /** undefined: no TLS; else verify the server's certificate or not. */
  ssl?: { rejectUnauthorized: boolean };
  /** Session variables set on each new connection (name -> value as written). */
  vars: Record<string, string>;
  maxOpenConns: number;
  idleMs: number;
  lifeMs: number;
  connectTimeoutMs?: number;
  displayUrl: string;
}

const DEFAULT_MAX_CONNS = 10;
const USAGE =
  'expected mysql://user[:password]@(host:3306)/db or mysql://user[:password]@unix(/path/sock)/db';

/** The URL with the password replaced by '****'. */
export function redactMysql(url: string): string {
  const m = /^(mysql:\/\/)([^:@/]*):(.*)@([^@]*)$/i.exec(url.split('?')[0] ?? url);
  if (!m) return url;
  const rest = url.slice((url.split('?')[0] ?? url).length);
  return `${m[1] ?? ''}${m[2] ?? ''}:****@${m[4] ?? ''}${rest}`;
}

function bad(url: string, why: string): FsError {
  return new FsError(Errno.EINVAL, {
    message: `invalid MySQL meta URL '${redactMysql(url)}': ${why} (${USAGE})`,
  });
}

function intOpt(url: string, q: URLSearchParams, key: string, dflt: number): number {
  const v = q.get(key);
  q.delete(key);
  if (v === null || v === '') return dflt;
  if (!/^\d+$/.test(v)) throw bad(url, `${key} must be an integer, not '${v}'`);
  return Number(v);
}

const DURATION_UNITS: Record<string, number> = {
  ns: 1e-6,
  us: 1e-3,
  µs: 1e-3,
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
};

/** A Go duration such as `5s`, `1m30s`, `500ms` in milliseconds. */
export function goDurationMs(v: string): number | undefined {
  const re = /(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/gy;
  let total = 0;
  let at = 0;
  for (let m = re.exec(v); m !== null; m = re.exec(v)) {
    total += Number(m[1]) * (DURATION_UNITS[m[2] ?? ''] ?? 0);
    at = re.lastIndex;
  }
  return v !== '' && at === v.length ? total : v === '0' ? 0 : undefined;
}

function tlsFor(url: string, v: string | null): MysqlUrl['ssl'] {
  switch ((v ?? 'false').toLowerCase()) {
    case 'false':
    case '0':
    case 'preferred':
      return undefined;
    case 'true':
    case '1':
      return { rejectUnauthorized: true };
    case 'skip-verify':
      return { rejectUnauthorized: false };
    default:
      throw bad(url, `unsupported tls '${v ?? ''}' (true, false, skip-verify or preferred)`);
  }
}

/** `[net][(addr)]` after the '@': host/port or a socket path. */
function parseAddr(url: string, netAddr: string): Pick<MysqlUrl, 'host' | 'port' | 'socketPath'> {
  const m = /^([a-z0-9]*)(?:\((.*)\))?$/i.exec(netAddr);
  if (!m) throw bad(url, `bad address '${netAddr}' (put it in parentheses: (host:port))`);
  const net = (m[1] || 'tcp').toLowerCase();
  const addr = m[2] ?? '';
  if (net === 'unix') return { socketPath: addr || '/tmp/mysql.sock' };
  if (net !== 'tcp' && net !== 'tcp6')
    throw bad(url, `unknown network '${m[1] ?? ''}' (a host goes in parentheses: (host:port))`);
  if (addr === '') return { host: '127.0.0.1', port: 3306 };
  const hp = /^(\[[^\]]*\]|[^:]*)(?::(\d*))?$/.exec(addr);
  if (!hp || !hp[1]) throw bad(url, `bad host '${addr}'`);
  const port = hp[2] ? Number(hp[2]) : 3306;
  if (!(port > 0 && port < 65536)) throw bad(url, `bad port '${hp[2] ?? ''}'`);
  return { host: hp[1].replace(/^\[|\]$/g, ''), port };
}

function decodePassword(p: string): string {
  try {
    return decodeURIComponent(p);
  } catch {
    return p; // Go keeps a password that does not parse as a URL component as written
  }
}

/** Options of the Go driver itself (not session variables); they have no effect here. */
const GO_DRIVER_OPTS = new Set(
  (
    'allowAllFiles allowCleartextPasswords allowFallbackToPlaintext allowNativePasswords allowOldPasswords ' +
    'checkConnLiveness clientFoundRows collation columnsWithAlias interpolateParams loc maxAllowedPacket ' +
    'multiStatements parseTime readTimeout rejectReadOnly serverPubKey writeTimeout connectionAttributes'
  ).split(' '),
);

/** Parses a mysql:// URL; `password` is used when the URL has none. */
export function parseMysqlUrl(url: string, password?: string): MysqlUrl {
  const m = /^mysql:\/\/(.*)$/is.exec(url);
  if (!m) throw bad(url, 'not a mysql:// URL');
  const dsn = m[1] ?? '';
  const qi = dsn.indexOf('?');
  const base = qi < 0 ? dsn : dsn.slice(0, qi);
  const q = new URLSearchParams(qi < 0 ? '' : dsn.slice(qi + 1));
  const slash = base.lastIndexOf('/');
  if (slash < 0) throw bad(url, 'no database name');
  const database = base.slice(slash + 1);
  if (!database) throw bad(url, 'no database name');
  const head = base.slice(0, slash);
  const at = head.lastIndexOf('@');
  const auth = at < 0 ? undefined : head.slice(0, at);
  const where = parseAddr(url, at < 0 ? head : head.slice(at + 1));
  let user: string | undefined;
  let pass: string | undefined;
  if (auth !== undefined) {
    const i = auth.indexOf(':');
    user = (i < 0 ? auth : auth.slice(0, i)) || undefined;
    pass = i < 0 ? undefined : decodePassword(auth.slice(i + 1)) || undefined;
  }
  const tp = q.get('table_prefix') ?? '';
  q.delete('table_prefix');
  const maxOpen = intOpt(url, q, 'max_open_conns', 0);
  intOpt(url, q, 'max_idle_conns', 0); // the pool keeps what it opened, up to max_open_conns
  const idleS = intOpt(url, q, 'max_idle_time', 300);
  const lifeS = intOpt(url, q, 'max_life_time', 0);
  const charset = q.get('charset')?.split(',')[0];
  q.delete('charset');
  const ssl = tlsFor(url, q.get('tls'));
  q.delete('tls');
  const timeout = q.get('timeout');
  q.delete('timeout');
  const connectTimeoutMs = timeout === null ? undefined : goDurationMs(timeout);
  if (timeout !== null && connectTimeoutMs === undefined) throw bad(url, `bad timeout '${timeout}'`);
  const vars: Record<string, string> = {};
  for (const [k, v] of q) {
    if (GO_DRIVER_OPTS.has(k)) continue;
    if (!/^[A-Za-z_][A-Za-z0-9_.]*$/.test(k)) throw bad(url, `bad parameter '${k}'`);
    vars[k] = v;
  }
  const pw = pass ?? password;
  return {
    ...where,
    ...(user === undefined ? {} : { user }),
    ...(pw ? { password: pw } : {}),
    database,
    prefix: tp ? `jfs_${tp}_` : 'jfs_',
    ...(charset ? { charset } : {}),
    ...(ssl ? { ssl } : {}),
    vars,
    maxOpenConns: maxOpen > 0 ? maxOpen : DEFAULT_MAX_CONNS,
    idleMs: idleS * 1000,
    lifeMs: lifeS * 1000,
    ...(connectTimeoutMs ? { connectTimeoutMs } : {}),
    displayUrl: redactMysql(url),
  };
}
