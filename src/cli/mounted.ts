/**
 * Reaching a volume through a path inside a tjfs mount (clone, compact, warmup, info,
 * summary, rmr).
 *
 * JuiceFS sends these commands to the mount process over the `.control` virtual file. tjfs
 * has no control channel (its mounts expose `.stats`, `.accesslog` and `.config`), so the
 * CLI opens the volume itself: it walks up from the path to the mount point (the directory
 * whose `.config` names a meta URL), opens that meta URL (the password, shown as '****' in
 * `.config`, comes from META_PASSWORD/REDIS_PASSWORD as for every command) and maps the path
 * to its inode, by name from the mount's root (`mountedPath`, for paths that need not exist
 * yet) or with stat(2) (`openMounted`): a mount's inode numbers are the volume's, except its
 * root, which is the `--subdir` directory when one was mounted (`.config` Meta.Root).
 * Removals (rmr) open a full client (session and object store) so that data removed for
 * good is deleted.
 */
import { readFileSync, statSync } from 'node:fs';
import { basename, dirname, relative, resolve, sep } from 'node:path';
import { FsError, Errno } from '../base/errno.js';
import type { Meta } from '../meta/meta.js';
import {
  FileType,
  isTrash,
  ROOT_CONTEXT,
  ROOT_INODE,
  type Attr,
  type Context,
  type Entry,
  type Ino,
} from '../base/types.js';
import { mapLimit } from '../util/limits.js';
import { CliError, type CliIo } from './io.js';
import { openCliMeta, openCliRuntime } from './meta-open.js';
import { resolveSubdir } from './subdir.js';

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

/** The parts of a mount's `.config` these commands use. */
export interface MountConfig {
  Meta?: { MetaUrl?: string; Root?: string };
  Mount?: Record<string, unknown> & { subdir?: string };
  Format?: { UUID?: string };
}

function readConfig(dir: string): MountConfig | undefined {
  try {
    const cfg = JSON.parse(readFileSync(`${dir}/.config`, 'utf8')) as MountConfig;
    return typeof cfg.Meta?.MetaUrl === 'string' ? cfg : undefined;
  } catch {
    return undefined; // not a tjfs mount root (or unreadable): keep walking up
  }
}

/** The meta URL of a mount's `.config`, its masked password taken out (the environment has it). */
function metaUrlOf(cfg: MountConfig): string {
  return (cfg.Meta?.MetaUrl ?? '').replace(/:\*{4}@/, '@');
}

/** The nearest directory at or above `dir` that is a tjfs mount root, with its `.config`. */
function mountAbove(dir: string, what: string): { mountpoint: string; cfg: MountConfig } {
  for (;;) {
    const cfg = readConfig(dir);
    if (cfg) return { mountpoint: dir, cfg };
    const up = dirname(dir);
    if (up === dir) throw new CliError(`${what} is not inside a tjfs mount (no readable .config above it)`);
    dir = up;
  }
}

/** Finds the tjfs mount holding `path`, which need not exist yet (clone's destination). */
export function mountedPath(path: string, io: CliIo): MountedPath {
  const abs = resolve(io.cwd ?? process.cwd(), path);
  const { mountpoint, cfg } = mountAbove(abs, path);
  const rel = relative(mountpoint, abs);
  return {
    root: mountpoint,
    parts: rel === '' ? [] : rel.split(sep),
    metaUrl: metaUrlOf(cfg),
    rootIno: BigInt(cfg.Meta?.Root ?? String(ROOT_INODE)),
    mount: cfg.Mount ?? {},
    uuid: cfg.Format?.UUID ?? '',
  };
}

export interface MountedVolume {
  meta: Meta;
  mountpoint: string;
  /** Metadata inode of the mount's root (the --subdir directory, else 1). */
  root: Ino;
  close(): Promise<void>;
}

/** The mount point above `abs` and its `.config`; a one-line error when there is none. */
export function findMount(abs: string): { mountpoint: string; cfg: MountConfig } {
  let dir = abs;
  try {
    if (!statSync(abs).isDirectory()) dir = dirname(abs);
  } catch (e) {
    throw new CliError(`${abs}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`);
  }
  return mountAbove(dir, abs);
}

/** Opens the volume mounted above `path` (no session: reads, or mutations with `writable`). */
export async function openMounted(path: string, io: CliIo, writable = false): Promise<MountedVolume> {
  const abs = resolve(io.cwd ?? process.cwd(), path);
  const { mountpoint, cfg } = findMount(abs);
  const url = metaUrlOf(cfg);
  // A writer needs the object store too: data of files removed for good is deleted by it.
  const rt = writable
    ? await openCliRuntime(url, io, { cacheDir: 'memory', mountPoint: mountpoint })
    : undefined;
  const meta = rt?.meta ?? (await openCliMeta(url, io, { readOnly: true }));
  const close = (): Promise<void> => (rt ? rt.close() : meta.stop());
  try {
    const root =
      cfg.Meta?.Root !== undefined
        ? BigInt(cfg.Meta.Root)
        : cfg.Mount?.subdir
          ? await resolveSubdir(meta, cfg.Mount.subdir)
          : ROOT_INODE;
    return { meta, mountpoint, root, close };
  } catch (e) {
    await close();
    throw e;
  }
}

/** The metadata inode of a path inside the mount `v`. */
export function inodeOf(v: MountedVolume, abs: string): Ino {
  const ino = statSync(abs, { bigint: true }).ino;
  return ino === ROOT_INODE ? v.root : ino;
}

/** Parent inode and name of a path inside the mount (for removals); the root has none. */
export function entryOf(v: MountedVolume, abs: string): { parent: Ino; name: Buffer } {
  if (resolve(abs) === resolve(v.mountpoint))
    throw new CliError(`${abs} is the mount point: give a path inside it`);
  return { parent: inodeOf(v, dirname(abs)), name: Buffer.from(basename(abs)) };
}

/** The paths of `ino` from the mount root, by walking up parent pointers ('/' for the root). */
export async function pathsOf(meta: Meta, root: Ino, ino: Ino): Promise<string[]> {
  const names: string[] = [];
  let cur = ino;
  for (let depth = 0; cur !== root; depth++) {
    if (depth > 1000) return [];
    const a = await meta.getattr(ROOT_CONTEXT, cur);
    if (a.parent === 0n || cur === ROOT_INODE) return []; // a hard link: no single parent
    const entries = await meta.readdir(ROOT_CONTEXT, a.parent);
    const e = entries.find((x) => x.ino === cur && x.name.toString() !== '.' && x.name.toString() !== '..');
    if (!e) throw new FsError(Errno.ENOENT, { op: 'info', ino: cur });
    names.unshift(e.name.toString());
    cur = a.parent;
  }
  return ['/' + names.join('/')];
}

export function isDirType(t: number): boolean {
  return t === FileType.Directory;
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
