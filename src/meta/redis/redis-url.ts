/**
 * Parses Redis meta URLs (docs/FORMAT.md §5.1) into a connection target.
 * Forms: redis://[user:pass@]host:port[/DB], rediss:// (TLS), unix://[user:pass@]/path?db=N
 * (or unix://path?db=N), cluster redis://h1:p1,h2:p2[/DB] and sentinel
 * redis://[pw@]MASTER,s1,s2[:port][/DB] (a comma before the first colon).
 * Invariants: the password comes from the URL, else from the caller (never from env);
 * cluster mode prefixes every key with `{DB}`, the other modes use SELECT DB and no prefix.
 */
import { FsError, Errno } from '../../base/errno.js';
import { parseDurationMs } from '../retry-policy.js';
import { redactSecrets } from '../../util/redact.js';

export interface HostPort {
  host: string;
  port: number;
}

export interface RedisTarget {
  mode: 'standalone' | 'cluster' | 'sentinel';
  db: number;
  /** Key prefix: '' or `{DB}` (cluster). */
  prefix: string;
  /** TCP hosts (standalone: one; cluster: seeds; sentinel: the sentinels). */
  hosts: HostPort[];
  /** Unix socket path (unix:// only). */
  path?: string;
  tls: boolean;
  username?: string;
  password?: string;
  /** Sentinel master name. */
  masterName?: string;
  displayUrl: string;
  /** JuiceFS's `min-retry-backoff` / `max-retry-backoff` query options (e.g. `?max-retry-backoff=5s`). */
  retry: { minBackoffMs?: number; maxBackoffMs?: number };
  /** JuiceFS's `read-timeout` query option: a command without a reply by then fails (default 30 s). */
  readTimeoutMs?: number;
}

function invalid(url: string, why: string): FsError {
  return new FsError(Errno.EINVAL, {
    op: 'parse meta url',
    message: `invalid redis URL '${redactSecrets(url)}': ${why}`,
  });
}

function parseHostPort(url: string, s: string, defPort: number): HostPort {
  const m = /^(\[[^\]]+\]|[^:]*)(?::(\d+))?$/.exec(s);
  if (!m || m[1] === undefined) throw invalid(url, `bad host '${s}'`);
  const host = m[1].replace(/^\[(.*)\]$/, '$1') || 'localhost';
  const port = m[2] === undefined ? defPort : Number(m[2]);
  if (!Number.isInteger(port) || port <= 0 || port > 65535) throw invalid(url, `bad port in '${s}'`);
  return { host, port };
}

function parseDb(url: string, s: string | undefined): number {
  if (s === undefined || s === '') return 0;
  if (!/^\d+$/.test(s)) throw invalid(url, `bad database number '${s}'`);
  return Number(s);
}

/** Splits `user:pass@rest` (the last '@' wins); both parts percent-decoded. */
function splitUserInfo(s: string): { user?: string; pass?: string; rest: string } {
  const at = s.lastIndexOf('@');
  if (at < 0) return { rest: s };
  const info = s.slice(0, at);
  const colon = info.indexOf(':');
  const user = decodeURIComponent(colon < 0 ? info : info.slice(0, colon));
  const pass = colon < 0 ? undefined : decodeURIComponent(info.slice(colon + 1));
  return { ...(user ? { user } : {}), ...(pass ? { pass } : {}), rest: s.slice(at + 1) };
}

function parseRetryQuery(url: string, query: URLSearchParams): RedisTarget['retry'] {
  const out: RedisTarget['retry'] = {};
  for (const [name, field] of [
    ['min-retry-backoff', 'minBackoffMs'],
    ['max-retry-backoff', 'maxBackoffMs'],
  ] as const) {
    const v = query.get(name) ?? query.get(name.replaceAll('-', '_'));
    if (v === null) continue;
    const ms = parseDurationMs(v);
    if (ms === undefined) throw invalid(url, `bad ${name} '${v}' (e.g. 20ms, 10s)`);
    out[field] = ms;
  }
  return out;
}

export function parseRedisUrl(url: string, fallbackPassword?: string): RedisTarget {
  const m = /^(redis|rediss|unix):\/\/(.*)$/i.exec(url);
  if (!m || m[1] === undefined || m[2] === undefined)
    throw invalid(url, 'expected redis://, rediss:// or unix://');
  const scheme = m[1].toLowerCase();
  const q = m[2].indexOf('?');
  const body = q < 0 ? m[2] : m[2].slice(0, q);
  const query = new URLSearchParams(q < 0 ? '' : m[2].slice(q + 1));
  const { user, pass, rest } = splitUserInfo(body);
  const password = pass ?? fallbackPassword;
  const readTimeout = query.get('read-timeout') ?? query.get('read_timeout');
  const readTimeoutMs = readTimeout === null ? undefined : parseDurationMs(readTimeout);
  if (readTimeout !== null && !readTimeoutMs)
    throw invalid(url, `bad read-timeout '${readTimeout}' (e.g. 30s)`);
  const common = {
    retry: parseRetryQuery(url, query),
    ...(readTimeoutMs === undefined ? {} : { readTimeoutMs }),
    tls: scheme === 'rediss',
    displayUrl: redactSecrets(url),
    ...(user === undefined ? {} : { username: user }),
    ...(password === undefined || password === '' ? {} : { password }),
  };
  if (scheme === 'unix') {
    const path = rest.startsWith('/') ? rest : `/${rest}`;
    if (path === '/') throw invalid(url, 'missing socket path');
    return {
      mode: 'standalone',
      db: parseDb(url, query.get('db') ?? undefined),
      prefix: '',
      hosts: [],
      path,
      ...common,
    };
  }
  const slash = rest.indexOf('/');
  const hostPart = slash < 0 ? rest : rest.slice(0, slash);
  const db = parseDb(url, slash < 0 ? (query.get('db') ?? undefined) : rest.slice(slash + 1));
  const parts = hostPart.split(',').filter((h) => h !== '');
  if (parts.length === 0) parts.push('localhost');
  const firstComma = hostPart.indexOf(',');
  const firstColon = hostPart.indexOf(':');
  if (firstComma >= 0 && (firstColon < 0 || firstComma < firstColon)) {
    // Sentinel: MASTER,s1,s2[:port]; a port on the last host applies to those without one.
    const [masterName, ...sentinels] = parts;
    if (masterName === undefined || sentinels.length === 0)
      throw invalid(url, 'sentinel form needs MASTER,host,...');
    const last = sentinels[sentinels.length - 1] ?? '';
    const defPort = /:(\d+)$/.exec(last)?.[1];
    const hosts = sentinels.map((h) =>
      parseHostPort(url, h, defPort === undefined ? 26379 : Number(defPort)),
    );
    return { mode: 'sentinel', db, prefix: '', hosts, masterName, ...common };
  }
  const hosts = parts.map((h) => parseHostPort(url, h, 6379));
  if (hosts.length > 1) return { mode: 'cluster', db, prefix: `{${db}}`, hosts, ...common };
  return { mode: 'standalone', db, prefix: '', hosts, ...common };
}
