/**
 * User and group quotas (JuiceFS 1.4: userQuotas/groupQuotas of baseMeta): one record per
 * uid and per gid that owns anything, stored as Go stores them (SQL jfs_user_group_quota
 * with qtype 1 user / 2 group; Redis hashes userQuota / userQuotaUsedSpace /
 * userQuotaUsedInodes and the group* ones) and active only when the setting has
 * `UserGroupQuota` (turned on by the first `quota set --uid/--gid`, as Go does).
 *
 * Design: the client keeps a cache of every record (refreshed by the heartbeat). An op
 * that adds space or inodes for an owner checks the cache first (EDQUOT), then writes the
 * usage change in its own transaction (not batched like Go's 3 s flush, so usage stays
 * exact across crashes); the cache takes the change when the transaction commits.
 * Accounting follows Go: a file counts align4K(length) and one inode, every other inode
 * 4 KiB and one inode (inodeSpace); a hard link counts once, for its owner; chown moves
 * an inode's usage from the old owner to the new (checking the new one).
 * Invariant: only committed transactions change the cache (deltas are kept per tx object).
 */
import type { MetaTx, QuotaRecord } from './engine.js';
import { FsError, Errno } from '../base/errno.js';

export type UgKind = 'user' | 'group';

export interface Owner {
  uid: number;
  gid: number;
}

interface Delta {
  kind: UgKind;
  id: number;
  space: number;
  inodes: number;
}

export class UserGroupQuotas {
  readonly user = new Map<number, QuotaRecord>();
  readonly group = new Map<number, QuotaRecord>();
  private readonly byTx = new WeakMap<MetaTx, Delta[]>();

  /** `enabled`: the setting's UserGroupQuota, read at each call (the setting reloads). */
  constructor(private readonly enabled: () => boolean) {}

  get active(): boolean {
    return this.enabled();
  }

  /** True when some user or group has a limit (writes must then reserve space at write()). */
  limited(): boolean {
    if (!this.enabled()) return false;
    for (const m of [this.user, this.group])
      for (const q of m.values()) if (q.maxSpace > 0 || q.maxInodes > 0) return true;
    return false;
  }

  /** Replaces the cache with the stored records (heartbeat). */
  replace(kind: UgKind, records: Map<number, QuotaRecord>): void {
    const m = this[kind];
    m.clear();
    for (const [k, v] of records) m.set(k, v);
  }

  /** EDQUOT when `space`/`inodes` more for `owner` would exceed its user or group limit. */
  check(owner: Owner, space: number, inodes: number, op: string): void {
    if (!this.enabled() || (space <= 0 && inodes <= 0)) return;
    for (const [kind, id] of [
      ['user', owner.uid],
      ['group', owner.gid],
    ] as const) {
      const q = this[kind].get(id);
      if (!q) continue;
      if (
        (space > 0 && q.maxSpace > 0 && q.usedSpace + space > q.maxSpace) ||
        (inodes > 0 && q.maxInodes > 0 && q.usedInodes + inodes > q.maxInodes)
      ) {
        throw new FsError(Errno.EDQUOT, { op, message: `EDQUOT: ${op}: quota of ${kind} ${id} exceeded` });
      }
    }
  }

  /**
   * Writes a usage change of `owner` in `tx`; with `op`, a growth is checked first (EDQUOT).
   * No-op unless the volume has UserGroupQuota.
   */
  charge(tx: MetaTx, owner: Owner, space: number, inodes: number, op?: string): void {
    if (!this.enabled() || (space === 0 && inodes === 0)) return;
    if (op !== undefined) this.check(owner, space, inodes, op);
    const list = this.byTx.get(tx) ?? [];
    for (const [kind, id] of [
      ['user', owner.uid],
      ['group', owner.gid],
    ] as const) {
      tx.updateUserGroupQuotaUsage(kind, id, space, inodes);
      list.push({ kind, id, space, inodes });
    }
    this.byTx.set(tx, list);
  }

  /** Moves an inode's usage between owners (chown/chgrp); the new owner is checked. */
  move(tx: MetaTx, from: Owner, to: Owner, space: number, inodes: number, op: string): void {
    if (!this.enabled()) return;
    const uidChanged = from.uid !== to.uid;
    const gidChanged = from.gid !== to.gid;
    if (!uidChanged && !gidChanged) return;
    // Check only the side that changes: a group change must not fail on the user's limit.
    if (uidChanged) this.check({ uid: to.uid, gid: -1 }, space, inodes, op);
    if (gidChanged) this.check({ uid: -1, gid: to.gid }, space, inodes, op);
    const list = this.byTx.get(tx) ?? [];
    const moves: [UgKind, number, number][] = [];
    if (uidChanged) moves.push(['user', from.uid, to.uid]);
    if (gidChanged) moves.push(['group', from.gid, to.gid]);
    for (const [kind, a, b] of moves) {
      tx.updateUserGroupQuotaUsage(kind, a, -space, -inodes);
      tx.updateUserGroupQuotaUsage(kind, b, space, inodes);
      list.push({ kind, id: a, space: -space, inodes: -inodes }, { kind, id: b, space, inodes });
    }
    this.byTx.set(tx, list);
  }

  /** `tx` committed: its changes join the cache. */
  committed(tx: MetaTx): void {
    const list = this.byTx.get(tx);
    if (!list) return;
    this.byTx.delete(tx);
    for (const d of list) {
      const m = this[d.kind];
      const q = m.get(d.id) ?? { maxSpace: -1, maxInodes: -1, usedSpace: 0, usedInodes: 0 };
      q.usedSpace += d.space;
      q.usedInodes += d.inodes;
      m.set(d.id, q);
    }
  }
}
