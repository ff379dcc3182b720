/**
 * mountFuse: mount a FuseOps file system and run its session until unmounted.
 *
 * Design (docs/FUSE.md §1): as root, open /dev/fuse (O_RDWR|O_NONBLOCK) and call
 * mount(2) through the addon with `fd=N,rootmode=40000,user_id,group_id,...` as
 * `fuse.<subtype>`; otherwise run `fusermount3` and receive the device fd over a socketpair
 * (SCM_RIGHTS). Resolves once the kernel's INIT is answered. A stale (ENOTCONN) mount point
 * is lazily unmounted first. Unmount = umount2 (or `fusermount3 -u`), then wait for ENODEV,
 * then close the fd (closing also aborts a connection that is still alive).
 * The two halves are separate for the supervisor (src/supervisor): `openMountedDevice`
 * mounts and returns the fd (the supervisor keeps it), `serveFuse` runs a session on an fd
 * it was handed — fresh, or resuming a connection whose INIT an earlier worker answered.
 * Invariants: on any failure nothing stays mounted or open; the daemon never touches its
 * own mount synchronously (mountinfo is read from /proc, not by stat-ing the mount).
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { closeSync, constants as fsConstants, openSync, statSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { resolve as resolvePath } from 'node:path';
import {
  DEFAULT_MAX_WRITE,
  MNT_DETACH,
  MS_NOATIME,
  MS_NODEV,
  MS_NOEXEC,
  MS_NOSUID,
  MS_RDONLY,
} from './abi.js';
import { FdDevice } from './device.js';
import type { FuseOps } from './fuse-ops.js';
import { loadNative } from '../native/addon.js';
import type { NativeFuse } from '../native/addon.js';
import { FuseSession } from './session.js';
import type { SessionOptions } from './session.js';

export interface MountOptions extends SessionOptions {
  mountpoint: string;
  ops: FuseOps;
  /** First column of /proc/mounts. Default 'tjfs'. */
  fsname?: string;
  /** Type shown as fuse.<subtype>. Default 'tjfs'. */
  subtype?: string;
  allowOther?: boolean;
  /** Kernel permission checks (ACCESS is then never sent). Default true. */
  defaultPermissions?: boolean;
  readOnly?: boolean;
  noexec?: boolean;
  noatime?: boolean;
  /** Default true (as libfuse). */
  nosuid?: boolean;
  nodev?: boolean;
  /** Raise /sys/class/bdi/0:N/read_ahead_kb (root only, best effort). Default 1024. */
  readAheadKb?: number;
  /** Extra raw mount data options (key or key=value). */
  extraOptions?: readonly string[];
  /** Give up if the kernel's INIT is not answered in time. Default 10 s. */
  initTimeoutMs?: number;
  /** Do not keep the event loop alive for the mount. Default false. */
  unref?: boolean;
  /** Root only: a detached `sh` that lazily unmounts if this process dies. Default true. */
  watchdog?: boolean;
}

export interface UnmountOptions {
  /** MNT_DETACH / `fusermount3 -u -z`: detach now even if busy. */
  lazy?: boolean;
  /** Wait this long for the kernel to end the connection, then close the fd. Default 5 s. */
  timeoutMs?: number;
}

export class MountedFuseSession extends FuseSession {
  /** Connection number N (/sys/fs/fuse/connections/N), or -1 if unknown. */
  connection = -1;
  /** Crash watchdog (killed on clean unmount). */
  watchdog: ChildProcess | undefined;
  private unmounted = false;

  constructor(
    device: FdDevice,
    ops: FuseOps,
    opts: SessionOptions,
    readonly mountpoint: string,
    private readonly native: NativeFuse,
    private readonly viaFusermount: boolean,
  ) {
    super(device, ops, opts);
  }

