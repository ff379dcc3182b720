/**
 * FuseSession: drives one FUSE connection — read loop, INIT, dispatch, replies, interrupts,
 * forgets, notifications, shutdown.
 *
 * Design: single JS thread. The device watcher fires; `drain` reads up to 64 requests with
 * non-blocking reads. Small requests are copied out of the shared 1 MiB read buffer; big ones
 * (WRITE, SETXATTR) keep the buffer until replied, taken from a bounded pool — when the pool
 * is empty the watcher pauses (backpressure: requests wait in the kernel). Each request gets
 * an AbortController (INTERRUPT and shutdown abort it). FORGET/BATCH_FORGET are handled
 * inline. Notifications are written off-thread (deadlock rule, docs/FUSE.md §4).
 * Resume mode (opts.resume): a worker that takes over a live connection from a dead one (the
 * supervisor kept the fd) skips INIT — the kernel sends it once per mount — using the
 * capabilities its predecessor negotiated, and asks the kernel with NOTIFY_RESEND to queue
 * again every request that was read and not answered (those carry unique bit 63). Lookup
 * counts are unknown then, so every inode counts as known for notifications.
 * Invariants: every request that expects a reply gets exactly one; lookup counts are taken
 * before an entry reply is written and undone if the write fails; nothing is written after
 * the device is closed; `closed` resolves exactly once.
 */
import { constants as osConstants } from 'node:os';
import { BUFFER_HEADER_SIZE, DEFAULT_MAX_WRITE, FUSE_MIN_READ_BUFFER, Opcode, opcodeName } from './abi.js';
import { DecodeError, decodeHeader, decodeRequest } from './decode.js';
import type { FuseRequest } from './decode.js';
import type { FuseDevice } from './device.js';
import { dispatchRequest } from './dispatch.js';
import type { DispatchReply } from './dispatch.js';
import { initOut, notifyDelete, notifyInvalEntry, notifyInvalInode, notifyResend } from './encode.js';
import type { FuseOps, RequestContext } from './fuse-ops.js';
import { negotiateInit } from './init.js';
import type { Capabilities, InitOptions } from './init.js';
import type { FdWatcher } from '../native/addon.js';
import { NodeTable } from './nodes.js';
import { Errno, FsError, toFsError } from '../base/errno.js';
import type { Ino } from '../base/types.js';

const E = osConstants.errno;
/** Requests at most this big are copied out of the read buffer. */
const COPY_LIMIT = 64 * 1024;
const DRAIN_BATCH = 64;
/** Busy polling pauses this long after it kept missing. */
const SPIN_PAUSE_NS = 20_000_000n;
/** FUSE_UNIQUE_RESEND: set by the kernel on requests queued again by NOTIFY_RESEND. */
export const UNIQUE_RESEND = 1n << 63n;

export interface SessionLogger {
  warn(msg: string, err?: unknown): void;
}

export interface SessionOptions extends InitOptions {
  /** Read buffers kept for in-flight big requests (each max_write + 4 KiB). Default 16. */
  maxBigBuffers?: number;
  /** Busy-poll window after each batch of requests, in microseconds (0: off). */
  busyPollUs?: number;
  logger?: SessionLogger;
  /** Take over a connection whose INIT was answered by a previous worker (see header). */
  resume?: Capabilities;
  /** Called once with the INIT result (the supervisor keeps it for the next worker). */
  onInit?: (caps: Capabilities) => void;
}

export interface SessionStats {
  requests: number;
  errors: number;
  interrupts: number;
  forgets: number;
  /** ENOSYS replies per opcode (unknown opcodes and missing FuseOps methods). */
  enosys: Map<number, number>;
  unknownOpcodes: number;
  notifications: number;
  notifyErrors: number;
  /** Busy-poll windows started, and batches read while one was open. */
  busyPolls: number;
  busyPollHits: number;
  /** Requests the kernel sent again after NOTIFY_RESEND (unique bit 63). */
  resent: number;
}

