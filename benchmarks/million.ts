/**
 * `npm run bench -- million [--files N] [--engines sqlite3,redis]`: tjfs's own maintenance
 * commands on a volume of N files (default 1,000,000): files/s and peak RSS of each command,
 * run as its own process (`/usr/bin/time` gives the peak RSS), to show that memory is bounded
 * by a batch and not by the volume (compare the JSON of a 100k and a 1M run).
 *
 * Phases per engine, in order, on a fresh volume (file store in a temp dir):
 * - create: `tjfs mdtest META /m --dirs 10 --depth 2 --threads 4 --files F` (111 directories,
 *   F chosen so the total is >= N; empty files, as `juicefs mdtest` without --write);
 * - data subset (not timed): D = max(100, N/1000) files of 16 KiB written through the API under
 *   /data, so fsck, gc and warmup have blocks to look at;
 * - dump (JSON to a file), load (into a second, empty database), fsck, gc (no --delete);
 * - sync of one first-level subtree (about N/10 empty files) from jfs://BENCH_META/... to a
 *   local directory; warmup of /data through a mount (the subset only: reading N files through
 *   FUSE would measure the mount, not the command);
 * - rmr --skip-trash of /m through the mount (every file and directory, in the engine).
 * `--heap-cap MiB` runs every command with V8's old space capped there: a command whose
 * live memory grows with the volume then fails instead of just showing a larger peak RSS
 * (a plain peak RSS also counts garbage V8 has not collected yet).
 * Mounts hold /tmp/tjfs-mount.lock (shared machine rule) only while they are up.
 * Writes bench-results/million-<N>.json with the commit, machine, per-phase seconds, files/s and
 * peak RSS (MiB), and JuiceFS's published 1M-file dump/load figures for comparison.
 */
import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openVolume } from '../src/api/volume.js';
import { BIN } from '../test/helpers/mount.js';
import { startRedis, type RedisServer } from '../test/helpers/redis-server.js';
import { startDaemon, type Daemon } from './fuse-daemon.js';
import { stamp, type Stamp } from './stamp.js';

export type MillionEngine = 'sqlite3' | 'redis';

export interface MillionOptions {
  files?: number | string;
  engines?: MillionEngine[] | string;
  /** `npm run bench -- million --files N --engines sqlite3` (run.ts passes `--name value` pairs here). */
  args?: Record<string, string>;
  log?: (line: string) => void;
}

export interface PhaseResult {
  /** Files (or entries) the phase handled. */
  files: number;
  seconds: number;
  filesPerSec: number;
  peakRssMiB: number;
  note?: string;
}

export interface MillionResult extends Stamp {
  config: { files: number; treeFiles: number; dataFiles: number; syncFiles: number; heapCapMiB?: number };
  engines: Partial<Record<MillionEngine, Record<string, PhaseResult>>>;
  juicefsReference: { source: string; note: string; figures: Record<string, string> };
}

const JUICEFS_REFERENCE = {
  source: 'JuiceFS PR #5263 (its 1M-file dump/load figures, measured on a laptop)',
  note: 'binary dump/load; JSON dumps took about 4-7 s on Redis, 50 s dump / 72 s load on MySQL',
  figures: {
    'redis dump (binary)': '3.5 s',
    'redis load (binary)': '1.3 s',
    'redis dump/load (JSON)': 'about 4-7 s',
    'mysql dump (binary, 10 threads)': '4.2 s',
    'mysql dump (JSON)': '50 s',
    'mysql load (binary)': '33 s',
    'mysql load (JSON)': '72 s',
  },
};

interface Timed {
  code: number;
  seconds: number;
  peakRssMiB: number;
  stdout: string;
  stderr: string;
}

