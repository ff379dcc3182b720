/**
 * POSIX permission rules, written once: owner/group/other bits with supplementary groups,
 * root bypass (except exec needs some x bit), sticky directories, name validation.
 */
import { FsError, Errno } from './errno.js';
import { FileType, MAX_NAME_BYTES, type Attr, type Context } from './types.js';

export const R_OK = 4;
export const W_OK = 2;
export const X_OK = 1;

export function inGroup(ctx: Context, gid: number): boolean {
  return ctx.gid === gid || ctx.gids.includes(gid);
}

export function accessBits(ctx: Context, attr: Attr): number {
  if (ctx.uid === 0) {
    // root gets rwx, but exec on a non-directory needs at least one x bit.
    const x = attr.type === FileType.Directory || (attr.mode & 0o111) !== 0 ? 1 : 0;
    return 6 | x;
  }
  if (ctx.uid === attr.uid) return (attr.mode >> 6) & 7;
  if (inGroup(ctx, attr.gid)) return (attr.mode >> 3) & 7;
  return attr.mode & 7;
}

/**
 * EACCES unless `ctx` may `mask` the inode. `allows` is the inode's POSIX ACL check, when it
 * has an access ACL (src/meta/acl.ts); root is decided by the mode bits.
 */
export function checkAccess(
  ctx: Context,
  attr: Attr,
  mask: number,
  op: string,
  ino?: bigint,
  allows?: (want: number) => boolean,
): void {
  const ok = allows && ctx.uid !== 0 ? allows(mask) : (accessBits(ctx, attr) & mask) === mask;
  if (!ok) {
    throw new FsError(Errno.EACCES, { op, ...(ino === undefined ? {} : { ino }) });
  }
}

/** Sticky directory: only root, the directory owner or the entry owner may remove/rename it. */
export function checkSticky(ctx: Context, dir: Attr, victim: Attr, op: string): void {
  if ((dir.mode & 0o1000) === 0 || ctx.uid === 0) return;
  if (ctx.uid === dir.uid || ctx.uid === victim.uid) return;
  throw new FsError(Errno.EPERM, { op, message: `EPERM: ${op}: sticky directory` });
}

/** Entry names: 1..255 bytes, no '/' and no NUL. */
export function validateName(name: Buffer, op: string): void {
  if (name.length === 0) throw new FsError(Errno.EINVAL, { op, message: `EINVAL: ${op}: empty name` });
  if (name.length > MAX_NAME_BYTES) throw new FsError(Errno.ENAMETOOLONG, { op });
  if (name.includes(0x2f) || name.includes(0)) {
    throw new FsError(Errno.EINVAL, { op, message: `EINVAL: ${op}: name contains '/' or NUL` });
  }
}

export function isDot(name: Buffer): boolean {
  return name.length === 1 && name[0] === 0x2e;
}

export function isDotDot(name: Buffer): boolean {
  return name.length === 2 && name[0] === 0x2e && name[1] === 0x2e;
}
