/**
 * The visible view of a chunk's slice list (spec §4.3): later records win; the result is
 * a list of non-overlapping runs sorted by position covering [0, furthest end), gaps as
 * id-0 runs. Used by copy_file_range, compaction and dump checks.
 */
import type { Slice } from './types.js';

export function buildVisible(records: readonly Slice[]): Slice[] {
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
      if (xe > end) next.push({ ...x, pos: end, off: x.id === 0 ? 0 : x.off + (end - x.pos), len: xe - end });
    }
    next.push({ ...r });
    next.sort((a, b) => a.pos - b.pos);
    runs = next;
  }
  const out: Slice[] = [];
  let at = 0;
  for (const x of runs) {
    if (x.pos > at) out.push({ pos: at, id: 0, size: 0, off: 0, len: x.pos - at });
    out.push(x.id === 0 ? { pos: x.pos, id: 0, size: 0, off: 0, len: x.len } : x);
    at = x.pos + x.len;
  }
  return out;
}
