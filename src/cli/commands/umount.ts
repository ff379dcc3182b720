/**
 * `tjfs umount MOUNTPOINT [--force]`: unmounts a tjfs mount; the daemon sees the kernel go
 * away, finishes and exits. --force detaches a busy or dead mount (lazy unmount).
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { loadNative } from '../../native/addon.js';
import { CliError, helpExamples, out, type CliIo } from '../io.js';

const MNT_FORCE = 1;
const MNT_DETACH = 2;

/** The fs type of the mount at `mp` from /proc/self/mountinfo, or undefined. */
export function mountTypeAt(mp: string): string | undefined {
  for (const line of readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
    const f = line.split(' ');
    const sep = f.indexOf('-');
    if (f[4] === mp && sep > 0) return f[sep + 1];
  }
  return undefined;
}

export async function runUmount(mountpoint: string, flags: { force?: boolean }, io: CliIo): Promise<number> {
  const mp = resolve(io.cwd ?? process.cwd(), mountpoint);
  const type = mountTypeAt(mp);
  if (type === undefined) throw new CliError(`${mp} is not mounted`);
  if (!type.startsWith('fuse')) throw new CliError(`${mp} is a ${type} mount, not tjfs`);
  try {
    if (process.getuid?.() === 0) {
      loadNative().umount(mp, flags.force ? MNT_FORCE | MNT_DETACH : 0);
    } else {
      const r = spawnSync('fusermount3', ['-u', ...(flags.force ? ['-z'] : []), mp], { encoding: 'utf8' });
      if (r.status !== 0) throw new Error(r.stderr.trim() || `fusermount3 exited with ${r.status}`);
    }
  } catch (e) {
    const code = (e as { code?: string }).code;
    if (code === 'EBUSY') throw new CliError(`${mp} is busy (files open); close them or use --force`);
    throw new CliError(`umount ${mp}: ${(e as Error).message}`);
  }
  out(io, `unmounted ${mp}`);
  return 0;
}

export function registerUmount(program: Command, io: CliIo, setExit: (p: Promise<number>) => void): void {
  program
    .command('umount')
    .description('unmount a tjfs mount')
    .argument('<MOUNTPOINT>')
    .option('-f, --force', 'detach even if busy or the daemon is dead (lazy unmount)')
    .addHelpText('after', helpExamples('tjfs umount /mnt/jfs', 'tjfs umount --force /mnt/jfs'))
    .action((mp: string, flags: { force?: boolean }) => setExit(runUmount(mp, flags, io)));
}
