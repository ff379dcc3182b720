/**
 * Session/dispatcher tests over a fake device: INIT negotiation, reply-exactly-once,
 * ENOSYS for unknown opcodes and missing methods (counted), error mapping, INTERRUPT,
 * lookup counting with FORGET/BATCH_FORGET, readdirplus refs, async notifications,
 * buffer-pool backpressure and shutdown on ENODEV.
 */
import { describe, expect, it } from 'vitest';
import { constants as osConstants } from 'node:os';
import { InitFlag, InitFlag2, Opcode } from './abi.js';
import type { FuseDevice } from './device.js';
import type { FuseOps, RequestContext } from './fuse-ops.js';
import { negotiateInit } from './init.js';
import { outHeader } from './encode.js';
import type { FdWatcher } from '../native/addon.js';
import { FuseSession } from './session.js';
import { Errno, FsError } from '../base/errno.js';
import { FileType, emptyAttr } from '../base/types.js';

const E = osConstants.errno;

class FakeDevice implements FuseDevice {
  queue: Buffer[] = [];
  replies: Buffer[] = [];
  notes: Buffer[] = [];
  noteResult = 0;
  closed = false;
  paused = false;
  private wake: (() => void) | undefined;
  reads = 0;
  read(buf: Buffer): number {
    this.reads++;
    const r = this.queue.shift();
    if (r === undefined) return -E.EAGAIN;
    if (r.length === 0) return -E.ENODEV;
    r.copy(buf);
    return r.length;
  }
  reply(unique: bigint, error: number, payload: readonly Buffer[]): number {
    const len = payload.reduce((n, b) => n + b.length, 0);
    this.replies.push(Buffer.concat([outHeader(len, error, unique), ...payload]));
    return 0;
  }
  async writeAsync(bufs: Buffer[]): Promise<number> {
    this.notes.push(Buffer.concat(bufs));
    return this.noteResult;
  }
  watch(cb: () => void): FdWatcher {
    this.wake = cb;
    return {
      pause: () => void (this.paused = true),
      resume: () => void (this.paused = false),
      close: () => (this.wake = undefined),
      ref: () => undefined,
      unref: () => undefined,
    };
  }
  close(): void {
    this.closed = true;
  }
  push(...reqs: Buffer[]): void {
    this.queue.push(...reqs);
    this.poll();
  }
  /** Level-triggered, like uv_poll on /dev/fuse: wakes the reader again while requests wait. */
  private poll(): void {
    if (this.paused || this.queue.length === 0) return;
    this.wake?.();
    if (this.queue.length > 0) setImmediate(() => this.poll());
  }
  replyFor(unique: bigint): { error: number; payload: Buffer } | undefined {
    const r = this.replies.find((b) => b.readBigUInt64LE(8) === unique);
    return r && { error: r.readInt32LE(4), payload: r.subarray(16) };
  }
}

let uniq = 100n;
function req(opcode: number, nodeid: bigint, body: Buffer = Buffer.alloc(0), unique = (uniq += 2n)): Buffer {
  const b = Buffer.alloc(40 + body.length);
  b.writeUInt32LE(b.length, 0);
  b.writeUInt32LE(opcode, 4);
  b.writeBigUInt64LE(unique, 8);
  b.writeBigUInt64LE(nodeid, 16);
  body.copy(b, 40);
  return b;
}
const u64 = (...v: bigint[]): Buffer => Buffer.from(new BigUint64Array(v).buffer);
const INIT = Buffer.alloc(64);
INIT.writeUInt32LE(7, 0);
INIT.writeUInt32LE(45, 4);
INIT.writeUInt32LE(131072, 8);
INIT.writeUInt32LE(0x73fffffb, 12);
const tick = (): Promise<void> => new Promise((r) => setImmediate(r));
const attr = { ...emptyAttr(), type: FileType.File, mode: 0o644, nlink: 1 };

function setup(ops: Partial<FuseOps> = {}, maxBigBuffers?: number, busyPollUs?: number) {
  const base: FuseOps = {
    lookup: async (_c, _p, name) => {
      if (name.toString() === 'missing') throw new FsError(Errno.ENOENT);
      return { ino: 5n, attr, entryTimeout: 1, attrTimeout: 1 };
    },
    getattr: async () => ({ attr, attrTimeout: 1 }),
    ...ops,
  };
  const dev = new FakeDevice();
  const s = new FuseSession(dev, base, {
    logger: { warn: () => undefined },
    ...(maxBigBuffers === undefined ? {} : { maxBigBuffers }),
    ...(busyPollUs === undefined ? {} : { busyPollUs }),
  });
  s.start();
  dev.push(req(Opcode.INIT, 0n, INIT, 2n));
  return { dev, s };
}