  /** Unmounts and resolves once the session is closed. EBUSY (non-lazy, files open) rejects. */
  async unmount(opts: UnmountOptions = {}): Promise<void> {
    if (!this.unmounted) {
      try {
        if (this.viaFusermount)
          await runFusermount(['-u', ...(opts.lazy === true ? ['-z'] : []), this.mountpoint]);
        else this.native.umount(this.mountpoint, opts.lazy === true ? MNT_DETACH : 0);
      } catch (e) {
        // EINVAL/ENOENT: not mounted any more (someone else unmounted it).
        const code = (e as NodeJS.ErrnoException).code; // cast: addon errors carry `code`
        if (code !== 'EINVAL' && code !== 'ENOENT') throw e;
      }
      this.unmounted = true;
      this.watchdog?.kill('SIGKILL');
      this.watchdog = undefined;
    }
    const timer = new Promise<'timeout'>((res) => setTimeout(res, opts.timeoutMs ?? 5000, 'timeout').unref());
    if ((await Promise.race([this.closed, timer])) === 'timeout') this.close('unmount timeout');
    await this.closed;
  }
}

function buildData(o: Omit<MountOptions, 'ops'>, fd: number | undefined): string {
  const parts: string[] = [];
  if (fd !== undefined) {
    parts.push(
      `fd=${fd}`,
      'rootmode=40000',
      `user_id=${process.getuid?.() ?? 0}`,
      `group_id=${process.getgid?.() ?? 0}`,
    );
  }
  if (o.defaultPermissions !== false) parts.push('default_permissions');
  if (o.allowOther === true) parts.push('allow_other');
  parts.push(`max_read=${o.maxWrite ?? DEFAULT_MAX_WRITE}`);
  parts.push(...(o.extraOptions ?? []));
  return parts.join(',');
}

function mountFlags(o: Omit<MountOptions, 'ops'>): number {
  let f = 0;
  if (o.nosuid !== false) f |= MS_NOSUID;
  if (o.nodev !== false) f |= MS_NODEV;
  if (o.readOnly === true) f |= MS_RDONLY;
  if (o.noexec === true) f |= MS_NOEXEC;
  if (o.noatime === true) f |= MS_NOATIME;
  return f;
}

function runFusermount(args: string[], stdio3?: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const env = stdio3 === undefined ? process.env : { ...process.env, _FUSE_COMMFD: '3' };
    const child = spawn('fusermount3', args, {
      stdio: ['ignore', 'ignore', 'pipe', ...(stdio3 === undefined ? [] : [stdio3])],
      env,
    });
    let err = '';
    child.stderr?.on('data', (d: Buffer) => (err += d.toString()));
    child.on('error', reject);
    child.on('close', (code) =>
      code === 0
        ? resolve()
        : reject(new Error(`fusermount3 ${args.join(' ')} failed (${code}): ${err.trim()}`)),
    );
  });
}

async function openViaFusermount(
  native: NativeFuse,
  o: Omit<MountOptions, 'ops'>,
  mnt: string,
): Promise<number> {
  const [mine, theirs] = native.socketpair();
  try {
    const opts = [`fsname=${o.fsname ?? 'tjfs'}`, `subtype=${o.subtype ?? 'tjfs'}`, buildData(o, undefined)];
    if (o.readOnly === true) opts.push('ro');
    if (o.noexec === true) opts.push('noexec');
    const run = runFusermount(['-o', opts.join(','), '--', mnt], theirs);
    closeSync(theirs);
    await run;
    return native.recvFd(mine);
  } finally {
    closeSync(mine);
  }
}

/** Clears a dead mount left by a crashed daemon (stat fails with ENOTCONN). */
function clearStaleMount(native: NativeFuse, mnt: string): void {
  try {
    statSync(mnt);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOTCONN') native.umount(mnt, MNT_DETACH); // cast: fs errors carry `code`
  }
}

/**
 * Spawns a detached shell that waits for EOF on its stdin (our end closes when this process
 * dies, however it dies) and then lazily unmounts the mount point (docs/FUSE.md §1.3).
 */
