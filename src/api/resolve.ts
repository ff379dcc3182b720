/**
 * Path resolution over the Vfs: walks components with `lookup` (which checks search
 * permission on every directory), follows symbolic links (ELOOP after 40), handles '.'
 * and '..' physically, and tells a missing last component apart (parent + name) so
 * create-like calls and dangling symlinks (O_CREAT through a link) work as on Linux.
 *
 * Invariants: paths are volume paths; a relative path is taken from the volume root;
 * a trailing '/' requires a directory (ENOTDIR otherwise) and follows a final link.
 */
import { FsError, Errno, isFsError } from '../base/errno.js';
import { FileType, ROOT_INODE, type Attr, type Context, type Ino } from '../base/types.js';
import type { Vfs } from '../vfs/vfs.js';

export const MAX_SYMLINKS = 40;

export interface Found {
  kind: 'found';
  ino: Ino;
  attr: Attr;
  /** Directory holding the last entry; the root has no parent entry (name undefined). */
  parent: Ino;
  name: string | undefined;
}

export interface Missing {
  kind: 'missing';
  parent: Ino;
  name: string;
}

export type Walk = Found | Missing;

function components(path: string): string[] {
  if (path.includes('\0')) throw new FsError(Errno.EINVAL, { op: 'resolve', path: '<path with NUL>' });
  return path.split('/').filter((c) => c !== '');
}

/**
 * Resolves `path`. `follow`: follow a symlink in the last component. A missing last
 * component resolves to `Missing` (its directory exists); a missing middle one is ENOENT.
 */
export async function walk(vfs: Vfs, ctx: Context, path: string, follow: boolean): Promise<Walk> {
  if (path === '') throw new FsError(Errno.ENOENT, { op: 'resolve', path });
  const queue = components(path);
  const mustDir = path.endsWith('/') && queue.length > 0;
  let cur: Ino = ROOT_INODE;
  let curAttr: Attr | undefined;
  let parent: Ino = ROOT_INODE;
  let lastName: string | undefined;
  let links = 0;
  while (queue.length > 0) {
    const name = queue.shift()!;
    const isLast = queue.length === 0;
    let r;
    try {
      // Middle components may come from the Vfs's short-lived directory cache.
      r = await (isLast
        ? vfs.lookup(ctx, cur, Buffer.from(name))
        : vfs.lookupPath(ctx, cur, Buffer.from(name)));
    } catch (e) {
      if (isLast && isFsError(e, 'ENOENT')) return { kind: 'missing', parent: cur, name };
      throw e;
    }
    if (r.attr.type === FileType.Symlink && (!isLast || follow || mustDir)) {
      if (++links > MAX_SYMLINKS) throw new FsError(Errno.ELOOP, { op: 'resolve', path });
      const target = (await vfs.readlink(ctx, r.ino)).toString();
      if (target === '') throw new FsError(Errno.ENOENT, { op: 'resolve', path });
      if (target.startsWith('/')) cur = ROOT_INODE;
      const more = components(target);
      queue.unshift(...more);
      if (more.length === 0) {
        // a link to "/": the root is the result when nothing follows
        parent = ROOT_INODE;
        lastName = undefined;
        curAttr = undefined;
      }
      continue;
    }
    parent = cur;
    lastName = name;
    cur = r.ino;
    curAttr = r.attr;
  }
  const attr = curAttr ?? (await vfs.getattr(ctx, cur));
  if (mustDir && attr.type !== FileType.Directory) throw new FsError(Errno.ENOTDIR, { op: 'resolve', path });
  return { kind: 'found', ino: cur, attr, parent, name: lastName };
}

/** Resolves an existing path (ENOENT when missing). */
export async function resolveExisting(vfs: Vfs, ctx: Context, path: string, follow: boolean): Promise<Found> {
  const w = await walk(vfs, ctx, path, follow);
  if (w.kind === 'missing') throw new FsError(Errno.ENOENT, { op: 'resolve', path });
  return w;
}

/**
 * The (directory, name) of an existing entry, for unlink/rmdir/rename. The root and
 * '.'/'..' names cannot be removed or moved: EBUSY / EINVAL.
 */
export function entryOf(f: Found, op: string): { parent: Ino; name: string } {
  if (f.name === undefined) throw new FsError(Errno.EBUSY, { op });
  if (f.name === '.' || f.name === '..')
    throw new FsError(f.name === '.' ? Errno.EINVAL : Errno.ENOTEMPTY, { op });
  return { parent: f.parent, name: f.name };
}
