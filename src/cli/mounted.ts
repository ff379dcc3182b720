/**
 * Commands that take a path inside a mount (clone, compact, warmup) reach the volume the
 * way `tjfs` can without a control channel into the daemon: they read the mount's `.config`
 * virtual file (meta URL, root inode of a --subdir mount, cache settings), open the volume
 * themselves and resolve the path by name from that root. A meta URL whose password `.config`
 * shows as '****' gets it from META_PASSWORD / REDIS_PASSWORD as every command does.
 */
import { readFile } from 'node:fs/promises';
import { dirname, join, relative, resolve, sep } from 'node:path';
import type { Meta } from '../meta/meta.js';
import {
  FileType,
  isTrash,
  ROOT_INODE,
  type Attr,
  type Context,
  type Entry,
  type Ino,
} from '../base/types.js';
import { mapLimit } from '../util/limits.js';
import { CliError, type CliIo } from './io.js';

export interface MountedPath {
  /** The mount point. */
  root: string;
  /** Components below the mount root ([] for the root itself). */
  parts: string[];
  metaUrl: string;
  /** Volume inode the mount shows as its root (a --subdir mount: that directory). */
  rootIno: Ino;
  /** The Mount section of `.config` (flags of the mount). */
  mount: Record<string, unknown>;
  uuid: string;
}

interface ConfigFile {
  Meta?: { MetaUrl?: string; Root?: string };
  Mount?: Record<string, unknown>;
  Format?: { UUID?: string };
}

async function readConfig(dir: string): Promise<ConfigFile | undefined> {
  try {
    const cfg = JSON.parse(await readFile(join(dir, '.config'), 'utf8')) as ConfigFile;
    return typeof cfg.Meta?.MetaUrl === 'string' ? cfg : undefined;
  } catch {
    return undefined; // not a tjfs mount root (or unreadable): keep walking up
  }
}

/** Finds the tjfs mount holding `path` (which need not exist yet when `allowMissing`). */
export async function mountedPath(path: string, io: CliIo): Promise<MountedPath> {
  const abs = resolve(io.cwd ?? process.cwd(), path);
  let dir = abs;
  for (;;) {
    const cfg = await readConfig(dir);
    if (cfg?.Meta?.MetaUrl !== undefined) {
      const rel = relative(dir, abs);
      return {
        root: dir,
        parts: rel === '' ? [] : rel.split(sep),
        metaUrl: cfg.Meta.MetaUrl.replace(/:\*{4}@/, '@'),
        rootIno: BigInt(cfg.Meta.Root ?? String(ROOT_INODE)),
        mount: cfg.Mount ?? {},
        uuid: cfg.Format?.UUID ?? '',
      };
    }
    const up = dirname(dir);
    if (up === dir) throw new CliError(`${path} is not inside a tjfs mount (no readable .config above it)`);
    dir = up;
  }
}

/** The caller's identity, for the permission checks of meta operations. */
export function callerContext(): Context {
  const uid = process.getuid?.() ?? 0;
  const gid = process.getgid?.() ?? 0;
  return { uid, gid, gids: process.getgroups?.() ?? [gid], pid: process.pid };
}

/** Resolves components from `root` by lookups; ENOENT etc. as FsError. */
export async function resolveParts(
  meta: Meta,
  ctx: Context,
  root: Ino,
  parts: readonly string[],
): Promise<Ino> {
  let ino = root;
  for (const p of parts) ino = (await meta.lookup(ctx, ino, Buffer.from(p))).ino;
  return ino;
}

/**
 * Calls `onFile` for `ino` when it is a regular file, or for every regular file below it,
 * at most `threads` at once within a directory; directories are walked one at a time, so
 * memory is bounded by one directory's entries.
 */
export async function walkFiles(
  meta: Meta,
  ctx: Context,
  ino: Ino,
  threads: number,
  onFile: (ino: Ino, attr: Attr) => Promise<void>,
): Promise<void> {
  const attr = await meta.getattr(ctx, ino);
  if (attr.type === FileType.File) return onFile(ino, attr);
  if (attr.type !== FileType.Directory) return;
  const dirs: Ino[] = [ino];
  for (let d = dirs.pop(); d !== undefined; d = dirs.pop()) {
    const entries = await meta.readdir(ctx, d, { plus: true });
    const files: Entry[] = [];
    for (const e of entries) {
      if (isTrash(e.ino)) continue;
      if (e.type === FileType.Directory) dirs.push(e.ino);
      else if (e.type === FileType.File && e.attr) files.push(e);
    }
    await mapLimit(files, threads, (e) => onFile(e.ino, e.attr as Attr)); // filtered on e.attr above
  }
}
