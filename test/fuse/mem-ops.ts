/**
 * MemOps: a small in-memory FuseOps file system for FUSE end-to-end tests (test-only).
 *
 * Design: inodes in a Map keyed by bigint; names keyed by their latin1 spelling (byte-exact);
 * directory handles snapshot the listing so cookies (index + 1) stay stable; POSIX and flock
 * locks with waiters that re-check on every change and honour ctx.signal (EINTR).
 * Invariants: per-method call counters in `calls`; nothing here knows about the wire format.
 */
import { LockType, OFFSET_MAX } from '../../src/fuse/abi.js';
import type {
  CreateReply,
  DirEntryPlus,
  EntryReply,
  FlockInput,
  FuseOps,
  LockInput,
  LockRange,
  OpenReply,
  RequestContext,
  SetattrInput,
  StatfsReply,
  TimeSet,
} from '../../src/fuse/fuse-ops.js';
import { Errno, FsError } from '../../src/base/errno.js';
import { FileType, emptyAttr, typeFromMode, unixMode } from '../../src/base/types.js';
import type { Attr, Ino } from '../../src/base/types.js';

interface Node {
  attr: Attr;
  data: Buffer;
  children?: Map<string, Ino>;
  target?: Buffer;
  xattrs: Map<string, Buffer>;
}

interface PosixLock extends LockRange {
  owner: bigint;
}

const key = (name: Buffer): string => name.toString('latin1');
const err = (errno: number, op: string): FsError => new FsError(errno, { op });

function now(): { sec: number; nsec: number } {
  const ns = BigInt(Date.now()) * 1_000_000n + (process.hrtime.bigint() % 1_000_000n);
  return { sec: Number(ns / 1_000_000_000n), nsec: Number(ns % 1_000_000_000n) };
}

export class MemOps implements FuseOps {
  readonly calls = new Map<string, number>();
  readonly nodes = new Map<Ino, Node>();
  readonly forgotten = new Map<Ino, bigint>();
  private nextIno = 2n;
  private nextFh = 1n;
  private readonly dirHandles = new Map<bigint, DirEntryPlus[]>();
  private readonly posix = new Map<Ino, PosixLock[]>();
  private readonly flocks = new Map<Ino, Map<bigint, LockType>>();
  private waiters = new Set<() => void>();
  ttl = 1;

  constructor() {
    this.nodes.set(1n, this.newNode(FileType.Directory, 0o755, 0, 0, 1n));
  }

  get lockWaiters(): number {
    return this.waiters.size;
  }

  private count(op: string): void {
    this.calls.set(op, (this.calls.get(op) ?? 0) + 1);
  }

  private newNode(type: FileType, mode: number, uid: number, gid: number, parent: Ino): Node {
    const t = now();
    const attr: Attr = {
      ...emptyAttr(),
      type,
      mode: mode & 0o7777,
      uid,
      gid,
      parent,
      nlink: type === FileType.Directory ? 2 : 1,
    };
    attr.atime = attr.mtime = attr.ctime = t.sec;
    attr.atimensec = attr.mtimensec = attr.ctimensec = t.nsec;
    const n: Node = { attr, data: Buffer.alloc(0), xattrs: new Map() };
    if (type === FileType.Directory) n.children = new Map();
    return n;
  }

  private node(ino: Ino): Node {
    const n = this.nodes.get(ino);
    if (n === undefined) throw err(Errno.ENOENT, 'node');
    return n;
  }

  private dir(ino: Ino): Map<string, Ino> {
    const c = this.node(ino).children;
    if (c === undefined) throw err(Errno.ENOTDIR, 'dir');
    return c;
  }

  private entry(ino: Ino): EntryReply {
    return { ino, attr: { ...this.node(ino).attr }, entryTimeout: this.ttl, attrTimeout: this.ttl };
  }

  private touch(n: Node, m = true): void {
    const t = now();
    n.attr.ctime = t.sec;
    n.attr.ctimensec = t.nsec;
    if (m) {
      n.attr.mtime = t.sec;
      n.attr.mtimensec = t.nsec;
    }
  }

