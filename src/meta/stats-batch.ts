/**
 * Batched volume usage and directory statistics, as Go JuiceFS keeps them: transactions
 * record their changes to `usedSpace`/`totalInodes` and to directories' stats here instead
 * of writing them, and once a second (and before statfs, heartbeat reads and shutdown) one
 * transaction adds the sums. A create then writes two rows fewer (about a third of its
 * metadata cost on SQLite).
 *
 * Invariants: only committed transactions count (deltas are kept per transaction object
 * and merged when `core.txn` returns); a failed flush keeps its deltas for the next one;
 * a directory's deltas are dropped when it is removed, and the flush skips directories
 * that no longer exist, so a stat row is never re-created for a removed directory.
 * What a crash loses: at most the last second of deltas (the counters then drift, as with
 * JuiceFS; directory quotas are not batched and stay exact).
 */
import type { DirStat, MetaEngine, MetaTx } from './engine.js';
import { FileType, type Ino } from '../base/types.js';

interface Deltas {
  space: number;
  inodes: number;
  dirs: Map<Ino, DirStat>;
  removed: Ino[];
}

const empty = (): Deltas => ({ space: 0, inodes: 0, dirs: new Map(), removed: [] });

function addDir(dirs: Map<Ino, DirStat>, ino: Ino, d: DirStat): void {
  const s = dirs.get(ino);
  if (s === undefined) dirs.set(ino, { ...d });
  else {
    s.dataLength += d.dataLength;
    s.usedSpace += d.usedSpace;
    s.usedInodes += d.usedInodes;
  }
}

export class StatsBatch {
  private readonly byTx = new WeakMap<MetaTx, Deltas>();
  private pending = empty();
  private timer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> | undefined;

  constructor(
    private readonly engine: MetaEngine,
    private readonly onError: (e: unknown) => void,
    private readonly delayMs = 1000,
  ) {}

  private of(tx: MetaTx): Deltas {
    let d = this.byTx.get(tx);
    if (d === undefined) this.byTx.set(tx, (d = empty()));
    return d;
  }

  usage(tx: MetaTx, space: number, inodes: number): void {
    const d = this.of(tx);
    d.space += space;
    d.inodes += inodes;
  }

  dir(tx: MetaTx, ino: Ino, delta: DirStat): void {
    addDir(this.of(tx).dirs, ino, delta);
  }

  dirRemoved(tx: MetaTx, ino: Ino): void {
    this.of(tx).removed.push(ino);
  }

  /** `tx` committed: its deltas join the next flush. */
  committed(tx: MetaTx): void {
    const d = this.byTx.get(tx);
    if (d === undefined) return;
    this.byTx.delete(tx);
    this.merge(d);
    for (const ino of d.removed) this.pending.dirs.delete(ino);
    this.timer ??= setTimeout(() => {
      this.timer = undefined;
      void this.flush();
    }, this.delayMs).unref();
  }

  private merge(d: Deltas): void {
    this.pending.space += d.space;
    this.pending.inodes += d.inodes;
    for (const [ino, s] of d.dirs) addDir(this.pending.dirs, ino, s);
  }

  /** Writes the pending deltas now (one at a time; resolves once they are written or kept for later). */
  async flush(): Promise<void> {
    while (this.flushing !== undefined) await this.flushing;
    const d = this.pending;
    if (d.space === 0 && d.inodes === 0 && d.dirs.size === 0) return;
    this.pending = empty();
    this.flushing = this.write(d)
      .catch((e: unknown) => {
        this.merge(d); // tried again with the next flush
        this.onError(e);
      })
      .finally(() => (this.flushing = undefined));
    await this.flushing;
  }

  private write(d: Deltas): Promise<void> {
    return this.engine.txn(
      async (tx) => {
        if (d.space !== 0) tx.addCounter('usedSpace', d.space);
        if (d.inodes !== 0) tx.addCounter('totalInodes', d.inodes);
        for (const [ino, s] of d.dirs) {
          if (s.dataLength === 0 && s.usedSpace === 0 && s.usedInodes === 0) continue;
          // Removed meanwhile (by any client): its row is gone and must stay gone.
          if ((await tx.getAttr(ino))?.type !== FileType.Directory) continue;
          tx.updateDirStat(ino, s);
        }
      },
      { op: 'flushStats' },
    );
  }

  /** Flushes and stops the timer (shutdown). */
  async close(): Promise<void> {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    await this.flush();
  }
}
