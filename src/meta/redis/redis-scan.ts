/**
 * Small multi-command helpers: an un-WATCHed MULTI/EXEC that surfaces per-command errors,
 * and cursor loops over HSCAN / SCAN.
 * Design: pages are handed to a callback so callers never hold more than one page of
 * replies besides what they keep. Invariants: a failed command inside EXEC is EIO.
 */
import { FsError, Errno } from '../../base/errno.js';
import type { Arg, RedisConn } from './redis-conn.js';
import { asArray, asString, pairs } from './redis-reply.js';

/** MULTI ... EXEC without WATCH (atomic batch); returns the replies. */
export async function execMulti(conn: RedisConn, commands: readonly Arg[][]): Promise<unknown[]> {
  const multi = conn.multi();
  for (const [command, ...args] of commands) multi.call(String(command), ...args);
  const replies = await multi.exec();
  if (replies === null)
    throw new FsError(Errno.EIO, { message: 'EIO: redis MULTI/EXEC aborted without WATCH' });
  return replies.map(([err, value], i) => {
    if (err) {
      const command = String(commands[i]?.[0]);
      throw new FsError(Errno.EIO, { cause: err, message: `EIO: redis ${command} failed: ${err.message}` });
    }
    return value;
  });
}

/** HSCAN over a whole hash, COUNT 1000 per page. */
export async function hscanAll(
  conn: RedisConn,
  key: string,
  onPage: (entries: [Buffer, Buffer][]) => boolean | void,
  count = 1000,
): Promise<void> {
  let cursor = '0';
  do {
    const reply = asArray(await conn.callBuffer('HSCAN', key, cursor, 'COUNT', count));
    cursor = asString(reply[0]) ?? '0';
    if (onPage(pairs(reply[1])) === false) return;
  } while (cursor !== '0');
}

/**
 * SCAN keys matching `pattern` on one node (`count` keys examined per page); stops early
 * when `onPage` returns false.
 */
export async function scanKeys(
  conn: RedisConn,
  pattern: string,
  onPage: (keys: Buffer[]) => boolean | void,
  count = 1000,
): Promise<void> {
  let cursor = '0';
  do {
    const reply = asArray(await conn.callBuffer('SCAN', cursor, 'MATCH', pattern, 'COUNT', count));
    cursor = asString(reply[0]) ?? '0';
    const keys = asArray(reply[1]).filter((k): k is Buffer => Buffer.isBuffer(k));
    if (onPage(keys) === false) return;
  } while (cursor !== '0');
}

/** Escapes glob metacharacters of a literal key prefix for SCAN MATCH. */
export function globEscape(s: string): string {
  return s.replace(/[*?[\]\\]/g, (c) => `\\${c}`);
}
