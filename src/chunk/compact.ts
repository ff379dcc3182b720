/**
 * Compaction of a fragmented chunk (docs/FORMAT.md §4.6): plan which records to merge, write the
 * visible bytes as one new slice, and return what the metadata layer needs for
 * `replaceSlices(ino, indx, old, replacement, newSlice, dropped)`.
 *
 * Design: `planCompaction` is pure (Go's skipSome + compactChunk over at most 1000
 * records); `compactChunk` reads the merged view through the chunk store and uploads the
 * new slice before returning (upload before commit).
 *
 * Invariants: the new slice holds exactly the visible bytes of the compacted records
 * over [pos, pos+size) (holes as zeros); skipped records are kept unchanged and first;
 * `dropped` has one entry per compacted record with id > 0 (each record holds a ref).
 * If the metadata replace fails, the caller must `removeSlice(newSlice)`.
 */
import type { Slice } from '../base/types.js';
import { blockLen } from '../base/block-key.js';
import type { ChunkStore } from './chunk-store.js';
import { mapLimit } from '../util/limits.js';
import type { Run } from './slice-view.js';
import { buildView } from './slice-view.js';

const MAX_COMPACT = 1000;

export interface CompactionPlan {
  /** The records read (the prefix of the list to replace). */
  old: Slice[];
  skipped: number;
  /** Chunk offset and length of the merged slice. */
  pos: number;
  size: number;
  /** Visible runs over [pos, pos+size), positions relative to the chunk. */
  runs: Run[];
}

export interface CompactionResult {
  old: Slice[];
  replacement: Slice[];
  newSlice: { id: number; size: number };
  dropped: { id: number; size: number }[];
}

/** Go's compactChunk: the view with leading/trailing holes dropped. */
function trimmedView(records: readonly Slice[]): { pos: number; size: number; runs: Run[] } {
  let runs = buildView(records);
  let pos = 0;
  while (runs.length > 1) {
    const first = runs[0] as Run;
    const last = runs[runs.length - 1] as Run;
    if (first.id === 0) {
      pos += first.len;
      runs = runs.slice(1);
    } else if (last.id === 0) {
      runs = runs.slice(0, -1);
    } else break;
  }
  const only = runs[0];
  if (runs.length === 1 && only !== undefined && only.id === 0) runs = [{ ...only, len: 1 }];
  const size = runs.reduce((a, r) => a + r.len, 0);
  return { pos, size, runs };
}

/** Go's skipSome: leading records that are big, still visible first, and not repeated. */
function skipSome(records: readonly Slice[]): number {
  let skipped = 0;
  outer: while (skipped < records.length) {
    const ss = records.slice(skipped);
    const first = ss[0] as Slice;
    const { pos, size, runs } = trimmedView(ss);
    if (first.len < 1 << 20 || first.len * 5 < size || size === 0) break;
    const c = runs[0];
    if (
      c === undefined ||
      pos !== first.pos ||
      c.id !== first.id ||
      c.off !== first.off ||
      c.len !== first.len
    )
      break;
    for (const s of ss.slice(1)) {
      if (
        s.pos === first.pos &&
        s.id === first.id &&
        s.size === first.size &&
        s.off === first.off &&
        s.len === first.len
      ) {
        break outer;
      }
    }
    skipped++;
  }
  return skipped;
}

/** Decides what to compact; undefined when there is nothing worth doing. */
export function planCompaction(records: readonly Slice[]): CompactionPlan | undefined {
  const old = records.slice(0, MAX_COMPACT).map((s) => ({ ...s }));
  const skipped = skipSome(old);
  const compacted = old.slice(skipped);
  const { pos, size, runs } = trimmedView(compacted);
  if (compacted.length < 2 || size === 0) return undefined;
  let at = pos;
  const placed = runs.map((r) => {
    const p = { ...r, pos: at };
    at += r.len;
    return p;
  });
  return { old, skipped, pos, size, runs: placed };
}

/** Reads the plan's visible bytes (holes as zeros) into one buffer. */
export async function readPlanData(store: ChunkStore, plan: CompactionPlan): Promise<Buffer> {
  const out = Buffer.alloc(plan.size);
  const bs = store.blockSize;
  const pieces: { id: number; size: number; index: number; inBlock: number; len: number; dst: number }[] = [];
  for (const r of plan.runs) {
    if (r.id === 0) continue;
    for (let done = 0; done < r.len;) {
      const d = r.off + done;
      const index = Math.floor(d / bs);
      const inBlock = d - index * bs;
      const len = Math.min(r.len - done, bs - inBlock, blockLen(r.size, index, bs) - inBlock);
      if (len <= 0) throw new Error(`slice ${r.id} record points past its data`);
      pieces.push({ id: r.id, size: r.size, index, inBlock, len, dst: r.pos - plan.pos + done });
      done += len;
    }
  }
  await mapLimit(pieces, 8, async (p) => {
    const block = await store.getBlock(p.id, p.size, p.index);
    block.copy(out, p.dst, p.inBlock, p.inBlock + p.len);
    store.releaseBlock(block);
  });
  return out;
}

/**
 * Compacts a chunk's records: writes the merged slice (new id from `allocSliceId`) and
 * returns the replace arguments, or undefined when compaction is not worthwhile.
 */
export async function compactChunk(
  store: ChunkStore,
  records: readonly Slice[],
  allocSliceId: () => Promise<number>,
): Promise<CompactionResult | undefined> {
  const plan = planCompaction(records);
  if (plan === undefined) return undefined;
  const data = await readPlanData(store, plan);
  const id = await allocSliceId();
  try {
    await store.writeSlice(id, data);
  } catch (e) {
    await store.removeSlice(id, plan.size).catch(() => undefined);
    throw e;
  }
  const skipped = plan.old.slice(0, plan.skipped);
  return {
    old: plan.old,
    replacement: [...skipped, { pos: plan.pos, id, size: plan.size, off: 0, len: plan.size }],
    newSlice: { id, size: plan.size },
    dropped: plan.old
      .slice(plan.skipped)
      .filter((s) => s.id > 0)
      .map((s) => ({ id: s.id, size: s.size })),
  };
}
