/**
 * Background compaction of fragmented chunks (docs/FORMAT.md §4.6): when a read finds a chunk list
 * with many records, merge its visible bytes into one new slice and swap the records in
 * one metadata transaction that succeeds only if the list is unchanged. One compaction at
 * a time per client, each chunk at most once in flight; failures only cost a retry later.
 */
import { compactChunk } from '../chunk/compact.js';
import type { Logger } from '../util/logger.js';
import type { Ino, Slice } from '../base/types.js';
import type { Runtime } from './runtime.js';

/** Go compacts reads at >= 5 records; we wait for more to keep write-read loops cheap. */
export const COMPACT_THRESHOLD = 20;

export class Compactor {
  private readonly inFlight = new Set<string>();
  private queue: Promise<void> = Promise.resolve();
  compactions = 0;

  constructor(
    private readonly rt: Runtime,
    private readonly log: Logger | undefined,
    private readonly threshold = COMPACT_THRESHOLD,
  ) {}

  /** Called with the records a read saw; schedules a compaction when worthwhile. */
  consider(ino: Ino, indx: number, records: readonly Slice[]): void {
    if (records.length < this.threshold) return;
    this.schedule(ino, indx);
  }

  /**
   * Called after this client committed a slice to a chunk. Every 100th commit to one chunk
   * schedules a compaction, as Go's write path does: a file only ever appended to (a log
   * written by open-append-close) is never read, and its list would grow by a record per
   * append.
   */
  noteCommit(ino: Ino, indx: number): void {
    const key = `${ino}_${indx}`;
    const n = (this.commits.get(key) ?? 0) + 1;
    if (this.commits.size >= 10_000) this.commits.clear();
    this.commits.set(key, n);
    if (n % 100 === 0) this.schedule(ino, indx);
  }

  private readonly commits = new Map<string, number>();

  private schedule(ino: Ino, indx: number): void {
    if (this.rt.meta.readOnly) return;
    const key = `${ino}_${indx}`;
    if (this.inFlight.has(key)) return;
    this.inFlight.add(key);
    this.queue = this.queue
      .then(async () => {
        await this.compact(ino, indx);
      })
      .catch((e: unknown) => this.log?.warn('compaction failed', { ino: String(ino), indx, err: String(e) }))
      .finally(() => this.inFlight.delete(key));
  }

  /** Compacts one chunk now (also used by tests and the compact command). */
  async compact(ino: Ino, indx: number): Promise<boolean> {
    const { meta, chunks } = this.rt;
    const records = await meta.readChunk(ino, indx);
    const res = await compactChunk(chunks, records, () => meta.newSliceId());
    if (!res) return false;
    const out = await meta.replaceSlices(ino, indx, res);
    if (!out.ok) {
      await chunks.removeSlice(res.newSlice.id, res.newSlice.size);
      return false;
    }
    for (const s of out.freed) await chunks.removeSlice(s.id, s.size);
    this.compactions++;
    return true;
  }

  /** Waits for scheduled compactions (shutdown, tests). */
  idle(): Promise<void> {
    return this.queue;
  }
}