export function startWatchdog(mnt: string): ChildProcess {
  const child = spawn('/bin/sh', ['-c', 'cat >/dev/null; exec umount -l "$0" 2>/dev/null', mnt], {
    stdio: ['pipe', 'ignore', 'ignore'],
    detached: true,
  });
  child.on('error', () => undefined);
  child.unref();
  child.stdin?.on('error', () => undefined);
  // cast: the stdin pipe is a net.Socket at runtime; unref so it does not keep the loop alive.
  (child.stdin as unknown as { unref?: () => void } | null)?.unref?.();
  return child;
}

/** Connection number from /proc/self/mountinfo (field 3 is "0:N"); -1 if not found. */
export async function fuseConnection(mountpoint: string): Promise<number> {
  const info = await readFile('/proc/self/mountinfo', 'utf8');
  let conn = -1;
  for (const line of info.split('\n')) {
    const f = line.split(' ');
    if (f[4] === mountpoint && /^fuse/.test(line.split(' - ')[1] ?? ''))
      conn = Number((f[2] ?? '').split(':')[1] ?? -1);
  }
  return conn;
}

/** A mounted /dev/fuse connection whose INIT is still queued (or answered, when resumed). */
export interface MountedDevice {
  fd: number;
  mountpoint: string;
  viaFusermount: boolean;
}

/** Mounts and returns the device fd; the caller owns it (close it to abort the connection). */
export async function openMountedDevice(o: Omit<MountOptions, 'ops'>): Promise<MountedDevice> {
  const native = loadNative();
  const mnt = resolvePath(o.mountpoint);
  const root = process.getuid?.() === 0;
  clearStaleMount(native, mnt);
  if (!root) return { fd: await openViaFusermount(native, o, mnt), mountpoint: mnt, viaFusermount: true };
  const fd = openSync('/dev/fuse', fsConstants.O_RDWR | fsConstants.O_NONBLOCK);
  try {
    native.mount(o.fsname ?? 'tjfs', mnt, `fuse.${o.subtype ?? 'tjfs'}`, mountFlags(o), buildData(o, fd));
  } catch (e) {
    closeSync(fd);
    throw e;
  }
  return { fd, mountpoint: mnt, viaFusermount: false };
}

/** Raises the mount's readahead window (root only, best effort); returns the connection. */
export async function tuneConnection(mnt: string, readAheadKb = 1024): Promise<number> {
  const conn = await fuseConnection(mnt).catch(() => -1);
  if (process.getuid?.() === 0 && conn >= 0) {
    await writeFile(`/sys/class/bdi/0:${conn}/read_ahead_kb`, `${readAheadKb}\n`).catch(() => undefined);
  }
  return conn;
}

/**
 * Runs a session on a mounted device: waits for INIT (unless `o.resume` carries the
 * capabilities negotiated earlier on this connection). On failure the mount is detached.
 */
export async function serveFuse(dev: MountedDevice, o: MountOptions): Promise<MountedFuseSession> {
  const native = loadNative();
  const session = new MountedFuseSession(
    new FdDevice(dev.fd, native),
    o.ops,
    o,
    dev.mountpoint,
    native,
    dev.viaFusermount,
  );
  session.start();
  if (o.unref === true) session.unref();
  let timer: NodeJS.Timeout | undefined;
  try {
    const timeout = new Promise<never>((_, rej) => {
      timer = setTimeout(
        () => rej(new Error(`FUSE INIT not received within ${o.initTimeoutMs ?? 10000} ms`)),
        o.initTimeoutMs ?? 10000,
      );
    });
    await Promise.race([session.ready, timeout]);
  } catch (e) {
    await session.unmount({ lazy: true, timeoutMs: 1000 }).catch(() => undefined);
    throw e;
  } finally {
    clearTimeout(timer);
  }
  return session;
}

export async function mountFuse(o: MountOptions): Promise<MountedFuseSession> {
  const dev = await openMountedDevice(o);
  const session = await serveFuse(dev, o);
  if (!dev.viaFusermount && o.watchdog !== false) session.watchdog = startWatchdog(dev.mountpoint);
  session.connection = await tuneConnection(dev.mountpoint, o.readAheadKb);
  return session;
}
