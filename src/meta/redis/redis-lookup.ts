/**
 * One-round-trip lookup for read-only transactions: a Lua script reads the dentry and,
 * when the inode fits in a double (< 2^53, every normal inode), the attr it points to —
 * as Go's own lookup script does (docs/FORMAT.md §5.4). Standalone servers only (the attr key is not
 * declared, which Redis Cluster forbids); the caller falls back to two reads otherwise.
 * EVALSHA first, EVAL once on NOSCRIPT.
 */
import { createHash } from 'node:crypto';
import type { RedisConn } from './redis-conn.js';

const SCRIPT = `
local v = redis.call('HGET', KEYS[1], ARGV[1])
if not v then return nil end
if string.len(v) ~= 9 then return {v} end
local b2, b3 = string.byte(v, 2), string.byte(v, 3)
if b2 ~= 0 or b3 >= 32 then return {v} end
local ino = 0
for i = 2, 9 do ino = ino * 256 + string.byte(v, i) end
return {v, redis.call('GET', ARGV[2] .. string.format('%.0f', ino))}
`;

const SHA = createHash('sha1').update(SCRIPT).digest('hex');

/** [dentry value, attr bytes?] or undefined when the name is missing. */
export async function lookupScript(
  conn: RedisConn,
  entriesKey: string,
  name: Buffer,
  inodeKeyPrefix: string,
): Promise<Buffer[] | undefined> {
  let reply: unknown;
  try {
    reply = await conn.callBuffer('EVALSHA', SHA, 1, entriesKey, name, inodeKeyPrefix);
  } catch (e) {
    if (!String((e as Error).message).includes('NOSCRIPT')) throw e;
    reply = await conn.callBuffer('EVAL', SCRIPT, 1, entriesKey, name, inodeKeyPrefix);
  }
  if (reply === null || reply === undefined) return undefined;
  return (reply as (Buffer | null)[]).filter((b): b is Buffer => Buffer.isBuffer(b));
}
