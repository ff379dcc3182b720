/**
 * Trash (docs/FORMAT.md §10.1): hourly sub-directories of TrashInode named by UTC hour, entries named
 * "{parent}-{inode}-{name}" cut to 255 bytes. Sub-directories are created on demand in their
 * own transaction, as Go does, and cached per hour.
 */
import type { MetaCore } from './core.js';
import {
  emptyAttr,
  FileType,
  MAX_NAME_BYTES,
  TRASH_INODE,
  type Attr,
  type Ino,
  type Timespec,
} from '../base/types.js';

export function trashHourName(sec: number): string {
  const d = new Date(sec * 1000);
  const p = (n: number): string => String(n).padStart(2, '0');
  return `${d.getUTCFullYear()}-${p(d.getUTCMonth() + 1)}-${p(d.getUTCDate())}-${p(d.getUTCHours())}`;
}

export function trashEntryName(parent: Ino, ino: Ino, name: Buffer): Buffer {
  const full = Buffer.concat([Buffer.from(`${parent}-${ino}-`), name]);
  return full.length > MAX_NAME_BYTES ? full.subarray(0, MAX_NAME_BYTES) : full;
}

export function trashDirAttr(now: Timespec, parent: Ino): Attr {
  const a = emptyAttr();
  a.type = FileType.Directory;
  a.mode = 0o555;
  a.nlink = 2;
  a.length = 4096;
  a.parent = parent;
  a.atime = a.mtime = a.ctime = now.sec;
  a.atimensec = a.mtimensec = a.ctimensec = now.nsec;
  return a;
}

const cache = new WeakMap<MetaCore, Map<string, Ino>>();

/** The trash sub-directory for the current hour, created when missing. */
export async function trashDir(core: MetaCore, now: Timespec): Promise<Ino> {
  const name = trashHourName(now.sec);
  let m = cache.get(core);
  if (!m) cache.set(core, (m = new Map()));
  const hit = m.get(name);
  if (hit !== undefined) return hit;
  const key = Buffer.from(name);
  const ino = await core.txn(
    async (tx) => {
      const e = await tx.getEntry(TRASH_INODE, key);
      if (e) return e.ino;
      if (!(await tx.getAttr(TRASH_INODE))) {
        tx.setAttr(TRASH_INODE, trashDirAttr(now, 1n));
      }
      const n = await tx.incrCounter('nextTrash', 1);
      const sub = TRASH_INODE + BigInt(n);
      tx.setAttr(sub, trashDirAttr(now, TRASH_INODE));
      tx.setEntry(TRASH_INODE, key, { ino: sub, type: FileType.Directory });
      tx.initDirStat(sub);
      // Trash sub-directories count as inodes (docs/FORMAT.md §4.12); the trash root does not.
      core.addUsage(tx, 4096, 1);
      core.ug.charge(tx, { uid: 0, gid: 0 }, 4096, 1); // owned by root, as the scan counts it
      return sub;
    },
    { op: 'mkdir trash' },
  );
  m.set(name, ino);
  return ino;
}
