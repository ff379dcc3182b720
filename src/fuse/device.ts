/**
 * FuseDevice: the transport under a session — /dev/fuse in production, a fake in tests.
 *
 * Design (spec/fuse-protocol.md §7.2 "poll"): the fd is O_NONBLOCK; the addon's uv_poll tells
 * the JS thread when it is readable; the session drains with non-blocking reads. Replies are
 * synchronous writev (never block on kernel locks); notifications go through the libuv
 * threadpool (`fs.writev`) because they can block on locks held by requests we have yet to
 * answer.
 * Invariants: errors are returned as −errno, never thrown, except programming errors; no
 * write happens after `close()` (a closed fd number could be reused by anything).
 */
import { closeSync, writev, writevSync } from 'node:fs';
import { constants as osConstants } from 'node:os';
import type { FdWatcher, NativeFuse } from './native.js';

export interface FuseDevice {
  /** One request into `buf`: its length, or −errno (−EAGAIN when nothing is queued). */
  read(buf: Buffer): number;
  /** One reply (single writev): 0 or −errno. */
  write(bufs: Buffer[]): number;
  /** A notification, off the JS thread: resolves 0 or −errno. */
  writeAsync(bufs: Buffer[]): Promise<number>;
  watch(onReadable: () => void): FdWatcher;
  close(): void;
}

const errnos = osConstants.errno as Record<string, number>;

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

  write(bufs: Buffer[]): number {
    if (this.closed) return -osConstants.errno.EBADF;
    try {
      writevSync(this.fd, bufs);
      return 0;
    } catch (e) {
      return negErrno(e);
    }
  }

  writeAsync(bufs: Buffer[]): Promise<number> {
    if (this.closed) return Promise.resolve(-osConstants.errno.EBADF);
    return new Promise((resolve) => writev(this.fd, bufs, (err) => resolve(err === null ? 0 : negErrno(err))));
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
