/**
 * The visible view of a chunk's slice list (docs/FORMAT.md §4.3): later records win; the result is
 * a list of non-overlapping runs sorted by position covering [0, furthest end), gaps as
 * id-0 runs. Used by copy_file_range, compaction and dump checks.
 */
import type { Slice } from '../base/types.js';

/**
 * `goOffsets`: keep Go's bookkeeping for holes too (a run cut from a hole record keeps that
 * record's size and advances its `off`, as Go's buildSlice does); copy_file_range writes
 * these runs as records, so they must be Go's bytes. Otherwise holes are normalised to
 * {size 0, off 0}.
 */
export function buildVisible(records: readonly Slice[], opts: { goOffsets?: boolean } = {}): Slice[] {
  const keep = opts.goOffsets === true;
  let runs: Slice[] = [];
  for (const r of records) {
    if (r.len === 0) continue;
    const start = r.pos;
    const end = r.pos + r.len;
    const next: Slice[] = [];
    for (const x of runs) {
      const xe = x.pos + x.len;
      if (xe <= start || x.pos >= end) {
        next.push(x);
        continue;
      }
      if (x.pos < start) next.push({ ...x, len: start - x.pos });
      if (xe > end)
        next.push({ ...x, pos: end, off: x.id === 0 && !keep ? 0 : x.off + (end - x.pos), len: xe - end });
    }
    next.push({ ...r });
    next.sort((a, b) => a.pos - b.pos);
    runs = next;
  }
  const out: Slice[] = [];
  let at = 0;
  for (const x of runs) {
    if (x.pos > at) out.push({ pos: at, id: 0, size: 0, off: 0, len: x.pos - at });
    out.push(x.id === 0 && !keep ? { pos: x.pos, id: 0, size: 0, off: 0, len: x.len } : x);
    at = x.pos + x.len;
  }
  return out;
}
