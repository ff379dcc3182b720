/**
 * `tjfs bench` in-process on a local temp directory with tiny sizes: flag parsing, the JSON
 * report's fields (positive numbers, no timing thresholds), the table, cleanup of the work
 * directory, and clear errors for bad input. Also the `.stats` parsing used on mounts.
 */
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';
import { costRows, fuseOpsByMethod, parseMetrics } from '../../src/cli/bench-metrics.js';
import type { BenchReport } from '../../src/cli/commands/bench.js';
import { captureIo } from '../helpers/cli-io.js';

const io = captureIo;

describe('tjfs bench', () => {
  const dirs: string[] = [];
  const tmp = (): string => {
    const d = mkdtempSync(join(tmpdir(), 'tjfs-bench-test-'));
    dirs.push(d);
    return d;
  };
  afterEach(() => {
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });

  it('reports throughput and cost as JSON on a local directory and cleans up', async () => {
    const dir = tmp();
    const h = io();
    const argv = [
      'bench',
      dir,
      '--big-file-size',
      '2',
      '--small-file-size',
      '8',
      '--small-file-count',
      '5',
      '--threads',
      '2',
      '--json',
    ];
    expect(await main(argv, h.io)).toBe(0);
    const r = JSON.parse(h.out()) as BenchReport;
    expect(r.mountRoot).toBeNull();
    expect(r.config).toEqual({
      blockSizeMiB: 1,
      bigFileSizeMiB: 2,
      smallFileSizeKiB: 8,
      smallFileCount: 5,
      threads: 2,
      dropCaches: false,
    });
    for (const k of ['writeBigFile', 'readBigFile', 'writeSmallFile', 'readSmallFile', 'statFile'] as const) {
      const it = r.results[k];
      expect(it, k).toBeDefined();
      expect(it?.value).toBeGreaterThan(0);
      expect(it?.cost).toBeGreaterThanOrEqual(0);
    }
    expect(r.results.writeBigFile?.unit).toBe('MiB/s');
    expect(r.results.statFile?.costUnit).toBe('ms/file');
    expect(r.costs).toEqual([]);
    expect(r.timeUsedSec).toBeGreaterThan(0);
    expect(readdirSync(dir)).toEqual([]);
  });

  it('prints the juicefs-style table and skips phases with zero sizes', async () => {
    const h = io();
    expect(
      await main(
        ['bench', tmp(), '--big-file-size', '0', '--small-file-size', '4', '--small-file-count', '3'],
        h.io,
      ),
    ).toBe(0);
    expect(h.out()).toContain(
      'BlockSize: 1 MiB, BigFileSize: 0 MiB, SmallFileSize: 4 KiB, SmallFileCount: 3, NumThreads: 1',
    );
    expect(h.out()).toMatch(/\|\s+Write small file\s+\|\s+[\d.]+ files\/s\s+\|\s+[\d.]+ ms\/file\s+\|/);
    expect(h.out()).not.toContain('Write big file');
  });

  it('rejects bad flags and paths', async () => {
    const dir = tmp();
    const bad = io();
    expect(await main(['bench', dir, '--threads', '0'], bad.io)).toBe(1);
    expect(bad.err()).toContain('--threads');
    const nan = io();
    expect(await main(['bench', dir, '--small-file-count', 'lots'], nan.io)).toBe(1);
    expect(nan.err()).toContain('--small-file-count');
    const missing = io();
    expect(await main(['bench', join(dir, 'nope'), '--big-file-size', '1'], missing.io)).toBe(1);
    expect(missing.err()).toContain('not a directory');
  });

  it('turns .stats snapshots into per-op costs', () => {
    const snap = (n: number, s: number): string =>
      [
        '# TYPE juicefs_fuse_ops_durations_histogram_seconds histogram',
        `juicefs_fuse_ops_durations_histogram_seconds_sum{vol_name="v",method="write"} ${s}`,
        `juicefs_fuse_ops_durations_histogram_seconds_count{vol_name="v",method="write"} ${n}`,
        'juicefs_fuse_ops_durations_histogram_seconds_sum{vol_name="v",method="lookup"} 0.001',
        'juicefs_fuse_ops_durations_histogram_seconds_count{vol_name="v",method="lookup"} 2',
      ].join('\n');
    const before = parseMetrics(snap(10, 0.01));
    const after = parseMetrics(snap(30, 0.05));
    expect(costRows(before, after)).toEqual([{ item: 'FUSE operation', count: 20, msPerOp: 2 }]);
    expect(fuseOpsByMethod(before, after)).toEqual({ write: { count: 20, msPerOp: 2 } });
  });
});
