/**
 * Mounter: the node plugin's system operations — bind mounts, read-only remounts, unmounts,
 * and health probes of FUSE paths — behind a small interface so tests can pass a fake.
 *
 * Design: mount/umount run as util-linux child processes (async, with a timeout), never as a
 * synchronous mount(2) on the event loop: resolving a bind source walks the FUSE mount and
 * would freeze the plugin if the daemon hung. Probes use fs.promises.stat raced against a
 * timeout (the plugin is never the FUSE daemon, so its own stat cannot deadlock it; a hung
 * daemon costs one libuv thread until it answers or dies).
 * Invariants: unmount() returns only when `path` is no longer a mount point (it peels stacked
 * binds, falling back to a lazy unmount); it is a no-op for a path that is not mounted.
 */
import { execFile } from 'node:child_process';
import { stat, statfs } from 'node:fs/promises';
import { mountAt, readMountInfo, type MountRecord } from './mount-info.js';

export interface ProbeResult {
  ok: boolean;
  /** errno code ('ENOTCONN', 'ETIMEDOUT'...) when not ok. */
  code?: string;
  ino?: number;
}

export interface VolumeUsageNumbers {
  bytes: { total: number; available: number; used: number };
  inodes: { total: number; available: number; used: number };
}

export interface Mounter {
  mounts(): Promise<MountRecord[]>;
  bind(source: string, target: string, opts: { readOnly: boolean }): Promise<void>;
  unmount(path: string): Promise<void>;
  probe(path: string, timeoutMs?: number): Promise<ProbeResult>;
  usage(path: string): Promise<VolumeUsageNumbers>;
}

function run(
  cmd: string,
  args: readonly string[],
  timeoutMs: number,
): Promise<{ ok: boolean; output: string }> {
  return new Promise((resolve) => {
    execFile(cmd, [...args], { timeout: timeoutMs, encoding: 'utf8' }, (e, stdout, stderr) => {
      resolve({ ok: e === null, output: `${stdout}${stderr}`.trim() || (e ? e.message : '') });
    });
  });
}

export async function probePath(path: string, timeoutMs = 5000): Promise<ProbeResult> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<ProbeResult>((resolve) => {
    timer = setTimeout(() => resolve({ ok: false, code: 'ETIMEDOUT' }), timeoutMs);
  });
  const probe = stat(path).then(
    (st): ProbeResult => ({ ok: true, ino: st.ino }),
    (e: unknown): ProbeResult => ({ ok: false, code: (e as NodeJS.ErrnoException).code ?? 'EIO' }),
  );
  try {
    return await Promise.race([probe, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

export class SystemMounter implements Mounter {
  constructor(private readonly timeoutMs = 30_000) {}

  mounts(): Promise<MountRecord[]> {
    return readMountInfo();
  }

  async bind(source: string, target: string, opts: { readOnly: boolean }): Promise<void> {
    const r = await run('mount', ['--bind', source, target], this.timeoutMs);
    if (!r.ok) throw new Error(`mount --bind ${source} ${target}: ${r.output}`);
    if (!opts.readOnly) return;
    const ro = await run('mount', ['-o', 'remount,bind,ro', target], this.timeoutMs);
    if (!ro.ok) {
      await this.unmount(target);
      throw new Error(`remount read-only ${target}: ${ro.output}`);
    }
  }

  async unmount(path: string): Promise<void> {
    for (let i = 0; i < 16; i++) {
      if (!mountAt(await this.mounts(), path)) return;
      const r = await run('umount', [path], this.timeoutMs);
      if (r.ok || /not mounted/.test(r.output)) continue;
      const lazy = await run('umount', ['-l', path], this.timeoutMs);
      if (!lazy.ok && !/not mounted/.test(lazy.output)) throw new Error(`umount ${path}: ${lazy.output}`);
    }
    if (mountAt(await this.mounts(), path))
      throw new Error(`umount ${path}: still mounted after 16 attempts`);
  }

  probe(path: string, timeoutMs?: number): Promise<ProbeResult> {
    return probePath(path, timeoutMs);
  }

  async usage(path: string): Promise<VolumeUsageNumbers> {
    const s = await statfs(path);
    const total = s.blocks * s.bsize;
    return {
      bytes: { total, available: s.bavail * s.bsize, used: Math.max(0, total - s.bfree * s.bsize) },
      inodes: { total: s.files, available: s.ffree, used: Math.max(0, s.files - s.ffree) },
    };
  }
}
