/**
 * Walks a volume's metadata for the maintenance commands (fsck, gc): every file reachable
 * from the root and the trash, plus files kept alive by sessions (sustained) or waiting
 * for deletion (delfiles), with the slices their chunk lists reference.
 * Memory: one directory's entries at a time plus the set of referenced slices.
 */
import type { MetaEngine } from '../../meta/engine.js';
import { FileType, ROOT_INODE, TRASH_INODE, type Ino, type Slice } from '../../meta/types.js';

export interface FileSlices {
  ino: Ino;
  length: number;
  slices: Slice[];
}

/** Calls `onFile` for every distinct file inode that may own data. */
export async function scanFiles(engine: MetaEngine, onFile: (f: FileSlices) => Promise<void>): Promise<void> {
  const seen = new Set<Ino>();
  const files = new Map<Ino, number>();
  const dirs: Ino[] = [ROOT_INODE, TRASH_INODE];
  while (dirs.length > 0) {
    const d = dirs.pop()!;
    const entries = await engine.listEntries(d);
    for (let i = 0; i < entries.length; i += 1000) {
      const batch = entries.slice(i, i + 1000);
      const attrs = await engine.getAttrs(batch.map((e) => e.ino));
      batch.forEach((e, k) => {
        if (seen.has(e.ino)) return;
        seen.add(e.ino);
        const a = attrs[k];
        if (e.type === FileType.Directory) dirs.push(e.ino);
        else if (e.type === FileType.File && a) files.set(e.ino, a.length);
      });
    }
    for (const [ino, length] of files) await onFile({ ino, length, slices: await chunkSlices(engine, ino, length) });
    files.clear();
  }
  const extra = new Map<Ino, number>();
  for (const s of await engine.listSessions()) {
    for (const ino of await engine.listSustained(s.sid)) {
      const [a] = await engine.getAttrs([ino]);
      if (a && !seen.has(ino)) extra.set(ino, a.length);
    }
  }
  for (const d of await engine.listDelFiles()) if (!seen.has(d.ino)) extra.set(d.ino, d.length);
  for (const [ino, length] of extra) await onFile({ ino, length, slices: await chunkSlices(engine, ino, length) });
}

async function chunkSlices(engine: MetaEngine, ino: Ino, length: number): Promise<Slice[]> {
  const out: Slice[] = [];
  for (const indx of await engine.listChunkIndexes(ino, length)) {
    out.push(...(await engine.txn((tx) => tx.getChunk(ino, indx), { op: 'scan', readonly: true })).filter((s) => s.id > 0));
  }
  return out;
}
