/**
 * Creating names (docs/FORMAT.md §4.9): mknod/mkdir/create/symlink share one transaction shape, and
 * link adds a name to an existing inode (hard-link parent tracking, §4.10).
 */
import { inodeSpace, mustGetAttr, mustGetDir, setCtime, type MetaCore } from './core.js';
import { FsError, Errno } from '../base/errno.js';
import type { EntryResult } from './meta.js';
import { aclCheck, planInherit, readAttr, replan, withAclPlan } from './acl.js';
import { checkAccess, inGroup, validateName, W_OK, X_OK } from '../base/permissions.js';
import {
  emptyAttr,
  FileType,
  Flag,
  isTrash,
  MAX_SYMLINK_BYTES,
  ROOT_INODE,
  TRASH_NAME,
  type Attr,
  type Context,
  type Ino,
} from '../base/types.js';

const RESERVED_ROOT_NAMES = new Set(['.accesslog', '.stats', '.config', '.control']);

export interface NewNode {
  type: FileType;
  mode: number;
  umask: number;
  rdev: number;
  target?: Buffer;
}

/** Checks that `name` may be created in `parent` (attr already read). */
export function checkCreatable(
  ctx: Context,
  parent: Ino,
  pattr: Attr,
  name: Buffer,
  op: string,
  allows?: (want: number) => boolean,
): void {
  validateName(name, op);
  if (isTrash(parent))
    throw new FsError(Errno.EPERM, { op, ino: parent, message: `EPERM: ${op}: inside .trash` });
  if (pattr.flags & Flag.Immutable) throw new FsError(Errno.EPERM, { op, ino: parent });
  checkAccess(ctx, pattr, W_OK | X_OK, op, parent, allows);
  if (parent === ROOT_INODE) {
    const s = name.toString();
    if (s === TRASH_NAME) throw new FsError(Errno.EPERM, { op, message: `EPERM: ${op}: .trash is reserved` });
    if (RESERVED_ROOT_NAMES.has(s)) throw new FsError(Errno.EEXIST, { op, path: s });
  }
  if ((name.length === 1 && name[0] === 0x2e) || name.toString() === '..')
    throw new FsError(Errno.EEXIST, { op });
}