  private add(ctx: RequestContext, parent: Ino, name: Buffer, type: FileType, mode: number): Ino {
    const d = this.dir(parent);
    if (d.has(key(name))) throw err(Errno.EEXIST, 'create');
    const ino = this.nextIno++;
    this.nodes.set(ino, this.newNode(type, mode, ctx.uid, ctx.gid, parent));
    d.set(key(name), ino);
    if (type === FileType.Directory) this.node(parent).attr.nlink++;
    this.touch(this.node(parent));
    return ino;
  }

  async lookup(_ctx: RequestContext, parent: Ino, name: Buffer): Promise<EntryReply> {
    this.count('lookup');
    const ino = this.dir(parent).get(key(name));
    if (ino === undefined) throw err(Errno.ENOENT, 'lookup');
    return this.entry(ino);
  }

  forget(ino: Ino, nlookup: bigint): void {
    this.count('forget');
    this.forgotten.set(ino, (this.forgotten.get(ino) ?? 0n) + nlookup);
  }

  async getattr(_ctx: RequestContext, ino: Ino): Promise<{ attr: Attr; attrTimeout: number }> {
    this.count('getattr');
    return { attr: { ...this.node(ino).attr }, attrTimeout: this.ttl };
  }

  async setattr(_ctx: RequestContext, s: SetattrInput): Promise<{ attr: Attr; attrTimeout: number }> {
    this.count('setattr');
    const n = this.node(s.ino);
    const setTime = (t: TimeSet): { sec: number; nsec: number } => (t === 'now' ? now() : t);
    if (s.mode !== undefined) n.attr.mode = s.mode & 0o7777;
    if (s.uid !== undefined) n.attr.uid = s.uid;
    if (s.gid !== undefined) n.attr.gid = s.gid;
    if (s.size !== undefined) this.resize(n, s.size);
    if (s.atime !== undefined) ({ sec: n.attr.atime, nsec: n.attr.atimensec } = setTime(s.atime));
    this.touch(n, s.size !== undefined);
    if (s.mtime !== undefined) ({ sec: n.attr.mtime, nsec: n.attr.mtimensec } = setTime(s.mtime));
    return { attr: { ...n.attr }, attrTimeout: this.ttl };
  }

  private resize(n: Node, size: number): void {
    if (n.attr.type !== FileType.File) throw err(Errno.EISDIR, 'truncate');
    if (size <= n.data.length) n.data = n.data.subarray(0, size);
    else n.data = Buffer.concat([n.data, Buffer.alloc(size - n.data.length)]);
    n.attr.length = size;
  }

  async readlink(_ctx: RequestContext, ino: Ino): Promise<Buffer> {
    const t = this.node(ino).target;
    if (t === undefined) throw err(Errno.EINVAL, 'readlink');
    return t;
  }

  async symlink(ctx: RequestContext, parent: Ino, name: Buffer, target: Buffer): Promise<EntryReply> {
    const ino = this.add(ctx, parent, name, FileType.Symlink, 0o777);
    const n = this.node(ino);
    n.target = Buffer.from(target);
    n.attr.length = target.length;
    return this.entry(ino);
  }

  async mknod(
    ctx: RequestContext,
    parent: Ino,
    name: Buffer,
    mode: number,
    rdev: number,
  ): Promise<EntryReply> {
    const ino = this.add(ctx, parent, name, typeFromMode(mode), mode);
    this.node(ino).attr.rdev = rdev;
    return this.entry(ino);
  }

  async mkdir(ctx: RequestContext, parent: Ino, name: Buffer, mode: number): Promise<EntryReply> {
    return this.entry(this.add(ctx, parent, name, FileType.Directory, mode));
  }

  async unlink(_ctx: RequestContext, parent: Ino, name: Buffer): Promise<void> {
    const d = this.dir(parent);
    const ino = d.get(key(name));
    if (ino === undefined) throw err(Errno.ENOENT, 'unlink');
    const n = this.node(ino);
    if (n.attr.type === FileType.Directory) throw err(Errno.EISDIR, 'unlink');
    d.delete(key(name));
    n.attr.nlink--;
    this.touch(n, false);
    this.touch(this.node(parent));
  }