describe('INIT negotiation', () => {
  it('offers what is implemented, 1 MiB writes, 256 pages', () => {
    const r = negotiateInit(
      { major: 7, minor: 45, maxReadahead: 131072, flags: 0x73fffffb, flags2: 0x5fd },
      {
        readdirplus: async () => [],
        getlk: async () => ({ type: 2, start: 0n, end: 0n, pid: 0 }),
        setlk: async () => undefined,
        flock: async () => undefined,
      },
    );
    if (!r.ok) throw new Error(r.error);
    const f = r.reply.flags;
    for (const bit of [
      InitFlag.ASYNC_READ,
      InitFlag.POSIX_LOCKS,
      InitFlag.FLOCK_LOCKS,
      InitFlag.ATOMIC_O_TRUNC,
      InitFlag.BIG_WRITES,
      InitFlag.DO_READDIRPLUS,
      InitFlag.PARALLEL_DIROPS,
      InitFlag.MAX_PAGES,
    ])
      expect(f & bit).toBe(bit);
    expect(f & (InitFlag.WRITEBACK_CACHE | InitFlag.EXPORT_SUPPORT)).toBe(0);
    expect(r.reply).toMatchObject({ major: 7, minor: 45, maxWrite: 1 << 20, maxPages: 256, timeGran: 1 });
    expect(r.caps.expireOnly).toBe(true);
  });
  it('leaves out locks/readdirplus without methods; opt-in writeback and export', () => {
    const r = negotiateInit(
      { major: 7, minor: 40, maxReadahead: 0, flags: 0x73fffffb, flags2: 0 },
      {},
      { writebackCache: true, exportSupport: true },
    );
    if (!r.ok) throw new Error(r.error);
    expect(r.reply.flags & (InitFlag.POSIX_LOCKS | InitFlag.FLOCK_LOCKS | InitFlag.DO_READDIRPLUS)).toBe(0);
    expect(r.reply.flags & (InitFlag.WRITEBACK_CACHE | InitFlag.EXPORT_SUPPORT)).toBe(
      InitFlag.WRITEBACK_CACHE | InitFlag.EXPORT_SUPPORT,
    );
    expect(r.reply.minor).toBe(40);
  });
  it('refuses kernels older than 7.28', () => {
    expect(negotiateInit({ major: 7, minor: 27, maxReadahead: 0, flags: 0, flags2: 0 }, {}).ok).toBe(false);
  });
});

