/**
 * Clone (JuiceFS baseMeta.Clone / doCloneEntry): a metadata-only copy of a file, symlink or
 * directory tree. Cloned files share the source's slices: each chunk list is copied as is
 * and every referenced slice gains one reference (SQL: chunk_ref.refs + 1; Redis: the
 * sliceRef hash), so deleting either copy never frees data the other still reads.
 *
 * Design: one engine transaction per cloned inode, on the engine primitives (all engines).
 * A directory is built detached (its inode exists, no entry names it) and attached under
 * `name` in a last transaction, as JuiceFS does, so the tree appears at once and cloning a
 * directory into itself terminates. A failure removes what was built (slice references
 * given back). Without `preserve` the copies belong to the caller, get `mode & ~umask` and
 * the current time; with it they keep owner, mode and times. Hard links become separate
 * files (nlink 1), as JuiceFS. Entries deleted while the clone runs are skipped.
 * Limit: a client crash between the first and the attaching transaction leaks the detached
 * inodes (JuiceFS records them in a detached-node table for later cleanup; tjfs does not).
 */
import { inodeSpace, fileLength, mustGetDir, type MetaCore } from './core.js';
import { FsError, Errno } from '../base/errno.js';
import { checkCreatable } from './ns-create.js';
import { checkAccess, R_OK, validateName, X_OK } from '../base/permissions.js';
import { aclCheck } from './acl.js';
import { CHUNK_SIZE, FileType, isTrash, type Attr, type Context, type Ino } from '../base/types.js';
import type { MetaTx } from './engine.js';

export interface CloneOptions {
  /** --preserve: keep uid, gid, mode and times of the source. */
  preserve?: boolean;
  /** Applied to the mode of each copy unless `preserve` (default 0o022). */
  umask?: number;
  /** Called after each cloned inode with the running count (progress). */
  onEntry?: (count: number) => void;
}

export interface CloneResult {
  ino: Ino;
  /** Inodes created. */
  count: number;
}

interface Built {
  ino: Ino;
  parent: Ino;
  name: Buffer;
  type: FileType;
  length: number;
}

const OP = 'clone';

class Cloner {
  readonly built: Built[] = [];
  space = 0;

  constructor(
    private readonly core: MetaCore,
    private readonly ctx: Context,
    private readonly opts: CloneOptions,
  ) {}

  /** Copies the attr of `a` for a new inode under `parent`. */
  private copyAttr(a: Attr, parent: Ino): Attr {
    const n: Attr = { ...a, parent };
    if (this.opts.preserve !== true) {
      const now = this.core.now();
      n.uid = this.ctx.uid;
      n.gid = this.ctx.gid;
      n.mode &= ~(this.opts.umask ?? 0o022);
      n.atime = n.mtime = n.ctime = now.sec;
      n.atimensec = n.mtimensec = n.ctimensec = now.nsec;
    }
    if (n.type === FileType.Directory) n.nlink = 2;
    else n.nlink = 1;
    return n;
  }

  /** Copies xattrs, symlink target or chunk lists (with slice references) of `src` to `ino`. */
  private async copyContent(tx: MetaTx, src: Ino, ino: Ino, a: Attr): Promise<void> {
    for (const [k, v] of await tx.listXattrs(src)) tx.setXattr(ino, k, v);
    if (a.type === FileType.Symlink) {
      const t = await tx.getSymlink(src);
      if (t) tx.setSymlink(ino, t);
    } else if (a.type === FileType.Directory) {
      tx.initDirStat(ino);
    } else if (a.type === FileType.File && a.length > 0) {
      const last = Math.ceil(a.length / CHUNK_SIZE);
      for (const indx of await tx.listChunks(src, 0, last)) {
        const recs = await tx.getChunk(src, indx);
        if (recs.length === 0) continue;
        tx.appendSlices(ino, indx, recs);
        for (const r of recs) if (r.id > 0) tx.incrSliceRef(r.id, r.size, 1);
      }
    }
  }

  /**
   * Clones `src` as `name` in `parent` (a directory this clone built, or the target for `top`;
   * `detached`: the top directory, without an entry). The new inode, or undefined when `src` vanished.
   */
  async node(
    src: Ino,
    parent: Ino,
    name: Buffer,
    how: 'top' | 'detached' | 'child',
  ): Promise<Ino | undefined> {
    const ino = await this.core.nextInode();
    const res = await this.core.txn(
      async (tx) => {
        const a = await tx.getAttr(src);
        if (!a) return undefined;
        checkAccess(this.ctx, a, R_OK, OP, src, await aclCheck(this.core, this.ctx, a));
        const n = this.copyAttr(a, parent);
        const space = inodeSpace(n);
        this.core.checkCapacity(space, 1, OP);
        let quotas: Ino[] = [];
        if (how !== 'detached') {
          const pattr = await mustGetDir(tx, parent, OP);
          if (await tx.getEntry(parent, name))
            throw new FsError(Errno.EEXIST, { op: OP, path: name.toString() });
          if (how === 'top') {
            checkCreatable(this.ctx, parent, pattr, name, OP, await aclCheck(this.core, this.ctx, pattr));
            quotas = await this.core.quotaAncestors(tx, parent);
            this.core.checkQuotas(quotas, space, 1, OP);
            this.core.applyQuotas(tx, quotas, space, 1);
            this.core.touchDir(pattr, this.core.now(), true);
            tx.setAttr(parent, pattr);
          } else if (n.type === FileType.Directory) {
            pattr.nlink++;
            tx.setAttr(parent, pattr);
          }
          tx.setEntry(parent, name, { ino, type: n.type });
          this.core.dirStat(tx, parent, fileLength(n), space, 1);
        }
        await this.copyContent(tx, src, ino, a);
        tx.setAttr(ino, n);
        this.core.addUsage(tx, space, 1);
        return { n, quotas };
      },
      { op: OP },
    );
    if (!res) return undefined;
    const made = res.n;
    this.core.noteQuotas(res.quotas, inodeSpace(made), 1);
    this.core.noteUsage(inodeSpace(made), 1);
    this.space += inodeSpace(made);
    this.built.push({ ino, parent, name, type: made.type, length: fileLength(made) });
    this.opts.onEntry?.(this.built.length);
    if (made.type === FileType.Directory) await this.children(src, ino);
    return ino;
  }

