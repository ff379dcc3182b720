/**
 * Dispatch: one decoded request → one FuseOps call → reply payload buffers.
 *
 * Design: a switch over the decoded opcode; each case converts wire arguments to the FuseOps
 * input and the result to its exact reply encoding. Missing optional methods throw ENOSYS.
 * Entry-producing replies list the inodes they hand to the kernel (`refs`) so the session can
 * count lookups *before* writing. Session-level opcodes (INIT, FORGET, BATCH_FORGET,
 * INTERRUPT, NOTIFY_REPLY) never reach this module.
 * Invariants: no I/O here; every result is a complete payload (header added by the session);
 * errors propagate as thrown values (mapped to -errno by the session).
 */
import { OPEN_KILL_SUIDGID, Opcode } from './abi.js';
import type { FuseRequest, ReadArgs, RequestArgs } from './decode.js';
import {
  DirentPacker,
  attrOut,
  createOut,
  entryOut,
  lkOut,
  openOut,
  statfsOut,
  u32Out,
  u64Out,
} from './encode.js';
import type { EntryReply, FuseOps, RequestContext } from './fuse-ops.js';
import { Errno, FsError } from '../base/errno.js';
import type { Ino } from '../base/types.js';

export interface DispatchReply {
  data: Buffer[];
  /** Inodes handed to the kernel by this reply (one lookup reference each). */
  refs: Ino[];
  /** Called once `data` was written (or dropped): ends a ReadReply's loan. */
  done?: () => void;
}

const EMPTY: DispatchReply = Object.freeze({ data: [], refs: [] }) as DispatchReply;

function enosys(op: string): FsError {
  return new FsError(Errno.ENOSYS, { op });
}

function need<T>(fn: T | undefined, op: string): T {
  if (fn === undefined) throw enosys(op);
  return fn;
}

function entry(e: EntryReply): DispatchReply {
  return { data: [entryOut(e)], refs: e.ino === 0n ? [] : [e.ino] };
}

const DOT = Buffer.from('.');
const DOTDOT = Buffer.from('..');

export async function dispatchRequest(
  ops: FuseOps,
  req: FuseRequest,
  ctx: RequestContext,
): Promise<DispatchReply> {
  const ino = req.header.nodeid;
  const a = req.args;
  switch (a.opcode) {
    case Opcode.LOOKUP:
      return entry(await ops.lookup(ctx, ino, a.name));
    case Opcode.GETATTR:
      return { data: [attrOut(ino, await ops.getattr(ctx, ino, a.fh))], refs: [] };
    case Opcode.SETATTR:
      return {
        data: [attrOut(ino, await need(ops.setattr, 'setattr').call(ops, ctx, { ...a.attr, ino }))],
        refs: [],
      };
    case Opcode.READLINK:
      return { data: [await need(ops.readlink, 'readlink').call(ops, ctx, ino)], refs: [] };
    case Opcode.SYMLINK:
      return entry(await need(ops.symlink, 'symlink').call(ops, ctx, ino, a.name, a.target));
    case Opcode.MKNOD:
      return entry(await need(ops.mknod, 'mknod').call(ops, ctx, ino, a.name, a.mode, a.rdev, a.umask));
    case Opcode.MKDIR:
      return entry(await need(ops.mkdir, 'mkdir').call(ops, ctx, ino, a.name, a.mode, a.umask));
    case Opcode.UNLINK:
      await need(ops.unlink, 'unlink').call(ops, ctx, ino, a.name);
      return EMPTY;
    case Opcode.RMDIR:
      await need(ops.rmdir, 'rmdir').call(ops, ctx, ino, a.name);
      return EMPTY;
    case Opcode.RENAME:
    case Opcode.RENAME2:
      await need(ops.rename, 'rename').call(ops, ctx, ino, a.oldName, a.newdir, a.newName, a.flags);
      return EMPTY;
    case Opcode.LINK:
      return entry(await need(ops.link, 'link').call(ops, ctx, a.oldnodeid, ino, a.newName));
    case Opcode.OPEN:
      return {
        data: [
          openOut(
            await need(ops.open, 'open').call(ops, ctx, ino, a.flags, {
              killSuidgid: (a.openFlags & OPEN_KILL_SUIDGID) !== 0,
            }),
          ),
        ],
        refs: [],
      };
    case Opcode.OPENDIR:
      return { data: [openOut(await need(ops.opendir, 'opendir').call(ops, ctx, ino, a.flags))], refs: [] };
    case Opcode.CREATE: {
      const r = await need(ops.create, 'create').call(ops, ctx, ino, a.name, a.mode, a.umask, a.flags, {
        killSuidgid: (a.openFlags & OPEN_KILL_SUIDGID) !== 0,
      });
      return { data: [createOut(r.entry, r.open)], refs: [r.entry.ino] };
    }
    default:
      return dispatchIo(ops, ino, a, ctx);
  }
}

