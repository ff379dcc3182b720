/**
 * rename / rename2 (docs/FORMAT.md §4.8): plain moves, replacement of files and empty directories
 * (through trash or sustained rules, like unlink), RENAME_NOREPLACE and RENAME_EXCHANGE,
 * hard-link parent tracking, directory nlink moves and dir-stat moves, all in one tx.
 */
import { fileLength, inodeSpace, mustGetDir, setCtime, type MetaCore } from './core.js';
import type { DentryValue, MetaTx } from './engine.js';
import { FsError, Errno } from '../base/errno.js';
import { RenameFlag, type EntryResult } from './meta.js';
import { afterDrop, dropVictim, wantsTrash, type DropOutcome } from './ns-remove.js';
import { checkAccess, checkSticky, isDot, isDotDot, validateName, W_OK, X_OK } from '../base/permissions.js';
import { aclCheck } from './acl.js';
import { trashDir, trashEntryName } from './trash.js';
import { MISSED, speculate } from './recent-names.js';
import {
  FileType,
  Flag,
  isTrash,
  ROOT_INODE,
  TRASH_NAME,
  type Attr,
  type Context,
  type Ino,
  type Timespec,
} from '../base/types.js';

function checkNames(ps: Ino, ns: Buffer, pd: Ino, nd: Buffer): void {
  validateName(ns, 'rename');
  validateName(nd, 'rename');
  if (isDot(ns) || isDotDot(ns) || isDot(nd) || isDotDot(nd))
    throw new FsError(Errno.EINVAL, { op: 'rename' });
  if (
    (ps === ROOT_INODE && ns.toString() === TRASH_NAME) ||
    (pd === ROOT_INODE && nd.toString() === TRASH_NAME)
  ) {
    throw new FsError(Errno.EPERM, { op: 'rename', message: 'EPERM: rename: .trash is reserved' });
  }
}

/** EINVAL when `dir` is `target` or one of its ancestors (a directory into itself). */
async function checkNotAncestor(tx: MetaTx, dir: Ino, target: Ino): Promise<void> {
  let cur = target;
  for (let depth = 0; depth < 10_000; depth++) {
    if (cur === dir)
      throw new FsError(Errno.EINVAL, { op: 'rename', message: 'EINVAL: rename: directory into itself' });
    if (cur === ROOT_INODE) return;
    const a = await tx.getAttr(cur);
    if (!a || a.parent === 0n || a.parent === cur) return;
    cur = a.parent;
  }
}

interface Side {
  parent: Ino;
  pattr: Attr;
  name: Buffer;
}

function moveStats(core: MetaCore, tx: MetaTx, from: Ino, to: Ino, a: Attr): void {
  if (from === to) return;
  core.dirStat(tx, from, -fileLength(a), -inodeSpace(a), -1);
  core.dirStat(tx, to, fileLength(a), inodeSpace(a), 1);
}

function reparent(tx: MetaTx, ino: Ino, a: Attr, from: Ino, to: Ino): void {
  if (from === to) return;
  if (a.parent !== 0n) a.parent = to;
  else {
    tx.incrParent(ino, from, -1);
    tx.incrParent(ino, to, 1);
  }
}

function exchange(
  core: MetaCore,
  tx: MetaTx,
  s: Side,
  d: Side,
  se: DentryValue,
  sa: Attr,
  de: DentryValue,
  da: Attr,
  now: Timespec,
): void {
  tx.setEntry(s.parent, s.name, de);
  tx.setEntry(d.parent, d.name, se);
  if (s.parent !== d.parent) {
    const sDir = sa.type === FileType.Directory;
    const dDir = da.type === FileType.Directory;
    if (sDir && !dDir) {
      s.pattr.nlink--;
      d.pattr.nlink++;
    } else if (!sDir && dDir) {
      s.pattr.nlink++;
      d.pattr.nlink--;
    }
    reparent(tx, se.ino, sa, s.parent, d.parent);
    reparent(tx, de.ino, da, d.parent, s.parent);
    moveStats(core, tx, s.parent, d.parent, sa);
    moveStats(core, tx, d.parent, s.parent, da);
  }
  setCtime(sa, now);
  setCtime(da, now);
  tx.setAttr(se.ino, sa);
  tx.setAttr(de.ino, da);
}

