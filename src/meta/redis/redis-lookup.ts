/**
 * One-round-trip lookup for read-only transactions: a Lua script reads the dentry and,
 * when the inode fits in a double (< 2^53, every normal inode), the attr it points to —
 * as Go's own lookup script does (docs/FORMAT.md §5.4) — and, when asked, the parent
 * directory's attr too, so a lookup that must check the parent (a caller other than root,
 * or a name that is missing) still costs one round trip. Standalone servers only (the attr
 * keys are not declared, which Redis Cluster forbids); the caller falls back to plain reads
 * otherwise. EVALSHA first, EVAL once on NOSCRIPT.
 */
import { createHash } from 'node:crypto';
import type { RedisConn } from './redis-conn.js';

// Reply: nil (no entry, no parent asked), {entry} (inode too large for the script),
// {entry, attr}; with ARGV[3] (the parent's inode) always {entry|nil, attr|nil, parent|nil}.
const SCRIPT = `
local p = false
if ARGV[3] then p = redis.call('GET', ARGV[2] .. ARGV[3]) end
local v = redis.call('HGET', KEYS[1], ARGV[1])
if not v then
  if ARGV[3] then return {false, false, p} end
  return nil
end
local a = false
if string.len(v) == 9 and string.byte(v, 2) == 0 and string.byte(v, 3) < 32 then
  local ino = 0
  for i = 2, 9 do ino = ino * 256 + string.byte(v, i) end
  a = redis.call('GET', ARGV[2] .. string.format('%.0f', ino))
end
if ARGV[3] then return {v, a, p} end
if a then return {v, a} end
return {v}
`;

const SHA = createHash('sha1').update(SCRIPT).digest('hex');

/** What the script found: the dentry value, its attr bytes, the parent's attr bytes. */
export interface LookupReply {
  entry?: Buffer;
  /** Absent when the inode is past 2^53 (the caller reads it) or the attr is missing. */
  attr?: Buffer;
  /** Only when `parent` was passed: absent when the parent has no attr. */
  parent?: Buffer;
  /** True when the script could not decode the inode (read the attr separately). */
  attrSkipped: boolean;
}

/** Looks `name` up in `entriesKey`; with `parent`, reads that inode's attr in the same step. */
export async function lookupScript(
  conn: RedisConn,
  entriesKey: string,
  name: Buffer,
  inodeKeyPrefix: string,
  parent?: bigint,
): Promise<LookupReply> {
  const args = [1, entriesKey, name, inodeKeyPrefix, ...(parent === undefined ? [] : [parent.toString()])];
  let reply: unknown;
  try {
    reply = await conn.callBuffer('EVALSHA', SHA, ...args);
  } catch (e) {
    if (!String((e as Error).message).includes('NOSCRIPT')) throw e;
    reply = await conn.callBuffer('EVAL', SCRIPT, ...args);
  }
  if (!Array.isArray(reply)) return { attrSkipped: false };
  const at = (i: number): Buffer | undefined => {
    const b: unknown = reply[i];
    return Buffer.isBuffer(b) ? b : undefined;
  };
  const entry = at(0);
  const attr = at(1);
  const out: LookupReply = { attrSkipped: entry !== undefined && attr === undefined && !isSmallEntry(entry) };
  if (entry) out.entry = entry;
  if (attr) out.attr = attr;
  const p = at(2);
  if (p) out.parent = p;
  return out;
}

/** Whether the script decodes this dentry's inode itself (9 bytes, inode < 2^53). */
function isSmallEntry(v: Buffer): boolean {
  return v.length === 9 && v[1] === 0 && (v[2] as number) < 32;
}
