/**
 * The pure parts of `tjfs stats`, `profile` and `debug`: `.stats` in Prometheus text and in
 * JuiceFS's flat format mapped to JuiceFS's names, the stats table (header, rates, units,
 * latencies, piped vs colored), access-log lines of tjfs and of JuiceFS, the profile table,
 * and the argument errors that need no mount.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';
import { flattenStats, StatsView } from '../../src/cli/stats-view.js';
import { OpStats, matches, parseLogLine, profileLines } from '../../src/cli/access-profile.js';
import { captureIo } from '../helpers/cli-io.js';

const PROM = (ops: number, secs: number, written: number): string =>
  [
    '# HELP juicefs_fuse_ops_durations_histogram_seconds Operations latency distributions.',
    '# TYPE juicefs_fuse_ops_durations_histogram_seconds histogram',
    'juicefs_fuse_ops_durations_histogram_seconds_bucket{le="0.001",vol_name="v",method="write"} 3',
    `juicefs_fuse_ops_durations_histogram_seconds_sum{vol_name="v",method="write"} ${secs}`,
    `juicefs_fuse_ops_durations_histogram_seconds_count{vol_name="v",method="write"} ${ops}`,
    'juicefs_fuse_ops_durations_histogram_seconds_sum{vol_name="v",method="lookup"} 0',
    'juicefs_fuse_ops_durations_histogram_seconds_count{vol_name="v",method="lookup"} 0',
    '# TYPE juicefs_fuse_written_size_bytes_total counter',
    `juicefs_fuse_written_size_bytes_total{vol_name="v"} ${written}`,
    '# TYPE juicefs_object_request_data_bytes gauge',
    `juicefs_object_request_data_bytes{method="PUT",vol_name="v"} ${written}`,
    'juicefs_object_request_data_bytes{method="GET",vol_name="v"} 0',
    '# TYPE juicefs_memory gauge',
    'juicefs_memory{vol_name="v"} 104857600',
  ].join('\n');

describe('stats: .stats parsing and the table', () => {
  it('maps Prometheus text to JuiceFS flattened names (method appended, count as _total, sums)', () => {
    const s = flattenStats(PROM(10, 0.02, 4096));
    expect(s.get('juicefs_fuse_ops_durations_histogram_seconds_write_total')).toBe(10);
    expect(s.get('juicefs_fuse_ops_durations_histogram_seconds_total')).toBe(10);
    expect(s.get('juicefs_fuse_ops_durations_histogram_seconds_sum')).toBeCloseTo(0.02);
    expect(s.get('juicefs_object_request_data_bytes_PUT')).toBe(4096);
    expect(s.get('juicefs_fuse_written_size_bytes_total')).toBe(4096);
    expect([...s.keys()].some((k) => k.includes('bucket'))).toBe(false);
  });

  it("reads JuiceFS's own flat .stats unchanged", () => {
    const s = flattenStats('juicefs_fuse_ops_durations_histogram_seconds_total 7\njuicefs_memory 5\n');
    expect(s.get('juicefs_fuse_ops_durations_histogram_seconds_total')).toBe(7);
    expect(s.get('juicefs_memory')).toBe(5);
  });

  it('prints rates per second, mean latency in ms and JuiceFS units, plain when not colorful', () => {
    const view = new StatsView({ schema: 'ufo', verbosity: 0, colorful: false });
    expect(view.header.split('\n')[0]).toMatch(/^-+usage-+ -+fuse-+ -+object-+$/);
    expect(view.header.split('\n')[1]).toContain(' ops   lat   read write');
    const a = flattenStats(PROM(10, 0.02, 0));
    const b = flattenStats(PROM(30, 0.06, 2 * 8 * 1024 * 1024));
    const line = view.line(a, b, 2);
    expect(line).not.toContain('\x1b');
    const [usage = '', fuse = '', object = ''] = line.split('|');
    expect(usage.trim().split(/\s+/)).toEqual(['0.0%', '100M', '0']);
    // 20 ops in 2 s = 10/s, 0.04 s / 20 = 2 ms; 16 MiB in 2 s = 8192K/s.
    expect(fuse.trim().split(/\s+/)).toEqual(['10', '2.00', '0', '8192K']);
    expect(object.trim().split(/\s+/)).toEqual(['0', '8192K']);
  });

  it('colors on a terminal and warns about unknown letters', () => {
    const view = new StatsView({ schema: 'fzq', verbosity: 1, colorful: true });
    expect(view.unknown).toEqual(['z', 'q']);
    expect(view.header).toContain('\x1b[');
    expect(view.line(new Map(), new Map(), 1)).toContain('\x1b[');
  });
});

describe('profile: access-log lines and the table', () => {
  const TJFS = '2026.12.05 07:23:17.731000 [uid:0,gid:10,pid:4284] mkdir (1,q1,755): OK <0.000805>';
  const GO =
    '2021.01.15 08:26:11.003330 [uid:1000,gid:1000,pid:4403] write (17669,8666,4993160,3) - OK <0.000010>';

  it("parses tjfs's and JuiceFS's line formats", () => {
    expect(parseLogLine(TJFS)).toMatchObject({
      uid: '0',
      gid: '10',
      pid: '4284',
      op: 'mkdir',
      latencyUs: 805,
    });
    expect(parseLogLine(GO)).toMatchObject({ uid: '1000', pid: '4403', op: 'write', latencyUs: 10 });
    expect(parseLogLine('#')).toBeUndefined();
    expect(parseLogLine('garbage line without the fields')).toBeUndefined();
  });

  it('filters by ids and sorts operations by total latency', () => {
    const st = new OpStats();
    for (const l of [TJFS, TJFS, GO]) {
      const e = parseLogLine(l);
      if (e && matches(e, { uids: ['0'] })) st.add(e);
    }
    const lines = profileLines({ head: '(replay done)', seconds: 1, at: Date.now(), stats: st });
    expect(lines[0]).toMatch(/^> tjfs Profiling\s+\(replay done\)\s+Refresh: 1 seconds /);
    expect(lines[1]).toMatch(/^Operation\s+Count\s+Average\(us\)\s+Total\(us\)\s+Percent\(%\)$/);
    expect(lines.slice(2)).toHaveLength(1);
    expect(lines[2]?.split(/\s+/)).toEqual(['mkdir', '2', '805', '1610', '0.2']);
  });
});

describe('stats, profile and debug: argument errors without a mount', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tjfs-inspect-args-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const call = async (...argv: string[]): Promise<{ code: number; err: string; out: string }> => {
    const h = captureIo();
    const code = await main(argv, h.io);
    return { code, err: h.err(), out: h.out() };
  };

  it('refuses a directory that is not a mount point, a missing path and bad numbers', async () => {
    for (const cmd of ['stats', 'debug']) {
      const r = await call(cmd, dir, '--count', '1');
      expect(r.code, cmd).toBe(1);
      expect(r.err).toContain(cmd === 'stats' ? 'is not a mount point' : "unknown option '--count'");
    }
    expect((await call('debug', dir)).err).toContain(`path ${dir} is not a mount point`);
    expect((await call('stats', join(dir, 'nope'))).err).toMatch(/lookup inode for .*nope: ENOENT/);
    expect((await call('stats')).code).toBe(1);
    expect((await call('stats', dir, '--interval', '0')).err).toContain('--interval must be at least 1');
    expect((await call('stats', dir, '--interval', 'fast')).err).toContain("invalid --interval 'fast'");
    expect((await call('debug', dir, '--limit', '-5')).err).toContain("invalid --limit '-5'");
    expect((await call('debug', dir, '--profile-sec', '301')).err).toContain(
      "invalid --profile-sec '301': at most 300 seconds",
    );
    expect((await call('debug', dir, '--profile-sec', '1m')).err).toContain("invalid --profile-sec '1m'");
    expect((await call('profile', dir, '--interval', '1')).err).toContain('is not a mount point');
    expect((await call('profile', dir, '--interval', '0')).err).toContain(
      '--interval must be > 0 for real time',
    );
    expect((await call('profile', join(dir, 'nope.log'))).err).toMatch(/failed to stat path .*ENOENT/);
    expect((await call('profile', dir, '--uid', 'root')).err).toContain("invalid --uid 'root'");
  });

  it('replays a saved access log at once with --interval 0 and filters by pid', async () => {
    const log = join(dir, 'access.log');
    const line = (pid: number, op: string, s: string): string =>
      `2026.12.05 07:00:0${s} [uid:0,gid:0,pid:${pid}] ${op} (1,x): OK <0.000100>`;
    writeFileSync(
      log,
      [
        line(7, 'mkdir', '1.000001'),
        line(7, 'mkdir', '2.500001'),
        line(8, 'create', '3.900001'),
        '#',
        '',
      ].join('\n'),
    );
    const all = await call('profile', log, '--interval', '0');
    expect(all.code).toBe(0);
    expect(all.out).toMatch(/^mkdir\s+2\s+100\s+200\s/m);
    expect(all.out).toMatch(/^create\s+1\s+100\s+100\s/m);
    const only7 = await call('profile', log, '--interval', '0', '--pid', '7');
    expect(only7.out).toMatch(/^mkdir\s+2\s/m);
    expect(only7.out).not.toContain('create');
    // Windows of one second of log time: one table each, the last one "(replay done)".
    const windows = await call('profile', log, '--interval', '1');
    expect(windows.out.match(/Profiling/g)).toHaveLength(3);
    expect(windows.out).toContain('(replay done)');
  });
});
