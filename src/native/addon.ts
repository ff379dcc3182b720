/**
 * Loader and typed surface of the native addon (native/tjfs_fuse.c).
 *
 * Design: the addon is loaded lazily with createRequire from native/build/Release under the
 * package root (package-root.ts: works from src/ under vitest and from dist/src/ after tsc).
 * A missing build yields a clear error only when a mount is attempted.
 * Invariants: the addon is loaded at most once; no other module touches `require`.
 */
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { packageRoot } from './package-root.js';

export interface FdWatcher {
  pause(): void;
  resume(): void;
  /** Stops polling for good; the callback is never called afterwards. Idempotent. */
  close(): void;
  ref(): void;
  unref(): void;
}

/** An io_uring for positioned reads (`ring`); completions call its `onDone` on the JS thread. */
export interface NativeRing {
  /** Submits pread(fd, buf, pos): the slot `onDone` will name, or −errno (−EAGAIN: all slots busy). */
  read(fd: number, buf: Buffer, pos: number): number;
  /** Submits open(path) + reads into `buf` from `pos` until it is full or the file ends + close: a slot, or −errno. */
  readFile(path: string, buf: Buffer, pos: number): number;
  /** No more reads; reads in flight still complete (without calling back). Idempotent. */
  close(): void;
}

export interface NativeFuse {
  /** mount(2). Throws Error{code, errno, syscall}. */
  mount(source: string, target: string, fstype: string, flags: number, data: string): void;
  /** umount2(2): flags MNT_FORCE 1 / MNT_DETACH 2 / UMOUNT_NOFOLLOW 8. */
  umount(target: string, flags: number): void;
  /** uv_poll(UV_READABLE) on `fd`; `cb(status, events)` runs on the JS thread. */
  watch(fd: number, cb: (status: number, events: number) => void): FdWatcher;
  /**
   * An io_uring of `entries` slots (no SQPOLL) for positioned reads; `onDone(slot, bytes,
   * error)` runs on the JS thread. Throws Error{code} where io_uring is unavailable.
   */
  ring(entries: number, onDone: (slot: number, bytes: number, error: Error | undefined) => void): NativeRing;
  /** read(2) into `buf`: bytes read, or −errno (never throws for I/O errors). */
  readNonBlocking(fd: number, buf: Buffer): number;
  /**
   * preadv2(RWF_NOWAIT) on the JS thread: the bytes the page cache holds at `pos` (maybe
   * fewer than asked), or −EAGAIN when reading would wait for the disk; −EOPNOTSUPP or
   * −ENOSYS where the kernel or file system cannot.
   */
  preadNoWait(fd: number, buf: Buffer, pos: number): number;
  /** One reply: the out header (built natively) and at most 63 payload buffers in one writev; 0 or −errno. */
  writeReply(fd: number, unique: bigint, error: number, payload: readonly Buffer[]): number;
  /** mallopt: allocations up to `bytes` from the heap, freed memory kept for reuse (glibc). */
  keepHeap(bytes: number): boolean;
  /**
   * Writes `parts` (at most 8) to `tmp` and renames it to `path`: one thread-pool job.
   * `direct`: a first part aligned to 4 KiB (address and length) is written with O_DIRECT.
   */
  writeFileAtomic(
    tmp: string,
    path: string,
    parts: Buffer[],
    mode: number,
    direct?: boolean,
    checksumPiece?: number,
  ): Promise<void>;
  /**
   * Reads the whole file at `path` as one thread-pool job: its first `head.length` bytes into
   * `head` (the count is returned), the rest into a new Buffer. Rejects with Error{code, syscall, path}.
   * With `checksumPiece`, the third element says whether the rest is exactly the big-endian
   * CRC32C of each `checksumPiece` bytes of the head (checked in the job).
   */
  readFileSplit(path: string, head: Buffer, checksumPiece?: number): Promise<[number, Buffer, boolean]>;
  /** Reads into `buf` from `off` until it is full or the file ends (the count is returned): one job. */
  readFileRange(path: string, buf: Buffer, off: number): Promise<[number, Buffer]>;
  /** Bytes from `buf`'s start to the next multiple of `align` (a power of two). */
  alignPad(buf: Buffer, align: number): number;
  /** Big-endian CRC32C of each `piece` bytes of `data` into `out` (4 bytes per piece). */
  crc32cPieces(data: Buffer, piece: number, out: Buffer): void;
  /** AF_UNIX socketpair; [0] is close-on-exec, [1] is inheritable. */
  socketpair(): [number, number];
  /** Receives one SCM_RIGHTS descriptor (returned O_NONBLOCK, close-on-exec). */
  recvFd(socketFd: number): number;
  /** Sends `fd` as SCM_RIGHTS (with one data byte) over a connected unix socket. */
  sendFd(socketFd: number, fd: number): void;
  /** Live upgrade: connects to a unix socket, receives one fd (SCM_RIGHTS) and the bytes after it until EOF. Blocking. */
  recvFdFrom(path: string, timeoutMs: number): { fd: number; data: Buffer };
}

let cached: NativeFuse | undefined;
let loadError: Error | undefined;

/** The addon when it was built, else undefined (callers with a JavaScript fallback). */
export function optionalNative(): NativeFuse | undefined {
  try {
    return loadNative();
  } catch {
    return undefined;
  }
}

/** The addon, or throws a descriptive error if it was not built (`npm run build:native`). */
export function loadNative(): NativeFuse {
  if (cached !== undefined) return cached;
  if (loadError !== undefined) throw loadError;
  try {
    const root = packageRoot();
    const require = createRequire(import.meta.url);
    // cast: the addon's exports are declared by NativeFuse above (native/tjfs_fuse.c init()).
    cached = require(join(root, 'native', 'build', 'Release', 'tjfs_fuse.node')) as NativeFuse;
    return cached;
  } catch (e) {
    loadError = new Error(
      'tjfs: native FUSE addon not available; run `npm run build:native` (needs python3, make, a C compiler)',
      { cause: e },
    );
    throw loadError;
  }
}
