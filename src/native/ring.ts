/**
 * Positioned reads through the addon's io_uring (native/tjfs_fuse.c `ring`).
 *
 * Design: one ring per thread, made at the first read. A read is submitted on the JS thread
 * and its completion comes back through an eventfd the event loop watches: one wake-up of
 * the JS thread per read, where a thread-pool read costs a wake-up of a pool thread and then
 * one of the JS thread. On this machine kind that took a Node loop of random 4 KiB reads of
 * a dropped-cache file from 13-18k to 43-65k per second. No SQPOLL: nothing spins on a CPU.
 *
 * Invariants: `ringRead` answers undefined (the caller reads through the thread pool) when
 * the ring cannot be made (no addon, a kernel without io_uring, `io_uring_disabled`, a
 * seccomp profile that refuses it, TJFS_IO_URING=0) or when every slot is in flight; the
 * promise settles with what read(2) would have returned, or rejects with its error.
 */
import { optionalNative, type NativeRing } from './addon.js';

/** Reads in flight at most; more wait on the thread pool instead. */
const ENTRIES = 256;

type Waiter = { ok: (n: number) => void; fail: (e: Error) => void };

let ring: NativeRing | undefined;
let unavailable = process.env['TJFS_IO_URING'] === '0';
const waiters: (Waiter | undefined)[] = [];

function onDone(slot: number, n: number, error: Error | undefined): void {
  const w = waiters[slot];
  waiters[slot] = undefined;
  if (w === undefined) return;
  if (error !== undefined) w.fail(error);
  else w.ok(n);
}

function open(): NativeRing | undefined {
  if (unavailable) return undefined;
  const native = optionalNative();
  try {
    if (native !== undefined) ring = native.ring(ENTRIES, onDone);
  } catch {
    // ENOSYS, EPERM (seccomp, io_uring_disabled), ENOMEM (locked-memory limit): the pool reads.
  }
  if (ring === undefined) unavailable = true;
  return ring;
}

/** Whether reads go through the ring (it is made on the first call). */
export function ringAvailable(): boolean {
  return (ring ?? open()) !== undefined;
}

/** pread(fd, buf, pos) through the ring, or undefined when the caller must use the pool. */
export function ringRead(fd: number, buf: Buffer, pos: number): Promise<number> | undefined {
  return start((r) => r.read(fd, buf, pos));
}

/**
 * The bytes of the file at `path` from `pos` into `buf` until it is full or the file ends
 * (open, reads, close: one submission each, no thread hop), or undefined (use the pool).
 * Errors carry `path` and the failing syscall, as Node's do.
 */
export function ringReadFile(path: string, buf: Buffer, pos: number): Promise<number> | undefined {
  return start((r) => r.readFile(path, buf, pos));
}

function start(submit: (r: NativeRing) => number): Promise<number> | undefined {
  const r = ring ?? open();
  if (r === undefined) return undefined;
  const slot = submit(r);
  if (slot < 0) return undefined; // all slots busy, or the kernel short of memory: the pool takes it
  // Completions arrive only from the event loop, so registering the waiter after submitting is safe.
  return new Promise<number>((ok, fail) => (waiters[slot] = { ok, fail }));
}
