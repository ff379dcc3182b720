/**
 * BSD flock and POSIX record locks (docs/FORMAT.md §4.14), stored per inode and owner
 * (sid, owner) so Go clients see and honour them. Blocking requests retry with a short
 * sleep until granted or the context's signal aborts (EINTR).
 */
import type { MetaCore } from './core.js';
import { decodePlocks, encodePlocks, type PlockRecord } from './encoding.js';
import { FsError, Errno } from '../base/errno.js';
import { LockType, type LockTypeValue, type PosixLock } from './meta.js';
import type { Context, Ino } from '../base/types.js';

/**
 * Runs `attempt` (one transaction) until it grants the lock: EAGAIN at once for a
 * non-blocking request, else sleeps with doubling delays (1 ms for write locks, 10 ms for
 * read locks, as Go; capped at 50 ms) until granted or the signal aborts (EINTR).
 */
async function acquire(
  core: MetaCore,
  ctx: Context,
  op: string,
  ino: Ino,
  write: boolean,
  block: boolean,
  attempt: () => Promise<boolean>,
): Promise<void> {
  let delay = write ? 1 : 10;
  while (!(await attempt())) {
    if (!block) throw new FsError(Errno.EAGAIN, { op, ino });
    try {
      await core.clock.sleep(delay, ctx.signal);
    } catch {
      throw new FsError(Errno.EINTR, { op, ino });
    }
    delay = Math.min(delay * 2, 50);
  }
}

export async function flock(
  core: MetaCore,
  ctx: Context,
  ino: Ino,
  owner: bigint,
  type: LockTypeValue,
  block: boolean,
): Promise<void> {
  const op = 'flock';
  const sid = core.sid;
  await acquire(core, ctx, op, ino, type === LockType.Write, block, () =>
    core.txn(
      async (tx) => {
        const owners = await tx.getFlocks(ino);
        if (type === LockType.Unlock) {
          if (owners.some((o) => o.sid === sid && o.owner === owner)) tx.setFlock(ino, sid, owner, null);
          return true;
        }
        const want = type === LockType.Write ? 'W' : 'R';
        const conflict = owners.some(
          (o) => !(o.sid === sid && o.owner === owner) && (want === 'W' || o.type === 'W'),
        );
        if (conflict) return false;
        tx.setFlock(ino, sid, owner, want);
        return true;
      },
      { op },
    ),
  );
}

const MAX_END = 0xffffffffffffffffn;

function overlaps(a: { start: bigint; end: bigint }, b: { start: bigint; end: bigint }): boolean {
  return a.start <= b.end && b.start <= a.end;
}

/** Replaces [start,end] of an owner's records with `lock` (type Unlock removes). */
export function updateRecords(records: PlockRecord[], lock: PosixLock): PlockRecord[] {
  const out: PlockRecord[] = [];
  for (const r of records) {
    if (!overlaps(r, lock)) {
      out.push(r);
      continue;
    }
    if (r.start < lock.start) out.push({ ...r, end: lock.start - 1n });
    if (r.end > lock.end) out.push({ ...r, start: lock.end + 1n });
  }
  if (lock.type !== LockType.Unlock)
    out.push({ type: lock.type, pid: lock.pid, start: lock.start, end: lock.end });
  out.sort((a, b) => (a.start < b.start ? -1 : a.start > b.start ? 1 : 0));
  const merged: PlockRecord[] = [];
  for (const r of out) {
    const last = merged[merged.length - 1];
    if (last && last.type === r.type && last.end !== MAX_END && last.end + 1n === r.start) last.end = r.end;
    else merged.push({ ...r });
  }
  return merged;
}

export async function getlk(
  core: MetaCore,
  _ctx: Context,
  ino: Ino,
  owner: bigint,
  lock: PosixLock,
): Promise<PosixLock> {
  const sid = core.sid;
  return core.txn(
    async (tx) => {
      for (const o of await tx.getPlocks(ino)) {
        if (o.sid === sid && o.owner === owner) continue;
        for (const r of decodePlocks(o.records)) {
          if (overlaps(r, lock) && (r.type === LockType.Write || lock.type === LockType.Write)) {
            return {
              type: r.type as LockTypeValue,
              start: r.start,
              end: r.end,
              pid: o.sid === sid ? r.pid : 0,
            };
          }
        }
      }
      return { type: LockType.Unlock, start: 0n, end: 0n, pid: 0 };
    },
    { op: 'getlk', readonly: true },
  );
}

export async function setlk(
  core: MetaCore,
  ctx: Context,
  ino: Ino,
  owner: bigint,
  block: boolean,
  lock: PosixLock,
): Promise<void> {
  const op = 'setlk';
  const sid = core.sid;
  if (lock.start > lock.end) throw new FsError(Errno.EINVAL, { op, ino });
  await acquire(core, ctx, op, ino, lock.type === LockType.Write, block, () =>
    core.txn(
      async (tx) => {
        const owners = await tx.getPlocks(ino);
        const mine = owners.find((o) => o.sid === sid && o.owner === owner);
        if (lock.type !== LockType.Unlock) {
          for (const o of owners) {
            if (o === mine) continue;
            for (const r of decodePlocks(o.records)) {
              if (overlaps(r, lock) && (r.type === LockType.Write || lock.type === LockType.Write))
                return false;
            }
          }
        } else if (!mine) {
          return true;
        }
        const next = updateRecords(mine ? decodePlocks(mine.records) : [], lock);
        tx.setPlock(ino, sid, owner, encodePlocks(next));
        return true;
      },
      { op },
    ),
  );
}
