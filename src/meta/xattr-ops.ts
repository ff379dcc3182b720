/**
 * Extended attributes (docs/FORMAT.md §4.11): name 1..255 bytes, value <= 64 KiB, XATTR_CREATE /
 * XATTR_REPLACE, ENODATA for a missing name. POSIX ACL names are not stored as xattrs: on
 * `--enable-acl` volumes they read and write the inode's ACLs (acl.ts), elsewhere ENOTSUP.
 */
import { mustGetAttr, setCtime, type MetaCore } from './core.js';
import { FsError, Errno } from '../base/errno.js';
import { XattrFlag } from './meta.js';
import {
  aclCheck,
  ACL_ACCESS,
  ACL_DEFAULT,
  decodeAclXattr,
  emptyRule,
  encodeAclXattr,
  getFacl,
  setFacl,
  XATTR_ACL_ACCESS,
  XATTR_ACL_DEFAULT,
  type AclType,
} from './acl.js';
import { checkAccess, R_OK, W_OK } from '../base/permissions.js';
import {
  Flag,
  isTrash,
  MAX_XATTR_NAME,
  MAX_XATTR_VALUE,
  type Attr,
  type Context,
  type Ino,
} from '../base/types.js';

function checkName(name: string, op: string): void {
  const n = Buffer.byteLength(name);
  if (n === 0) throw new FsError(Errno.EINVAL, { op });
  if (n > MAX_XATTR_NAME) throw new FsError(Errno.ERANGE, { op });
  if (name.startsWith('system.posix_acl_') && aclType(name) === undefined) {
    throw new FsError(Errno.ENOTSUP, { op, message: `ENOTSUP: ${op}: POSIX ACLs are not enabled` });
  }
}

/** user.* needs r/w permission; trusted.* and security.* are root's; system.* is refused above. */
async function checkXattrAccess(
  core: MetaCore,
  ctx: Context,
  a: Attr,
  name: string,
  mask: number,
  op: string,
  ino: Ino,
): Promise<void> {
  if (name.startsWith('trusted.')) {
    if (ctx.uid !== 0) throw new FsError(Errno.EPERM, { op, ino });
    return;
  }
  if (name.startsWith('user.')) checkAccess(ctx, a, mask, op, ino, await aclCheck(core, ctx, a));
}

/** ACL xattr names on ACL volumes (acl.ts); undefined for other names. */
function aclType(name: string): AclType | undefined {
  return name === XATTR_ACL_ACCESS ? ACL_ACCESS : name === XATTR_ACL_DEFAULT ? ACL_DEFAULT : undefined;
}

function aclName(core: MetaCore, name: string, op: string): AclType | undefined {
  const t = aclType(name);
  if (t !== undefined && !core.format.EnableACL)
    throw new FsError(Errno.ENOTSUP, { op, message: `ENOTSUP: ${op}: POSIX ACLs are not enabled` });
  return t;
}

export async function getxattr(core: MetaCore, ctx: Context, ino: Ino, name: string): Promise<Buffer> {
  const op = 'getxattr';
  checkName(name, op);
  const t = aclName(core, name, op);
  if (t !== undefined) return encodeAclXattr(await getFacl(core, ctx, ino, t));
  return core.txn(
    async (tx) => {
      const a = await mustGetAttr(tx, ino, op);
      await checkXattrAccess(core, ctx, a, name, R_OK, op, ino);
      const v = await tx.getXattr(ino, name);
      if (v === undefined)
        throw new FsError(Errno.ENODATA, { op, ino, message: `ENODATA: no attribute ${name}` });
      return v;
    },
    { op, readonly: true },
  );
}

export async function listxattr(core: MetaCore, _ctx: Context, ino: Ino): Promise<string[]> {
  const op = 'listxattr';
  return core.txn(
    async (tx) => {
      const a = await mustGetAttr(tx, ino, op);
      const names = [...(await tx.listXattrs(ino)).keys()];
      if (a.accessAcl !== 0) names.push(XATTR_ACL_ACCESS);
      if (a.defaultAcl !== 0) names.push(XATTR_ACL_DEFAULT);
      return names;
    },
    { op, readonly: true },
  );
}

export async function setxattr(
  core: MetaCore,
  ctx: Context,
  ino: Ino,
  name: string,
  value: Buffer,
  flags = 0,
): Promise<void> {
  const op = 'setxattr';
  core.checkWritable(op);
  checkName(name, op);
  if (value.length > MAX_XATTR_VALUE) throw new FsError(Errno.E2BIG, { op, ino });
  if (flags & ~(XattrFlag.Create | XattrFlag.Replace)) throw new FsError(Errno.EINVAL, { op, ino });
  const t = aclName(core, name, op);
  if (t !== undefined) {
    await setFacl(core, ctx, ino, t, decodeAclXattr(value, op));
    return;
  }
  await core.txn(
    async (tx) => {
      const a = await mustGetAttr(tx, ino, op);
      if (a.flags & (Flag.Immutable | Flag.Append) || isTrash(a.parent))
        throw new FsError(Errno.EPERM, { op, ino });
      await checkXattrAccess(core, ctx, a, name, W_OK, op, ino);
      if (ctx.uid !== 0 && ctx.uid !== a.uid && name.startsWith('user.') && a.mode & 0o1000) {
        throw new FsError(Errno.EPERM, { op, ino });
      }
      const old = await tx.getXattr(ino, name);
      if (flags & XattrFlag.Create && old !== undefined) throw new FsError(Errno.EEXIST, { op, ino });
      if (flags & XattrFlag.Replace && old === undefined) throw new FsError(Errno.ENODATA, { op, ino });
      tx.setXattr(ino, name, value);
      setCtime(a, core.now());
      tx.setAttr(ino, a);
    },
    { op },
  );
}

export async function removexattr(core: MetaCore, ctx: Context, ino: Ino, name: string): Promise<void> {
  const op = 'removexattr';
  core.checkWritable(op);
  checkName(name, op);
  const t = aclName(core, name, op);
  if (t !== undefined) {
    await setFacl(core, ctx, ino, t, emptyRule());
    return;
  }
  await core.txn(
    async (tx) => {
      const a = await mustGetAttr(tx, ino, op);
      if (a.flags & (Flag.Immutable | Flag.Append) || isTrash(a.parent))
        throw new FsError(Errno.EPERM, { op, ino });
      await checkXattrAccess(core, ctx, a, name, W_OK, op, ino);
      if ((await tx.getXattr(ino, name)) === undefined) throw new FsError(Errno.ENODATA, { op, ino });
      tx.deleteXattr(ino, name);
      setCtime(a, core.now());
      tx.setAttr(ino, a);
    },
    { op },
  );
}
