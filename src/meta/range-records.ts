/**
 * The chunk records that truncate, fallocate and copy_file_range queue over a byte range
 * (docs/FORMAT.md §4.5), at a cost bounded by the chunk lists that exist, never by the range's width.
 *
 * Design: a range of at most PER_CHUNK_LIMIT chunks gets exactly Go's records (one per
 * chunk, holes included), so stored lists stay byte-identical to what a Go client writes.
 * A wider range only touches chunks that exist (`tx.listChunks`: one query), as Go's own
 * truncate does: a chunk without a list reads as zeros, so it needs no hole record.
 * Truncate always works that way (Go: RPUSHX / UPDATE of existing rows only).
 */
import type { MetaTx } from './engine.js';
import { buildVisible } from './slices.js';
import { CHUNK_SIZE, type Ino, type Slice } from '../base/types.js';

/** Ranges spanning at most this many chunks get Go's per-chunk records. */
export const PER_CHUNK_LIMIT = 1000;
/** One copy_file_range reads at most this many source chunk lists (then a short count). */
export const COPY_CHUNK_LIMIT = 1000;

const hole = (pos: number, len: number, off = 0): Slice => ({ pos, id: 0, size: 0, off, len });

/**
 * Hole records covering [left, right): the first chunk's part, then the whole chunks
 * strictly inside (every one when `everyChunk`, else only those with a list), then the
 * last chunk's part when `right` is not chunk-aligned.
 */
export async function queueHoles(
  tx: MetaTx,
  ino: Ino,
  left: number,
  right: number,
  everyChunk: boolean,
): Promise<void> {
  if (right <= left) return;
  const first = Math.floor(left / CHUNK_SIZE);
  const end = Math.floor(right / CHUNK_SIZE); // the chunk holding byte `right`
  const firstEnd = Math.min(right, (first + 1) * CHUNK_SIZE);
  tx.appendSlices(ino, first, [hole(left - first * CHUNK_SIZE, firstEnd - left)]);
  if (end - 1 > first) {
    const full = [hole(0, CHUNK_SIZE)];
    if (everyChunk) {
      for (let i = first + 1; i < end; i++) tx.appendSlices(ino, i, full);
    } else {
      for (const i of await tx.listChunks(ino, first + 1, end - 1))
        tx.appendSlices(ino, i, full, { ifExists: true });
    }
  }
  if (end > first && right % CHUNK_SIZE > 0) tx.appendSlices(ino, end, [hole(0, right % CHUNK_SIZE)]);
}

/** Truncate's holes (docs/FORMAT.md §4.5): whole chunks inside only where a list exists. */
export function truncateHoles(tx: MetaTx, ino: Ino, oldLen: number, newLen: number): Promise<void> {
  return queueHoles(tx, ino, Math.min(oldLen, newLen), Math.max(oldLen, newLen), false);
}

/** Fallocate's zeroing of [off, end): Go's record per chunk while narrow. */
export function zeroRange(tx: MetaTx, ino: Ino, off: number, end: number): Promise<void> {
  const chunks = Math.ceil(end / CHUNK_SIZE) - Math.floor(off / CHUNK_SIZE);
  return queueHoles(tx, ino, off, end, chunks <= PER_CHUNK_LIMIT);
}

/** A copy: `n` bytes from `fin` at `offIn` to `fout` at `offOut` (ranges already checked). */
export interface CopySpec {
  fin: Ino;
  offIn: number;
  fout: Ino;
  offOut: number;
  n: number;
}

/**
 * Queues copy_file_range's records on `fout` and a reference per record with a slice;
 * returns the bytes copied. Per source chunk, as Go: the visible runs over a full-chunk
 * hole, clipped to the range, mapped to the destination and split at its chunk boundaries;
 * holes are records too. A wide range reads only the source chunks that exist, and where
 * absent source chunks map onto destination chunks that exist, writes those holes (what Go
 * would write there). A range holding more than COPY_CHUNK_LIMIT source lists is cut
 * short before the next one (a short count; callers loop), so no request holds a whole
 * dense file's records.
 */
