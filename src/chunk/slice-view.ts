/**
 * The visible content of a chunk from its slice records (docs/FORMAT.md §4.3, V-8): Go's
 * `buildSlice` equivalent, written as an interval overlay.
 *
 * Design: insert records oldest first into a sorted list of disjoint runs, cutting what
 * they overlap; then fill gaps with hole runs (id 0) so the view starts at 0 and ends at
 * the furthest record end. O(n^2) in the worst case; chunk lists are short (≤ ~2500).
 *
 * Invariants: runs are sorted, disjoint, contiguous from 0; a data run's bytes are slice
 * `id` data [off, off+len); holes have id 0 (size/off meaningless).
 */
import type { Slice } from '../base/types.js';

/** A visible run: chunk bytes [pos, pos+len) come from slice `id` data at `off`. */
export interface Run {
  pos: number;
  len: number;
  id: number;
  size: number;
  off: number;
}

export function buildView(records: readonly Slice[]): Run[] {
  let runs: Run[] = [];
  for (const r of records) {
    if (r.len <= 0) continue;
    const start = r.pos;
    const end = r.pos + r.len;
    const next: Run[] = [];
    let inserted = false;
    for (const c of runs) {
      const cEnd = c.pos + c.len;
      if (cEnd <= start || c.pos >= end) {
        if (!inserted && c.pos >= end) {
          next.push({ pos: start, len: r.len, id: r.id, size: r.size, off: r.off });
          inserted = true;
        }
        next.push(c);
        continue;
      }
      if (c.pos < start) next.push({ ...c, len: start - c.pos });
      if (!inserted) {
        next.push({ pos: start, len: r.len, id: r.id, size: r.size, off: r.off });
        inserted = true;
      }
      if (cEnd > end) next.push({ ...c, pos: end, len: cEnd - end, off: c.off + (end - c.pos) });
    }
    if (!inserted) next.push({ pos: start, len: r.len, id: r.id, size: r.size, off: r.off });
    runs = next;
  }
  const out: Run[] = [];
  let at = 0;
  for (const c of runs) {
    if (c.pos > at) out.push({ pos: at, len: c.pos - at, id: 0, size: 0, off: 0 });
    out.push(c.id === 0 ? { pos: c.pos, len: c.len, id: 0, size: 0, off: 0 } : c);
    at = c.pos + c.len;
  }
  return mergeHoles(out);
}

function mergeHoles(runs: Run[]): Run[] {
  const out: Run[] = [];
  for (const r of runs) {
    const last = out[out.length - 1];
    if (last !== undefined && last.id === 0 && r.id === 0) last.len += r.len;
    else out.push({ ...r });
  }
  return out;
}

/** The runs clipped to chunk range [start, end); past the view's end reads as holes. */
export function clipView(view: readonly Run[], start: number, end: number): Run[] {
  const out: Run[] = [];
  let at = start;
  for (const r of view) {
    const rEnd = r.pos + r.len;
    if (rEnd <= start || r.pos >= end) continue;
    const s = Math.max(start, r.pos);
    const e = Math.min(end, rEnd);
    out.push({ pos: s, len: e - s, id: r.id, size: r.size, off: r.id === 0 ? 0 : r.off + (s - r.pos) });
    at = e;
  }
  if (at < end) out.push({ pos: at, len: end - at, id: 0, size: 0, off: 0 });
  return out;
}