interface InFlight {
  /** Created on first use: most requests never look at their signal. */
  ctl: AbortController | undefined;
  done: boolean;
}

function abortOf(f: InFlight): AbortController {
  return (f.ctl ??= new AbortController());
}

/** RequestContext whose AbortSignal exists only once a handler (or an interrupt) asks for it. */
class LazyContext implements RequestContext {
  constructor(
    readonly unique: bigint,
    readonly opcode: number,
    readonly uid: number,
    readonly gid: number,
    readonly pid: number,
    private readonly entry: InFlight,
  ) {}

  get signal(): AbortSignal {
    return abortOf(this.entry).signal;
  }
}

export class FuseSession {
  readonly nodes = new NodeTable();
  readonly stats: SessionStats = {
    requests: 0,
    errors: 0,
    interrupts: 0,
    forgets: 0,
    enosys: new Map(),
    unknownOpcodes: 0,
    notifications: 0,
    notifyErrors: 0,
    busyPolls: 0,
    busyPollHits: 0,
    resent: 0,
  };
  /** Resolves with the negotiated capabilities once the INIT reply is written. */
  readonly ready: Promise<Capabilities>;
  /** Resolves when the connection is over (ENODEV, abort or close()). Never rejects. */
  readonly closed: Promise<void>;
  caps: Capabilities | undefined;

  private readonly inflight = new Map<bigint, InFlight>();
  private readonly freeBig: Buffer[] = [];
  private readonly bigSize: number;
  private bigAllocated = 0;
  private readBuf: Buffer | undefined;
  private watcher: FdWatcher | undefined;
  private paused = false;
  private closing = false;
  private pendingNotifies = 0;
  private resolveReady!: (c: Capabilities) => void;
  private rejectReady!: (e: Error) => void;
  private resolveClosed!: () => void;
  private readonly logger: SessionLogger;
  private readonly spinNs: bigint;
  /** Lookup counts were lost with a previous worker: treat every inode as known. */
  private readonly resumed: boolean;

  constructor(
    private readonly device: FuseDevice,
    private readonly ops: FuseOps,
    private readonly opts: SessionOptions = {},
  ) {
    this.bigSize = Math.max(FUSE_MIN_READ_BUFFER, (opts.maxWrite ?? DEFAULT_MAX_WRITE) + BUFFER_HEADER_SIZE);
    this.spinNs = BigInt(Math.round(Math.max(0, opts.busyPollUs ?? 0) * 1000));
    this.logger = opts.logger ?? { warn: (msg, err) => console.warn(`tjfs fuse: ${msg}`, err ?? '') };
    this.ready = new Promise((res, rej) => ((this.resolveReady = res), (this.rejectReady = rej)));
    this.ready.catch(() => undefined); // observed by mount(); avoid an unhandled rejection otherwise
    this.closed = new Promise((res) => (this.resolveClosed = res));
    this.resumed = opts.resume !== undefined;
    if (opts.resume !== undefined) {
      this.caps = opts.resume;
      this.resolveReady(opts.resume);
    }
  }

  /** Starts reading requests; in resume mode, first asks the kernel to resend lost ones. */
  start(): void {
    if (this.watcher !== undefined || this.closing) return;
    this.watcher = this.device.watch(() => this.drain());
    if (this.resumed) {
      this.notify(notifyResend()).then(
        (ok) =>
          ok ||
          this.logger.warn(
            'NOTIFY_RESEND not delivered: requests in flight when the last worker died stay unanswered',
          ),
        (e: unknown) =>
          this.logger.warn(
            'NOTIFY_RESEND failed: requests in flight when the last worker died stay unanswered',
            e,
          ),
      );
    }
    this.drain();
  }

  ref(): void {
    this.watcher?.ref();
  }

  unref(): void {
    this.watcher?.unref();
  }

  get inflightCount(): number {
    return this.inflight.size;
  }