export async function queueCopy(tx: MetaTx, spec: CopySpec): Promise<number> {
  const first = Math.floor(spec.offIn / CHUNK_SIZE);
  let present = await tx.listChunks(spec.fin, first, Math.floor((spec.offIn + spec.n - 1) / CHUNK_SIZE));
  const c = { ...spec };
  const cut = present[COPY_CHUNK_LIMIT];
  if (cut !== undefined) {
    c.n = cut * CHUNK_SIZE - c.offIn;
    present = present.slice(0, COPY_CHUNK_LIMIT);
  }
  const last = Math.floor((c.offIn + c.n - 1) / CHUNK_SIZE);
  const has = new Set(present);
  const wide = last - first + 1 > PER_CHUNK_LIMIT;
  const out = new Map<number, Slice[]>();
  const sources = wide ? present : Array.from({ length: last - first + 1 }, (_, i) => first + i);
  for (const indx of sources) {
    const records = has.has(indx) ? await tx.getChunk(c.fin, indx) : [];
    copyChunk(out, c, indx, records);
  }
  if (wide) await absentSourceHoles(tx, out, c, has);
  for (const [indx, recs] of out) {
    recs.sort((a, b) => a.pos - b.pos); // source order, as Go pushes them
    tx.appendSlices(c.fout, indx, recs);
    for (const r of recs) if (r.id > 0) tx.incrSliceRef(r.id, r.size, 1);
  }
  return c.n;
}

/** Go's runs of one source chunk, clipped to the copy and placed on the destination. */
function copyChunk(out: Map<number, Slice[]>, c: CopySpec, indx: number, records: readonly Slice[]): void {
  const base = indx * CHUNK_SIZE;
  const end = c.offIn + c.n;
  for (const r of buildVisible([hole(0, CHUNK_SIZE), ...records], { goOffsets: true })) {
    let s = base + r.pos;
    const e = Math.min(s + r.len, end);
    if (e <= c.offIn || s >= end) continue;
    let off = r.off;
    if (s < c.offIn) {
      off += c.offIn - s;
      s = c.offIn;
    }
    place(out, c.offOut + (s - c.offIn), { pos: 0, id: r.id, size: r.size, off, len: e - s });
  }
}

/**
 * Holes on the destination chunks that exist, over the parts whose source chunk has no
 * list (each destination chunk maps onto at most two source chunks).
 */
async function absentSourceHoles(
  tx: MetaTx,
  out: Map<number, Slice[]>,
  c: CopySpec,
  has: ReadonlySet<number>,
): Promise<void> {
  const dFirst = Math.floor(c.offOut / CHUNK_SIZE);
  const dLast = Math.floor((c.offOut + c.n - 1) / CHUNK_SIZE);
  const shift = c.offIn - c.offOut;
  for (const j of await tx.listChunks(c.fout, dFirst, dLast)) {
    const ds = Math.max(j * CHUNK_SIZE, c.offOut);
    const de = Math.min((j + 1) * CHUNK_SIZE, c.offOut + c.n);
    for (let k = Math.floor((ds + shift) / CHUNK_SIZE); k * CHUNK_SIZE < de + shift; k++) {
      if (has.has(k)) continue;
      const s = Math.max(ds + shift, k * CHUNK_SIZE);
      const e = Math.min(de + shift, (k + 1) * CHUNK_SIZE);
      if (e > s) place(out, s - shift, hole(0, e - s, s - k * CHUNK_SIZE));
    }
  }
}

/** Adds a record at destination offset `dst`, split at chunk boundaries (pieces share the id). */
function place(out: Map<number, Slice[]>, dst: number, r: Slice): void {
  let { off, len } = r;
  while (len > 0) {
    const indx = Math.floor(dst / CHUNK_SIZE);
    const pos = dst % CHUNK_SIZE;
    const l = Math.min(len, CHUNK_SIZE - pos);
    let list = out.get(indx);
    if (!list) out.set(indx, (list = []));
    list.push({ pos, id: r.id, size: r.size, off, len: l });
    dst += l;
    off += l;
    len -= l;
  }
}
