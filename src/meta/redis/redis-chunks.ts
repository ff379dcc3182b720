/**
 * Which chunk lists `c{ino}_{indx}` of an inode exist, at a cost that follows the lists
 * that exist rather than the width of the range asked about.
 * Design: a narrow range is probed with EXISTS (batches sent back to back on one
 * connection); a wide one is found by SCAN MATCH `c{ino}_*` on every master node, as Go's
 * truncate does past 10000 chunks, unless the database is so large that probing the range
 * is cheaper than scanning every key (a 2 TiB file in a 100M-key database): the cost is
 * the smaller of the two, so never more than what exists. Invariant: the result is
 * ascending and within range.
 */
import type { Ino } from '../../base/types.js';
import type { RedisConn } from './redis-conn.js';
import type { RedisKeys } from './redis-keys.js';
import { asInt } from './redis-reply.js';
import { globEscape, scanKeys } from './redis-scan.js';

/** Ranges of at most this many indexes are probed; wider ones are scanned. */
export const PROBE_LIMIT = 10000;
const PROBE_BATCH = 1000;
const SCAN_COUNT = 10000;
/** Chunk indexes are below 2^31 (max file size 64 MiB << 31). */
export const MAX_CHUNK_INDEX = 2 ** 31 - 1;
/** One EXISTS costs about as much as SCAN examining this many keys. */
const KEYS_PER_PROBE = 10;

/** Whether SCAN (cost ~ keys in the database) beats probing `width` indexes. */
export function scanIsCheaper(width: number, dbKeys: number): boolean {
  return width > PROBE_LIMIT && dbKeys < width * KEYS_PER_PROBE;
}

/**
 * Existing chunk indexes of `ino` in [first, last]. `scanLast`: when the range is found by
 * SCAN, report indexes up to this one instead (SCAN sees them all at no extra cost).
 */
export async function existingChunks(
  probe: RedisConn,
  nodes: readonly RedisConn[],
  keys: RedisKeys,
  ino: Ino,
  first: number,
  last: number,
  scanLast = last,
): Promise<number[]> {
  if (last < first) return [];
  const width = last - first + 1;
  if (width > PROBE_LIMIT && scanIsCheaper(width, await dbSize(nodes)))
    return scanChunks(nodes, keys, ino, first, scanLast);
  return probeChunks(probe, keys, ino, first, last);
}

async function dbSize(nodes: readonly RedisConn[]): Promise<number> {
  let n = 0;
  for (const node of nodes) n += asInt(await node.call('DBSIZE'));
  return n;
}

async function probeChunks(
  conn: RedisConn,
  keys: RedisKeys,
  ino: Ino,
  first: number,
  last: number,
): Promise<number[]> {
  const out: number[] = [];
  for (let start = first; start <= last; start += PROBE_BATCH) {
    const idx: number[] = [];
    for (let i = start; i <= last && i < start + PROBE_BATCH; i++) idx.push(i);
    const exists = await Promise.all(idx.map((i) => conn.call('EXISTS', keys.chunk(ino, i))));
    idx.forEach((i, j) => {
      if (asInt(exists[j]) > 0) out.push(i);
    });
  }
  return out;
}

async function scanChunks(
  nodes: readonly RedisConn[],
  keys: RedisKeys,
  ino: Ino,
  first: number,
  last: number,
): Promise<number[]> {
  const head = keys.chunk(ino, 0).slice(0, -1); // `{prefix}c{ino}_`
  const found = new Set<number>();
  for (const node of nodes) {
    await scanKeys(
      node,
      `${globEscape(head)}*`,
      (page) => {
        for (const k of page) {
          const tail = k.toString('latin1').slice(head.length);
          if (!/^\d{1,10}$/.test(tail)) continue;
          const i = Number(tail);
          if (i >= first && i <= last) found.add(i);
        }
      },
      SCAN_COUNT,
    );
  }
  return [...found].sort((a, b) => a - b);
}
