/**
 * Helpers for real-mount FUSE tests: mount a MemOps in this process, drive it from child
 * processes (never from this thread: a synchronous access to our own mount deadlocks), and
 * always clean up (unmount, lazy fallback, close, remove the mount point).
 * Invariants: children are spawned asynchronously and killed on timeout; `cleanup` never throws.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MNT_DETACH } from '../../src/fuse/abi.js';
import { loadNative } from '../../src/native/addon.js';
import { mountFuse } from '../../src/fuse/mount.js';
import type { MountOptions, MountedFuseSession } from '../../src/fuse/mount.js';
import { MemOps } from './mem-ops.js';

export const PYTHON = '/usr/bin/python3';

export interface Mounted {
  fs: MemOps;
  session: MountedFuseSession;
  mnt: string;
}

export function fuseAvailable(): boolean {
  try {
    loadNative();
    return process.getuid?.() === 0 && readFileSync('/proc/filesystems', 'utf8').includes('fuse');
  } catch {
    return false;
  }
}

export async function mountMem(opts: Partial<MountOptions> = {}): Promise<Mounted> {
  const mnt = mkdtempSync(join(tmpdir(), 'tjfs-fuse-'));
  const fs = new MemOps();
  try {
    const session = await mountFuse({
      mountpoint: mnt,
      ops: fs,
      fsname: 'tjfs-test',
      logger: { warn: () => undefined },
      ...opts,
    });
    return { fs, session, mnt };
  } catch (e) {
    rmdirSync(mnt);
    throw e;
  }
}

export function isMounted(mnt: string): boolean {
  return readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .some((l) => l.split(' ')[4] === mnt);
}

export async function cleanup(m: Mounted | undefined): Promise<void> {
  if (m === undefined) return;
  try {
    await m.session.unmount({ timeoutMs: 3000 });
  } catch {
    try {
      loadNative().umount(m.mnt, MNT_DETACH);
    } catch {
      // already gone
    }
    m.session.close('test cleanup');
  }
  await m.session.closed;
  try {
    rmdirSync(m.mnt);
  } catch {
    // still busy or already removed: leave it, the mount itself is gone
  }
}

export interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface Child {
  pid: number;
  done: Promise<RunResult>;
  kill(sig?: NodeJS.Signals): void;
  /** Resolves when the child printed `marker` on stdout. */
  waitFor(marker: string): Promise<void>;
}

/** Starts `python3 -c script args...` (asynchronously). */
export function startPy(script: string, args: string[] = [], timeoutMs = 30_000): Child {
  const child = spawn(PYTHON, ['-c', script, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  const markers: Array<{ m: string; res: () => void }> = [];
  child.stdout.on('data', (d: Buffer) => {
    stdout += d.toString();
    for (const w of markers.filter((x) => stdout.includes(x.m))) w.res();
  });
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  const done = new Promise<RunResult>((resolve) =>
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    }),
  );
  return {
    pid: child.pid ?? -1,
    done,
    kill: (sig = 'SIGKILL') => void child.kill(sig),
    waitFor: (m) => (stdout.includes(m) ? Promise.resolve() : new Promise((res) => markers.push({ m, res }))),
  };
}

/** Runs a python script to completion; throws with its stderr if it fails. */
export async function py(script: string, args: string[] = [], timeoutMs = 30_000): Promise<string> {
  const r = await startPy(script, args, timeoutMs).done;
  if (r.code !== 0) throw new Error(`python failed (${r.code ?? r.signal}): ${r.stderr}`);
  return r.stdout;
}
