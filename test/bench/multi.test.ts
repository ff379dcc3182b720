/**
 * Pieces of the many-clients benchmark (benchmarks/multi*.ts) that can go wrong silently:
 * the generated growth dump must load into an engine as exactly the tree it claims (so the
 * per-inode figures divide by the right count), the `.stats` parser must find labelled
 * samples, and the bench runner must take `--name value` options beside the suite names.
 */
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { ROOT_INODE } from '../../src/base/types.js';
import { loadMeta } from '../../src/meta/dump/load.js';
import { openEngine } from '../../src/meta/registry.js';
import { BaseMeta } from '../../src/meta/base-meta.js';
import { parseFormat } from '../../src/meta/format.js';
import { growthDump } from '../../benchmarks/multi-growth.js';
import { metricValue } from '../../benchmarks/multi-worker.js';
import { runBenchmarks } from '../../benchmarks/run.js';
import { n, root } from '../helpers/meta-fixture.js';

describe('many-clients benchmark', () => {
  it('the growth dump loads as 1,000-file directories holding exactly N files', async () => {
    const engine = await openEngine(`mem://growth-${process.pid}`);
    try {
      const r = await loadMeta(engine, Readable.from(growthDump(2500)));
      expect(r).toBeDefined();
      const m = new BaseMeta(engine, parseFormat((await engine.getFormatText()) ?? ''), {
        skipDirMtimeMs: 0,
      });
      await m.start({ MountPoint: '/t' });
      const dirs = (await m.readdir(root, ROOT_INODE)).map((e) => e.name.toString()).sort();
      expect(dirs).toEqual(['d0', 'd1', 'd2']);
      const sizes: number[] = [];
      for (const d of dirs) {
        const ino = (await m.lookup(root, ROOT_INODE, n(d))).ino;
        sizes.push((await m.readdir(root, ino)).length);
      }
      expect(sizes).toEqual([1000, 1000, 500]);
      const f = await m.lookup(root, (await m.lookup(root, ROOT_INODE, n('d2'))).ino, n('f499'));
      expect(f.attr.mode & 0o7777).toBe(0o644);
      await m.stop({ keepEngine: true });
    } finally {
      await engine.close();
    }
  });

  it('reads labelled samples from .stats text', () => {
    const text = [
      '# HELP tjfs_meta_retries x',
      'tjfs_meta_retries{vol_name="v"} 7',
      'juicefs_transaction_restart{vol_name="v"} 12',
      'juicefs_transaction_restart_total 3',
    ].join('\n');
    expect(metricValue(text, 'tjfs_meta_retries')).toBe(7);
    expect(metricValue(text, 'juicefs_transaction_restart')).toBe(12);
    expect(metricValue(text, 'juicefs_missing')).toBeUndefined();
  });

  it('the runner refuses an unknown suite even with options beside it', async () => {
    const lines: string[] = [];
    expect(await runBenchmarks(['multi', '--ops', '5', 'nope'], (l) => lines.push(l))).toBe(2);
    expect(lines.join('\n')).toContain('unknown suite(s): nope');
  });
});
