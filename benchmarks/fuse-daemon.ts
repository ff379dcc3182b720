/**
 * A tjfs mount daemon for benchmarks: `node [--cpu-prof] dist/src/cli/bin.js mount ...` in
 * the foreground as a child with an IPC channel (the mount command reports 'ready' on it),
 * plus a summary of the `.cpuprofile` it writes on exit.
 * Invariants: `stop()` always leaves nothing mounted and no daemon running — SIGTERM (the
 * daemon flushes and unmounts), then a lazy unmount and SIGKILL if it does not exit in
 * time; a process 'exit' hook does the same for daemons a crashed run forgot.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { daemonEnv } from '../src/supervisor/daemon-env.js';
import { loadNative } from '../src/native/addon.js';
import { waitExit } from '../test/helpers/proc.js';

const MNT_DETACH = 2;
const BIN = join(dirname(fileURLToPath(import.meta.url)), '../src/cli/bin.js');
const live = new Map<ChildProcess, string>();
let hooked = false;

export interface DaemonOptions {
  metaUrl: string;
  mountpoint: string;
  cacheDir: string;
  logFile: string;
  /** Write a V8 CPU profile of the daemon into this directory. */
  cpuProfDir?: string;
  extraArgs?: string[];
  readyTimeoutMs?: number;
}

export interface Daemon {
  pid: number;
  mountpoint: string;
  stop(): Promise<void>;
}

export function isMounted(mp: string): boolean {
  return readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .some((l) => l.split(' ')[4] === mp);
}

/** Detaches `mp` (MNT_DETACH) if it is mounted; errors mean it is gone or not ours. */
export function lazyUmount(mp: string): void {
  try {
    if (isMounted(mp)) loadNative().umount(mp, MNT_DETACH);
  } catch {
    // gone already, or not ours to unmount
  }
}

function hookExit(): void {
  if (hooked) return;
  hooked = true;
  process.once('exit', () => {
    for (const [child, mp] of live) {
      lazyUmount(mp);
      child.kill('SIGKILL');
    }
  });
}

export async function startDaemon(o: DaemonOptions): Promise<Daemon> {
  hookExit();
  const fd = openSync(o.logFile, 'a');
  const prof = o.cpuProfDir !== undefined ? ['--cpu-prof', '--cpu-prof-dir', o.cpuProfDir] : [];
  const args = [
    ...prof,
    BIN,
    'mount',
    o.metaUrl,
    o.mountpoint,
    '--cache-dir',
    o.cacheDir,
    '--log',
    o.logFile,
    ...(o.extraArgs ?? []),
  ];
  const child = spawn(process.execPath, args, {
    stdio: ['ignore', fd, fd, 'ipc'],
    env: daemonEnv(process.env),
  });
  closeSync(fd);
  live.set(child, o.mountpoint);
  const stop = async (): Promise<void> => {
    if (!(await waitExit(child, 0))) {
      child.kill('SIGTERM');
      if (!(await waitExit(child, 20_000))) {
        lazyUmount(o.mountpoint);
        child.kill('SIGKILL');
        await waitExit(child, 5000);
      }
    }
    lazyUmount(o.mountpoint);
    live.delete(child);
  };
  try {
    await new Promise<void>((resolve, reject) => {
      const t = setTimeout(
        () => reject(new Error(`mount not ready after ${o.readyTimeoutMs ?? 30_000} ms (see ${o.logFile})`)),
        o.readyTimeoutMs ?? 30_000,
      );
      child.once('message', (m: unknown) => {
        clearTimeout(t);
        if (m === 'ready') resolve();
        else reject(new Error(`mount failed: ${String(m)} (see ${o.logFile})`));
      });
      child.once('exit', (code, sig) => {
        clearTimeout(t);
        reject(new Error(`mount daemon exited (${code ?? sig}) (see ${o.logFile})`));
      });
    });
  } catch (e) {
    await stop();
    throw e;
  }
  child.removeAllListeners('message');
  child.removeAllListeners('exit');
  if (child.connected) child.disconnect();
  return { pid: child.pid ?? -1, mountpoint: o.mountpoint, stop };
}

export interface HotSpot {
  fn: string;
  where: string;
  selfMs: number;
  selfPercent: number;
}

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
}

/** Top self-time functions of every `.cpuprofile` in `dir` (merged). */
export async function summarizeProfiles(dir: string, top = 20): Promise<HotSpot[]> {
  const self = new Map<string, { fn: string; where: string; us: number }>();
  let totalUs = 0;
  for (const f of (await readdir(dir)).filter((n) => n.endsWith('.cpuprofile'))) {
    const p = JSON.parse(await readFile(join(dir, f), 'utf8')) as {
      nodes: ProfileNode[];
      samples: number[];
      timeDeltas: number[];
    };
    const byId = new Map(p.nodes.map((n) => [n.id, n]));
    p.samples.forEach((id, i) => {
      const n = byId.get(id);
      const dt = p.timeDeltas[i] ?? 0;
      if (n === undefined) return;
      const where =
        n.callFrame.url === ''
          ? '(native)'
          : `${n.callFrame.url.replace(/^.*\/(dist|node_modules)\//, '$1/')}:${n.callFrame.lineNumber + 1}`;
      const key = `${n.callFrame.functionName}@${where}`;
      const e = self.get(key) ?? { fn: n.callFrame.functionName || '(anonymous)', where, us: 0 };
      e.us += dt;
      self.set(key, e);
      totalUs += dt;
    });
  }
  return [...self.values()]
    .sort((a, b) => b.us - a.us)
    .slice(0, top)
    .map((e) => ({
      fn: e.fn,
      where: e.where,
      selfMs: Math.round(e.us / 1000),
      selfPercent: Math.round((e.us * 1000) / Math.max(totalUs, 1)) / 10,
    }));
}
