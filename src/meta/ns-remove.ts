/**
 * Removing names (docs/FORMAT.md §4.8): unlink and rmdir, and `dropVictim`, the shared step that
 * also handles the target replaced by rename. With TrashDays > 0 victims move into the
 * hourly trash directory; otherwise the last link of an open file becomes a sustained
 * inode of this session, and a closed one goes to delfiles and its data is deleted.
 */
import { fileLength, inodeSpace, mustGetDir, setCtime, type MetaCore } from './core.js';
import type { DentryValue, MetaTx } from './engine.js';
import type { RemoveOptions } from './meta.js';
import { FsError, Errno } from '../base/errno.js';
import { checkAccess, checkSticky, isDot, isDotDot, validateName, W_OK, X_OK } from '../base/permissions.js';
import { aclCheck } from './acl.js';
import { trashDir, trashEntryName } from './trash.js';
import { MISSED, speculate } from './recent-names.js';
import { FileType, Flag, isTrash, type Attr, type Context, type Ino } from '../base/types.js';

/** What happened to a removed inode, for after-commit work. */
export interface DropOutcome {
  /** Data to delete after commit (file with no links left and not open). */
  deleteData?: { ino: Ino; length: number };
  /** Usage change applied in the tx (to mirror into the local cache). */
  space: number;
  inodes: number;
  /** An open file that became a sustained inode of this session. */
  sustained?: Ino;
}

export interface DropArgs {
  parent: Ino;
  name: Buffer;
  entry: DentryValue;
  attr: Attr | undefined;
  /** Trash sub-directory to move into, or undefined for a real removal. */
  trash: Ino | undefined;
  /** The trash entry the victim would take, when the caller already read it (absent: not read). */
  trashEntry?: DentryValue | null;
  now: { sec: number; nsec: number };
}

/** True when the victim should go to the trash (docs/FORMAT.md §4.8). */
export function wantsTrash(core: MetaCore, parent: Ino, attr: Attr | undefined): boolean {
  return (
    core.format.TrashDays > 0 && !isTrash(parent) && attr !== undefined && (attr.flags & Flag.SkipTrash) === 0
  );
}

/**
 * Removes the link `parent/name -> entry` (the entry itself is deleted or overwritten by
 * the caller) and applies the inode's fate. Directories must already be known empty.
 */
export async function dropVictim(core: MetaCore, tx: MetaTx, a: DropArgs): Promise<DropOutcome> {
  const { entry, attr, now } = a;
  const out: DropOutcome = { space: 0, inodes: 0 };
  if (!attr) return out;
  const ino = entry.ino;
  const isDir = attr.type === FileType.Directory;
  core.dirStat(tx, a.parent, -fileLength(attr), -inodeSpace(attr), -1);
  if (a.trash !== undefined) {
    const tname = trashEntryName(a.parent, ino, a.name);
    const taken =
      a.trashEntry !== undefined ? a.trashEntry : isDir ? null : await tx.getEntry(a.trash, tname);
    if (isDir || !taken) {
      tx.setEntry(a.trash, tname, { ino, type: attr.type });
      if (attr.parent !== 0n) attr.parent = a.trash;
      else {
        tx.incrParent(ino, a.trash, 1);
        tx.incrParent(ino, a.parent, -1);
      }
      setCtime(attr, now);
      tx.setAttr(ino, attr);
      core.dirStat(tx, a.trash, fileLength(attr), inodeSpace(attr), 1);
      return out;
    }
  }
  setCtime(attr, now);
  if (isDir) {
    tx.deleteAttr(ino);
    tx.deleteAllXattrs(ino);
    core.dropDirStat(tx, ino);
    tx.deleteDirQuota(ino);
    out.space = -4096;
    out.inodes = -1;
  } else {
    attr.nlink--;
    if (attr.nlink > 0) {
      if (attr.parent === 0n) tx.incrParent(ino, a.parent, -1);
      tx.setAttr(ino, attr);
      return out;
    }
    if (attr.type === FileType.File && core.sid > 0 && (core.opened.get(ino) ?? 0) > 0) {
      tx.setAttr(ino, attr);
      tx.addSustained(core.sid, ino);
      out.sustained = ino;
    } else {
      if (attr.type === FileType.File) {
        tx.addDelFile(ino, attr.length, now.sec);
        out.deleteData = { ino, length: attr.length };
      }
      if (attr.type === FileType.Symlink) tx.deleteSymlink(ino);
      tx.deleteAttr(ino);
      out.space = -inodeSpace(attr);
      out.inodes = -1;
    }
    tx.deleteAllXattrs(ino);
    if (attr.parent === 0n) tx.deleteParents(ino);
  }
  core.addUsage(tx, out.space, out.inodes);
  core.ug.charge(tx, attr, out.space, out.inodes); // the owner's usage drops with the inode
  return out;
}