async function dispatchIo(
  ops: FuseOps,
  ino: Ino,
  a: RequestArgs,
  ctx: RequestContext,
): Promise<DispatchReply> {
  switch (a.opcode) {
    case Opcode.READ: {
      const { opcode: _op, ...input } = a;
      const r = await need(ops.read, 'read').call(ops, ctx, { ino, ...input });
      const { data, done } = Buffer.isBuffer(r) ? { data: r, done: undefined } : r;
      const out = data.length > a.size ? data.subarray(0, a.size) : data;
      return done !== undefined ? { data: [out], refs: [], done } : { data: [out], refs: [] };
    }
    case Opcode.WRITE: {
      const { opcode: _op, ...input } = a;
      return { data: [u32Out(await need(ops.write, 'write').call(ops, ctx, { ino, ...input }))], refs: [] };
    }
    case Opcode.STATFS:
      return { data: [statfsOut(await need(ops.statfs, 'statfs').call(ops, ctx, ino))], refs: [] };
    case Opcode.RELEASE: {
      const { opcode: _op, ...input } = a;
      if (ops.release !== undefined) await ops.release(ctx, { ino, ...input });
      return EMPTY;
    }
    case Opcode.RELEASEDIR:
      if (ops.releasedir !== undefined) await ops.releasedir(ctx, { ino, fh: a.fh, flags: a.flags });
      return EMPTY;
    case Opcode.FLUSH:
      await need(ops.flush, 'flush').call(ops, ctx, { ino, fh: a.fh, lockOwner: a.lockOwner });
      return EMPTY;
    case Opcode.FSYNC:
      await need(ops.fsync, 'fsync').call(ops, ctx, { ino, fh: a.fh, datasync: a.datasync });
      return EMPTY;
    case Opcode.FSYNCDIR:
      await need(ops.fsyncdir, 'fsyncdir').call(ops, ctx, { ino, fh: a.fh, datasync: a.datasync });
      return EMPTY;
    case Opcode.READDIR:
    case Opcode.READDIRPLUS:
      return readdir(ops, ino, a, ctx);
    case Opcode.ACCESS:
      await need(ops.access, 'access').call(ops, ctx, ino, a.mask);
      return EMPTY;
    case Opcode.FALLOCATE:
      await need(ops.fallocate, 'fallocate').call(ops, ctx, {
        ino,
        fh: a.fh,
        offset: a.offset,
        length: a.length,
        mode: a.mode,
      });
      return EMPTY;
    case Opcode.LSEEK:
      return {
        data: [
          u64Out(
            await need(ops.lseek, 'lseek').call(ops, ctx, {
              ino,
              fh: a.fh,
              offset: a.offset,
              whence: a.whence,
            }),
          ),
        ],
        refs: [],
      };
    case Opcode.COPY_FILE_RANGE:
    case Opcode.COPY_FILE_RANGE_64: {
      const input = {
        inoIn: ino,
        fhIn: a.fhIn,
        offsetIn: a.offIn,
        inoOut: a.nodeidOut,
        fhOut: a.fhOut,
        offsetOut: a.offOut,
        length: a.len,
        flags: a.flags,
      };
      const n = await need(ops.copyFileRange, 'copy_file_range').call(ops, ctx, input);
      // COPY_FILE_RANGE replies write_out (u32), the 64-bit variant copy_file_range_out (u64).
      return {
        data: [a.opcode === Opcode.COPY_FILE_RANGE ? u32Out(Math.min(n, 0xffffffff)) : u64Out(n)],
        refs: [],
      };
    }
    default:
      return dispatchMisc(ops, ino, a, ctx);
  }
}

