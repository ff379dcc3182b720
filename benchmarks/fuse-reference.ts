/**
 * The FUSE floor for benchmarks/fuse.ts: libfuse's low-level passthrough example
 * (`passthrough_ll.c`, shipped by Debian's libfuse3-dev), a C file system that forwards
 * every request to a directory on the same disk. Its numbers are what the kernel's FUSE
 * round trips cost on this machine with no file system work at all (no metadata engine, no
 * object store, no cache), so they bound what any FUSE client can reach here; tjfs's
 * ratios are read against them as well as against the local disk.
 * Built at bench time into the work directory (nothing of libfuse is kept in this
 * repository); absent when the example, gcc or pkg-config is missing, or with
 * TJFS_BENCH_REFERENCE=0.
 * Mounted as tjfs mounts: kernel attribute/entry caches of 1 s (`cache=auto,timeout=1`),
 * xattrs on (so the kernel asks for security.capability as it does of tjfs),
 * `default_permissions`, `allow_other`; libfuse's default worker threads.
 * passthrough_ll keeps a descriptor open for every inode the kernel remembers, so a run's
 * 30k+ files would exceed this machine's 20k descriptor limit (its FLUSH then fails with
 * EBADF, and root may not raise the hard limit here): the bench drops the kernel's caches
 * before each of its create phases (`Target.forget`), which makes the kernel forget them.
 * Invariants: `stop()` leaves nothing mounted and the process gone, even after errors.
 */
import { execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { waitExit } from '../test/helpers/proc.js';
import { isMounted, lazyUmount } from './fuse-daemon.js';

const EXAMPLES = '/usr/share/doc/libfuse3-dev/examples';

export interface ReferenceMount {
  dir: string;
  stop(): Promise<void>;
}

/** Compiles passthrough_ll into `work`; undefined (with the reason logged) when it cannot. */
export async function buildPassthrough(work: string, log: (l: string) => void): Promise<string | undefined> {
  if (process.env['TJFS_BENCH_REFERENCE'] === '0') return undefined;
  const src = join(EXAMPLES, 'passthrough_ll.c');
  if (!existsSync(src)) {
    log(`  (no FUSE floor: ${src} missing; apt-get install libfuse3-dev adds it)`);
    return undefined;
  }
  const run = promisify(execFile);
  try {
    const flags = (await run('pkg-config', ['--cflags', '--libs', 'fuse3'])).stdout.trim().split(/\s+/);
    const bin = join(work, 'passthrough_ll');
    await run('gcc', ['-O2', '-I', EXAMPLES, '-o', bin, src, ...flags]);
    return bin;
  } catch (e) {
    log(`  (no FUSE floor: building passthrough_ll failed: ${e instanceof Error ? e.message : String(e)})`);
    return undefined;
  }
}

/** Mounts `bin` over `source` at `mountpoint` and waits until the kernel shows the mount. */
export async function mountPassthrough(
  bin: string,
  source: string,
  mountpoint: string,
): Promise<ReferenceMount> {
  await mkdir(source, { recursive: true });
  await mkdir(mountpoint, { recursive: true });
  const opts = `source=${source},cache=auto,timeout=1,xattr,default_permissions,allow_other`;
  const child = spawn(bin, ['-f', '-o', opts, mountpoint], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  const stop = async (): Promise<void> => {
    lazyUmount(mountpoint);
    if (!(await waitExit(child, 5000))) {
      child.kill('SIGKILL');
      await waitExit(child, 5000);
    }
  };
  for (let i = 0; i < 100 && !isMounted(mountpoint); i++) {
    if (child.exitCode !== null) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  if (!isMounted(mountpoint)) {
    await stop();
    throw new Error(`passthrough_ll did not mount ${mountpoint}: ${stderr.trim()}`);
  }
  return { dir: mountpoint, stop };
}
