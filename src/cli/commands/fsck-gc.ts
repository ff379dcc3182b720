/**
 * `tjfs fsck META`: checks that every block of every slice a file references exists in
 * the object store (exit 1 and a list when some are missing).
 * `tjfs gc META [--delete]`: finds objects under chunks/ that no slice references (leaks
 * of crashed writers or deletions), skipping objects younger than an hour as Go does
 * (they may belong to uploads in flight); `--delete` removes them.
 */
import type { Command } from 'commander';
import { blockCount, blockLen, blockKey, parseBlockKey } from '../../base/block-key.js';
import { listAll } from '../../object/object-store.js';
import type { Runtime } from '../../vfs/runtime.js';
import { helpExamples, out, type CliIo } from '../io.js';
import { openCliRuntime } from '../meta-open.js';
import { createProgress } from '../progress.js';

async function withRuntime<T>(metaUrl: string, io: CliIo, fn: (rt: Runtime) => Promise<T>): Promise<T> {
  const rt = await openCliRuntime(metaUrl, io, {
    readOnly: true,
    cacheDir: 'memory',
    cacheSize: 0,
    heartbeat: false,
  });
  try {
    return await fn(rt);
  } finally {
    await rt.close();
  }
}

export async function runFsck(metaUrl: string, io: CliIo): Promise<number> {
  return withRuntime(metaUrl, io, async (rt) => {
    const bs = rt.format.BlockSize * 1024;
    const hash = rt.format.HashPrefix ?? false;
    let files = 0;
    let blocks = 0;
    const missing: string[] = [];
    const checked = new Set<string>();
    const p = createProgress(io, 'fsck');
    const [scanned, found] = [p.counter('Scanned files'), p.counter('Checked blocks')];
    await rt.meta.scanFiles(async (f) => {
      files++;
      scanned.increment();
      for (const s of f.slices) {
        for (let i = 0; i < blockCount(s.size, bs); i++) {
          const key = blockKey(s.id, i, blockLen(s.size, i, bs), hash);
          if (checked.has(key)) continue;
          checked.add(key);
          blocks++;
          found.increment();
          if ((await rt.store.head(key)) === undefined) missing.push(`${key} (inode ${f.ino})`);
        }
      }
    });
    p.done();
    out(io, `fsck: ${files} files, ${blocks} blocks checked, ${missing.length} missing`);
    for (const m of missing) out(io, `missing block: ${m}`);
    return missing.length === 0 ? 0 : 1;
  });
}

export async function runGc(
  metaUrl: string,
  flags: { delete?: boolean },
  io: CliIo,
  now = Date.now(),
): Promise<number> {
  return withRuntime(metaUrl, io, async (rt) => {
    const live = new Set<number>();
    const p = createProgress(io, 'gc');
    const [scanned, listed] = [p.counter('Scanned files'), p.counter('Listed objects')];
    await rt.meta.scanFiles(async (f) => {
      scanned.increment();
      for (const s of f.slices) live.add(s.id);
    });
    let leaked = 0;
    let skipped = 0;
    let bytes = 0;
    for await (const o of listAll(rt.store, { prefix: 'chunks/' })) {
      listed.increment(1, o.size);
      const b = parseBlockKey(o.key);
      if (!b || live.has(b.id)) continue;
      if (now - o.mtime < 3600_000) {
        skipped++;
        continue;
      }
      leaked++;
      bytes += o.size;
      if (flags.delete) await rt.store.delete(o.key);
      else out(io, `leaked: ${o.key}`);
    }
    p.done();
    out(
      io,
      `gc: ${leaked} leaked objects (${bytes} bytes)${flags.delete ? ' deleted' : ''}, ${skipped} younger than 1 h skipped`,
    );
    return 0;
  });
}

export function registerFsckGc(program: Command, io: CliIo, setExit: (p: Promise<number>) => void): void {
  program
    .command('fsck')
    .description('check that every block referenced by the metadata exists in the object store')
    .argument('<META>')
    .addHelpText('after', helpExamples('tjfs fsck redis://10.0.0.5:6379/1'))
    .action((meta: string) => setExit(runFsck(meta, io)));
  program
    .command('gc')
    .description('find (and with --delete remove) objects no slice references')
    .argument('<META>')
    .option('--delete', 'delete the leaked objects')
    .addHelpText(
      'after',
      helpExamples('tjfs gc redis://10.0.0.5:6379/1', 'tjfs gc redis://10.0.0.5:6379/1 --delete'),
    )
    .action((meta: string, flags: { delete?: boolean }) => setExit(runGc(meta, flags, io)));
}
