/**
 * Attribute changes and file data records (docs/FORMAT.md §4.4, §4.5): setattr, truncate (hole
 * records, never deleting lists), fallocate, slice commits and copy_file_range (which
 * copies records and adds slice references, never data). The records of a range are
 * planned in range-records.ts: their cost follows the chunks that exist, not the range.
 */
import { mustGetAttr, setAtime, setCtime, setMtime, type MetaCore } from './core.js';
import type { MetaTx } from './engine.js';
import { FsError, Errno } from '../base/errno.js';
import { FallocMode, type SetAttrRequest } from './meta.js';
import { checkAccess, inGroup, W_OK } from '../base/permissions.js';
import { aclCheck, planChmod, readAttr, replan, withAclPlan } from './acl.js';
import { queueCopy, truncateHoles, zeroRange } from './range-records.js';
import {
  align4K,
  CHUNK_SIZE,
  FileType,
  Flag,
  isTrash,
  MAX_FILE_SIZE,
  type Attr,
  type Context,
  type Ino,
  type Slice,
  type Timespec,
  withoutSuidgid,
} from '../base/types.js';

function ensureModifiable(a: Attr, ino: Ino, op: string): void {
  if (a.flags & Flag.Immutable) throw new FsError(Errno.EPERM, { op, ino });
  if (isTrash(a.parent))
    throw new FsError(Errno.EPERM, { op, ino, message: `EPERM: ${op}: file is in .trash` });
}

function applyTime(
  ctx: Context,
  a: Attr,
  t: Timespec | 'now',
  now: Timespec,
  set: (a: Attr, t: Timespec) => void,
  ino: Ino,
  allows?: (want: number) => boolean,
): void {
  if (t === 'now') {
    if (ctx.uid !== 0 && ctx.uid !== a.uid) checkAccess(ctx, a, W_OK, 'utimens', ino, allows);
    set(a, now);
  } else {
    if (ctx.uid !== 0 && ctx.uid !== a.uid) throw new FsError(Errno.EPERM, { op: 'utimens', ino });
    set(a, t);
  }
}

