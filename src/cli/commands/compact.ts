/**
 * `tjfs compact PATH... [--threads N]` (JuiceFS cmd/compact.go): merges the slices of every
 * chunk of the files under each PATH into one slice per chunk, so reads resolve one record
 * and fragmented writes stop costing extra objects. Runs in this process over the mount's
 * volume (src/cli/mounted.ts), with the same compaction the mount runs in the background
 * (src/vfs/compactor.ts): upload the merged slice, then swap the records iff unchanged.
 */
import type { Command } from 'commander';
import { CHUNK_SIZE } from '../../base/types.js';
import { Compactor } from '../../vfs/compactor.js';
import { CliError, helpExamples, out, parseIntArg, type CliIo } from '../io.js';
import { openCliRuntime } from '../meta-open.js';
import { callerContext, mountedPath, resolveParts, walkFiles } from '../mounted.js';
import { createProgress } from '../progress.js';

export interface CompactFlags {
  threads: string;
}

async function compactPath(
  path: string,
  threads: number,
  io: CliIo,
): Promise<{ files: number; chunks: number }> {
  const m = mountedPath(path, io);
  const rt = await openCliRuntime(m.metaUrl, io, { cacheSize: 0, heartbeat: false, mountPoint: m.root });
  const progress = createProgress(io, `compact ${path}`);
  try {
    const ctx = callerContext();
    const ino = await resolveParts(rt.meta, ctx, m.rootIno, m.parts).catch((e: unknown) => {
      throw new CliError(`lookup inode for ${path}: ${(e as Error).message}`);
    });
    const compactor = new Compactor(rt, rt.meta.log, 2);
    const files = progress.counter('Files');
    const done = progress.counter('Compacted chunks');
    await walkFiles(rt.meta, ctx, ino, threads, async (f, attr) => {
      const chunks = Math.ceil(attr.length / CHUNK_SIZE);
      for (let indx = 0; indx < chunks; indx++) if (await compactor.compact(f, indx)) done.increment();
      files.increment();
    });
    progress.done();
    return { files: files.value, chunks: done.value };
  } finally {
    progress.done();
    await rt.close();
  }
}

export async function runCompact(paths: readonly string[], flags: CompactFlags, io: CliIo): Promise<number> {
  const threads = parseIntArg(flags.threads, '--threads');
  if (threads < 1) throw new CliError('--threads must be at least 1');
  for (const p of paths) {
    const r = await compactPath(p, threads, io);
    out(io, `compact ${p}: ${r.files} files, ${r.chunks} chunks compacted`);
  }
  return 0;
}

export function registerCompact(program: Command, io: CliIo, setExit: (p: Promise<number>) => void): void {
  program
    .command('compact')
    .description('trigger compaction of the chunks of the files under PATH')
    .argument('<PATH...>', 'files or directories inside a mount')
    .option('-p, --threads <n>', 'compact concurrency', '10')
    .addHelpText(
      'after',
      helpExamples('tjfs compact /mnt/jfs/logs', 'tjfs compact /mnt/jfs/a /mnt/jfs/b --threads 4'),
    )
    .action((paths: string[], flags: CompactFlags) => setExit(runCompact(paths, flags, io)));
}