describe('FuseSession over a fake device', () => {
  it('busy polls after a batch, counts requests caught meanwhile, and backs off when idle', async () => {
    const { dev, s } = setup({}, undefined, 3000);
    await s.ready;
    expect(s.stats.busyPolls).toBe(1); // start() opened a window
    const hits = s.stats.busyPollHits;
    dev.push(req(Opcode.LOOKUP, 1n, Buffer.from('a\0')));
    await tick();
    expect(s.stats.busyPollHits).toBe(hits + 1); // arrived while the loop was still polling
    // Windows that see no request make polling pause (idle costs no CPU): after a few sparse
    // requests, one arrives that opens no window.
    let pushed = 2;
    let paused = false;
    for (let i = 0; i < 20 && !paused; i++) {
      await new Promise((r) => setTimeout(r, 15));
      const before = { ...s.stats };
      dev.push(req(Opcode.GETATTR, 1n, Buffer.alloc(16)));
      pushed++;
      await tick();
      paused = s.stats.busyPolls === before.busyPolls && s.stats.busyPollHits === before.busyPollHits;
    }
    expect(paused).toBe(true);
    expect(s.stats.busyPolls).toBeGreaterThanOrEqual(4);
    expect(dev.replies.length).toBe(pushed);
    s.close();
  });

  it('leaves the next read to the poll while a request is served (no read that only finds EAGAIN)', async () => {
    let finish: () => void = () => undefined;
    const { dev, s } = setup({
      getattr: () => new Promise((r) => (finish = () => r({ attr, attrTimeout: 1 }))),
    });
    await s.ready;
    const before = dev.reads;
    dev.push(req(Opcode.GETATTR, 1n, Buffer.alloc(16)));
    expect(dev.reads).toBe(before + 1); // the request, and no second read behind it
    dev.push(req(Opcode.LOOKUP, 1n, Buffer.from('a\0')), req(Opcode.LOOKUP, 1n, Buffer.from('b\0')));
    await tick();
    await tick();
    finish();
    await tick();
    expect(dev.replies.length).toBe(4); // INIT, GETATTR and both LOOKUPs: the poll woke the reader again
    s.close();
  });

  it('does not busy poll unless asked', async () => {
    const { dev, s } = setup();
    await s.ready;
    dev.push(req(Opcode.LOOKUP, 1n, Buffer.from('a\0')));
    await tick();
    expect(s.stats).toMatchObject({ busyPolls: 0, busyPollHits: 0 });
    s.close();
  });

  it('answers INIT and resolves ready', async () => {
    const { dev, s } = setup();
    const caps = await s.ready;
    expect(caps.maxWrite).toBe(1 << 20);
    const r = dev.replyFor(2n);
    expect(r?.error).toBe(0);
    expect(r?.payload.length).toBe(64);
  });

  it('dispatches, counts lookups and forgets (FORGET + BATCH_FORGET)', async () => {
    const { dev, s } = setup();
    await s.ready;
    const a = req(Opcode.LOOKUP, 1n, Buffer.from('f\0'));
    const b = req(Opcode.LOOKUP, 1n, Buffer.from('f\0'));
    dev.push(a, b);
    await tick();
    expect(s.nodes.count(5n)).toBe(2n);
    expect(dev.replyFor(a.readBigUInt64LE(8))?.payload.readBigUInt64LE(0)).toBe(5n);
    dev.push(req(Opcode.FORGET, 5n, u64(1n)));
    expect(s.nodes.count(5n)).toBe(1n);
    dev.push(
      req(Opcode.BATCH_FORGET, 0n, Buffer.concat([Buffer.from([1, 0, 0, 0, 0, 0, 0, 0]), u64(5n, 1n)])),
    );
    expect(s.nodes.known(5n)).toBe(false);
    expect(s.stats.forgets).toBe(2);
    const miss = req(Opcode.LOOKUP, 1n, Buffer.from('missing\0'));
    dev.push(miss);
    await tick();
    expect(dev.replyFor(miss.readBigUInt64LE(8))?.error).toBe(-Errno.ENOENT);
    expect(dev.replyFor(miss.readBigUInt64LE(8))?.payload.length).toBe(0);
  });

  it('ENOSYS for unknown opcodes and missing methods, counted per opcode', async () => {
    const { dev, s } = setup();
    await s.ready;
    const ioctl = req(Opcode.IOCTL, 5n, Buffer.alloc(32));
    const mkdir = req(Opcode.MKDIR, 1n, Buffer.concat([Buffer.alloc(8), Buffer.from('d\0')]));
    dev.push(ioctl, mkdir);
    await tick();
    expect(dev.replyFor(ioctl.readBigUInt64LE(8))?.error).toBe(-Errno.ENOSYS);
    expect(dev.replyFor(mkdir.readBigUInt64LE(8))?.error).toBe(-Errno.ENOSYS);
    expect(s.stats.enosys.get(Opcode.IOCTL)).toBe(1);
    expect(s.stats.enosys.get(Opcode.MKDIR)).toBe(1);
    expect(s.stats.unknownOpcodes).toBe(1);
  });

  it('maps plain errors to EIO and errno-carrying errors to their errno', async () => {
    const { dev, s } = setup({
      unlink: async () => {
        throw new Error('boom');
      },
      rmdir: async () => {
        throw Object.assign(new Error('x'), { errno: Errno.ENOTEMPTY });
      },
    });
    await s.ready;
    const u = req(Opcode.UNLINK, 1n, Buffer.from('a\0'));
    const r = req(Opcode.RMDIR, 1n, Buffer.from('a\0'));
    dev.push(u, r);
    await tick();
    expect(dev.replyFor(u.readBigUInt64LE(8))?.error).toBe(-Errno.EIO);
    expect(dev.replyFor(r.readBigUInt64LE(8))?.error).toBe(-Errno.ENOTEMPTY);
  });

  it('INTERRUPT aborts the request signal; exactly one reply (EINTR)', async () => {
    let seen: RequestContext | undefined;
    const { dev, s } = setup({
      setlk: (ctx) =>
        new Promise((_, rej) => {
          seen = ctx;
          ctx.signal.addEventListener('abort', () => rej(new Error('aborted')));
        }),
      getlk: async () => ({ type: 2, start: 0n, end: 0n, pid: 0 }),
    });
    await s.ready;
    const lk = req(Opcode.SETLKW, 5n, Buffer.alloc(48), 500n);
    dev.push(lk);
    await tick();
    expect(s.inflightCount).toBe(1);
    expect(seen?.signal.aborted).toBe(false);
    const other = req(Opcode.GETATTR, 5n, Buffer.alloc(16));
    dev.push(other); // not blocked by the waiting lock
    await tick();
    expect(dev.replyFor(other.readBigUInt64LE(8))?.error).toBe(0);
    dev.push(req(Opcode.INTERRUPT, 0n, u64(500n), 501n));
    await tick();
    expect(dev.replies.filter((b) => b.readBigUInt64LE(8) === 500n)).toHaveLength(1);
    expect(dev.replyFor(500n)?.error).toBe(-Errno.EINTR);
    expect(dev.replyFor(501n)).toBeUndefined();
    expect(s.stats.interrupts).toBe(1);
    dev.push(req(Opcode.INTERRUPT, 0n, u64(500n), 503n)); // already answered: ignored
    await tick();
    expect(s.stats.interrupts).toBe(1);
  });

  it('readdirplus counts lookups except for . and ..', async () => {
    const e = { ino: 9n, attr, entryTimeout: 1, attrTimeout: 1 };
    const { dev, s } = setup({
      readdirplus: async () => [
        { ino: 1n, name: Buffer.from('.'), mode: 0o040000, next: 1, entry: { ...e, ino: 1n } },
        { ino: 1n, name: Buffer.from('..'), mode: 0o040000, next: 2, entry: { ...e, ino: 1n } },
        { ino: 9n, name: Buffer.from('f'), mode: 0o100000, next: 3, entry: e },
        { ino: 10n, name: Buffer.from('g'), mode: 0o100000, next: 4 },
      ],
    });
    await s.ready;
    const rd = Buffer.alloc(40);
    rd.writeUInt32LE(4096, 16);
    const r = req(Opcode.READDIRPLUS, 1n, rd);
    dev.push(r);
    await tick();
    expect(dev.replyFor(r.readBigUInt64LE(8))?.payload.length).toBe(4 * 160);
    expect(s.nodes.count(9n)).toBe(1n);
    expect(s.nodes.known(10n)).toBe(false);
  });

  it('notifications go through writeAsync; ENOENT → false; unknown inode → not sent', async () => {
    const { dev, s } = setup();
    await s.ready;
    expect(await s.notifyInvalInode(1n)).toBe(true);
    expect(dev.notes[0]?.readInt32LE(4)).toBe(2);
    dev.noteResult = -E.ENOENT;
    expect(await s.notifyInvalEntry(1n, 'x')).toBe(false);
    expect(await s.notifyDelete(77n, 78n, 'x')).toBe(false);
    expect(dev.notes).toHaveLength(2);
  });

  it('pauses reading when big buffers run out and resumes after the reply', async () => {
    const pending: Array<() => void> = [];
    const { dev, s } = setup(
      { write: (_c, w) => new Promise((res) => pending.push(() => res(w.data.length))) },
      1,
    );
    await s.ready;
    const body = (n: number): Buffer => {
      const b = Buffer.alloc(40 + n);
      b.writeUInt32LE(n, 16);
      return b;
    };
    const w1 = req(Opcode.WRITE, 5n, body(100_000));
    const w2 = req(Opcode.WRITE, 5n, body(100_000));
    dev.push(w1, w2);
    await tick();
    expect(pending).toHaveLength(1);
    expect(dev.paused).toBe(true);
    pending.shift()?.();
    await tick();
    await tick();
    expect(pending).toHaveLength(1);
    pending.shift()?.();
    await tick();
    expect(dev.replyFor(w2.readBigUInt64LE(8))?.payload.readUInt32LE(0)).toBe(100_000);
  });

  it('ENODEV closes the session and the device', async () => {
    const { dev, s } = setup();
    await s.ready;
    dev.push(Buffer.alloc(0));
    await s.closed;
    expect(dev.closed).toBe(true);
  });

  it('resume mode: no INIT, NOTIFY_RESEND first, resent requests (bit 63) answered under their unique', async () => {
    const caps = negotiateInit(
      { major: 7, minor: 45, maxReadahead: 131072, flags: 0x73fffffb, flags2: InitFlag2.HAS_RESEND },
      {},
    );
    if (!caps.ok) throw new Error(caps.error);
    expect(caps.reply.flags2 & InitFlag2.HAS_RESEND).toBe(InitFlag2.HAS_RESEND);
    expect(caps.caps.resend).toBe(true);
    const dev = new FakeDevice();
    const s = new FuseSession(
      dev,
      {
        lookup: async () => ({ ino: 5n, attr, entryTimeout: 1, attrTimeout: 1 }),
        getattr: async () => ({ attr, attrTimeout: 1 }),
      },
      { logger: { warn: () => undefined }, resume: caps.caps },
    );
    s.start();
    expect(await s.ready).toBe(caps.caps);
    await tick();
    expect(dev.notes).toHaveLength(1);
    expect(dev.notes[0]!.readInt32LE(4)).toBe(7); // FUSE_NOTIFY_RESEND, unique 0, no body
    expect(dev.notes[0]!.readBigUInt64LE(8)).toBe(0n);
    expect(dev.notes[0]!.length).toBe(16);
    const resent = (1n << 63n) | 40n;
    dev.push(req(Opcode.GETATTR, 1n, Buffer.alloc(16), resent));
    await tick();
    expect(dev.replyFor(resent)?.error).toBe(0);
    expect(s.stats.resent).toBe(1);
    // Lookup counts died with the old worker: notifications are sent for any inode.
    expect(await s.notifyInvalInode(99n)).toBe(true);
  });
});