export async function setattr(core: MetaCore, ctx: Context, ino: Ino, req: SetAttrRequest): Promise<Attr> {
  const op = 'setattr';
  core.checkWritable(op);
  if (req.size !== undefined) {
    await truncate(core, ctx, ino, req.size, { viaHandle: req.viaHandle === true });
  }
  const touchesMore =
    req.mode !== undefined ||
    req.uid !== undefined ||
    req.gid !== undefined ||
    req.atime !== undefined ||
    req.mtime !== undefined ||
    req.ctime !== undefined ||
    req.flags !== undefined;
  if (!touchesMore) {
    return core.txn((tx) => mustGetAttr(tx, ino, op), { op, readonly: true });
  }
  // A non-owner setting times to now needs write access, through the file's ACL too (its
  // rules never change behind an id; read before the txn, used while the attr is the same).
  const touchNow = req.atime === 'now' || req.mtime === 'now';
  const timesBefore =
    touchNow && core.format.EnableACL === true && ctx.uid !== 0 ? await readAttr(core, ino) : undefined;
  const timesAllow = timesBefore ? await aclCheck(core, ctx, timesBefore) : undefined;
  // chmod of an inode with an access ACL rewrites the rule's mask (acl.ts), planned first.
  const withAcl = req.mode !== undefined && core.format.EnableACL === true;
  return withAclPlan(
    op,
    async () => {
      const cur = withAcl ? await readAttr(core, ino) : undefined;
      return cur && req.mode !== undefined
        ? { from: cur.accessAcl, to: await planChmod(core, cur, req.mode & 0o7777) }
        : undefined;
    },
    (plan) =>
      core.txn(
        async (tx) => {
          const now = core.now();
          const a = await mustGetAttr(tx, ino, op);
          if (plan && plan.from !== a.accessAcl) throw replan(op);
          const onlyFlags =
            req.flags !== undefined &&
            req.mode === undefined &&
            req.uid === undefined &&
            req.gid === undefined &&
            req.atime === undefined &&
            req.mtime === undefined;
          if (!onlyFlags) ensureModifiable(a, ino, op);
          if (
            a.flags & Flag.Append &&
            (req.mode !== undefined || req.uid !== undefined || req.gid !== undefined)
          ) {
            throw new FsError(Errno.EPERM, { op, ino });
          }
          if (req.uid !== undefined && req.uid !== a.uid && ctx.uid !== 0)
            throw new FsError(Errno.EPERM, { op: 'chown', ino });
          if (req.gid !== undefined && req.gid !== a.gid && ctx.uid !== 0) {
            if (ctx.uid !== a.uid || !inGroup(ctx, req.gid))
              throw new FsError(Errno.EPERM, { op: 'chown', ino });
          }
          const chown =
            (req.uid !== undefined && req.uid !== a.uid) || (req.gid !== undefined && req.gid !== a.gid);
          const from = { uid: a.uid, gid: a.gid };
          if (req.uid !== undefined) a.uid = req.uid;
          if (req.gid !== undefined) a.gid = req.gid;
          if (chown) {
            const [space, inodes] = ownedUsage(a);
            core.ug.move(tx, from, a, space, inodes, 'chown'); // EDQUOT when the new owner is full
          }
          if (chown && a.type !== FileType.Directory && req.mode === undefined) {
            a.mode = withoutSuidgid(a.mode);
          }
          if (req.mode !== undefined) {
            if (ctx.uid !== 0 && ctx.uid !== a.uid) throw new FsError(Errno.EPERM, { op: 'chmod', ino });
            let mode = req.mode & 0o7777;
            if (ctx.uid !== 0 && a.type !== FileType.Directory && !inGroup(ctx, a.gid)) mode &= ~0o2000;
            a.mode = mode;
            if (plan?.to) {
              a.accessAcl = plan.to.accessAcl;
              a.mode = (mode & 0o7000) | (plan.to.mode & 0o777);
            }
          }
          if (req.flags !== undefined) {
            if (ctx.uid !== 0) throw new FsError(Errno.EPERM, { op: 'chattr', ino });
            a.flags = req.flags;
          }
          const allows =
            timesBefore?.accessAcl === a.accessAcl && timesBefore.mode === a.mode ? timesAllow : undefined;
          if (req.atime !== undefined) applyTime(ctx, a, req.atime, now, setAtime, ino, allows);
          if (req.mtime !== undefined) applyTime(ctx, a, req.mtime, now, setMtime, ino, allows);
          setCtime(a, req.ctime ?? now);
          tx.setAttr(ino, a);
          return a;
        },
        { op },
      ),
  );
}

/** Applies a length change's accounting: counters, dir stats of each parent, quotas. */
async function lengthDelta(
  core: MetaCore,
  tx: MetaTx,
  ino: Ino,
  a: Attr,
  oldLen: number,
  newLen: number,
  op: string,
): Promise<{ space: number; quotas: Ino[] }> {
  const space = align4K(newLen) - align4K(oldLen);
  if (space > 0) core.checkCapacity(space, 0, op);
  const parents = a.parent !== 0n ? new Map([[a.parent, 1]]) : await tx.getParents(ino);
  let quotas: Ino[] = [];
  for (const [p, n] of parents) {
    if (n <= 0) continue;
    core.dirStat(tx, p, (newLen - oldLen) * n, space * n, 0);
    if (quotas.length === 0) quotas = await core.quotaAncestors(tx, p);
  }
  if (space > 0) core.checkQuotas(quotas, space, 0, op);
  core.addUsage(tx, space, 0);
  core.applyQuotas(tx, quotas, space, 0);
  core.ug.charge(tx, a, space, 0, space > 0 ? op : undefined); // growth checked against the owner's quota
  return { space, quotas };
}

/** What a length-changing op does to a file, decided inside its transaction. */
interface LengthPlan {
  newLen: number;
  /** Extra writes (hole or slice records) in the same transaction. */
  apply?: (tx: MetaTx) => void | Promise<void>;
  /** Modification time to set (default: now). */
  mtime?: Timespec;
}

