/**
 * Slice reference bookkeeping in jfs_chunk_ref (docs/FORMAT.md §4.7, §6.5): dropping references
 * and collecting the slices that have none left.
 *
 * Invariant: runs inside the caller's write transaction; a slice is freed only when its
 * row exists and its refs reach <= 0, and the freed rows are deleted in that same
 * transaction (a slice without a row is never freed: at worst its objects leak, as in Go).
 */
import type { FreedSlice } from '../engine.js';
import { placeholders, sql, toNum, type SqlConn } from './sql-conn.js';
import type { SqlTables } from './schema.js';

const IN_BATCH = 500;

/**
 * Drops one reference per occurrence of each id > 0 in `slices` (duplicates count), then
 * deletes and returns the rows left with refs <= 0. `matchSize` also requires the row's
 * size to match (compaction, as Go's `chunkid=? AND size=?`).
 */
export async function freeDroppedRefs(
  c: SqlConn,
  t: SqlTables,
  slices: readonly { id: number; size: number }[],
  opts: { matchSize: boolean },
): Promise<FreedSlice[]> {
  const drops = new Map<number, { size: number; n: number }>();
  for (const s of slices) {
    if (s.id <= 0) continue;
    const d = drops.get(s.id);
    if (d) d.n++;
    else drops.set(s.id, { size: s.size, n: 1 });
  }
  if (drops.size === 0) return [];
  for (const [id, d] of drops) {
    if (opts.matchSize) {
      await c.exec(sql`UPDATE ${t.chunkRef} SET refs = refs - ? WHERE chunkid = ? AND size = ?`, [
        d.n,
        id,
        d.size,
      ]);
    } else {
      await c.exec(sql`UPDATE ${t.chunkRef} SET refs = refs - ? WHERE chunkid = ?`, [d.n, id]);
    }
  }
  const ids = [...drops.keys()];
  const freed: FreedSlice[] = [];
  for (let i = 0; i < ids.length; i += IN_BATCH) {
    const batch = ids.slice(i, i + IN_BATCH);
    const rows = await c.query(
      sql`SELECT chunkid, size FROM ${t.chunkRef} WHERE refs <= 0 AND chunkid IN ${placeholders(batch.length)}`,
      batch,
    );
    for (const r of rows) freed.push({ id: toNum(r['chunkid']), size: toNum(r['size']) });
  }
  for (let i = 0; i < freed.length; i += IN_BATCH) {
    const batch = freed.slice(i, i + IN_BATCH).map((f) => f.id);
    await c.exec(sql`DELETE FROM ${t.chunkRef} WHERE chunkid IN ${placeholders(batch.length)}`, batch);
  }
  return freed;
}
