/**
 * `npm run bench -- soak`: two mounts of one Redis + file-store volume under mixed work for
 * TJFS_SOAK_SECONDS (default 600), with both daemons' RSS sampled every 5 s. Work, each
 * in its own python child looping until the deadline:
 * - fsx (random write / sparse write / append / truncate / mmap / O_DIRECT / fsync /
 *   reopen against a local twin file, with a stat thread) on each mount, in batches of
 *   5000 seeded ops: the issue asks for 100,000+ ops;
 * - two appenders, one per mount, taking flock around each record of a shared log;
 *   every record is checked whole and none missing at the end;
 * - small-file churn on A (create, write 64 KiB, read back, verify, unlink);
 * - namespace churn on B (mkdir, create, rename, readdir, unlink, rmdir).
 * Reports ops per worker, failures, and per daemon the RSS at start, peak, end and the
 * growth per hour (least squares over the second half of the run). Writes
 * bench-results/soak.json. Every daemon, server and temp dir is gone afterwards.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from '../src/cli/main.js';
import { FSX_PY } from '../test/fuse-e2e/fsx-py.js';
import { captureIo } from '../test/helpers/cli-io.js';
import { py, rssMiB } from '../test/helpers/proc.js';
import { startRedis } from '../test/helpers/redis-server.js';
import { startDaemon, type Daemon } from './fuse-daemon.js';
import { envNumber, stamp, type Stamp } from './stamp.js';

/** argv: dir, local dir, first seed, deadline (epoch s). Runs fsx batches; prints totals. */
const FSX_LOOP_PY = `import sys, json, subprocess, time, os
d, local, seed, deadline, prog = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4]), sys.argv[5]
ops = 0; batches = 0; failures = []
while time.time() < deadline:
    r = subprocess.run([sys.executable, '-c', open(prog).read(), d, local, str(seed + batches), '5000'], capture_output=True, text=True)
    last = (r.stdout.strip().split('\\n') or [''])[-1]
    if r.returncode == 0: ops += 5000
    else: failures.append({'seed': seed + batches, 'code': r.returncode, 'out': last[:500], 'err': r.stderr[-500:]})
    batches += 1
    for p in (d + '/fsx.bin', local + '/fsx.bin'):
        try: os.unlink(p)
        except FileNotFoundError: pass
print(json.dumps({'ops': ops, 'batches': batches, 'failures': failures}))
`;

/** argv: log file, writer id, deadline. Appends "W<id> <seq> <len> <payload>" under flock. */
const APPEND_LOOP_PY = `import os, sys, time, fcntl, random, json
path, wid, deadline = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
rng = random.Random(wid); seq = 0
while time.time() < deadline:
    size = rng.choice([1, 100, 4095, 4097, 30000])
    rec = f'W{wid} {seq} {size} '.encode() + bytes([97 + (seq + wid) % 26]) * size + b'\\n'
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    fcntl.flock(fd, fcntl.LOCK_EX); os.write(fd, rec); fcntl.flock(fd, fcntl.LOCK_UN); os.close(fd)
    seq += 1
print(json.dumps({'records': seq}))
`;

/** argv: log file, JSON {wid: count}. Prints missing/torn counts; reads line by line. */
const APPEND_CHECK_PY = `import sys, json
want = {int(k): v for k, v in json.loads(sys.argv[2]).items()}
seen = {w: bytearray(n) for w, n in want.items()}; torn = 0; records = 0
with open(sys.argv[1], 'rb') as f:
    for line in f:
        h = line.rstrip(b'\\n').split(b' ', 3)
        try:
            wid, seq, size = int(h[0][1:]), int(h[1]), int(h[2])
            if len(h[3]) != size or h[3] != bytes([97 + (seq + wid) % 26]) * size: torn += 1; continue
            if seq < len(seen[wid]): seen[wid][seq] = 1
            records += 1
        except Exception: torn += 1
print(json.dumps({'torn': torn, 'missing': sum(len(v) - sum(v) for v in seen.values()), 'records': records}))
`;

/** argv: dir, deadline. Small-file churn; raises on a wrong read. */
const SMALL_LOOP_PY = `import os, sys, time, json
d, deadline = sys.argv[1], float(sys.argv[2]); os.makedirs(d, exist_ok=True); n = 0
while time.time() < deadline:
    p = os.path.join(d, f'f{n % 100}'); data = os.urandom(65536)
    with open(p, 'wb') as f: f.write(data)
    with open(p, 'rb') as f: assert f.read() == data, f'{p}: content differs'
    os.unlink(p); n += 1
print(json.dumps({'files': n}))
`;

