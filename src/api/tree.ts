/**
 * Directory-level helpers over the Vfs shared by the fs-like API and the HDFS layer:
 * list a directory, remove a subtree, create a directory chain.
 *
 * Design: listings go through opendir/readdir/releasedir (the same path as the mount) and
 * drop '.' and '..'. Subtree removal is an explicit depth-first stack (no recursion, one
 * directory's listing in memory per level) that unlinks files and then removes the
 * emptied directories; entries that vanish concurrently are ignored.
 */
import { FsError, Errno, isFsError } from '../base/errno.js';
import { FileType, type Context, type Entry, type Ino } from '../base/types.js';
import type { Vfs } from '../vfs/vfs.js';

/** Children of directory `ino` (no '.'/'..'); attrs included when `plus`. */
export async function listDir(vfs: Vfs, ctx: Context, ino: Ino, plus = false): Promise<Entry[]> {
  const h = await vfs.opendir(ctx, ino);
  try {
    const all = await vfs.readdir(ctx, h.fh, 0, plus);
    return all.filter(
      (e) => !(e.name.length <= 2 && (e.name.toString() === '.' || e.name.toString() === '..')),
    );
  } finally {
    await vfs.releasedir(ctx, h.fh);
  }
}

interface Frame {
  parent: Ino;
  name: Buffer;
  ino: Ino;
  expanded: boolean;
}

/** Removes `name` in `parent` and everything below it. */
export async function removeTree(
  vfs: Vfs,
  ctx: Context,
  parent: Ino,
  name: Buffer,
  type: FileType,
  ino: Ino,
): Promise<void> {
  if (type !== FileType.Directory) {
    await vfs.unlink(ctx, parent, name);
    return;
  }
  const stack: Frame[] = [{ parent, name, ino, expanded: false }];
  while (stack.length > 0) {
    const top = stack[stack.length - 1]!;
    if (!top.expanded) {
      top.expanded = true;
      const entries = await listDir(vfs, ctx, top.ino).catch((e: unknown) => {
        if (isFsError(e, 'ENOENT')) return [];
        throw e;
      });
      for (const e of entries) {
        if (e.type === FileType.Directory)
          stack.push({ parent: top.ino, name: e.name, ino: e.ino, expanded: false });
        else await vfs.unlink(ctx, top.ino, e.name).catch(ignoreMissing);
      }
      continue;
    }
    await vfs.rmdir(ctx, top.parent, top.name).catch(ignoreMissing);
    stack.pop();
  }
}

function ignoreMissing(e: unknown): void {
  if (!isFsError(e, 'ENOENT')) throw e;
}

/**
 * Creates every missing directory of `names` under `start` (mkdir -p). Returns the index
 * of the first component it created (or -1). An existing non-directory is ENOTDIR, or
 * EEXIST when it is the last component.
 */
export async function mkdirChain(
  vfs: Vfs,
  ctx: Context,
  start: Ino,
  names: string[],
  mode: number,
  umask: number,
): Promise<{ ino: Ino; firstCreated: number }> {
  let cur = start;
  let firstCreated = -1;
  for (let i = 0; i < names.length; i++) {
    const nm = Buffer.from(names[i]!);
    let r;
    try {
      r = await vfs.lookup(ctx, cur, nm);
    } catch (e) {
      if (!isFsError(e, 'ENOENT')) throw e;
      try {
        r = await vfs.mkdir(ctx, cur, nm, mode, umask);
        if (firstCreated < 0) firstCreated = i;
      } catch (e2) {
        if (!isFsError(e2, 'EEXIST')) throw e2;
        r = await vfs.lookup(ctx, cur, nm);
      }
    }
    if (r.attr.type === FileType.Symlink) {
      throw new FsError(Errno.ENOTDIR, {
        op: 'mkdir',
        path: names.slice(0, i + 1).join('/'),
        message: 'ENOTDIR: symlink in a mkdir -p chain',
      });
    }
    if (r.attr.type !== FileType.Directory) {
      throw new FsError(i === names.length - 1 ? Errno.EEXIST : Errno.ENOTDIR, {
        op: 'mkdir',
        path: names.slice(0, i + 1).join('/'),
      });
    }
    cur = r.ino;
  }
  return { ino: cur, firstCreated };
}