/** Client-side effects of a committed removal; resolves once the deletion backlog has room. */
export async function afterDrop(core: MetaCore, o: DropOutcome, quotas: Ino[]): Promise<void> {
  core.noteUsage(o.space, o.inodes);
  core.noteQuotas(quotas, o.space, o.inodes);
  if (o.sustained !== undefined) core.sustained.add(o.sustained);
  if (o.deleteData) await core.scheduleDelete(o.deleteData.ino, o.deleteData.length);
}

async function removeCommon(
  core: MetaCore,
  ctx: Context,
  parent: Ino,
  name: Buffer,
  dir: boolean,
  opts: RemoveOptions,
): Promise<void> {
  const op = dir ? 'rmdir' : 'unlink';
  core.checkWritable(op);
  validateName(name, op);
  if (dir && isDot(name)) throw new FsError(Errno.EINVAL, { op });
  if (dir && isDotDot(name)) throw new FsError(Errno.ENOTEMPTY, { op });
  const trash =
    core.format.TrashDays > 0 && !isTrash(parent) && !opts.skipTrash
      ? await trashDir(core, core.now())
      : undefined;
  const res = await core.txn(
    async (tx) => {
      const now = core.now();
      // What depends on the victim's inode: its attr, whether a directory is empty and the
      // trash entry a file would take.
      const victim = (ino: Ino) => {
        const tname = trash !== undefined && !dir ? trashEntryName(parent, ino, name) : undefined;
        return Promise.all([
          tx.getAttr(ino),
          dir ? tx.hasEntries(ino) : false,
          trash !== undefined && tname !== undefined
            ? tx.getEntry(trash, tname).then((e) => e ?? null)
            : undefined,
        ]);
      };
      // The parent, the entry and, on the guess of which inode the name has, the victim's
      // reads, at once: one round trip to Redis when the guess is right (checks keep their order).
      const guess = core.names.get(parent, name);
      const [pattr, entry, guessed] = await Promise.all([
        mustGetDir(tx, parent, op),
        tx.getEntry(parent, name),
        speculate(guess === undefined ? undefined : victim(guess)),
      ]);
      checkAccess(ctx, pattr, W_OK | X_OK, op, parent, await aclCheck(core, ctx, pattr));
      if (pattr.flags & (Flag.Immutable | Flag.Append)) throw new FsError(Errno.EPERM, { op, ino: parent });
      if (!entry) throw new FsError(Errno.ENOENT, { op, path: name.toString() });
      if (dir && entry.type !== FileType.Directory)
        throw new FsError(Errno.ENOTDIR, { op, path: name.toString() });
      if (!dir && entry.type === FileType.Directory)
        throw new FsError(Errno.EISDIR, { op, path: name.toString() });
      // Otherwise one more round trip for all of them, not three.
      const [attr, nonEmpty, trashEntry] =
        guessed !== MISSED && entry.ino === guess ? guessed : await victim(entry.ino);
      if (attr) {
        checkSticky(ctx, pattr, attr, op);
        if (attr.flags & (Flag.Immutable | Flag.Append))
          throw new FsError(Errno.EPERM, { op, ino: entry.ino });
        if (isTrash(parent) && ctx.uid !== 0) throw new FsError(Errno.EPERM, { op, ino: entry.ino });
      }
      if (nonEmpty) throw new FsError(Errno.ENOTEMPTY, { op, path: name.toString() });
      const quotas = await core.quotaAncestors(tx, parent);
      tx.deleteEntry(parent, name);
      if (dir) pattr.nlink--;
      const touched = core.touchDir(pattr, now, dir);
      if (touched || dir) tx.setAttr(parent, pattr);
      const toTrash = wantsTrash(core, parent, attr) ? trash : undefined;
      const outcome = await dropVictim(core, tx, {
        parent,
        name,
        entry,
        attr,
        trash: toTrash,
        ...(trashEntry !== undefined ? { trashEntry } : {}),
        now,
      });
      core.applyQuotas(tx, quotas, outcome.space, outcome.inodes);
      return { outcome, quotas };
    },
    { op },
  );
  core.names.delete(parent, name);
  await afterDrop(core, res.outcome, res.quotas);
}

export function unlink(
  core: MetaCore,
  ctx: Context,
  parent: Ino,
  name: Buffer,
  opts: RemoveOptions = {},
): Promise<void> {
  return removeCommon(core, ctx, parent, name, false, opts);
}

export function rmdir(
  core: MetaCore,
  ctx: Context,
  parent: Ino,
  name: Buffer,
  opts: RemoveOptions = {},
): Promise<void> {
  return removeCommon(core, ctx, parent, name, true, opts);
}