  async rmdir(_ctx: RequestContext, parent: Ino, name: Buffer): Promise<void> {
    const d = this.dir(parent);
    const ino = d.get(key(name));
    if (ino === undefined) throw err(Errno.ENOENT, 'rmdir');
    if (this.dir(ino).size > 0) throw err(Errno.ENOTEMPTY, 'rmdir');
    d.delete(key(name));
    this.node(ino).attr.nlink = 0;
    this.node(parent).attr.nlink--;
    this.touch(this.node(parent));
  }

  async rename(
    _ctx: RequestContext,
    parent: Ino,
    name: Buffer,
    newParent: Ino,
    newName: Buffer,
    flags: number,
  ): Promise<void> {
    const src = this.dir(parent);
    const dst = this.dir(newParent);
    const ino = src.get(key(name));
    if (ino === undefined) throw err(Errno.ENOENT, 'rename');
    const victim = dst.get(key(newName));
    if ((flags & 1) !== 0 && victim !== undefined) throw err(Errno.EEXIST, 'rename');
    if ((flags & 2) !== 0) {
      if (victim === undefined) throw err(Errno.ENOENT, 'rename');
      src.set(key(name), victim);
      dst.set(key(newName), ino);
      return;
    }
    if (victim !== undefined) {
      const v = this.node(victim);
      if (v.children !== undefined && v.children.size > 0) throw err(Errno.ENOTEMPTY, 'rename');
      v.attr.nlink = v.children !== undefined ? 0 : v.attr.nlink - 1;
    }
    src.delete(key(name));
    dst.set(key(newName), ino);
    this.node(ino).attr.parent = newParent;
    this.touch(this.node(parent));
    this.touch(this.node(newParent));
  }

  async link(_ctx: RequestContext, ino: Ino, newParent: Ino, newName: Buffer): Promise<EntryReply> {
    const d = this.dir(newParent);
    if (d.has(key(newName))) throw err(Errno.EEXIST, 'link');
    d.set(key(newName), ino);
    this.node(ino).attr.nlink++;
    return this.entry(ino);
  }

  async open(_ctx: RequestContext, ino: Ino, flags: number): Promise<OpenReply> {
    this.count('open');
    const n = this.node(ino);
    if ((flags & 0o1000) !== 0) this.resize(n, 0); // O_TRUNC (ATOMIC_O_TRUNC)
    return { fh: this.nextFh++ };
  }

  async read(_ctx: RequestContext, r: { ino: Ino; offset: number; size: number }): Promise<Buffer> {
    this.count('read');
    const d = this.node(r.ino).data;
    return d.subarray(Math.min(r.offset, d.length), Math.min(r.offset + r.size, d.length));
  }

  async write(_ctx: RequestContext, w: { ino: Ino; offset: number; data: Buffer }): Promise<number> {
    this.count('write');
    const n = this.node(w.ino);
    const end = w.offset + w.data.length;
    if (end > n.data.length) {
      if (end > n.data.buffer.byteLength - n.data.byteOffset || n.data.length === 0) {
        const grown = Buffer.alloc(Math.max(end, n.data.length * 2));
        n.data.copy(grown);
        n.data = grown.subarray(0, end);
      } else {
        n.data = Buffer.from(n.data.buffer, n.data.byteOffset, end);
      }
      n.attr.length = end;
    }
    w.data.copy(n.data, w.offset);
    this.touch(n);
    return w.data.length;
  }

  async statfs(): Promise<StatfsReply> {
    return {
      blocks: 1 << 20,
      bfree: 1 << 19,
      bavail: 1 << 19,
      files: 1000,
      ffree: 1000 - this.nodes.size,
      bsize: 4096,
      namelen: 255,
    };
  }