  /** Stops the session: aborts handlers, closes the device when no notification is pending. */
  close(reason = 'closed'): void {
    if (this.closing) return;
    this.closing = true;
    this.watcher?.close();
    this.watcher = undefined;
    const why = new FsError(Errno.EINTR, { op: reason });
    for (const f of this.inflight.values()) abortOf(f).abort(why);
    this.rejectReady(new Error(`FUSE session ${reason} before INIT`));
    this.nodes.clear();
    this.maybeCloseDevice();
    if (this.ops.destroy !== undefined)
      this.ops.destroy().catch((e: unknown) => this.logger.warn('destroy failed', e));
  }

  private maybeCloseDevice(): void {
    if (!this.closing || this.pendingNotifies > 0) return;
    this.device.close();
    this.resolveClosed();
  }

  // ---------------------------------------------------------------- reading

  private takeBig(): Buffer | undefined {
    const b = this.freeBig.pop();
    if (b !== undefined) return b;
    if (this.bigAllocated >= (this.opts.maxBigBuffers ?? 16)) return undefined;
    this.bigAllocated++;
    return Buffer.allocUnsafe(this.bigSize);
  }

  private releaseBig(b: Buffer): void {
    this.freeBig.push(b);
    if (this.paused && !this.closing) {
      this.paused = false;
      this.watcher?.resume();
      this.drain();
    }
  }

  private spinUntil = 0n;
  private spinning = false;
  private spinMisses = 0;
  private spinPausedUntil = 0n;

  /**
   * Busy polling (opts.busyPollUs): after a batch, keep the event loop turning (epoll with
   * a zero timeout, through setImmediate) for a few microseconds instead of going to sleep,
   * so a request that follows at once is read without a wake-up. On a VM a wake-up costs tens
   * of microseconds, and one create is four requests in a row (GETATTR of the parent, LOOKUP,
   * CREATE, FLUSH). Adaptive: after 4 windows in a row that saw no request, spinning stops
   * for 20 ms, so idle or sparse traffic costs no CPU.
   */
  private spin(): void {
    const ns = this.spinNs;
    if (ns === 0n) return;
    const now = process.hrtime.bigint();
    if (this.spinning) {
      this.stats.busyPollHits++;
      this.spinUntil = now + ns;
      return;
    }
    if (now < this.spinPausedUntil) return;
    this.stats.busyPolls++;
    this.spinning = true;
    const hitsBefore = this.stats.busyPollHits;
    this.spinUntil = now + ns;
    const tick = (): void => {
      const t = process.hrtime.bigint();
      if (!this.closing && t <= this.spinUntil) {
        setImmediate(tick);
        return;
      }
      this.spinning = false;
      if (this.stats.busyPollHits > hitsBefore) this.spinMisses = 0;
      else if (++this.spinMisses >= 4) {
        this.spinMisses = 0;
        this.spinPausedUntil = t + SPIN_PAUSE_NS;
      }
    };
    setImmediate(tick);
  }

  private drain(): void {
    this.spin();
    for (let i = 0; i < DRAIN_BATCH && !this.closing; i++) {
      const buf = this.readBuf ?? this.takeBig();
      if (buf === undefined) {
        this.paused = true;
        this.watcher?.pause();
        return;
      }
      this.readBuf = buf;
      const n = this.device.read(buf);
      if (n === -E.EAGAIN) return;
      if (n === -E.EINTR || n === -E.ENOENT) continue;
      if (n < 0) {
        if (n !== -E.ENODEV && n !== -E.ECONNABORTED)
          this.logger.warn(`read from /dev/fuse failed: errno ${-n}`);
        this.close(n === -E.ENODEV ? 'unmounted' : `read error ${-n}`);
        return;
      }
      if (n <= COPY_LIMIT) {
        this.handle(Buffer.from(buf.subarray(0, n)), undefined);
      } else {
        this.readBuf = undefined;
        this.handle(buf.subarray(0, n), () => this.releaseBig(buf));
      }
      // A request is being served: leave the next read to the poll (level-triggered, so a
      // queued request still wakes it at once). With one caller, the read that would only
      // answer EAGAIN is a system call saved per request.
      if (this.inflight.size > 0) return;
    }
  }