export async function rename(
  core: MetaCore,
  ctx: Context,
  ps: Ino,
  ns: Buffer,
  pd: Ino,
  nd: Buffer,
  flags = 0,
): Promise<EntryResult> {
  const op = 'rename';
  core.checkWritable(op);
  if (flags & RenameFlag.Whiteout)
    throw new FsError(Errno.ENOTSUP, { op, message: 'ENOTSUP: RENAME_WHITEOUT' });
  if (
    flags & ~(RenameFlag.NoReplace | RenameFlag.Exchange) ||
    (flags & RenameFlag.NoReplace && flags & RenameFlag.Exchange)
  ) {
    throw new FsError(Errno.EINVAL, { op });
  }
  checkNames(ps, ns, pd, nd);
  if (isTrash(pd)) throw new FsError(Errno.EPERM, { op, message: 'EPERM: rename: into .trash' });
  const trash = core.format.TrashDays > 0 ? await trashDir(core, core.now()) : undefined;
  const res = await core.txn(
    async (tx) => {
      const now = core.now();
      // The parents and both names in one batch: one round trip to Redis instead of four
      // (the checks below keep their order).
      // With them, the attrs of the inodes this client last saw under both names: when the
      // entries still name them, one round trip is saved.
      const sGuess = core.names.get(ps, ns);
      const dGuess = core.names.get(pd, nd);
      // A replaced file goes to the trash: the entry it would take there, on the same guess.
      const dTrashName =
        trash !== undefined && dGuess !== undefined ? trashEntryName(pd, dGuess, nd) : undefined;
      const [spAttr, dpOther, se, de, sGuessed, dGuessed, dTrashGuessed] = await Promise.all([
        mustGetDir(tx, ps, op),
        pd === ps ? undefined : mustGetDir(tx, pd, op),
        tx.getEntry(ps, ns),
        tx.getEntry(pd, nd),
        speculate(sGuess === undefined ? undefined : tx.getAttr(sGuess)),
        speculate(dGuess === undefined || dGuess === sGuess ? undefined : tx.getAttr(dGuess)),
        speculate(
          trash === undefined || dTrashName === undefined
            ? undefined
            : tx.getEntry(trash, dTrashName).then((e) => e ?? null),
        ),
      ]);
      const attrOf = (e: { ino: Ino }): Promise<Attr | undefined> =>
        e.ino === sGuess && sGuessed !== MISSED
          ? Promise.resolve(sGuessed)
          : e.ino === dGuess && dGuessed !== MISSED
            ? Promise.resolve(dGuessed)
            : tx.getAttr(e.ino);
      const dpAttr = dpOther ?? spAttr;
      checkAccess(ctx, spAttr, W_OK | X_OK, op, ps, await aclCheck(core, ctx, spAttr));
      if (pd !== ps) checkAccess(ctx, dpAttr, W_OK | X_OK, op, pd, await aclCheck(core, ctx, dpAttr));
      for (const p of [spAttr, dpAttr]) {
        if (p.flags & (Flag.Immutable | Flag.Append)) throw new FsError(Errno.EPERM, { op });
      }
      if (!se) throw new FsError(Errno.ENOENT, { op, path: ns.toString() });
      const sa = await attrOf(se);
      if (!sa) throw new FsError(Errno.ENOENT, { op, ino: se.ino });
      checkSticky(ctx, spAttr, sa, op);
      if (sa.flags & (Flag.Immutable | Flag.Append)) throw new FsError(Errno.EPERM, { op, ino: se.ino });
      const sDir = sa.type === FileType.Directory;
      if (sDir && ps !== pd) {
        await checkNotAncestor(tx, se.ino, pd);
        // Moving a directory to a new parent rewrites its '..': needs write permission on it.
        checkAccess(ctx, sa, W_OK, op, se.ino, await aclCheck(core, ctx, sa));
      }
      const quotas = await core.quotaAncestors(tx, pd);
      const srcQuotas = ps === pd ? quotas : await core.quotaAncestors(tx, ps);
      if (srcQuotas.join() !== quotas.join()) {
        // Moving usage between quota trees needs a recursive summary; let callers copy instead.
        throw new FsError(Errno.EXDEV, { op, message: 'EXDEV: rename across directory quotas' });
      }
      const s: Side = { parent: ps, pattr: spAttr, name: ns };
      const d: Side = { parent: pd, pattr: dpAttr, name: nd };
      let outcome: DropOutcome = { space: 0, inodes: 0 };
      if (de && de.ino === se.ino) {
        if (flags & RenameFlag.NoReplace) throw new FsError(Errno.EEXIST, { op, path: nd.toString() });
        return { r: { ino: se.ino, attr: sa }, outcome, quotas, noop: true };
      }
      if (flags & RenameFlag.Exchange) {
        if (!de) throw new FsError(Errno.ENOENT, { op, path: nd.toString() });
        const da = await attrOf(de);
        if (!da) throw new FsError(Errno.ENOENT, { op, ino: de.ino });
        checkSticky(ctx, dpAttr, da, op);
        if (da.type === FileType.Directory && ps !== pd) {
          await checkNotAncestor(tx, de.ino, ps);
          checkAccess(ctx, da, W_OK, op, de.ino, await aclCheck(core, ctx, da));
        }
        exchange(core, tx, s, d, se, sa, de, da, now);
      } else {
        if (de) {
          if (flags & RenameFlag.NoReplace) throw new FsError(Errno.EEXIST, { op, path: nd.toString() });
          const da = await attrOf(de);
          if (da) {
            checkSticky(ctx, dpAttr, da, op);
            if (da.flags & (Flag.Immutable | Flag.Append))
              throw new FsError(Errno.EPERM, { op, ino: de.ino });
          }
          const dDir = de.type === FileType.Directory;
          if (sDir && !dDir) throw new FsError(Errno.ENOTDIR, { op, path: nd.toString() });
          if (!sDir && dDir) throw new FsError(Errno.EISDIR, { op, path: nd.toString() });
          if (dDir) {
            if (await tx.hasEntries(de.ino)) throw new FsError(Errno.ENOTEMPTY, { op, path: nd.toString() });
            dpAttr.nlink--;
          }
          const toTrash = wantsTrash(core, pd, da) ? trash : undefined;
          const trashEntry = de.ino === dGuess && dTrashGuessed !== MISSED ? dTrashGuessed : undefined;
          outcome = await dropVictim(core, tx, {
            parent: pd,
            name: nd,
            entry: de,
            attr: da,
            trash: toTrash,
            ...(trashEntry !== undefined ? { trashEntry } : {}),
            now,
          });
        }
        tx.deleteEntry(ps, ns);
        tx.setEntry(pd, nd, se);
        if (sDir && ps !== pd) {
          // Trash hour directories do not count the directories moved into them (dropVictim).
          if (!isTrash(ps)) spAttr.nlink--;
          dpAttr.nlink++;
        }
        reparent(tx, se.ino, sa, ps, pd);
        moveStats(core, tx, ps, pd, sa);
        setCtime(sa, now);
        tx.setAttr(se.ino, sa);
      }
      core.touchDir(spAttr, now, true);
      tx.setAttr(ps, spAttr);
      if (pd !== ps) {
        core.touchDir(dpAttr, now, true);
        tx.setAttr(pd, dpAttr);
      }
      core.applyQuotas(tx, quotas, outcome.space, outcome.inodes);
      return { r: { ino: se.ino, attr: sa }, outcome, quotas, noop: false };
    },
    { op },
  );
  if (!res.noop) {
    core.names.delete(ps, ns);
    if (flags & RenameFlag.Exchange) core.names.delete(pd, nd);
    else core.names.set(pd, nd, res.r.ino);
    await afterDrop(core, res.outcome, res.quotas);
  }
  return res.r;
}