  async release(
    _ctx: RequestContext,
    r: { ino: Ino; flockUnlock: boolean; lockOwner: bigint },
  ): Promise<void> {
    this.count('release');
    if (r.flockUnlock) this.flocks.get(r.ino)?.delete(r.lockOwner);
    this.wake();
  }

  async flush(_ctx: RequestContext, r: { ino: Ino; lockOwner: bigint }): Promise<void> {
    this.count('flush');
    this.setRange(r.ino, r.lockOwner, LockType.UNLCK, 0n, OFFSET_MAX, 0);
  }

  async fsync(): Promise<void> {
    this.count('fsync');
  }

  async setxattr(_ctx: RequestContext, ino: Ino, name: Buffer, value: Buffer, flags: number): Promise<void> {
    const x = this.node(ino).xattrs;
    if ((flags & 1) !== 0 && x.has(key(name))) throw err(Errno.EEXIST, 'setxattr');
    if ((flags & 2) !== 0 && !x.has(key(name))) throw err(Errno.ENODATA, 'setxattr');
    x.set(key(name), Buffer.from(value));
  }

  async getxattr(_ctx: RequestContext, ino: Ino, name: Buffer): Promise<Buffer> {
    const v = this.node(ino).xattrs.get(key(name));
    if (v === undefined) throw err(Errno.ENODATA, 'getxattr');
    return v;
  }

  async listxattr(_ctx: RequestContext, ino: Ino): Promise<Buffer[]> {
    return [...this.node(ino).xattrs.keys()].map((k) => Buffer.from(k, 'latin1'));
  }

  async removexattr(_ctx: RequestContext, ino: Ino, name: Buffer): Promise<void> {
    if (!this.node(ino).xattrs.delete(key(name))) throw err(Errno.ENODATA, 'removexattr');
  }

  async opendir(_ctx: RequestContext, ino: Ino): Promise<OpenReply> {
    const d = this.dir(ino);
    const list: DirEntryPlus[] = [];
    const push = (name: string, child: Ino): void => {
      const n = this.node(child);
      list.push({
        ino: child,
        name: Buffer.from(name, 'latin1'),
        mode: unixMode(n.attr),
        next: list.length + 1,
        entry: this.entry(child),
      });
    };
    push('.', ino);
    push('..', this.node(ino).attr.parent);
    for (const [name, child] of d) push(name, child);
    const fh = this.nextFh++;
    this.dirHandles.set(fh, list);
    return { fh };
  }

  async readdir(ctx: RequestContext, r: { fh: bigint; offset: number }): Promise<DirEntryPlus[]> {
    this.count('readdir');
    return (this.dirHandles.get(r.fh) ?? []).slice(r.offset);
  }

  async readdirplus(ctx: RequestContext, r: { fh: bigint; offset: number }): Promise<DirEntryPlus[]> {
    this.count('readdirplus');
    return (this.dirHandles.get(r.fh) ?? []).slice(r.offset);
  }

  async releasedir(_ctx: RequestContext, r: { fh: bigint }): Promise<void> {
    this.dirHandles.delete(r.fh);
  }

  async fsyncdir(): Promise<void> {}

  async create(ctx: RequestContext, parent: Ino, name: Buffer, mode: number): Promise<CreateReply> {
    this.count('create');
    const ino = this.add(ctx, parent, name, FileType.File, mode);
    return { entry: this.entry(ino), open: { fh: this.nextFh++ } };
  }

  async fallocate(
    _ctx: RequestContext,
    f: { ino: Ino; offset: number; length: number; mode: number },
  ): Promise<void> {
    if (f.mode !== 0) throw err(Errno.ENOTSUP, 'fallocate');
    const n = this.node(f.ino);
    if (f.offset + f.length > n.attr.length) this.resize(n, f.offset + f.length);
  }

  async lseek(_ctx: RequestContext, s: { ino: Ino; offset: number; whence: number }): Promise<number> {
    const len = this.node(s.ino).attr.length;
    if (s.offset >= len) throw err(Errno.ENXIO, 'lseek');
    return s.whence === 3 ? s.offset : len;
  }

