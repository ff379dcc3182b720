/**
 * Directory attributes as this client last committed them: a write-through memo that lets
 * the FUSE layer answer the kernel's GETATTR of a directory this client has just changed
 * without asking the engine.
 *
 * Why: after a create, unlink, rename or mkdir the kernel drops its cached attributes of
 * the parent directory, and with default_permissions the next path walk through it sends a
 * GETATTR for them: one engine round trip per small file (about 0.1 ms on Redis). The
 * attributes it asks for are the ones this client's transaction has just written.
 *
 * Staleness: an entry is a directory's attributes at the start of the transaction that
 * wrote them (taken before it began, so its age is never understated). Another client may
 * change the directory afterwards, as it may after the kernel cached a GETATTR reply. The
 * caller answers only while the entry is younger than the attribute timeout, and lets the
 * kernel keep the answer for what is left of it, so a change by another client is seen
 * within the attribute timeout, as without the memo.
 *
 * Invariants: only committed transactions are noted (MetaCore.txn); a deleted directory
 * has no entry; at most `limit` entries, the least recently written dropped first.
 */
import { FileType, type Attr, type Ino } from '../base/types.js';

/** What a transaction wrote to directory attributes: the new attr, or undefined (deleted). */
export type DirAttrWrites = ReadonlyMap<Ino, Attr | undefined>;

/**
 * For an engine transaction's setAttr (attr) and deleteAttr (undefined): adds the write to
 * the transaction's record when it concerns a directory (or may: a deleted inode), and
 * returns the record (created on first use).
 */
export function recordDirAttr(
  writes: Map<Ino, Attr | undefined> | undefined,
  ino: Ino,
  attr: Attr | undefined,
): Map<Ino, Attr | undefined> | undefined {
  if (attr !== undefined && attr.type !== FileType.Directory) return writes;
  return (writes ?? new Map()).set(ino, attr === undefined ? undefined : { ...attr });
}

interface Memo {
  attr: Attr;
  /** When the writing transaction began, on the monotonic clock (performance.now()). */
  at: number;
}

export class OwnDirAttrs {
  private readonly byIno = new Map<Ino, Memo>();

  constructor(
    private readonly limit = 4096,
    /** Monotonic ms: a wall clock stepped back must not make an old entry young again. */
    private readonly now: () => number = () => performance.now(),
  ) {}

  /** A committed transaction that began at `at` (performance.now()) wrote `writes`. */
  note(writes: DirAttrWrites, at: number): void {
    for (const [ino, attr] of writes) {
      this.byIno.delete(ino); // re-inserted last: the map's order is the write order
      if (attr !== undefined) this.byIno.set(ino, { attr, at });
    }
    for (const ino of this.byIno.keys()) {
      if (this.byIno.size <= this.limit) break;
      this.byIno.delete(ino);
    }
  }

  /** The directory's attributes and their age in ms, when younger than `maxAgeMs`. */
  get(ino: Ino, maxAgeMs: number): { attr: Attr; ageMs: number } | undefined {
    const m = this.byIno.get(ino);
    if (m === undefined) return undefined;
    const ageMs = Math.max(0, this.now() - m.at);
    if (ageMs >= maxAgeMs) {
      this.byIno.delete(ino);
      return undefined;
    }
    return { attr: { ...m.attr }, ageMs };
  }

  /** Forgets a directory (its attributes changed in a way this client cannot follow). */
  forget(ino: Ino): void {
    this.byIno.delete(ino);
  }

  get size(): number {
    return this.byIno.size;
  }
}
