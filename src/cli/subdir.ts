/** Resolves a volume path (--subdir, dump --subdir) to its directory inode. */
import { FsError, Errno } from '../base/errno.js';
import type { Meta } from '../meta/meta.js';
import { FileType, ROOT_CONTEXT, ROOT_INODE, type Ino } from '../base/types.js';

export async function resolveSubdir(meta: Meta, path: string): Promise<Ino> {
  let ino = ROOT_INODE;
  for (const part of path.split('/').filter((p) => p !== '' && p !== '.')) {
    const r = await meta.lookup(ROOT_CONTEXT, ino, Buffer.from(part));
    if (r.attr.type !== FileType.Directory)
      throw new FsError(Errno.ENOTDIR, { path, message: `subdir ${path}: not a directory` });
    ino = r.ino;
  }
  return ino;
}
