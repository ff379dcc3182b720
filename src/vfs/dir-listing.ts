/**
 * A directory's listing as the VFS hands it out: '.' and '..' first (with attributes), the
 * stored entries with their inodes mapped for --subdir, and in the real root the virtual
 * files and `.trash` unless hidden. Taken whole at offset 0 of a directory handle (names
 * only; the VFS adds attributes page by page for READDIRPLUS).
 */
import {
  FileType,
  ROOT_INODE,
  TRASH_INODE,
  type Attr,
  type Context,
  type Entry,
  type Ino,
} from '../base/types.js';
import type { Meta } from '../meta/meta.js';
import { VIRTUAL_NODES } from './virtual.js';

/** What a listing needs of the VFS. */
export interface ListingSource {
  meta: Pick<Meta, 'getattr' | 'readdir' | 'lookup'>;
  /** The metadata inode shown as the root (--subdir). */
  root: Ino;
  fromMeta(ino: Ino): Ino;
  /** Whether the real root lists .accesslog, .stats, .config and .trash. */
  showInternal: boolean;
  virtualAttr(ino: Ino): Attr | undefined;
}

/** Lists metadata directory `ino`; `known`: its attributes when the caller has just read them. */
export async function listDirectory(
  src: ListingSource,
  ctx: Context,
  ino: Ino,
  known?: Attr,
): Promise<Entry[]> {
  const { meta } = src;
  // '.' and '..' are read while the entries are: on Redis the round trips overlap.
  const dots = (async (): Promise<[Attr, Ino, Attr]> => {
    const self = known ?? (await meta.getattr(ctx, ino));
    const parentIno = ino === src.root ? ino : self.parent || ino;
    const parentAttr = parentIno === ino ? self : await meta.getattr(ctx, parentIno).catch(() => self);
    return [self, parentIno, parentAttr];
  })();
  const listed = meta.readdir(ctx, ino);
  // Both settle before either's failure is thrown (no rejection is left unobserved).
  await Promise.allSettled([dots, listed]);
  const [self, parentIno, parentAttr] = await dots;
  const out: Entry[] = [
    { name: Buffer.from('.'), ino: src.fromMeta(ino), type: FileType.Directory, attr: self },
    { name: Buffer.from('..'), ino: src.fromMeta(parentIno), type: FileType.Directory, attr: parentAttr },
  ];
  for (const e of await listed) out.push({ ...e, ino: src.fromMeta(e.ino) });
  if (ino === ROOT_INODE && src.showInternal) {
    for (const v of VIRTUAL_NODES)
      out.push({ name: Buffer.from(v.name), ino: v.ino, type: FileType.File, attr: src.virtualAttr(v.ino)! });
    const trash = await meta.lookup(ctx, ROOT_INODE, Buffer.from('.trash')).catch(() => undefined);
    if (trash)
      out.push({ name: Buffer.from('.trash'), ino: TRASH_INODE, type: FileType.Directory, attr: trash.attr });
  }
  return out;
}
