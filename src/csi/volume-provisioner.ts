/**
 * VolumeProvisioner: the controller's work on a shared tjfs volume, done in-process through
 * the metadata layer (no FUSE): create a PV's sub-directory with a directory quota from the
 * requested capacity, look it up, change its quota, and remove it recursively (files go to
 * the volume's trash when trash is enabled, else their data is deleted).
 *
 * Each call opens a short client session of the volume (openRuntime, memory cache, no
 * heartbeat) and closes it. Paths are arrays of components below the volume root.
 * Idempotency: create on an existing directory reports it (with its quota) instead of failing;
 * remove of a missing directory is a no-op.
 */
import { isFsError } from '../base/errno.js';
import { FileType, ROOT_CONTEXT, ROOT_INODE, type Ino } from '../base/types.js';
import type { Meta } from '../meta/meta.js';
import { openRuntime } from '../vfs/runtime.js';

export interface ProvisionedDir {
  ino: Ino;
  existed: boolean;
  /** Quota limit in bytes (0 = none). */
  maxSpace: number;
}

const ctx = ROOT_CONTEXT;

async function withMeta<T>(metaUrl: string, fn: (meta: Meta) => Promise<T>): Promise<T> {
  const rt = await openRuntime(metaUrl, {
    cacheDir: 'memory',
    cacheSize: 0,
    heartbeat: false,
    mountPoint: 'tjfs-csi-controller',
  });
  try {
    return await fn(rt.meta);
  } finally {
    await rt.close();
  }
}

async function lookupPath(meta: Meta, parts: readonly string[]): Promise<Ino | undefined> {
  let ino = ROOT_INODE;
  for (const p of parts) {
    try {
      ino = (await meta.lookup(ctx, ino, Buffer.from(p))).ino;
    } catch (e) {
      if (isFsError(e, 'ENOENT')) return undefined;
      throw e;
    }
  }
  return ino;
}

async function mkdirIdempotent(
  meta: Meta,
  parent: Ino,
  name: string,
  mode: number,
): Promise<{ ino: Ino; existed: boolean }> {
  try {
    return { ino: (await meta.mkdir(ctx, parent, Buffer.from(name), mode, 0)).ino, existed: false };
  } catch (e) {
    if (!isFsError(e, 'EEXIST')) throw e;
    return { ino: (await meta.lookup(ctx, parent, Buffer.from(name))).ino, existed: true };
  }
}

async function quotaOf(meta: Meta, ino: Ino): Promise<number> {
  return (await meta.getQuota(ino))?.maxSpace ?? 0;
}

async function removeTree(meta: Meta, parent: Ino, name: Buffer, type: FileType, ino: Ino): Promise<void> {
  if (type === FileType.Directory) {
    for (const e of await meta.readdir(ctx, ino)) {
      const n = e.name.toString();
      if (n === '.' || n === '..') continue;
      await removeTree(meta, ino, e.name, e.type, e.ino);
    }
    await meta.rmdir(ctx, parent, name);
  } else await meta.unlink(ctx, parent, name);
}

export class VolumeProvisioner {
  /** Creates `parts` (parents 0755, the leaf 0777) and sets its quota when new and capacity > 0. */
  create(metaUrl: string, parts: readonly string[], capacity: number): Promise<ProvisionedDir> {
    return withMeta(metaUrl, async (meta) => {
      let ino = ROOT_INODE;
      let existed = true;
      for (const [i, p] of parts.entries()) {
        const leaf = i === parts.length - 1;
        const r = await mkdirIdempotent(meta, ino, p, leaf ? 0o777 : 0o755);
        ino = r.ino;
        existed = r.existed;
      }
      if (existed) return { ino, existed, maxSpace: await quotaOf(meta, ino) };
      if (capacity > 0) await meta.setQuota(ino, { maxSpace: capacity, maxInodes: 0 }); // a new directory: no usage yet
      return { ino, existed, maxSpace: capacity };
    });
  }

  /** The directory and its quota, or undefined when it does not exist. */
  find(metaUrl: string, parts: readonly string[]): Promise<ProvisionedDir | undefined> {
    return withMeta(metaUrl, async (meta) => {
      const ino = await lookupPath(meta, parts);
      return ino === undefined ? undefined : { ino, existed: true, maxSpace: await quotaOf(meta, ino) };
    });
  }

  /** Sets the quota limit, keeping the recorded usage. Undefined when the directory is missing. */
  setQuota(metaUrl: string, parts: readonly string[], capacity: number): Promise<ProvisionedDir | undefined> {
    return withMeta(metaUrl, async (meta) => {
      const ino = await lookupPath(meta, parts);
      if (ino === undefined) return undefined;
      await meta.setQuota(ino, { maxSpace: capacity });
      return { ino, existed: true, maxSpace: capacity };
    });
  }

  /** Removes the directory tree; false when it did not exist. */
  remove(metaUrl: string, parts: readonly string[]): Promise<boolean> {
    return withMeta(metaUrl, async (meta) => {
      const parentParts = parts.slice(0, -1);
      const name = parts[parts.length - 1];
      if (name === undefined) throw new Error('refusing to remove the volume root');
      const parent = await lookupPath(meta, parentParts);
      if (parent === undefined) return false;
      let entry;
      try {
        entry = await meta.lookup(ctx, parent, Buffer.from(name));
      } catch (e) {
        if (isFsError(e, 'ENOENT')) return false;
        throw e;
      }
      await removeTree(meta, parent, Buffer.from(name), entry.attr.type, entry.ino);
      return true;
    });
  }
}