export async function mknodCommon(
  core: MetaCore,
  ctx: Context,
  parent: Ino,
  name: Buffer,
  node: NewNode,
  op: string,
): Promise<EntryResult> {
  core.checkWritable(op);
  if (node.type === FileType.Symlink) {
    const t = node.target ?? Buffer.alloc(0);
    if (t.length === 0 || t.includes(0))
      throw new FsError(Errno.EINVAL, { op, message: `EINVAL: ${op}: bad target` });
    if (t.length >= MAX_SYMLINK_BYTES) throw new FsError(Errno.ENAMETOOLONG, { op });
  }
  validateName(name, op);
  core.checkCapacity(4096, 1, op);
  const ino = await core.nextInode();
  // ACL volumes: the parent's default ACL decides the mode and ACLs (acl.ts), planned first.
  const res = await withAclPlan(
    op,
    async () =>
      core.format.EnableACL
        ? planInherit(core, await readAttr(core, parent), node.type, node.mode, node.umask)
        : undefined,
    (plan) =>
      core.txn(
        async (tx) => {
          const now = core.now();
          // Both reads at once: one round trip to Redis instead of two (checks keep their order).
          const [pattr, existing] = await Promise.all([
            mustGetDir(tx, parent, op),
            tx.getEntry(parent, name),
          ]);
          checkCreatable(ctx, parent, pattr, name, op, await aclCheck(core, ctx, pattr));
          if (plan && plan.parentDefault !== pattr.defaultAcl) throw replan(op);
          if (existing) throw new FsError(Errno.EEXIST, { op, ino: existing.ino, path: name.toString() });
          const quotas = await core.quotaAncestors(tx, parent);
          core.checkQuotas(quotas, 4096, 1, op);

          const a = emptyAttr();
          a.type = node.type;
          a.mode = node.type === FileType.Symlink ? 0o777 : (plan?.mode ?? node.mode & 0o7777 & ~node.umask);
          a.accessAcl = plan?.accessAcl ?? 0;
          a.defaultAcl = plan?.defaultAcl ?? 0;
          a.uid = ctx.uid;
          a.gid = ctx.gid;
          if (pattr.mode & 0o2000) {
            a.gid = pattr.gid;
            if (node.type === FileType.Directory) a.mode |= 0o2000;
          }
          if (node.type !== FileType.Directory && a.mode & 0o2000 && ctx.uid !== 0 && !inGroup(ctx, a.gid)) {
            a.mode &= ~0o2000;
          }
          a.atime = a.mtime = a.ctime = now.sec;
          a.atimensec = a.mtimensec = a.ctimensec = now.nsec;
          a.nlink = node.type === FileType.Directory ? 2 : 1;
          a.length =
            node.type === FileType.Directory
              ? 4096
              : node.type === FileType.Symlink
                ? (node.target?.length ?? 0)
                : 0;
          a.rdev = node.rdev;
          a.parent = parent;
          a.tier = pattr.tier;
          a.flags = pattr.flags & Flag.SkipTrash;

          tx.setAttr(ino, a);
          tx.setEntry(parent, name, { ino, type: node.type });
          if (node.type === FileType.Symlink && node.target) tx.setSymlink(ino, node.target);
          if (node.type === FileType.Directory) {
            pattr.nlink++;
            tx.initDirStat(ino);
          }
          const touched = core.touchDir(pattr, now, node.type === FileType.Directory);
          if (touched || node.type === FileType.Directory) tx.setAttr(parent, pattr);
          core.addUsage(tx, 4096, 1);
          core.dirStat(tx, parent, 0, 4096, 1);
          core.applyQuotas(tx, quotas, 4096, 1);
          core.ug.charge(tx, a, 4096, 1, op); // after the sgid rule: the inode's real owner
          return { r: { ino, attr: a }, quotas };
        },
        { op },
      ),
  );
  core.noteUsage(4096, 1);
  core.noteQuotas(res.quotas, 4096, 1);
  core.names.set(parent, name, res.r.ino);
  return res.r;
}

export async function link(
  core: MetaCore,
  ctx: Context,
  ino: Ino,
  parent: Ino,
  name: Buffer,
): Promise<EntryResult> {
  const op = 'link';
  core.checkWritable(op);
  validateName(name, op);
  const res = await core.txn(
    async (tx) => {
      const now = core.now();
      const pattr = await mustGetDir(tx, parent, op);
      checkCreatable(ctx, parent, pattr, name, op, await aclCheck(core, ctx, pattr));
      const a = await mustGetAttr(tx, ino, op);
      if (a.type === FileType.Directory)
        throw new FsError(Errno.EPERM, { op, ino, message: 'EPERM: link: is a directory' });
      if (a.flags & (Flag.Immutable | Flag.Append)) throw new FsError(Errno.EPERM, { op, ino });
      if (isTrash(a.parent)) throw new FsError(Errno.EPERM, { op, ino });
      if (await tx.getEntry(parent, name)) throw new FsError(Errno.EEXIST, { op, path: name.toString() });
      const quotas = await core.quotaAncestors(tx, parent);
      const space = inodeSpace(a);
      core.checkQuotas(quotas, space, 1, op);
      if (a.parent !== 0n) {
        tx.incrParent(ino, a.parent, 1);
        a.parent = 0n;
      }
      tx.incrParent(ino, parent, 1);
      a.nlink++;
      setCtime(a, now);
      tx.setAttr(ino, a);
      tx.setEntry(parent, name, { ino, type: a.type });
      if (core.touchDir(pattr, now, false)) tx.setAttr(parent, pattr);
      core.dirStat(tx, parent, a.type === FileType.File ? a.length : 0, space, 1);
      core.applyQuotas(tx, quotas, space, 1);
      return { r: { ino, attr: a }, quotas, space };
    },
    { op },
  );
  core.noteQuotas(res.quotas, res.space, 1);
  core.names.set(parent, name, res.r.ino);
  return res.r;
}