  async copyFileRange(
    _ctx: RequestContext,
    c: { inoIn: Ino; offsetIn: number; inoOut: Ino; offsetOut: number; length: number; fhOut: bigint },
  ): Promise<number> {
    this.count('copyFileRange');
    const src = this.node(c.inoIn).data;
    const chunk = Buffer.from(
      src.subarray(Math.min(c.offsetIn, src.length), Math.min(c.offsetIn + c.length, src.length)),
    );
    return this.write(_ctx, { ino: c.inoOut, offset: c.offsetOut, data: chunk });
  }

  // ------------------------------------------------------------------ locks

  private wake(): void {
    const w = this.waiters;
    this.waiters = new Set();
    for (const f of w) f();
  }

  /** Waits until `ready()` holds (re-checked after every lock change) or the signal aborts. */
  private async waitFor(ctx: RequestContext, ready: () => boolean): Promise<void> {
    while (!ready()) {
      await new Promise<void>((resolve, reject) => {
        const onAbort = (): void => {
          this.waiters.delete(wakeUp);
          reject(err(Errno.EINTR, 'lock wait'));
        };
        const wakeUp = (): void => {
          ctx.signal.removeEventListener('abort', onAbort);
          resolve();
        };
        if (ctx.signal.aborted) return onAbort();
        this.waiters.add(wakeUp);
        ctx.signal.addEventListener('abort', onAbort, { once: true });
      });
    }
  }

  private conflict(
    ino: Ino,
    l: { owner: bigint; type: LockType; start: bigint; end: bigint },
  ): PosixLock | undefined {
    return (this.posix.get(ino) ?? []).find(
      (o) =>
        o.owner !== l.owner &&
        o.start <= l.end &&
        l.start <= o.end &&
        (o.type === LockType.WRLCK || l.type === LockType.WRLCK),
    );
  }

  private setRange(ino: Ino, owner: bigint, type: LockType, start: bigint, end: bigint, pid: number): void {
    const out: PosixLock[] = [];
    for (const o of this.posix.get(ino) ?? []) {
      if (o.owner !== owner || o.end < start || o.start > end) out.push(o);
      else {
        if (o.start < start) out.push({ ...o, end: start - 1n });
        if (o.end > end) out.push({ ...o, start: end + 1n });
      }
    }
    if (type !== LockType.UNLCK) out.push({ owner, type, start, end, pid });
    this.posix.set(ino, out);
    this.wake();
  }

  async getlk(_ctx: RequestContext, l: LockInput): Promise<LockRange> {
    this.count('getlk');
    const c = this.conflict(l.ino, l);
    return c === undefined
      ? { type: LockType.UNLCK, start: 0n, end: 0n, pid: 0 }
      : { type: c.type, start: c.start, end: c.end, pid: c.pid };
  }

  async setlk(ctx: RequestContext, l: LockInput & { wait: boolean }): Promise<void> {
    this.count(l.wait ? 'setlkw' : 'setlk');
    if (l.type !== LockType.UNLCK) {
      if (!l.wait && this.conflict(l.ino, l) !== undefined) throw err(Errno.EAGAIN, 'setlk');
      await this.waitFor(ctx, () => this.conflict(l.ino, l) === undefined);
    }
    this.setRange(l.ino, l.owner, l.type, l.start, l.end, l.pid);
  }

  async flock(ctx: RequestContext, f: FlockInput): Promise<void> {
    this.count(f.wait ? 'flockw' : 'flock');
    const held = this.flocks.get(f.ino) ?? new Map<bigint, LockType>();
    this.flocks.set(f.ino, held);
    if (f.type === LockType.UNLCK) {
      held.delete(f.owner);
      return this.wake();
    }
    const busy = (): boolean =>
      [...held].some(([o, t]) => o !== f.owner && (t === LockType.WRLCK || f.type === LockType.WRLCK));
    if (!f.wait && busy()) throw err(Errno.EAGAIN, 'flock');
    await this.waitFor(ctx, () => !busy());
    held.set(f.owner, f.type);
    this.wake();
  }
}
