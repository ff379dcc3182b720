/**
 * Starts one supervised `tjfs mount` daemon for a shared mount and waits until it reports the
 * mount ready over IPC. The process started is the mount's supervisor: it holds the FUSE
 * connection and runs the worker, which it replaces on a crash without unmounting.
 *
 * Design: the daemon runs `bin.js csi-mount MOUNTPOINT FLAGS` (a hidden command that takes the
 * meta URL from the TJFS_CSI_META environment variable and runs `tjfs mount` in the
 * foreground), so the URL with its password never appears in a command line visible in `ps`.
 * It is started detached (its own process group) with IPC only until ready, then unref'd: the
 * FUSE daemon outlives a restart of the plugin, which finds it again from its state file.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, openSync, closeSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { packageRoot } from '../native/package-root.js';
import { daemonEnv } from '../supervisor/daemon-env.js';
import { SUPERVISOR_ENV } from '../supervisor/protocol.js';

export interface LaunchRequest {
  metaUrl: string;
  mountPoint: string;
  args: readonly string[];
  logFile: string;
}

export interface LaunchedDaemon {
  pid: number;
  /** Resolves when the daemon process exits (only observable for daemons started by this process). */
  exited: Promise<number | null>;
}

export type DaemonLauncher = (req: LaunchRequest) => Promise<LaunchedDaemon>;

export const META_ENV = 'TJFS_CSI_META';

export function cliBinPath(): string {
  return join(packageRoot(), 'dist', 'src', 'cli', 'bin.js');
}

/** True if `pid` is alive and is a tjfs daemon serving `mountPoint` (guards against pid reuse). */
export function isOurDaemon(pid: number, mountPoint: string): boolean {
  if (pid <= 0) return false;
  try {
    const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    return cmd.includes('csi-mount') && cmd.includes(mountPoint);
  } catch {
    return false;
  }
}

export function createDaemonLauncher(
  env: Readonly<Record<string, string | undefined>>,
  readyTimeoutMs = 60_000,
): DaemonLauncher {
  return (req) => {
    mkdirSync(dirname(req.logFile), { recursive: true, mode: 0o700 });
    const fd = openSync(req.logFile, 'a', 0o600);
    const childEnv: Record<string, string> = {};
    for (const [k, v] of Object.entries(env)) if (v !== undefined && k !== META_ENV) childEnv[k] = v;
    childEnv[META_ENV] = req.metaUrl;
    // Supervised as `tjfs mount -d` is (src/supervisor): the process started here owns the
    // FUSE connection and replaces a worker that dies, so pods never see ENOTCONN for that.
    childEnv['TJFS_DAEMON'] = '1';
    childEnv[SUPERVISOR_ENV] = '1';
    const child = spawn(
      process.execPath,
      [cliBinPath(), 'csi-mount', req.mountPoint, ...req.args, '--log', req.logFile],
      {
        detached: true,
        stdio: ['ignore', fd, fd, 'ipc'],
        env: daemonEnv(childEnv),
      },
    );
    closeSync(fd);
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    return new Promise<LaunchedDaemon>((resolve, reject) => {
      const timer = setTimeout(
        () => finish(new Error(`mount daemon not ready after ${readyTimeoutMs} ms (see ${req.logFile})`)),
        readyTimeoutMs,
      );
      let done = false;
      const finish = (e?: Error): void => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        child.removeAllListeners('message');
        if (child.connected) child.disconnect();
        child.unref();
        if (e) {
          if (child.exitCode === null) child.kill('SIGKILL');
          reject(e);
        } else resolve({ pid: child.pid ?? -1, exited });
      };
      child.on('message', (m: unknown) => {
        if (m === 'ready') finish();
        else finish(new Error(`mount failed: ${String(m)} (see ${req.logFile})`));
      });
      void exited.then((code) =>
        finish(new Error(`mount daemon exited with code ${code} (see ${req.logFile})`)),
      );
      child.once('error', (e) => finish(e));
    });
  };
}