/** argv: dir, deadline. Namespace churn. */
const NS_LOOP_PY = `import os, sys, time, json
d, deadline = sys.argv[1], float(sys.argv[2]); os.makedirs(d, exist_ok=True); n = 0
while time.time() < deadline:
    sub = os.path.join(d, f'd{n}'); os.mkdir(sub)
    for i in range(20): open(os.path.join(sub, f'x{i}'), 'w').close()
    for i in range(20): os.rename(os.path.join(sub, f'x{i}'), os.path.join(sub, f'y{i}'))
    assert len(os.listdir(sub)) == 20
    for i in range(20): os.unlink(os.path.join(sub, f'y{i}'))
    os.rmdir(sub); n += 1
print(json.dumps({'rounds': n}))
`;

export interface RssSummary {
  startMiB: number;
  peakMiB: number;
  endMiB: number;
  /** Least-squares slope over the second half of the samples. */
  growthMiBPerHour: number;
  samples: Array<[number, number]>;
}

export interface SoakResult extends Stamp {
  seconds: number;
  workers: Record<string, unknown>;
  appendCheck: { torn: number; missing: number; records: number };
  fsxOps: number;
  rss: Record<'A' | 'B', RssSummary>;
  failures: string[];
}

function summarize(samples: Array<[number, number]>): RssSummary {
  const r1 = (x: number): number => Math.round(x * 10) / 10;
  const half = samples.slice(Math.floor(samples.length / 2));
  let slope = 0;
  if (half.length >= 2) {
    const mx = half.reduce((a, [t]) => a + t, 0) / half.length;
    const my = half.reduce((a, [, v]) => a + v, 0) / half.length;
    const num = half.reduce((a, [t, v]) => a + (t - mx) * (v - my), 0);
    const den = half.reduce((a, [t]) => a + (t - mx) ** 2, 0);
    slope = den > 0 ? (num / den) * 3600 : 0;
  }
  const vals = samples.map(([, v]) => v);
  return {
    startMiB: r1(vals[0] ?? 0),
    peakMiB: r1(Math.max(0, ...vals)),
    endMiB: r1(vals.at(-1) ?? 0),
    growthMiBPerHour: r1(slope),
    samples: samples.map(([t, v]) => [Math.round(t), r1(v)]),
  };
}

async function tjfsCli(args: string[]): Promise<void> {
  const c = captureIo();
  if ((await main(args, c.io)) !== 0) throw new Error(`tjfs ${args[0]} failed: ${c.err()}`);
}