/**
 * The shared transaction of truncate, fallocate and slice commits: read the attr, let
 * `plan` check it and decide, account the length change, write the records, set the
 * length and times. `plan` returning undefined leaves the file untouched.
 */
async function changeLength(
  core: MetaCore,
  ino: Ino,
  op: string,
  plan: (a: Attr) => LengthPlan | undefined,
): Promise<Attr> {
  const res = await core.txn(
    async (tx) => {
      const now = core.now();
      const a = await mustGetAttr(tx, ino, op);
      const p = plan(a);
      if (!p) return { a, space: 0, quotas: [] as Ino[] };
      const d = await lengthDelta(core, tx, ino, a, a.length, p.newLen, op);
      await p.apply?.(tx);
      a.length = p.newLen;
      setMtime(a, p.mtime ?? now);
      setCtime(a, now);
      tx.setAttr(ino, a);
      return { a, ...d };
    },
    { op },
  );
  core.noteUsage(res.space, 0);
  core.noteQuotas(res.quotas, res.space, 0);
  return res.a;
}

export async function truncate(
  core: MetaCore,
  ctx: Context,
  ino: Ino,
  length: number,
  opts: { viaHandle?: boolean } = {},
): Promise<Attr> {
  const op = 'truncate';
  core.checkWritable(op);
  if (length >= MAX_FILE_SIZE) throw new FsError(Errno.EFBIG, { op, ino });
  if (length < 0 || !Number.isSafeInteger(length)) throw new FsError(Errno.EINVAL, { op, ino });
  // The ACL check of a path truncate (rules behind an id never change; read before the txn).
  const before = opts.viaHandle ? undefined : await readAttr(core, ino);
  const allows = before ? await aclCheck(core, ctx, before) : undefined;
  return changeLength(core, ino, op, (a) => {
    if (a.type === FileType.Directory) throw new FsError(Errno.EISDIR, { op, ino });
    if (a.type !== FileType.File) throw new FsError(Errno.EINVAL, { op, ino });
    ensureModifiable(a, ino, op);
    if (a.flags & Flag.Append) throw new FsError(Errno.EPERM, { op, ino });
    const same = before?.accessAcl === a.accessAcl && before.mode === a.mode;
    if (!opts.viaHandle) checkAccess(ctx, a, W_OK, op, ino, same ? allows : undefined);
    if (a.length === length) return undefined;
    const old = a.length;
    return { newLen: length, apply: (tx) => truncateHoles(tx, ino, old, length) };
  });
}

export async function fallocate(
  core: MetaCore,
  _ctx: Context,
  ino: Ino,
  mode: number,
  off: number,
  size: number,
): Promise<Attr> {
  const op = 'fallocate';
  core.checkWritable(op);
  if (mode & (FallocMode.CollapseRange | FallocMode.InsertRange))
    throw new FsError(Errno.ENOTSUP, { op, ino });
  if (mode & FallocMode.PunchHole && !(mode & FallocMode.KeepSize))
    throw new FsError(Errno.EINVAL, { op, ino });
  if (!Number.isInteger(off) || !Number.isInteger(size) || size <= 0 || off < 0)
    throw new FsError(Errno.EINVAL, { op, ino });
  if (off + size >= MAX_FILE_SIZE) throw new FsError(Errno.EFBIG, { op, ino });
  return changeLength(core, ino, op, (a) => {
    if (a.type === FileType.Directory) throw new FsError(Errno.EISDIR, { op, ino });
    if (a.type !== FileType.File) throw new FsError(Errno.ENODEV, { op, ino });
    ensureModifiable(a, ino, op);
    const zeroing = (mode & (FallocMode.PunchHole | FallocMode.ZeroRange)) !== 0;
    if (a.flags & Flag.Append && zeroing) throw new FsError(Errno.EPERM, { op, ino });
    const old = a.length;
    const newLen = off + size > old && !(mode & FallocMode.KeepSize) ? off + size : old;
    const plan: LengthPlan = { newLen };
    if (zeroing && off < old) plan.apply = (tx) => zeroRange(tx, ino, off, Math.min(off + size, old));
    return plan;
  });
}

