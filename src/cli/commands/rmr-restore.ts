/**
 * `tjfs rmr PATH... [--skip-trash] [-p/--threads N]` and `tjfs restore META HOUR...
 * [--put-back] [--threads N]` (JuiceFS cmd/rmr.go, cmd/restore.go).
 *
 * rmr removes each tree inside the metadata engine (meta/tree-ops.ts removeTree) with the
 * caller's uid/gid, so permissions apply as for `rm -rf`; with a trash (trash-days > 0) every
 * removed entry goes to the current trash hour unless --skip-trash (root only). JuiceFS runs
 * it in the mount process over `.control`; tjfs opens the volume from the mount's
 * `.config` (mounted-volume.ts), so the mount sees the removal after its entry cache
 * expires (1 s by default). Threads: 50 by default, at most 255, as JuiceFS.
 *
 * restore (root only, as JuiceFS) rebuilds the trees trashed in each `YYYY-MM-DD-HH` hour
 * (entries go back under their trashed parent directories); with --put-back every entry
 * moves back to its original directory. Existing names are never overwritten (conflicts).
 */
import type { Command } from 'commander';
import { resolve } from 'node:path';
import { isFsError } from '../../base/errno.js';
import type { Context } from '../../base/types.js';
import { removeTree, restoreHour } from '../../meta/tree-ops.js';
import { CliError, helpExamples, out, parseIntArg, type CliIo } from '../io.js';
import { createLogger } from '../logger.js';
import { openCliMeta } from '../meta-open.js';
import { entryOf, openMounted } from '../mounted.js';
import { createProgress } from '../progress.js';

export interface RmrFlags {
  skipTrash?: boolean;
  threads?: string;
}

function callerContext(): Context {
  const uid = process.getuid?.() ?? 0;
  const gid = process.getgid?.() ?? 0;
  return { uid, gid, gids: process.getgroups?.() ?? [gid], pid: process.pid };
}

function threadsArg(text: string | undefined, dflt: number, max: number): number {
  const n = text === undefined ? dflt : parseIntArg(text, '--threads');
  return n === 0 ? dflt : Math.min(n, max);
}

export async function runRmr(paths: string[], f: RmrFlags, io: CliIo): Promise<number> {
  const threads = threadsArg(f.threads, 50, 255);
  const ctx = callerContext();
  if (f.skipTrash && ctx.uid !== 0) throw new CliError('only root can remove files directly (--skip-trash)');
  const p = createProgress(io, 'rmr');
  const removed = p.counter('Removing entries');
  try {
    for (const path of paths) {
      const abs = resolve(io.cwd ?? process.cwd(), path);
      const v = await openMounted(abs, io, true);
      try {
        const { parent, name } = entryOf(v, abs);
        await removeTree(v.meta, ctx, parent, name, {
          skipTrash: f.skipTrash === true,
          threads,
          onProgress: (n, b) => removed.increment(n, b),
        });
      } catch (e) {
        if (isFsError(e)) throw new CliError(`rmr ${path}: ${e.message}`);
        throw e;
      } finally {
        await v.close();
      }
    }
  } finally {
    p.done();
  }
  return 0;
}

export interface RestoreFlags {
  putBack?: boolean;
  threads?: string;
}

const HOUR = /^\d{4}-\d{2}-\d{2}-\d{2}$/;

export async function runRestore(
  metaUrl: string,
  hours: string[],
  f: RestoreFlags,
  io: CliIo,
): Promise<number> {
  const threads = threadsArg(f.threads, 10, 1000);
  if ((process.getuid?.() ?? 0) !== 0) throw new CliError('only root can restore files from trash');
  for (const h of hours)
    if (!HOUR.test(h)) throw new CliError(`invalid hour '${h}': want YYYY-MM-DD-HH, a directory of .trash`);
  const meta = await openCliMeta(metaUrl, io, { logger: createLogger() });
  let failed = 0;
  try {
    await meta.start({});
    for (const hour of hours) {
      const p = createProgress(io, `restore ${hour}`);
      const counters = {
        restored: p.counter(f.putBack ? 'restored' : 'rebuilt'),
        skipped: p.counter('need-put-back'),
        conflicts: p.counter('conflicts'),
        failed: p.counter('failed'),
      };
      try {
        const r = await restoreHour(meta, hour, {
          putBack: f.putBack === true,
          threads,
          onProgress: (what) => counters[what].increment(),
        });
        p.done();
        out(
          io,
          `${hour}: ${r.restored} ${f.putBack ? 'restored' : 'rebuilt'}, ${r.skipped} need put-back, ${r.conflicts} conflicts, ${r.failed} failed`,
        );
        failed += r.failed;
      } catch (e) {
        p.done();
        if (!isFsError(e)) throw e;
        io.stderr.write(`tjfs: restore ${hour}: ${e.message}\n`);
        failed++;
      }
    }
  } finally {
    await meta.stop();
  }
  return failed > 0 ? 1 : 0;
}

export function registerRmrRestore(program: Command, io: CliIo, setExit: (p: Promise<number>) => void): void {
  program
    .command('rmr')
    .description('remove directories recursively (inside the metadata engine, honouring the trash)')
    .argument('<PATH...>', 'paths inside a tjfs mount')
    .option('--skip-trash', 'skip trash and delete files directly (requires root)')
    .option('-p, --threads <N>', 'number of threads for delete jobs (max 255)', '50')
    .addHelpText('after', helpExamples('tjfs rmr /mnt/jfs/foo'))
    .action((paths: string[], f: RmrFlags) => setExit(runRmr(paths, f, io)));
  program
    .command('restore')
    .description('restore files from the trash')
    .argument('<META>')
    .argument('<HOUR...>', 'trash hours, YYYY-MM-DD-HH')
    .option('--put-back', 'move the recovered files into original directory')
    .option('--threads <N>', 'number of threads', '10')
    .addHelpText(
      'after',
      helpExamples(
        'tjfs restore redis://localhost/1 2023-05-10-01',
        'tjfs restore sqlite3://v.db 2023-05-10-01 --put-back',
      ),
    )
    .action((meta: string, hours: string[], f: RestoreFlags) => setExit(runRestore(meta, hours, f, io)));
}
