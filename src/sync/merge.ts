/**
 * The merge of two key-ordered listings (JuiceFS pkg/sync produce): each source entry is
 * paired with the destination entry of the same key, or with none; destination entries
 * with no source entry are "extra".
 *
 * Design: one pass over two async iterators, holding one pending entry per side, so memory
 * does not grow with the listings. Keys compare in byte order (UTF-8), the order every
 * endpoint lists in.
 */
import type { SyncEntry } from './endpoint.js';

export type MergeItem =
  { kind: 'pair'; src: SyncEntry; dst: SyncEntry | undefined } | { kind: 'extra'; dst: SyncEntry };

/** Byte order of two keys (UTF-8), what object stores and the walkers list in. */
export function compareKeys(a: string, b: string): number {
  // Fast path: UTF-16 order equals UTF-8 order unless a surrogate pair is involved.
  if (!/[\ud800-\udfff]/.test(a) && !/[\ud800-\udfff]/.test(b)) return a < b ? -1 : a > b ? 1 : 0;
  return Buffer.compare(Buffer.from(a), Buffer.from(b));
}

/** Pairs `src` with `dst`; both must be sorted by compareKeys. Extras come in key order too. */
export async function* mergeListings(
  src: AsyncIterable<SyncEntry>,
  dst: AsyncIterable<SyncEntry>,
  opts: { drainDst: boolean } = { drainDst: true },
): AsyncGenerator<MergeItem> {
  const d = dst[Symbol.asyncIterator]();
  let pending: SyncEntry | undefined;
  let dstDone = false;
  const nextDst = async (): Promise<SyncEntry | undefined> => {
    if (pending !== undefined || dstDone) return pending;
    const r = await d.next();
    if (r.done === true) dstDone = true;
    else pending = r.value;
    return pending;
  };
  for await (const s of src) {
    for (;;) {
      const de = await nextDst();
      if (de === undefined) {
        yield { kind: 'pair', src: s, dst: undefined };
        break;
      }
      const c = compareKeys(s.key, de.key);
      if (c > 0) {
        pending = undefined;
        yield { kind: 'extra', dst: de };
        continue;
      }
      if (c === 0) pending = undefined;
      yield { kind: 'pair', src: s, dst: c === 0 ? de : undefined };
      break;
    }
  }
  // JuiceFS reads the destination past the last source key only to delete (--delete-dst).
  if (!opts.drainDst) {
    await d.return?.();
    return;
  }
  for (;;) {
    const de = await nextDst();
    if (de === undefined) return;
    pending = undefined;
    yield { kind: 'extra', dst: de };
  }
}
