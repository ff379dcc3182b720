/**
 * Tree operations over the Meta contract, so they run on every engine (JuiceFS: GetSummary,
 * GetTreeSummary, Remove and the trash restore of cmd/restore.go):
 * - `getSummary`: files, dirs, length and space of an inode (its direct children, or the
 *   whole tree with `recursive`).
 * - `getTreeSummary`: the `summary` tree, `depth` levels shown, each directory's children
 *   sorted by size with the first `topN` kept and the rest folded into one `.../` row.
 * - `removeTree`: `rmr`, depth-first; each entry is one unlink/rmdir transaction, so the
 *   trash (each file and each emptied directory moved to the hour directory under its own
 *   `{parent}-{ino}-{name}` name) and quotas behave as for single removals. Memory: one
 *   directory listing per level of the path being removed, worked in batches of `batch`
 *   entries with at most `threads` removals in flight.
 * - `restoreHour`: moves entries of a trash hour directory back under their original
 *   parents: without `putBack` only those whose parent is itself in that hour (rebuilding
 *   the trashed trees inside the trash), with `putBack` all of them. Never overwrites.
 */
import { Errno, isFsError } from '../base/errno.js';
import {
  align4K,
  FileType,
  ROOT_CONTEXT,
  TRASH_INODE,
  type Attr,
  type Context,
  type Ino,
} from '../base/types.js';
import { RenameFlag, type Meta } from './meta.js';

export interface Summary {
  files: number;
  dirs: number;
  length: number;
  size: number;
}

export interface TreeSummary {
  ino: Ino;
  path: string;
  type: number;
  size: number;
  files: number;
  dirs: number;
  children: TreeSummary[];
}

const space = (a: Attr): number => (a.type === FileType.File ? align4K(a.length) : 4096);

/** Progress callback: entries and bytes seen (or removed) since the last call. */
export type OnProgress = (count: number, bytes: number) => void;

export async function getSummary(
  meta: Meta,
  ino: Ino,
  opts: { recursive?: boolean; onProgress?: OnProgress } = {},
): Promise<Summary> {
  const a = await meta.getattr(ROOT_CONTEXT, ino);
  if (a.type !== FileType.Directory)
    return { files: 1, dirs: 0, length: a.type === FileType.File ? a.length : 0, size: space(a) };
  const s: Summary = { files: 0, dirs: 1, length: 0, size: 4096 };
  const dirs = [ino];
  while (dirs.length > 0) {
    for (const e of await meta.readdir(ROOT_CONTEXT, dirs.pop()!, { plus: true })) {
      if (!e.attr) continue;
      if (e.attr.type === FileType.Directory) {
        s.dirs++;
        if (opts.recursive) dirs.push(e.ino);
      } else s.files++;
      if (e.attr.type === FileType.File) s.length += e.attr.length;
      s.size += space(e.attr);
      opts.onProgress?.(1, space(e.attr));
    }
  }
  return s;
}

export async function getTreeSummary(
  meta: Meta,
  ino: Ino,
  path: string,
  opts: { depth: number; topN: number; onProgress?: OnProgress },
): Promise<TreeSummary> {
  const a = await meta.getattr(ROOT_CONTEXT, ino);
  const root: TreeSummary = { ino, path, type: a.type, size: space(a), files: 0, dirs: 0, children: [] };
  if (a.type !== FileType.Directory) {
    root.files = 1;
    return root;
  }
  root.dirs = 1;
  await fillTree(meta, root, opts.depth, opts);
  return root;
}

async function fillTree(
  meta: Meta,
  tree: TreeSummary,
  depth: number,
  opts: { topN: number; onProgress?: OnProgress },
): Promise<void> {
  if (depth <= 0) {
    const s = await getSummary(meta, tree.ino, { recursive: true, ...opts });
    tree.dirs += s.dirs - 1;
    tree.files += s.files;
    tree.size += s.size - 4096;
    return;
  }
  for (const e of await meta.readdir(ROOT_CONTEXT, tree.ino, { plus: true })) {
    if (!e.attr) continue;
    const isDir = e.attr.type === FileType.Directory;
    const path = `${tree.path.replace(/\/+$/, '')}/${e.name.toString()}`;
    const child: TreeSummary = {
      ino: e.ino,
      path,
      type: e.attr.type,
      size: space(e.attr),
      files: isDir ? 0 : 1,
      dirs: isDir ? 1 : 0,
      children: [],
    };
    opts.onProgress?.(1, child.size);
    if (isDir) await fillTree(meta, child, depth - 1, opts);
    tree.children.push(child);
  }
  for (const c of tree.children) {
    tree.dirs += c.dirs;
    tree.files += c.files;
    tree.size += c.size;
  }
  tree.children.sort((x, y) => y.size - x.size);
  if (tree.children.length > opts.topN) {
    const rest = tree.children.splice(opts.topN);
    const omit: TreeSummary = {
      ino: 0n,
      path: `${tree.path.replace(/\/+$/, '')}/...`,
      type: FileType.File,
      size: 0,
      files: 0,
      dirs: 0,
      children: [],
    };
    for (const c of rest) {
      omit.size += c.size;
      omit.files += c.files;
      omit.dirs += c.dirs;
    }
    tree.children.push(omit);
  }
}

export interface RemoveTreeOptions {
  skipTrash?: boolean;
  /** Removals in flight at once (JuiceFS rmr --threads, default 50). */
  threads?: number;
  /** Entries of one directory worked at a time (default 1000). */
  batch?: number;
  onProgress?: OnProgress;
}

