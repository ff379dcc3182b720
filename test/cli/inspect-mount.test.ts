/**
 * `tjfs stats`, `tjfs profile` and `tjfs debug` end to end on a real FUSE mount, on SQLite
 * and on Redis metadata (file storage). Every step runs in a child process (the CLI, sh,
 * dd, cat, node), never in the test process itself:
 *  - stats: the table's columns move during known I/O (8 MiB written with fsync, 3 mkdirs),
 *    and the raw `.stats` counters changed by exactly that much;
 *  - profile: live, the mkdirs made while it runs are counted exactly; replayed from an
 *    access log saved with `cat .accesslog`, one process's ops are counted exactly by --pid;
 *  - debug: the zip holds every expected entry with real content (a CPU profile of the
 *    mount daemon that saw its FUSE work, a heap profile, its memory statistics), and the
 *    volume's secret key appears nowhere in it.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { unzipSync } from 'fflate';
import { describe, expect, it } from 'vitest';
import { fuseAvailable } from '../fuse/harness.js';
import { BIN, tjfs, useE2eEnv, waitFor, type Mount, type VolumeKind } from '../helpers/mount.js';
import { ok, run } from '../helpers/proc.js';
import { flattenStats, type StatsSample } from '../../src/cli/stats-view.js';

const canMount = fuseAvailable();
const hasRedis = existsSync('/usr/bin/redis-server');
if (!canMount) console.warn('inspect-mount: FUSE unavailable, skipped');
if (!hasRedis) console.warn('inspect-mount: /usr/bin/redis-server missing, Redis case skipped');

const SECRET = 'sEcReT-inspect-7f3a9c';
const MiB = 1024 * 1024;

interface Running {
  child: ChildProcess;
  out(): string;
  exited: Promise<number | null>;
}

/** The CLI as a long-running child whose stdout the test watches. */
function startCli(args: readonly string[]): Running {
  const child = spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  return { child, out: () => out, exited };
}

async function finish(r: Running, ms: number): Promise<number | null> {
  const t = setTimeout(() => r.child.kill('SIGKILL'), ms);
  try {
    return await r.exited;
  } finally {
    clearTimeout(t);
  }
}

async function readStats(mp: string): Promise<StatsSample> {
  return flattenStats(ok(await run('cat', [join(mp, '.stats')]), 'cat .stats'));
}

const delta = (a: StatsSample, b: StatsSample, k: string): number => (b.get(k) ?? 0) - (a.get(k) ?? 0);

/** A stats cell (`8192K`, `12`, `0`) in bytes or units. */
function cell(s: string): number {
  const m = /^([\d.]+)([BKMGTP]?)$/.exec(s);
  if (m?.[1] === undefined) throw new Error(`not a stats cell: '${s}'`);
  return Number(m[1]) * 1024 ** 'BKMGTP'.indexOf(m[2] || 'B');
}

/** Sum of the `op` rows' counts over every table in a profile output. */
function opCount(out: string, op: string): number {
  let n = 0;
  for (const m of out.matchAll(new RegExp(`^${op}\\s+(\\d+)\\s`, 'gm'))) n += Number(m[1]);
  return n;
}

const KINDS: VolumeKind[] = ['sqlite-file', 'redis-file'];

