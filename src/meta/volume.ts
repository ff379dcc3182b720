/**
 * Volume initialisation (`format`, docs/FORMAT.md §2.2, §5.6, §6.6): validates the name and block
 * size, refuses changes to immutable fields of an existing volume unless forced, encrypts
 * the secrets (secret.ts), creates the root inode (and the trash inode when TrashDays > 0)
 * with whole-second times.
 */
import type { MetaEngine } from './engine.js';
import { FsError, Errno } from '../base/errno.js';
import { formatToJson, IMMUTABLE_FIELDS, parseFormat, type Format } from './format.js';
import { encryptFormatSecrets } from './secret.js';
import { withAclEnabled } from './acl.js';
import { emptyAttr, FileType, ROOT_INODE, type Attr } from '../base/types.js';

const NAME_RE = /^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$/;

export function validateVolumeName(name: string): void {
  if (!NAME_RE.test(name)) {
    throw new FsError(Errno.EINVAL, {
      message: `invalid volume name '${name}': use 3-63 characters of a-z, 0-9 and '-', starting and ending with a letter or digit`,
    });
  }
}

/** --block-size input (KiB): round down to a power of two, clamp to [64, 16384]. */
export function normalizeBlockSizeKiB(kib: number): number {
  if (!Number.isFinite(kib) || kib <= 0)
    throw new FsError(Errno.EINVAL, { message: `invalid block size ${kib}` });
  let p = 1;
  while (p * 2 <= kib) p *= 2;
  return Math.min(16384, Math.max(64, p));
}

export function dirAttr(mode: number, sec: number, parent = ROOT_INODE): Attr {
  const a = emptyAttr();
  a.type = FileType.Directory;
  a.mode = mode;
  a.nlink = 2;
  a.length = 4096;
  a.parent = parent;
  a.atime = a.mtime = a.ctime = sec;
  return a;
}

export interface InitResult {
  format: Format;
  created: boolean;
}

/**
 * Creates a volume, or updates the mutable fields of an existing one (as `juicefs format`
 * does). `nowSec` is the creation time of the root and trash inodes.
 */
export async function initFormat(
  engine: MetaEngine,
  format: Format,
  opts: { force?: boolean; nowSec: number },
): Promise<InitResult> {
  validateVolumeName(format.Name);
  format.BlockSize = normalizeBlockSizeKiB(format.BlockSize);
  const oldText = await engine.getFormatText();
  let next = format;
  if (oldText !== undefined) {
    const old = parseFormat(oldText);
    if (!opts.force) {
      for (const k of IMMUTABLE_FIELDS) {
        const a = (old[k] ?? defaultOf(k)) as unknown;
        const b = (format[k] ?? defaultOf(k)) as unknown;
        if (normalizeField(k, a) !== normalizeField(k, b)) {
          throw new FsError(Errno.EEXIST, {
            message: `volume already formatted as '${old.Name}' and ${k} cannot change (${String(a)} -> ${String(b)}); use --force to override`,
          });
        }
      }
    }
    next = { ...format, UUID: old.UUID };
    // As Go's format, the stored ACL flag stays: never off once on, and turned on only by
    // `config --enable-acl`.
    if (old.EnableACL === true) next = withAclEnabled(next);
    else next.EnableACL = false;
  }
  // Secrets are stored encrypted with the UUID (docs/FORMAT.md §2.3); callers decrypt on use.
  next = encryptFormatSecrets(next);
  const trash = next.TrashDays > 0 ? dirAttr(0o555, opts.nowSec) : undefined;
  await engine.initVolume(formatToJson(next), {
    isNew: oldText === undefined,
    rootAttr: dirAttr(0o777, opts.nowSec),
    ...(trash ? { trashAttr: trash } : {}),
  });
  if (oldText === undefined) {
    // Go recomputes a missing directory stat on first use; seed the root's so every engine
    // (SQL updates only existing rows) keeps it from the start.
    await engine.setDirStat(ROOT_INODE, { dataLength: 0, usedSpace: 0, usedInodes: 0 });
  }
  return { format: next, created: oldText === undefined };
}

function defaultOf(k: (typeof IMMUTABLE_FIELDS)[number]): unknown {
  return k === 'Compression'
    ? 'none'
    : k === 'HashPrefix'
      ? false
      : k === 'Name'
        ? ''
        : k === 'MetaVersion'
          ? 0
          : 0;
}

function normalizeField(k: string, v: unknown): string {
  if (k === 'Compression') return String(v || 'none').toLowerCase();
  if (k === 'Shards') return String(Number(v) <= 1 ? 0 : v);
  return String(v);
}