  private async children(src: Ino, dst: Ino): Promise<void> {
    const attr = await this.core.txn((tx) => tx.getAttr(src), { op: OP, readonly: true });
    if (!attr) return;
    checkAccess(this.ctx, attr, R_OK | X_OK, OP, src, await aclCheck(this.core, this.ctx, attr));
    for (const e of await this.core.engine.listEntries(src)) {
      if (this.ctx.signal?.aborted) throw new FsError(Errno.EINTR, { op: OP, ino: src });
      await this.node(e.ino, dst, e.name, 'child');
    }
  }

  /** Removes what this clone built, newest first, giving slice references back. */
  async undo(): Promise<void> {
    for (const b of [...this.built].reverse()) {
      if (b.type === FileType.File) {
        const last = Math.ceil(b.length / CHUNK_SIZE);
        for (const indx of await this.core.engine.listChunkIndexes(b.ino, last * CHUNK_SIZE))
          await this.core.engine.deleteChunk(b.ino, indx);
      }
      const space = b.type === FileType.File ? Math.ceil(b.length / 4096) * 4096 : 4096;
      await this.core.txn(
        async (tx) => {
          const p = await tx.getAttr(b.parent);
          const e = await tx.getEntry(b.parent, b.name);
          if (e?.ino === b.ino) {
            tx.deleteEntry(b.parent, b.name);
            if (p && b.type === FileType.Directory) {
              p.nlink--;
              tx.setAttr(b.parent, p);
            }
            this.core.dirStat(tx, b.parent, -b.length, -space, -1);
          }
          tx.deleteAttr(b.ino);
          tx.deleteAllXattrs(b.ino);
          if (b.type === FileType.Symlink) tx.deleteSymlink(b.ino);
          if (b.type === FileType.Directory) this.core.dropDirStat(tx, b.ino);
          this.core.addUsage(tx, -space, -1);
        },
        { op: OP },
      );
      this.core.noteUsage(-space, -1);
    }
  }
}

/** Attaches the detached top directory `ino` as `name` in `parent`. */
async function attachDir(
  core: MetaCore,
  ctx: Context,
  parent: Ino,
  name: Buffer,
  ino: Ino,
  space: number,
  inodes: number,
): Promise<void> {
  const quotas = await core.txn(
    async (tx) => {
      const now = core.now();
      const pattr = await mustGetDir(tx, parent, OP);
      checkCreatable(ctx, parent, pattr, name, OP);
      if (await tx.getEntry(parent, name)) throw new FsError(Errno.EEXIST, { op: OP, path: name.toString() });
      const qs = await core.quotaAncestors(tx, parent);
      core.checkQuotas(qs, space, inodes, OP);
      pattr.nlink++;
      core.touchDir(pattr, now, true);
      tx.setAttr(parent, pattr);
      tx.setEntry(parent, name, { ino, type: FileType.Directory });
      core.dirStat(tx, parent, 0, 4096, 1);
      core.applyQuotas(tx, qs, space, inodes);
      return qs;
    },
    { op: OP },
  );
  core.noteQuotas(quotas, space, inodes);
}

/** See the module header. EEXIST when `name` exists, EPERM inside the trash, EACCES on permissions. */
export async function clone(
  core: MetaCore,
  ctx: Context,
  srcIno: Ino,
  dstParent: Ino,
  name: Buffer,
  opts: CloneOptions = {},
): Promise<CloneResult> {
  core.checkWritable(OP);
  validateName(name, OP);
  if (isTrash(srcIno) || isTrash(dstParent)) throw new FsError(Errno.EPERM, { op: OP, ino: srcIno });
  const { src, pattr } = await core.txn(
    async (tx) => ({ src: await tx.getAttr(srcIno), pattr: await mustGetDir(tx, dstParent, OP) }),
    { op: OP, readonly: true },
  );
  if (!src) throw new FsError(Errno.ENOENT, { op: OP, ino: srcIno });
  checkAccess(ctx, src, R_OK, OP, srcIno, await aclCheck(core, ctx, src));
  checkCreatable(ctx, dstParent, pattr, name, OP, await aclCheck(core, ctx, pattr));
  const c = new Cloner(core, ctx, opts);
  if (src.type !== FileType.Directory) {
    const ino = await c.node(srcIno, dstParent, name, 'top');
    if (ino === undefined) throw new FsError(Errno.ENOENT, { op: OP, ino: srcIno });
    return { ino, count: 1 };
  }
  try {
    const ino = await c.node(srcIno, dstParent, name, 'detached');
    if (ino === undefined) throw new FsError(Errno.ENOENT, { op: OP, ino: srcIno });
    await attachDir(core, ctx, dstParent, name, ino, c.space, c.built.length);
    return { ino, count: c.built.length };
  } catch (e) {
    await c
      .undo()
      .catch((u: unknown) => core.log.error('clone: removing a partial copy failed', { err: String(u) }));
    throw e;
  }
}