describe.skipIf(!canMount).each(KINDS)('stats, profile and debug on a mount (%s)', (kind) => {
  const skip = kind !== 'sqlite-file' && !hasRedis;
  const env = useE2eEnv(`inspect-${kind}`);
  let mount: Mount | undefined;
  const mp = (): string => {
    if (!mount) throw new Error('no mount');
    return mount.mp;
  };

  it.skipIf(skip)(
    'mounts a volume formatted with a secret key, logging to a file',
    async () => {
      const vol = await env().createVolume(kind, {
        formatArgs: ['--access-key', 'AKINSPECT', '--secret-key', SECRET],
      });
      mount = await env().mount(vol, ['--log', join(env().base, `${kind}.log`)]);
      expect(ok(await run('cat', [join(mount.mp, '.config')]))).not.toContain(SECRET);
    },
    60_000,
  );

  it.skipIf(skip)(
    'stats shows the I/O done while it runs; .stats counters moved by exactly that',
    async () => {
      const before = await readStats(mp());
      const s = startCli(['stats', mp(), '--interval', '3', '--count', '2', '--schema', 'ufmco', '-l', '1']);
      expect(await waitFor(() => s.out().split('\n').length >= 4, 20_000), s.out()).toBe(true);
      ok(
        await run('sh', [
          '-c',
          `dd if=/dev/urandom of=${mp()}/big bs=1M count=8 conv=fsync status=none && mkdir ${mp()}/s1 ${mp()}/s2 ${mp()}/s3`,
        ]),
        'dd + mkdir',
      );
      expect(await finish(s, 20_000), s.out()).toBe(0);
      const after = await readStats(mp());

      const lines = s.out().trimEnd().split('\n');
      expect(s.out()).not.toContain('\x1b'); // piped: no colors, no in-place updates
      expect(lines[0]).toMatch(/^-+usage-+ -+fuse-+ -+meta-+ -blockcache -+object-+$/);
      expect(lines[1]).toContain(
        'cpu   mem   buf  cache| ops   lat   read write| ops   lat   txn   lat  retry|',
      );
      expect(lines).toHaveLength(4); // header (2 lines) + --count 2
      const [, fuse = '', meta = '', cache = '', object = ''] = (lines[3] ?? '').split('|');
      const [fuseOps = '', , , fuseWrite = ''] = fuse.trim().split(/\s+/);
      expect(cell(fuseOps)).toBeGreaterThan(0);
      expect(cell(fuseWrite)).toBeGreaterThan(0);
      expect(cell(fuseWrite)).toBeLessThanOrEqual((8 * MiB) / 2); // a rate over >= 2 s of 8 MiB
      expect(cell(meta.trim().split(/\s+/)[0] ?? '')).toBeGreaterThan(0);
      // get get_c lat put put_c lat del_c lat; 2 PUTs in 3 s floor to 0/s, their latency shows.
      const [, , , put = '', , putLat = ''] = object.trim().split(/\s+/);
      expect(cell(put)).toBeGreaterThan(0);
      expect(Number(putLat)).toBeGreaterThan(0);
      expect(cache.trim().split(/\s+/)).toHaveLength(2); // read write (large writes skip the cache)

      expect(delta(before, after, 'juicefs_fuse_written_size_bytes_total')).toBe(8 * MiB);
      expect(delta(before, after, 'juicefs_fuse_ops_durations_histogram_seconds_mkdir_total')).toBe(3);
      expect(delta(before, after, 'juicefs_object_request_data_bytes_PUT')).toBe(8 * MiB);
      expect(delta(before, after, 'juicefs_object_request_durations_histogram_seconds_PUT_total')).toBe(2);
    },
    60_000,
  );

  it.skipIf(skip)(
    'profile counts the mkdirs made while it reads .accesslog live',
    async () => {
      const p = startCli(['profile', mp(), '--interval', '2', '--count', '3']);
      expect(await waitFor(() => p.out().includes('Operation'), 20_000), p.out()).toBe(true);
      ok(await run('sh', ['-c', `for i in 1 2 3 4 5 6 7 8 9; do mkdir ${mp()}/p$i; done`]), 'mkdirs');
      expect(await finish(p, 20_000), p.out()).toBe(0);
      expect(p.out().match(/tjfs Profiling/g)).toHaveLength(4); // the first (empty) table + 3
      expect(opCount(p.out(), 'mkdir')).toBe(9);
    },
    60_000,
  );

  it.skipIf(skip)(
    'profile replays an access log saved with cat, one process counted exactly by --pid',
    async () => {
      const saved = join(env().base, `${kind}-access.log`);
      const cat = spawn('sh', ['-c', `exec cat ${mp()}/.accesslog > ${saved}`], { stdio: 'ignore' });
      try {
        // cat's own open is the first line it gets.
        expect(
          await waitFor(() => existsSync(saved) && readFileSync(saved, 'utf8').includes(' open ('), 10_000),
        ).toBe(true);
        const code =
          'const fs = require("fs"); const d = process.argv[1];' +
          'for (let i = 0; i < 6; i++) fs.mkdirSync(d + "/r" + i);' +
          'for (let i = 0; i < 4; i++) fs.writeFileSync(d + "/f" + i, "x");' +
          'console.log(process.pid);';
        const pid = ok(await run(process.execPath, ['-e', code, mp()]), 'node ops').trim();
        const mine = (): number =>
          readFileSync(saved, 'utf8')
            .split('\n')
            .filter((l) => l.includes(`pid:${pid}] create (`)).length;
        expect(await waitFor(() => mine() === 4, 10_000)).toBe(true);
      } finally {
        cat.kill('SIGTERM');
      }
      const r = ok(await tjfs(['profile', saved, '--interval', '0']), 'profile replay');
      expect(opCount(r, 'mkdir')).toBeGreaterThanOrEqual(6);
      const byPid = readFileSync(saved, 'utf8').match(/pid:(\d+)\] mkdir \(1,r0/)?.[1] ?? 'none';
      const only = ok(await tjfs(['profile', saved, '--interval', '0', '--pid', byPid]), 'profile --pid');
      expect(opCount(only, 'mkdir')).toBe(6);
      expect(opCount(only, 'create')).toBe(4);
      expect(only.match(/tjfs Profiling/g)).toHaveLength(1);
    },
    60_000,
  );

  it.skipIf(skip)(
    'debug writes a zip with system facts, config without secrets, stats, access and mount logs, profiles',
    async () => {
      const outDir = join(env().base, `${kind}-debug`);
      const d = startCli([
        'debug',
        mp(),
        '--out-dir',
        outDir,
        '--stats-sec',
        '1',
        '--trace-sec',
        '4',
        '--limit',
        '20',
        '--profile-sec',
        '2',
      ]);
      // The samples start right after the mount command is printed.
      expect(await waitFor(() => d.out().includes('Mount Command:'), 30_000), d.out()).toBe(true);
      ok(await run('sh', ['-c', `sleep 0.5; mkdir ${mp()}/dbg1 ${mp()}/dbg2`]), 'mkdirs');
      expect(await finish(d, 60_000), d.out()).toBe(0);
      const zips = readdirSync(outDir).filter((n) => n.endsWith('.zip'));
      expect(zips).toHaveLength(1);
      const prefix = mp().split('/').filter(Boolean).join('-');
      expect(zips[0]).toMatch(new RegExp(`^${prefix}-\\d{14}\\.zip$`));
      const entries = unzipSync(readFileSync(join(outDir, zips[0] ?? '')));
      const text = (n: string): string => Buffer.from(entries[n] ?? new Uint8Array()).toString('utf8');
      expect(Object.keys(entries).sort()).toEqual([
        'accesslog.4s.txt',
        'cmdline.txt',
        'config.txt',
        'cpu.cpuprofile',
        'heap.heapprofile',
        'memstats.json',
        'process-status.txt',
        'stats.1s.txt',
        'stats.txt',
        'system-info.log',
        'tjfs.log',
      ]);
      expect(text('system-info.log')).toContain(`Node: ${process.version}`);
      expect(text('system-info.log')).toMatch(new RegExp(`Mount: \\S+ ${mp()} fuse\\.tjfs `));
      expect(text('cmdline.txt')).toMatch(new RegExp(`^${mount?.pid ?? 0}: .* mount .*${mp()}`, 'm'));
      const cfg = JSON.parse(text('config.txt')) as { Format: { Name: string; SecretKey: string } };
      expect(cfg.Format.Name).toBe(mount?.volume.name);
      expect(cfg.Format.SecretKey).toBe('removed');
      for (const n of ['stats.txt', 'stats.1s.txt']) expect(text(n)).toContain('juicefs_fuse_ops_durations');
      expect(text('accesslog.4s.txt')).toMatch(/\] mkdir \(1,dbg1,/);
      expect(text('process-status.txt')).toContain(`Pid:\t${mount?.pid ?? 0}`);
      const log = text('tjfs.log').split('\n').filter(Boolean);
      expect(log.length).toBeGreaterThan(0);
      expect(log.length).toBeLessThanOrEqual(20);
      // The profiles are the mount daemon's, taken while it served the mkdirs above.
      const mem = JSON.parse(text('memstats.json')) as { pid: number; memoryUsage: { rss: number } };
      expect(mem.pid).toBe(mount?.pid);
      expect(mem.memoryUsage.rss).toBeGreaterThan(0);
      const cpu = JSON.parse(text('cpu.cpuprofile')) as {
        nodes: { callFrame: { functionName: string; url: string } }[];
        startTime: number;
        endTime: number;
        samples: number[];
      };
      expect(cpu.samples.length).toBeGreaterThan(0);
      expect(cpu.endTime - cpu.startTime).toBeGreaterThanOrEqual(1_500_000); // µs
      expect(cpu.nodes.some((n) => n.callFrame.functionName === '(root)')).toBe(true);
      // Its own code (the profiler) aside, the daemon's file system code was sampled.
      const served = cpu.nodes.filter((n) =>
        /\/dist\/src\/(vfs|meta|fuse|chunk|object)\//.test(n.callFrame.url),
      );
      expect(served.length, 'file system code in the CPU profile').toBeGreaterThan(0);
      const heap = JSON.parse(text('heap.heapprofile')) as { head: { callFrame: { functionName: string } } };
      expect(heap.head.callFrame.functionName).toBe('(root)');
      expect(d.out()).toContain('The CPU profile of 2 s is collected');
      for (const n of Object.keys(entries)) expect(text(n), n).not.toContain(SECRET);
    },
    90_000,
  );

  it.skipIf(skip)(
    'refuses a subdirectory of the mount, and a file system root that is not tjfs (/proc)',
    async () => {
      for (const cmd of [['stats', '--count', '1'], ['profile', '--interval', '1'], ['debug']]) {
        const sub = await tjfs([cmd[0] ?? '', `${mp()}/s1`, ...cmd.slice(1)]);
        expect(sub.code, cmd[0]).toBe(1);
        expect(sub.stderr).toContain('is not a mount point');
        const proc = await tjfs([cmd[0] ?? '', '/proc', ...cmd.slice(1)]);
        expect(proc.code, cmd[0]).toBe(1);
        expect(proc.stderr).toContain('/proc has no .stats');
      }
    },
    60_000,
  );
});