/** Removes `parent/name` and everything below it; a missing entry is ENOENT. */
export async function removeTree(
  meta: Meta,
  ctx: Context,
  parent: Ino,
  name: Buffer,
  opts: RemoveTreeOptions = {},
): Promise<void> {
  const e = await meta.lookup(ctx, parent, name);
  if (e.attr.type === FileType.Directory) await emptyDir(meta, ctx, e.ino, opts, { active: 0 });
  await removeOne(meta, ctx, parent, name, e.attr, opts);
}

async function removeOne(
  meta: Meta,
  ctx: Context,
  parent: Ino,
  name: Buffer,
  a: Attr,
  opts: RemoveTreeOptions,
): Promise<void> {
  const ro = { skipTrash: opts.skipTrash === true };
  try {
    if (a.type === FileType.Directory) await meta.rmdir(ctx, parent, name, ro);
    else await meta.unlink(ctx, parent, name, ro);
  } catch (e) {
    if (isFsError(e) && e.errno === Errno.ENOENT) return; // removed meanwhile by another client
    throw e;
  }
  opts.onProgress?.(1, a.type === FileType.File ? a.length : 0);
}

/** Workers shared by every level of one removal: at most `threads` (plus one per level). */
interface Workers {
  active: number;
}

/**
 * Removes everything in `dir`, `batch` entries at a time: each round lists at most `batch`
 * entries and removes them (directories depth first), then lists again, so memory is bounded
 * by threads x batch whatever the directory's size (JuiceFS's rmr reads 10,000 at a time).
 * Entries another client adds meanwhile are removed too. An entry whose inode is gone is
 * skipped (remembered, so it is not listed forever); the caller's rmdir then reports
 * ENOTEMPTY, as before.
 */
async function emptyDir(
  meta: Meta,
  ctx: Context,
  dir: Ino,
  opts: RemoveTreeOptions,
  pool: Workers,
): Promise<void> {
  const batch = Math.max(1, opts.batch ?? 1000);
  const threads = Math.max(1, opts.threads ?? 50);
  const stuck = new Set<string>();
  for (;;) {
    const listed = await meta.readdir(ctx, dir, { limit: batch + stuck.size });
    const part = listed.filter((e) => !stuck.has(e.name.toString('latin1')));
    if (part.length === 0) return;
    const attrs = await meta.getattrs(part.map((x) => x.ino));
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < part.length) {
        const k = next++;
        const e = part[k]!;
        const a = attrs[k];
        if (!a) {
          stuck.add(e.name.toString('latin1'));
          continue;
        }
        if (a.type === FileType.Directory) await emptyDir(meta, ctx, e.ino, opts, pool);
        await removeOne(meta, ctx, dir, e.name, a, opts);
      }
    };
    const n = Math.min(part.length, Math.max(1, threads - pool.active));
    pool.active += n;
    try {
      await Promise.all(Array.from({ length: n }, worker));
    } finally {
      pool.active -= n;
    }
  }
}

export interface RestoreResult {
  restored: number;
  skipped: number;
  conflicts: number;
  failed: number;
}

/** Parses a trash entry name `{parent}-{ino}-{name}`; undefined when it is not one. */
export function parseTrashName(name: Buffer): { parent: Ino; name: Buffer } | undefined {
  const first = name.indexOf(0x2d);
  const second = first < 0 ? -1 : name.indexOf(0x2d, first + 1);
  if (second < 0) return undefined;
  const p = name.subarray(0, first).toString();
  if (!/^\d+$/.test(p)) return undefined;
  return { parent: BigInt(p), name: name.subarray(second + 1) };
}

export async function restoreHour(
  meta: Meta,
  hour: string,
  opts: { putBack?: boolean; threads?: number; onProgress?: (what: keyof RestoreResult) => void } = {},
): Promise<RestoreResult> {
  const ctx = ROOT_CONTEXT;
  const hourDir = (await meta.lookup(ctx, TRASH_INODE, Buffer.from(hour))).ino;
  const entries = await meta.readdir(ctx, hourDir, { plus: true });
  const parents = new Set<Ino>();
  if (!opts.putBack) for (const e of entries) if (e.type === FileType.Directory) parents.add(e.ino);
  const r: RestoreResult = { restored: 0, skipped: 0, conflicts: 0, failed: 0 };
  const count = (what: keyof RestoreResult): void => {
    r[what]++;
    opts.onProgress?.(what);
  };
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < entries.length) {
      const e = entries[next++]!;
      const t = parseTrashName(e.name);
      if (!t) {
        meta.log.warn('restore: invalid trash entry', { name: e.name.toString() });
        count('failed');
        continue;
      }
      if (!opts.putBack && !parents.has(t.parent)) {
        count('skipped');
        continue;
      }
      try {
        await meta.rename(ctx, hourDir, e.name, t.parent, t.name, RenameFlag.NoReplace);
        count('restored');
      } catch (err) {
        const eexist = isFsError(err) && err.errno === Errno.EEXIST;
        meta.log.warn(`restore ${e.name.toString()}: ${eexist ? 'target already exists' : String(err)}`);
        count(eexist ? 'conflicts' : 'failed');
      }
    }
  };
  await Promise.all(
    Array.from({ length: Math.max(1, Math.min(opts.threads ?? 10, entries.length)) }, worker),
  );
  return r;
}
