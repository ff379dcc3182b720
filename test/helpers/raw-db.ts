/**
 * Raw access to a volume's database, bypassing the engines: an ioredis client speaking
 * RESP2 (flat replies, Buffers) and a better-sqlite3 handle on the file of a sqlite3:// URL.
 * Compatibility tests read (or corrupt) the exact stored bytes through these.
 */
import Database from 'better-sqlite3';
import { Redis } from 'ioredis';

export async function rawRedis(url: string): Promise<Redis> {
  const r = new Redis(url, {
    lazyConnect: true,
    protocol: 2,
    replyMapping: 'legacy',
    maxRetriesPerRequest: 1,
  });
  await r.connect();
  return r;
}

/** Pairs of a flat RESP2 array reply (HGETALL, ZRANGE WITHSCORES) as strings. */
export function flatPairs(reply: unknown): [string, string][] {
  if (!Array.isArray(reply)) return [];
  const out: [string, string][] = [];
  for (let i = 0; i + 1 < reply.length; i += 2) out.push([String(reply[i]), String(reply[i + 1])]);
  return out;
}

/** Hash as a field -> hex value map (binary-safe). */
export async function hashHex(r: Redis, key: string): Promise<Record<string, string>> {
  const m = await r.hgetallBuffer(key);
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(m)) out[k] = v.toString('hex');
  return out;
}

/** Hash as a field -> string value map. */
export async function hashText(r: Redis, key: string): Promise<Record<string, string>> {
  return r.hgetall(key);
}

export function sqlitePath(url: string): string {
  return url.replace(/^sqlite3:\/\//, '').replace(/\?.*$/, '');
}

/** Opens the SQLite file of a sqlite3:// URL with 64-bit integers as bigint. */
export function rawSqlite(url: string): Database.Database {
  const db = new Database(sqlitePath(url));
  db.defaultSafeIntegers(true);
  return db;
}