/** Runs `tjfs ARGS` under /usr/bin/time: exit code, wall seconds and peak RSS. */
async function timed(args: string[], env: Record<string, string> = {}): Promise<Timed> {
  const dir = await mkdtemp(join(tmpdir(), 'tjfs-million-time-'));
  const stats = join(dir, 'time');
  try {
    const child = spawn('/usr/bin/time', ['-f', '%e %M', '-o', stats, process.execPath, BIN, ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, ...env },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout = (stdout + d.toString()).slice(-20_000)));
    child.stderr.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-20_000)));
    const code = await new Promise<number>((resolve) => child.once('exit', (c) => resolve(c ?? -1)));
    const [sec, kib] = (await readFile(stats, 'utf8')).trim().split('\n').pop()!.split(' ').map(Number);
    return {
      code,
      seconds: sec ?? NaN,
      peakRssMiB: Math.round(((kib ?? 0) / 1024) * 10) / 10,
      stdout,
      stderr,
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

function phase(t: Timed, files: number, note?: string): PhaseResult {
  const seconds = Math.max(t.seconds, 0.01);
  return {
    files,
    seconds,
    filesPerSec: Math.round(files / seconds),
    peakRssMiB: t.peakRssMiB,
    ...(note ? { note } : {}),
  };
}

/** `--heap-cap MiB`: V8's old-space limit for every measured command (see runMillionBench). */
let heapCapMiB: number | undefined;

async function must(what: string, args: string[], env: Record<string, string> = {}): Promise<Timed> {
  const cap = heapCapMiB !== undefined ? { NODE_OPTIONS: `--max-old-space-size=${heapCapMiB}` } : {};
  const t = await timed(args, { ...env, ...cap });
  if (t.code !== 0) throw new Error(`${what} failed (exit ${t.code}): ${t.stderr.slice(-2000)}`);
  return t;
}

interface EngineSetup {
  meta: string;
  loadMeta: string;
  stop: () => Promise<void>;
}

async function engineSetup(engine: MillionEngine, dir: string): Promise<EngineSetup> {
  if (engine === 'sqlite3')
    return {
      meta: `sqlite3://${join(dir, 'meta.db')}`,
      loadMeta: `sqlite3://${join(dir, 'loaded.db')}`,
      stop: async () => undefined,
    };
  const server: RedisServer = await startRedis();
  return {
    meta: server.url.replace(/\/\d*$/, '/1'),
    loadMeta: server.url.replace(/\/\d*$/, '/2'),
    stop: () => server.stop(),
  };
}

/** mdtest's per-directory file count for a tree of 111 directories and 4 threads. */
function treeShape(files: number): { perDir: number; total: number } {
  const perDir = Math.max(1, Math.ceil(files / (111 * 4)));
  return { perDir, total: perDir * 111 * 4 };
}

/** Holds /tmp/tjfs-mount.lock (one FUSE user at a time on this machine) until released. */
async function mountLock(): Promise<{ release(): void }> {
  const child = spawn('flock', ['/tmp/tjfs-mount.lock', 'sh', '-c', 'echo locked; exec cat'], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  await new Promise<void>((resolve, reject) => {
    child.stdout.once('data', () => resolve());
    child.once('exit', (c) => reject(new Error(`flock exited ${c ?? ''}`)));
  });
  child.removeAllListeners('exit');
  return { release: () => child.stdin.end() };
}

/** The data subset, written through the API (src/api), so no mount is needed for it. */
async function writeData(meta: string, count: number): Promise<void> {
  const vol = await openVolume(meta, { uid: 0, gid: 0 });
  try {
    await vol.mkdir('/data');
    const buf = Buffer.alloc(16 << 10, 7);
    for (let i = 0; i < count; i++) {
      buf.writeUInt32LE(i, 0);
      await vol.writeFile(`/data/f${i}`, buf);
    }
  } finally {
    await vol.close();
  }
}

async function runEngine(
  engine: MillionEngine,
  n: number,
  log: (l: string) => void,
): Promise<{ phases: Record<string, PhaseResult>; shape: { total: number; data: number; sync: number } }> {
  const dir = await mkdtemp(join(tmpdir(), `tjfs-million-${engine}-`));
  const setup = await engineSetup(engine, dir);
  const phases: Record<string, PhaseResult> = {};
  const { perDir, total } = treeShape(n);
  const dataFiles = Math.max(100, Math.floor(n / 1000));
  // One first-level subtree: 11 of the 111 directories.
  const syncFiles = perDir * 4 * 11;
  let daemon: Daemon | undefined;
  let lock: { release(): void } | undefined;
  const mp = join(dir, 'mnt');
  const report = (name: string, p: PhaseResult): void => {
    phases[name] = p;
    log(
      `  ${engine} ${name}: ${p.files} files in ${p.seconds.toFixed(1)} s = ${p.filesPerSec} files/s, peak RSS ${p.peakRssMiB} MiB${p.note ? ` (${p.note})` : ''}`,
    );
  };
  try {
    await must('format', ['format', setup.meta, 'million', '--bucket', join(dir, 'data') + '/']);
    const create = await must('mdtest', [
      'mdtest',
      setup.meta,
      '/m',
      '--dirs',
      '10',
      '--depth',
      '2',
      '--threads',
      '4',
      '--files',
      String(perDir),
    ]);
    report('create (mdtest)', phase(create, total));

    await mkdir(mp);
    const mount = async (): Promise<void> => {
      lock = await mountLock();
      daemon = await startDaemon({
        metaUrl: setup.meta,
        mountpoint: mp,
        cacheDir: join(dir, 'cache'),
        logFile: join(dir, 'mount.log'),
        readyTimeoutMs: 60_000,
      });
    };
    await writeData(setup.meta, dataFiles);
    const all = total + dataFiles;

    const dumpFile = join(dir, 'dump.json');
    report('dump', phase(await must('dump', ['dump', setup.meta, dumpFile]), all));
    report('load', phase(await must('load', ['load', setup.loadMeta, dumpFile]), all));
    await rm(dumpFile, { force: true });
    report('fsck', phase(await must('fsck', ['fsck', setup.meta]), all));
    report('gc', phase(await must('gc', ['gc', setup.meta]), all));
    const dst = join(dir, 'sync-dst') + '/';
    const sync = await must(
      'sync',
      ['sync', 'jfs://BENCH_META/m/test-dir.0-0/mdtest_tree.0/mdtest_tree.1/', dst, '--threads', '10'],
      { BENCH_META: setup.meta },
    );
    report('sync', phase(sync, syncFiles, 'subset: one first-level subtree, volume -> local directory'));
    await rm(dst, { recursive: true, force: true });
    await mount();
    const warm = await must('warmup', ['warmup', join(mp, 'data'), '--threads', '10']);
    report('warmup', phase(warm, dataFiles, `subset: ${dataFiles} files of 16 KiB through the mount`));
    const rmr = await must('rmr', ['rmr', join(mp, 'm'), '--skip-trash']);
    report('rmr', phase(rmr, total + 2 + 111, 'every file and directory of the tree'));
  } finally {
    await daemon?.stop();
    lock?.release();
    await setup.stop();
    await rm(dir, { recursive: true, force: true });
  }
  return { phases, shape: { total, data: dataFiles, sync: syncFiles } };
}

function engineList(v: MillionOptions['engines']): MillionEngine[] {
  const list = typeof v === 'string' ? v.split(',') : (v ?? ['sqlite3', 'redis']);
  for (const e of list)
    if (e !== 'sqlite3' && e !== 'redis') throw new Error(`unknown engine ${e} (sqlite3, redis)`);
  return list as MillionEngine[];
}

export async function runMillionBench(opts: MillionOptions = {}): Promise<MillionResult> {
  const n = Number(opts.files ?? opts.args?.files ?? process.env.TJFS_BENCH_MILLION_FILES ?? 1_000_000);
  if (!Number.isSafeInteger(n) || n < 1000)
    throw new Error(`--files must be a whole number >= 1000, got ${String(opts.files)}`);
  const cap = opts.args?.['heap-cap'];
  heapCapMiB = cap === undefined ? undefined : Number(cap);
  if (heapCapMiB !== undefined && !(heapCapMiB >= 16))
    throw new Error(`--heap-cap must be a number of MiB >= 16, got ${String(cap)}`);
  const log = opts.log ?? ((l: string) => process.stderr.write(l + '\n'));
  const engines: MillionResult['engines'] = {};
  let shape = { total: 0, data: 0, sync: 0 };
  for (const engine of engineList(opts.engines ?? opts.args?.engines)) {
    log(`million: ${engine}, ${n} files`);
    const r = await runEngine(engine, n, log);
    engines[engine] = r.phases;
    shape = r.shape;
  }
  const result: MillionResult = {
    ...stamp(),
    config: {
      files: n,
      treeFiles: shape.total,
      dataFiles: shape.data,
      syncFiles: shape.sync,
      ...(heapCapMiB !== undefined ? { heapCapMiB } : {}),
    },
    engines,
    juicefsReference: JUICEFS_REFERENCE,
  };
  const out = join(
    process.cwd(),
    'bench-results',
    `million-${n}${heapCapMiB !== undefined ? `-cap${heapCapMiB}` : ''}.json`,
  );
  await mkdir(join(process.cwd(), 'bench-results'), { recursive: true });
  await writeFile(out, JSON.stringify(result, null, 2) + '\n');
  log(`million: written to ${out}`);
  return result;
}

if (process.argv[1]?.endsWith('benchmarks/million.js') === true) {
  const args: Record<string, string> = {};
  const argv = process.argv.slice(2);
  for (let i = 0; i < argv.length; i++)
    if (argv[i]?.startsWith('--') === true) args[argv[i]!.slice(2)] = argv[++i] ?? '';
  process.once('SIGINT', () => process.exit(130));
  await runMillionBench({ args });
}
