/**
 * FuseDevice: the transport under a session — /dev/fuse in production, a fake in tests.
 *
 * Design (docs/FUSE.md §7.2 "poll"): the fd is O_NONBLOCK; the addon's uv_poll tells
 * the JS thread when it is readable; the session drains with non-blocking reads. A reply is
 * one synchronous writev whose header the addon builds (replies never block on kernel locks);
 * notifications go through the libuv threadpool (`fs.writev`) because they can block on
 * locks held by requests we have yet to answer.
 * Invariants: errors are returned as −errno, never thrown, except programming errors; no
 * write happens after `close()` (a closed fd number could be reused by anything).
 */
import { closeSync, writev } from 'node:fs';
import { constants as osConstants } from 'node:os';
import type { FdWatcher, NativeFuse } from '../native/addon.js';

export interface FuseDevice {
  /** One request into `buf`: its length, or −errno (−EAGAIN when nothing is queued). */
  read(buf: Buffer): number;
  /** One reply: out header for `unique`/`error` then `payload`, in a single write; 0 or −errno. */
  reply(unique: bigint, error: number, payload: readonly Buffer[]): number;
  /** A notification, off the JS thread: resolves 0 or −errno. */
  writeAsync(bufs: Buffer[]): Promise<number>;
  watch(onReadable: () => void): FdWatcher;
  close(): void;
}

const errnos = osConstants.errno as Record<string, number>;
/** Payload buffers the addon's writeReply takes in one call. */
const MAX_REPLY_BUFFERS = 63;

/** −errno of a Node system error (EIO if unknown). */
export function negErrno(e: unknown): number {
  const code = (e as NodeJS.ErrnoException | undefined)?.code; // cast: Node fs errors carry `code`
  const n = typeof code === 'string' ? errnos[code] : undefined;
  return -(n ?? osConstants.errno.EIO);
}

export class FdDevice implements FuseDevice {
  private closed = false;

  constructor(
    readonly fd: number,
    private readonly native: NativeFuse,
  ) {}

  read(buf: Buffer): number {
    if (this.closed) return -osConstants.errno.EBADF;
    return this.native.readNonBlocking(this.fd, buf);
  }

  reply(unique: bigint, error: number, payload: readonly Buffer[]): number {
    if (this.closed) return -osConstants.errno.EBADF;
    // The addon builds the header and writes everything with one writev (no header Buffer,
    // no fs.writevSync argument checks): replies are the hottest write of the daemon.
    return this.native.writeReply(
      this.fd,
      unique,
      error,
      payload.length <= MAX_REPLY_BUFFERS ? payload : [Buffer.concat(payload)],
    );
  }

  writeAsync(bufs: Buffer[]): Promise<number> {
    if (this.closed) return Promise.resolve(-osConstants.errno.EBADF);
    return new Promise((resolve) =>
      writev(this.fd, bufs, (err) => resolve(err === null ? 0 : negErrno(err))),
    );
  }

  watch(onReadable: () => void): FdWatcher {
    return this.native.watch(this.fd, () => onReadable());
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    closeSync(this.fd);
  }
}