export async function writeSlice(
  core: MetaCore,
  ino: Ino,
  indx: number,
  slice: Slice,
  mtime: Timespec,
): Promise<void> {
  const op = 'write';
  core.checkWritable(op);
  if (slice.pos + slice.len > CHUNK_SIZE)
    throw new FsError(Errno.EINVAL, { op, ino, message: 'EINVAL: slice crosses a chunk' });
  const end = indx * CHUNK_SIZE + slice.pos + slice.len;
  if (end >= MAX_FILE_SIZE) throw new FsError(Errno.EFBIG, { op, ino });
  await changeLength(core, ino, op, (a) => {
    if (a.type !== FileType.File) throw new FsError(Errno.EPERM, { op, ino });
    return {
      newLen: Math.max(a.length, end),
      mtime,
      apply: (tx) => {
        tx.appendSlices(ino, indx, [slice]);
        tx.newSliceRef(slice.id, slice.size);
      },
    };
  });
}

/**
 * copy_file_range: copies at most what lies before the source's end (a short count, as
 * Go), and at most COPY_CHUNK_LIMIT source chunk lists per call (a shorter count), so a
 * 2^62-byte request costs what the source holds, capped; EFBIG where an offset or the
 * copy's end reaches the maximum file size.
 */
export async function copyFileRange(
  core: MetaCore,
  ctx: Context,
  fin: Ino,
  offIn: number,
  fout: Ino,
  offOut: number,
  size: number,
): Promise<number> {
  const op = 'copy_file_range';
  core.checkWritable(op);
  if (![offIn, offOut, size].every((x) => Number.isInteger(x) && x >= 0))
    throw new FsError(Errno.EINVAL, { op });
  if (offIn >= MAX_FILE_SIZE || offOut >= MAX_FILE_SIZE) throw new FsError(Errno.EFBIG, { op, ino: fout });
  const res = await core.txn(
    async (tx) => {
      const now = core.now();
      const ain = await mustGetAttr(tx, fin, op);
      const aout = fin === fout ? ain : await mustGetAttr(tx, fout, op);
      if (ain.type !== FileType.File || aout.type !== FileType.File) throw new FsError(Errno.EINVAL, { op });
      ensureModifiable(aout, fout, op);
      if (aout.flags & Flag.Append) throw new FsError(Errno.EPERM, { op, ino: fout });
      if (fin === fout && offIn < offOut + size && offOut < offIn + size)
        throw new FsError(Errno.EINVAL, { op });
      const upTo = Math.max(0, Math.min(size, ain.length - offIn));
      if (upTo === 0) return { n: 0, space: 0, quotas: [] as Ino[] };
      if (offOut + upTo >= MAX_FILE_SIZE) throw new FsError(Errno.EFBIG, { op, ino: fout });
      const n = await queueCopy(tx, { fin, offIn, fout, offOut, n: upTo });
      const newLen = Math.max(aout.length, offOut + n);
      const d = await lengthDelta(core, tx, fout, aout, aout.length, newLen, op);
      aout.length = newLen;
      setMtime(aout, now);
      setCtime(aout, now);
      tx.setAttr(fout, aout);
      return { n, ...d };
    },
    { op },
  );
  core.noteUsage(res.space, 0);
  core.noteQuotas(res.quotas, res.space, 0);
  void ctx;
  return res.n;
}

/**
 * What an inode counts for its owner when it changes hands, as Go's SetAttr moves it: a file
 * its 4 KiB-aligned length and one inode, a directory 4 KiB and one inode, others nothing.
 */
function ownedUsage(a: Attr): [number, number] {
  if (a.type === FileType.File) return [align4K(a.length), 1];
  if (a.type === FileType.Directory) return [4096, 1];
  return [0, 0];
}