export async function runSoakBench(
  opts: { seconds?: number; log?: (l: string) => void } = {},
): Promise<SoakResult> {
  const log = opts.log ?? ((l: string) => process.stderr.write(l + '\n'));
  const seconds = opts.seconds ?? envNumber('TJFS_SOAK_SECONDS', 600);
  const base = await mkdtemp(join(tmpdir(), 'tjfs-soak-'));
  const redis = await startRedis();
  const daemons: Daemon[] = [];
  try {
    await tjfsCli([
      'format',
      redis.url,
      'soak',
      '--storage',
      'file',
      '--bucket',
      join(base, 'bucket') + '/',
      '--trash-days',
      '0',
      '--block-size',
      '256',
    ]);
    for (const name of ['A', 'B']) {
      const mp = join(base, `mnt${name}`);
      await mkdir(mp);
      daemons.push(
        await startDaemon({
          metaUrl: redis.url,
          mountpoint: mp,
          cacheDir: join(base, `cache${name}`),
          logFile: join(base, `${name}.log`),
          extraArgs: name === 'B' ? ['--attr-cache', '0'] : [],
        }),
      );
    }
    const [A, B] = daemons as [Daemon, Daemon];
    const fsxProg = join(base, 'fsx.py');
    await writeFile(fsxProg, FSX_PY);
    const deadline = Date.now() / 1000 + seconds;
    const samples: Record<'A' | 'B', Array<[number, number]>> = { A: [], B: [] };
    const t0 = Date.now();
    const sample = async (): Promise<void> => {
      samples.A.push([(Date.now() - t0) / 1000, rssMiB(A.pid)]);
      samples.B.push([(Date.now() - t0) / 1000, rssMiB(B.pid)]);
    };
    await sample();
    const timer = setInterval(() => void sample(), 5000);
    const limit = { timeoutMs: (seconds + 300) * 1000 };
    const jobs: Record<string, Promise<{ code: number | null; stdout: string; stderr: string }>> = {};
    for (const [name, m] of [
      ['A', A],
      ['B', B],
    ] as const) {
      const local = join(base, `local${name}`);
      await mkdir(local);
      await mkdir(join(m.mountpoint, `fsx${name}`));
      jobs[`fsx${name}`] = py(
        FSX_LOOP_PY,
        [join(m.mountpoint, `fsx${name}`), local, name === 'A' ? 1000 : 2000, deadline, fsxProg],
        limit,
      );
    }
    jobs['appendA'] = py(APPEND_LOOP_PY, [join(A.mountpoint, 'shared.log'), 0, deadline], limit);
    jobs['appendB'] = py(APPEND_LOOP_PY, [join(B.mountpoint, 'shared.log'), 1, deadline], limit);
    jobs['smallA'] = py(SMALL_LOOP_PY, [join(A.mountpoint, 'small'), deadline], limit);
    jobs['nsB'] = py(NS_LOOP_PY, [join(B.mountpoint, 'ns'), deadline], limit);
    const workers: Record<string, unknown> = {};
    const failures: string[] = [];
    for (const [name, p] of Object.entries(jobs)) {
      const r = await p;
      const last = r.stdout.trim().split('\n').pop() ?? '';
      if (r.code !== 0) failures.push(`${name}: exit ${r.code}: ${r.stderr.slice(-1000)}`);
      try {
        workers[name] = JSON.parse(last) as unknown;
      } catch {
        workers[name] = { output: last };
      }
    }
    clearInterval(timer);
    await sample();
    const counts = {
      0: (workers['appendA'] as { records?: number }).records ?? 0,
      1: (workers['appendB'] as { records?: number }).records ?? 0,
    };
    const chk = await py(APPEND_CHECK_PY, [join(A.mountpoint, 'shared.log'), JSON.stringify(counts)], {
      timeoutMs: 900_000,
    });
    if (chk.code !== 0)
      failures.push(
        `append check: exit ${chk.code}${chk.timedOut ? ' (timed out)' : ''}: ${chk.stderr.slice(-1000)}`,
      );
    const appendCheck = JSON.parse(
      chk.stdout.trim() || '{"torn":-1,"missing":-1,"records":0}',
    ) as SoakResult['appendCheck'];
    const fsx = ['fsxA', 'fsxB'].map((k) => workers[k] as { ops?: number; failures?: unknown[] });
    for (const [i, f] of fsx.entries())
      if ((f.failures?.length ?? 0) > 0)
        failures.push(`fsx${i === 0 ? 'A' : 'B'}: ${JSON.stringify(f.failures).slice(0, 2000)}`);
    if (appendCheck.torn !== 0 || appendCheck.missing !== 0)
      failures.push(`appenders: ${JSON.stringify(appendCheck)}`);
    const result: SoakResult = {
      ...stamp(),
      seconds,
      workers,
      appendCheck,
      fsxOps: fsx.reduce((a, f) => a + (f.ops ?? 0), 0),
      rss: { A: summarize(samples.A), B: summarize(samples.B) },
      failures,
    };
    for (const k of ['A', 'B'] as const) {
      const r = result.rss[k];
      log(
        `  daemon ${k}: RSS start ${r.startMiB} MiB, peak ${r.peakMiB}, end ${r.endMiB}, growth ${r.growthMiBPerHour} MiB/h`,
      );
    }
    log(
      `  fsx ops ${result.fsxOps}; appenders ${appendCheck.records} records (torn ${appendCheck.torn}, missing ${appendCheck.missing}); failures ${failures.length}`,
    );
    await mkdir(join(process.cwd(), 'bench-results'), { recursive: true });
    await writeFile(
      join(process.cwd(), 'bench-results', 'soak.json'),
      JSON.stringify(result, null, 2) + '\n',
    );
    if (failures.length > 0)
      throw new Error(`soak found ${failures.length} failure(s):\n${failures.join('\n')}`);
    return result;
  } finally {
    for (const d of daemons) await d.stop();
    await redis.stop();
    await rm(base, { recursive: true, force: true });
  }
}