async function dispatchMisc(
  ops: FuseOps,
  ino: Ino,
  a: RequestArgs,
  ctx: RequestContext,
): Promise<DispatchReply> {
  switch (a.opcode) {
    case Opcode.SETXATTR:
      await need(ops.setxattr, 'setxattr').call(ops, ctx, ino, a.name, a.value, a.flags);
      return EMPTY;
    case Opcode.GETXATTR:
      return sized(await need(ops.getxattr, 'getxattr').call(ops, ctx, ino, a.name), a.size);
    case Opcode.LISTXATTR: {
      const names = await need(ops.listxattr, 'listxattr').call(ops, ctx, ino);
      return sized(Buffer.concat(names.flatMap((n) => [n, Buffer.alloc(1)])), a.size);
    }
    case Opcode.REMOVEXATTR:
      await need(ops.removexattr, 'removexattr').call(ops, ctx, ino, a.name);
      return EMPTY;
    case Opcode.GETLK: {
      const l = a.lk;
      const r = await need(ops.getlk, 'getlk').call(ops, ctx, {
        ino,
        fh: l.fh,
        owner: l.owner,
        type: l.type,
        start: l.start,
        end: l.end,
        pid: l.pid,
      });
      return { data: [lkOut(r)], refs: [] };
    }
    case Opcode.SETLK:
    case Opcode.SETLKW: {
      const l = a.lk;
      const wait = a.opcode === Opcode.SETLKW;
      if (l.flock) {
        await need(ops.flock, 'flock').call(ops, ctx, {
          ino,
          fh: l.fh,
          owner: l.owner,
          type: l.type,
          pid: l.pid,
          wait,
        });
      } else {
        await need(ops.setlk, 'setlk').call(ops, ctx, {
          ino,
          fh: l.fh,
          owner: l.owner,
          type: l.type,
          start: l.start,
          end: l.end,
          pid: l.pid,
          wait,
        });
      }
      return EMPTY;
    }
    case Opcode.DESTROY:
      if (ops.destroy !== undefined) await ops.destroy();
      return EMPTY;
    default:
      throw enosys(`opcode ${a.opcode === 0 ? a.unsupported : a.opcode}`);
  }
}

/** GETXATTR/LISTXATTR size protocol: size 0 = probe (reply the length), else bytes or ERANGE. */
function sized(value: Buffer, size: number): DispatchReply {
  if (size === 0) return { data: [u32Out(value.length)], refs: [] };
  if (value.length > size) throw new FsError(Errno.ERANGE, { op: 'xattr' });
  return { data: [value], refs: [] };
}

async function readdir(ops: FuseOps, ino: Ino, a: ReadArgs, ctx: RequestContext): Promise<DispatchReply> {
  const input = { ino, fh: a.fh, offset: a.offset, size: a.size };
  const packer = new DirentPacker(a.size);
  const refs: Ino[] = [];
  if (a.opcode === Opcode.READDIRPLUS) {
    const list = await need(ops.readdirplus, 'readdirplus').call(ops, ctx, input);
    for (const d of list) {
      const e = d.entry !== undefined && d.entry.ino !== 0n ? d.entry : undefined;
      if (!packer.addPlus(d, e)) break;
      // The kernel links every plus record except "." and ".." (one lookup each).
      if (e !== undefined && !d.name.equals(DOT) && !d.name.equals(DOTDOT)) refs.push(e.ino);
    }
  } else {
    const list = await need(ops.readdir, 'readdir').call(ops, ctx, input);
    for (const d of list) if (!packer.add(d)) break;
  }
  return { data: [packer.finish()], refs };
}