  // ---------------------------------------------------------------- requests

  private handle(buf: Buffer, release: (() => void) | undefined): void {
    let req: FuseRequest;
    try {
      req = decodeRequest(buf, { setxattrExt: this.caps?.setxattrExt ?? false });
    } catch (e) {
      release?.();
      this.onDecodeError(buf, e);
      return;
    }
    this.stats.requests++;
    if (req.header.unique >= UNIQUE_RESEND) this.stats.resent++;
    const a = req.args;
    switch (a.opcode) {
      case Opcode.INIT:
        release?.();
        this.handleInit(req);
        return;
      case Opcode.FORGET:
        this.forget(req.header.nodeid, a.nlookup);
        release?.();
        return;
      case Opcode.BATCH_FORGET:
        for (const f of a.forgets) this.forget(f.nodeid, f.nlookup);
        release?.();
        return;
      case Opcode.INTERRUPT:
        this.interrupt(a.target);
        release?.();
        return;
    }
    if (req.header.opcode === Opcode.NOTIFY_REPLY) {
      release?.();
      return;
    }
    if (a.opcode === 0) this.stats.unknownOpcodes++;
    this.run(req, release);
  }

  private run(req: FuseRequest, release: (() => void) | undefined): void {
    const h = req.header;
    const entry: InFlight = { ctl: undefined, done: false };
    this.inflight.set(h.unique, entry);
    const ctx = new LazyContext(h.unique, h.opcode, h.uid, h.gid, h.pid, entry);
    const finish = (): void => {
      this.inflight.delete(h.unique);
      release?.();
    };
    dispatchRequest(this.ops, req, ctx).then(
      (r) => {
        this.replyOk(h.unique, entry, r);
        r.done?.();
        finish();
      },
      (e: unknown) => {
        this.replyError(h.unique, h.opcode, entry, this.errnoOf(e, ctx, h.opcode));
        finish();
      },
    );
  }

  private errnoOf(e: unknown, ctx: RequestContext, opcode: number): number {
    if (e instanceof FsError) return e.errno;
    if (ctx.signal.aborted) return Errno.EINTR;
    const errno = (e as { errno?: unknown } | null)?.errno; // cast: duck-typed errno from other FsError copies
    if (typeof errno === 'number' && Number.isInteger(errno) && errno > 0 && errno < 1000) return errno;
    const f = toFsError(e);
    if (f.errno === Errno.EIO) this.logger.warn(`${opcodeName(opcode)} failed (EIO)`, e);
    return f.errno;
  }

  private replyOk(unique: bigint, entry: InFlight, r: DispatchReply): void {
    if (entry.done) return;
    entry.done = true;
    for (const ino of r.refs) this.nodes.ref(ino);
    const rc = this.device.reply(unique, 0, r.data);
    if (rc !== 0) {
      for (const ino of r.refs) this.nodes.unref(ino);
      this.onWriteError(rc);
    }
  }

  private replyError(unique: bigint, opcode: number, entry: InFlight, errno: number): void {
    if (entry.done) return;
    entry.done = true;
    this.stats.errors++;
    if (errno === Errno.ENOSYS) this.stats.enosys.set(opcode, (this.stats.enosys.get(opcode) ?? 0) + 1);
    const rc = this.device.reply(unique, -errno, []);
    if (rc !== 0) this.onWriteError(rc);
  }

  private onWriteError(rc: number): void {
    // ENOENT: the request was interrupted/aborted in the kernel — normal.
    if (rc === -E.ENOENT) return;
    if (rc === -E.ENODEV || rc === -E.EBADF) return this.close('unmounted');
    this.logger.warn(`reply write failed: errno ${-rc}`);
  }

