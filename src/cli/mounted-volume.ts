/**
 * Reaching a volume through a path inside a tjfs mount (info, summary, rmr).
 *
 * JuiceFS sends these commands to the mount process over the `.control` virtual file. tjfs
 * has no control channel (its mounts expose `.stats`, `.accesslog` and `.config` only), so
 * the CLI opens the volume itself: it walks up from the path to the mount point (the
 * directory whose `.config` names a meta URL), opens that meta URL (the password, removed
 * from `.config`, comes from META_PASSWORD/REDIS_PASSWORD as for every command) and maps
 * the path to its inode with stat(2): a mount's inode numbers are the volume's, except its
 * root, which is the `--subdir` directory when one was mounted. Removals (rmr) open a full
 * client (session and object store) so that data removed for good is deleted.
 */
import { readFileSync, statSync } from 'node:fs';
import { basename, dirname, resolve } from 'node:path';
import { FsError, Errno } from '../base/errno.js';
import { FileType, ROOT_CONTEXT, ROOT_INODE, type Ino } from '../base/types.js';
import type { Meta } from '../meta/meta.js';
import { CliError, type CliIo } from './io.js';
import { openCliMeta, openCliRuntime } from './meta-open.js';
import { resolveSubdir } from './subdir.js';

export interface MountedVolume {
  meta: Meta;
  mountpoint: string;
  /** Metadata inode of the mount's root (the --subdir directory, else 1). */
  root: Ino;
  close(): Promise<void>;
}

interface MountConfig {
  Meta?: { MetaUrl?: string };
  Mount?: { subdir?: string };
}

function readConfig(dir: string): MountConfig | undefined {
  try {
    const cfg = JSON.parse(readFileSync(`${dir}/.config`, 'utf8')) as MountConfig;
    return typeof cfg.Meta?.MetaUrl === 'string' ? cfg : undefined;
  } catch {
    return undefined; // not a tjfs mount root (or unreadable): keep walking up
  }
}

/** The mount point above `abs` and its `.config`; a one-line error when there is none. */
export function findMount(abs: string): { mountpoint: string; cfg: MountConfig } {
  let dir = abs;
  try {
    if (!statSync(abs).isDirectory()) dir = dirname(abs);
  } catch (e) {
    throw new CliError(`${abs}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`);
  }
  for (;;) {
    const cfg = readConfig(dir);
    if (cfg) return { mountpoint: dir, cfg };
    const up = dirname(dir);
    if (up === dir) throw new CliError(`${abs} is not inside a tjfs mount (no .config found above it)`);
    dir = up;
  }
}

/** Opens the volume mounted above `path` (no session: reads, or mutations with `writable`). */
export async function openMounted(path: string, io: CliIo, writable = false): Promise<MountedVolume> {
  const abs = resolve(io.cwd ?? process.cwd(), path);
  const { mountpoint, cfg } = findMount(abs);
  // `.config` shows a URL password as '****': the real one comes from the environment.
  const url = (cfg.Meta?.MetaUrl ?? '').replace(/:\*\*\*\*@/, '@');
  // A writer needs the object store too: data of files removed for good is deleted by it.
  const rt = writable
    ? await openCliRuntime(url, io, { cacheDir: 'memory', mountPoint: mountpoint })
    : undefined;
  const meta = rt?.meta ?? (await openCliMeta(url, io, { readOnly: true }));
  const close = (): Promise<void> => (rt ? rt.close() : meta.stop());
  try {
    const root = cfg.Mount?.subdir ? await resolveSubdir(meta, cfg.Mount.subdir) : ROOT_INODE;
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
