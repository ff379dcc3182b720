/**
 * The inode each recently seen name (parent, name) had, as this client last saw it: a
 * guess, never an answer. A removal or rename reads the entry and, in the same round trip,
 * the attributes (and whatever else depends on it) of the inode the guess names; when the
 * entry turns out to name that inode, the second round trip to Redis is saved. A wrong or
 * missing guess costs the round trip it would have cost anyway.
 *
 * Invariants: filled from lookups, creates, links and renames that succeeded; a removed or
 * renamed-away name is forgotten; at most `limit` names, the least recently seen dropped first.
 */
import type { Ino } from '../base/types.js';

export class RecentNames {
  private readonly byName = new Map<string, Ino>();

  constructor(private readonly limit = 4096) {}

  private static key(parent: Ino, name: Buffer): string {
    return `${parent}/${name.toString('latin1')}`;
  }

  get(parent: Ino, name: Buffer): Ino | undefined {
    return this.byName.get(RecentNames.key(parent, name));
  }

  set(parent: Ino, name: Buffer, ino: Ino): void {
    const k = RecentNames.key(parent, name);
    this.byName.delete(k); // re-inserted last: the map's order is the order names were seen
    this.byName.set(k, ino);
    if (this.byName.size > this.limit) {
      const oldest = this.byName.keys().next().value;
      if (oldest !== undefined) this.byName.delete(oldest);
    }
  }

  delete(parent: Ino, name: Buffer): void {
    this.byName.delete(RecentNames.key(parent, name));
  }

  get size(): number {
    return this.byName.size;
  }
}

/** What a speculative read gives when it was not made or failed. */
export const MISSED: unique symbol = Symbol('missed');

/**
 * A read made on a guess (`undefined`: no guess): its failure is not the operation's, so it
 * becomes MISSED, and the caller reads again for real when the guess was right after all.
 */
export function speculate<T>(read: Promise<T> | undefined): Promise<T | typeof MISSED> {
  return read === undefined ? Promise.resolve(MISSED) : read.catch(() => MISSED);
}
