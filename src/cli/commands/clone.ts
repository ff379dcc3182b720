/**
 * `tjfs clone SRC DST [--preserve]` (JuiceFS cmd/clone.go): a metadata-only copy of a file
 * or directory inside one mount; the copy shares the source's data (slice references).
 * Both paths resolve through the mount's `.config` (src/cli/mounted.ts), and the copy is
 * made by `Meta.clone` with the caller's uid/gid, as JuiceFS's control message does.
 */
import { basename, dirname, resolve } from 'node:path';
import type { Command } from 'commander';
import { CliError, helpExamples, out, type CliIo } from '../io.js';
import { openCliMeta } from '../meta-open.js';
import { callerContext, mountedPath, resolveParts } from '../mounted.js';
import { createProgress } from '../progress.js';

export interface CloneFlags {
  preserve?: boolean;
}

export async function runClone(src: string, dst: string, flags: CloneFlags, io: CliIo): Promise<number> {
  const cwd = io.cwd ?? process.cwd();
  const srcAbs = resolve(cwd, src);
  const dstAbs = resolve(cwd, dst);
  if (dstAbs === srcAbs || dstAbs.startsWith(srcAbs + '/'))
    throw new CliError('the clone DST path should not be under the SRC path');
  const s = mountedPath(srcAbs, io);
  const d = mountedPath(dirname(dstAbs), io);
  if (s.root !== d.root)
    throw new CliError('the clone DST path should be at the same mount point as the SRC path');
  const meta = await openCliMeta(s.metaUrl, io);
  const progress = createProgress(io, 'clone');
  try {
    await meta.start({ MountPoint: s.root }, { heartbeat: false });
    const ctx = callerContext();
    const srcIno = await resolveParts(meta, ctx, s.rootIno, s.parts).catch((e: unknown) => {
      throw new CliError(`lookup inode for ${src}: ${(e as Error).message}`);
    });
    const parent = await resolveParts(meta, ctx, d.rootIno, d.parts).catch((e: unknown) => {
      throw new CliError(`lookup inode for ${dirname(dst)}: ${(e as Error).message}`);
    });
    const name = Buffer.from(basename(dstAbs));
    const exists = await meta.lookup(ctx, parent, name).then(
      () => true,
      () => false,
    );
    if (exists) throw new CliError(`${dst} already exists`);
    const cloned = progress.counter('Cloned entries');
    let shown = 0;
    const res = await meta
      .clone(ctx, srcIno, parent, name, {
        preserve: flags.preserve === true,
        umask: process.umask(),
        onEntry: (n) => {
          cloned.increment(n - shown);
          shown = n;
        },
      })
      .catch((e: unknown) => {
        throw new CliError(`clone failed: ${(e as Error).message}`);
      });
    progress.done();
    out(io, `cloned ${src} to ${dst}: ${res.count} entries`);
    return 0;
  } finally {
    progress.done();
    await meta.stop();
  }
}

export function registerClone(program: Command, io: CliIo, setExit: (p: Promise<number>) => void): void {
  program
    .command('clone')
    .description('clone a file or directory without copying the underlying data')
    .argument('<SRC>', 'file or directory inside a mount')
    .argument('<DST>', 'new path in the same mount')
    .option('-p, --preserve', 'preserve the uid, gid, mode and times of the files')
    .addHelpText(
      'after',
      helpExamples(
        'tjfs clone /mnt/jfs/dataset /mnt/jfs/dataset-v2',
        'tjfs clone -p /mnt/jfs/a.bin /mnt/jfs/b.bin',
      ),
    )
    .action((s: string, d: string, flags: CloneFlags) => setExit(runClone(s, d, flags, io)));
}