  private onDecodeError(buf: Buffer, e: unknown): void {
    this.logger.warn('malformed request', e);
    if (!(e instanceof DecodeError)) throw e;
    try {
      const h = decodeHeader(buf);
      if (h.opcode !== Opcode.FORGET && h.opcode !== Opcode.BATCH_FORGET && h.opcode !== Opcode.INTERRUPT) {
        this.device.reply(h.unique, -Errno.EIO, []);
      }
    } catch {
      // Header unreadable: nothing to answer.
    }
  }

  private handleInit(req: FuseRequest): void {
    if (req.args.opcode !== Opcode.INIT) return;
    const res = negotiateInit(req.args.init, this.ops, this.opts);
    if (!res.ok) {
      if (res.reply !== undefined) {
        this.device.reply(req.header.unique, 0, [initOut(res.reply)]);
        return;
      }
      this.device.reply(req.header.unique, -E.EPROTO, []);
      this.rejectReady(new Error(res.error));
      this.close('protocol error');
      return;
    }
    const payload = initOut(res.reply);
    const rc = this.device.reply(req.header.unique, 0, [payload]);
    if (rc !== 0) {
      this.rejectReady(new Error(`INIT reply failed: errno ${-rc}`));
      this.close('INIT failed');
      return;
    }
    this.caps = res.caps;
    this.resolveReady(res.caps);
    this.opts.onInit?.(res.caps);
  }

  private forget(nodeid: bigint, nlookup: bigint): void {
    this.stats.forgets++;
    this.nodes.forget(nodeid, nlookup);
    if (this.ops.forget === undefined) return;
    try {
      this.ops.forget(nodeid, nlookup);
    } catch (e) {
      this.logger.warn('forget handler threw', e);
    }
  }

  private interrupt(target: bigint): void {
    const f = this.inflight.get(target);
    // Unknown: already answered (a single reader always sees the original first).
    if (f === undefined || f.done) return;
    this.stats.interrupts++;
    abortOf(f).abort(new FsError(Errno.EINTR, { op: 'interrupt' }));
  }

  // ---------------------------------------------------------------- notifications

  private knows(ino: Ino): boolean {
    return this.resumed || this.nodes.known(ino);
  }

  /**
   * Drops cached attributes of `ino` and, if `off >= 0`, its page cache from `off` for `len`
   * bytes (len <= 0: to EOF). Resolves false when the kernel does not know the inode.
   */
  notifyInvalInode(ino: Ino, off = -1, len = 0): Promise<boolean> {
    if (!this.knows(ino)) return Promise.resolve(false);
    return this.notify(notifyInvalInode(ino, off, len));
  }

  /** Unhashes the dentry parent/name (or only expires it, if supported and asked). */
  notifyInvalEntry(
    parent: Ino,
    name: Buffer | string,
    opts: { expireOnly?: boolean } = {},
  ): Promise<boolean> {
    if (!this.knows(parent)) return Promise.resolve(false);
    const expire = opts.expireOnly === true && this.caps?.expireOnly === true;
    return this.notify(notifyInvalEntry(parent, Buffer.from(name), expire));
  }

  /** Like notifyInvalEntry, and deletes the dentry if it points at `child` (inotify sees it). */
  notifyDelete(parent: Ino, child: Ino, name: Buffer | string): Promise<boolean> {
    if (!this.knows(parent)) return Promise.resolve(false);
    return this.notify(notifyDelete(parent, child, Buffer.from(name)));
  }

  private async notify(msg: Buffer): Promise<boolean> {
    if (this.closing || this.caps === undefined) return false;
    this.pendingNotifies++;
    try {
      const rc = await this.device.writeAsync([msg]);
      if (rc === 0) {
        this.stats.notifications++;
        return true;
      }
      if (rc === -E.ENOENT || rc === -E.ENODEV || rc === -E.EBADF) return false;
      this.stats.notifyErrors++;
      throw new FsError(-rc, { op: 'notify' });
    } finally {
      this.pendingNotifies--;
      this.maybeCloseDevice();
    }
  }
}
