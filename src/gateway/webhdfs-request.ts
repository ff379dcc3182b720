/**
 * WebHDFS request parsing (docs/WEBHDFS.md §1.1, §3.4): the path is percent-decoded once ('+' stays
 * '+'), the query is form-decoded ('+' is a space); parameter names and op values are
 * case-insensitive; empty values count as absent; unknown parameters are ignored.
 *
 * Invariants: the raw URL is split by hand — never through WHATWG URL, which would
 * resolve '..' and '%2e%2e' before we can reject them; every bad input is an
 * IllegalArgumentException (HTTP 400): components '.', '..', with ':', NUL or an encoded
 * '/', malformed escapes or non-UTF-8 bytes; numbers outside a Java long.
 */
import { HdfsError } from '../api/hdfs-errors.js';

export const PREFIX = '/webhdfs/v1';
const LONG_MAX = 2n ** 63n - 1n;

export interface WebHdfsRequest {
  method: string;
  /** Decoded, normalised absolute path ('/' for the root). */
  path: string;
  op: string;
  params: Map<string, string[]>;
}

const bad = (msg: string): HdfsError => new HdfsError('IllegalArgumentException', msg);

function decodeComponent(c: string): string {
  let s: string;
  try {
    s = decodeURIComponent(c);
  } catch {
    throw bad(`Invalid path component (bad escape or not UTF-8): ${c}`);
  }
  checkComponent(s);
  return s;
}

function checkComponent(s: string): void {
  if (s === '.' || s === '..') throw bad(`Invalid path: '${s}' is not allowed`);
  if (s.includes(':') || s.includes('\0') || s.includes('/'))
    throw bad(`Invalid path name component: ${JSON.stringify(s)}`);
  if (s.includes('\uFFFD')) throw bad(`Invalid path component: not UTF-8`);
  if (Buffer.byteLength(s) > 255) throw bad(`Path component too long (${Buffer.byteLength(s)} bytes)`);
}

/** Validates an absolute path given in a parameter (destination, sources); drops a scheme. */
export function paramPath(value: string, what: string): string {
  const p = value.replace(/^[a-zA-Z][a-zA-Z0-9+.-]*:\/\/[^/]*/, '');
  if (!p.startsWith('/'))
    throw bad(`Invalid value for webhdfs parameter "${what}": ${value} is not an absolute path`);
  const comps = p.split('/').filter((c) => c !== '');
  comps.forEach(checkComponent);
  return '/' + comps.join('/');
}

export function parseRequest(method: string, rawUrl: string): WebHdfsRequest {
  const q = rawUrl.indexOf('?');
  const rawPath = q < 0 ? rawUrl : rawUrl.slice(0, q);
  const rawQuery = q < 0 ? '' : rawUrl.slice(q + 1);
  if (rawPath !== PREFIX && !rawPath.startsWith(PREFIX + '/'))
    throw bad(`Not a WebHDFS URL (want ${PREFIX}/<path>): ${rawPath}`);
  const comps = rawPath
    .slice(PREFIX.length)
    .split('/')
    .filter((c) => c !== '')
    .map(decodeComponent);
  const params = new Map<string, string[]>();
  for (const [k, v] of new URLSearchParams(rawQuery)) {
    if (v === '') continue;
    const key = k.toLowerCase();
    const list = params.get(key);
    if (list) list.push(v);
    else params.set(key, [v]);
  }
  const op = (params.get('op')?.[0] ?? '').toUpperCase();
  return { method: method.toUpperCase(), path: '/' + comps.join('/'), op, params };
}

export function param(req: WebHdfsRequest, name: string): string | undefined {
  return req.params.get(name)?.[0];
}

export function bool(req: WebHdfsRequest, name: string, dflt: boolean): boolean {
  const v = param(req, name);
  if (v === undefined) return dflt;
  if (/^true$/i.test(v)) return true;
  if (/^false$/i.test(v)) return false;
  throw bad(`Invalid value for webhdfs parameter "${name}": ${v}`);
}

/** A Java long >= min, or `dflt` when absent. */
export function long(req: WebHdfsRequest, name: string, dflt?: number, min = 0): number | undefined {
  const v = param(req, name);
  if (v === undefined) return dflt;
  if (!/^-?\d{1,20}$/.test(v)) throw bad(`Invalid value for webhdfs parameter "${name}": ${v}`);
  const n = BigInt(v);
  if (n > LONG_MAX || n < -LONG_MAX - 1n)
    throw bad(`Invalid value for webhdfs parameter "${name}": ${v} is out of range`);
  if (n < BigInt(min)) throw bad(`Invalid value for webhdfs parameter "${name}": ${v} < ${min}`);
  return n > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : Number(n);
}

export function required(req: WebHdfsRequest, name: string): string {
  const v = param(req, name);
  if (v === undefined) throw bad(`Required parameter "${name}" is missing`);
  return v;
}

/** Octal permission 0..1777 (docs/WEBHDFS.md §3.2). */
export function permission(req: WebHdfsRequest, dflt: number): number {
  const v = param(req, 'permission');
  if (v === undefined) return dflt;
  if (!/^[0-7]{1,4}$/.test(v) || parseInt(v, 8) > 0o1777)
    throw bad(`Invalid value for webhdfs parameter "permission": ${v}`);
  return parseInt(v, 8);
}
