/**
 * Walks a volume's metadata for the maintenance commands (Meta.scanFiles for fsck and gc,
 * the recount of Meta.setQuota): every file reachable from the root and the trash, plus
 * files kept alive by sessions (sustained) or waiting for deletion (delfiles), with the
 * slices their chunk lists reference.
 * Memory: one directory's entries at a time plus the hard-linked files seen so far.
 */
import type { DirEntryRecord, MetaEngine } from './engine.js';
import type { FileSlices } from './meta.js';
import {
  align4K,
  FileType,
  ROOT_INODE,
  TRASH_INODE,
  type Attr,
  type Ino,
  type Slice,
} from '../base/types.js';

/**
 * Depth-first walk below `roots`, one directory's entries at a time (attributes fetched in
 * batches of 1000). `visit` sees each entry with its attributes and returns whether to
 * descend into it; `afterDir` runs once all entries of a directory were visited.
 */
export async function walkTree(
  engine: MetaEngine,
  roots: Ino[],
  visit: (e: DirEntryRecord, a: Attr | undefined) => boolean,
  afterDir?: () => Promise<void>,
): Promise<void> {
  const dirs = [...roots];
  while (dirs.length > 0) {
    const entries = await engine.listEntries(dirs.pop()!);
    for (let i = 0; i < entries.length; i += 1000) {
      const batch = entries.slice(i, i + 1000);
      const attrs = await engine.getAttrs(batch.map((e) => e.ino));
      batch.forEach((e, k) => {
        if (visit(e, attrs[k])) dirs.push(e.ino);
      });
    }
    await afterDir?.();
  }
}

/** Space and inodes used below `dir` (not counting `dir`), walking the tree. */
export async function treeUsage(engine: MetaEngine, dir: Ino): Promise<{ space: number; inodes: number }> {
  let space = 0;
  let inodes = 0;
  await walkTree(engine, [dir], (e, a) => {
    inodes++;
    space += a && a.type === FileType.File ? align4K(a.length) : 4096;
    return e.type === FileType.Directory;
  });
  return { space, inodes };
}

/**
 * Calls `onFile` for every distinct file inode that may own data. Only hard-linked files
 * (nlink > 1) are remembered to skip their other names: a directory or a single-link file
 * is reached once in a tree, so memory does not grow with the volume's file count.
 */
export async function scanFiles(engine: MetaEngine, onFile: (f: FileSlices) => Promise<void>): Promise<void> {
  const linked = new Set<Ino>();
  const files = new Map<Ino, number>();
  await walkTree(
    engine,
    [ROOT_INODE, TRASH_INODE],
    (e, a) => {
      if (e.type === FileType.File && a) {
        if (a.nlink > 1) {
          if (linked.has(e.ino)) return false;
          linked.add(e.ino);
        }
        files.set(e.ino, a.length);
      }
      return e.type === FileType.Directory;
    },
    async () => {
      for (const [ino, length] of files)
        await onFile({ ino, length, slices: await chunkSlices(engine, ino, length) });
      files.clear();
    },
  );
  const extra = new Map<Ino, number>();
  for (const s of await engine.listSessions()) {
    for (const ino of await engine.listSustained(s.sid)) {
      const [a] = await engine.getAttrs([ino]);
      // Sustained and deleted files have no names left (nlink 0), so the walk never saw them.
      if (a && !linked.has(ino)) extra.set(ino, a.length);
    }
  }
  for (const d of await engine.listDelFiles()) if (!linked.has(d.ino)) extra.set(d.ino, d.length);
  for (const [ino, length] of extra)
    await onFile({ ino, length, slices: await chunkSlices(engine, ino, length) });
}

async function chunkSlices(engine: MetaEngine, ino: Ino, length: number): Promise<Slice[]> {
  const out: Slice[] = [];
  for (const indx of await engine.listChunkIndexes(ino, length)) {
    out.push(
      ...(await engine.txn((tx) => tx.getChunk(ino, indx), { op: 'scan', readonly: true })).filter(
        (s) => s.id > 0,
      ),
    );
  }
  return out;
}
