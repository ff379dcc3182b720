/**
 * `tjfs debug MOUNTPOINT [--out-dir ./debug] [--limit 5000] [--stats-sec 5] [--trace-sec 5]
 * [--profile-sec 30]` (JuiceFS cmd/debug.go): collects what a maintainer needs about one mount into
 * `OUT-DIR/<mount-path-with-dashes>-<YYYYMMDDhhmmss>/` and zips that directory beside it
 * (`.zip`, as JuiceFS; written with fflate). Files:
 *   system-info.log  platform, kernel, OS, Node, CPUs, memory, /proc/mounts line, df
 *   cmdline.txt      the mount's daemon command lines (secrets masked)
 *   config.txt       `.config` with secret fields "removed" and URL passwords '****'
 *   stats.txt, stats.<N>s.txt   `.stats` now and N seconds later (--stats-sec)
 *   accesslog.<N>s.txt          `.accesslog` during N seconds (--trace-sec)
 *   tjfs.log         the last --limit lines of the mount's log (background or --log mounts)
 *   process-status.txt  /proc status and limits of the daemon processes
 *   memstats.json    the daemon's process.memoryUsage() and V8 heap statistics
 *   cpu.cpuprofile   a V8 CPU profile of the daemon during --profile-sec seconds
 *   heap.heapprofile a V8 sampling heap profile of the daemon over the same seconds
 *   profile-missing.txt  why any of the last three is missing (one line each)
 * Where JuiceFS fetches Go's pprof from the mount, tjfs fetches the V8 profiles that the
 * mount's metrics listener serves under /debug/pprof/ (src/cli/profiler.ts) at `.config` →
 * Mount.MetricsAddress: the process that runs the file system (the worker of a `mount -d`).
 * --profile-sec 0 takes no CPU or heap profile. A mount without a metrics listener, one that
 * does not answer or an older tjfs leaves them out with a note; the rest is collected anyway.
 * The samples (stats, access log, profiles) run together: the command takes about the
 * longest of --stats-sec, --trace-sec and --profile-sec.
 */
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import { zipSync, type Zippable } from 'fflate';
import { CLIENT_VERSION } from '../../meta/format.js';
import { CliError, err, helpExamples, out, parseIntArg, type CliIo } from '../io.js';
import { requireMountPoint, type InspectedMount } from '../mount-point.js';
import { MAX_PROFILE_SECONDS, PROFILE_KINDS } from '../profiler.js';
import {
  accessLogSample,
  configText,
  dialAddress,
  fetchProfile,
  logPathOf,
  mountProcesses,
  processStatus,
  systemInfo,
  tailLines,
} from '../debug-collect.js';

export interface DebugFlags {
  outDir: string;
  limit: string;
  statsSec: string;
  traceSec: string;
  profileSec: string;
}

const MAX_ACCESS_LOG = 32 * 1024 ** 2;

function stamp(d: Date): string {
  const p = (n: number): string => String(n).padStart(2, '0');
  return `${d.getFullYear()}${p(d.getMonth() + 1)}${p(d.getDate())}${p(d.getHours())}${p(d.getMinutes())}${p(d.getSeconds())}`;
}

const warn = (io: CliIo, msg: string): void => err(io, `tjfs debug: ${msg}`);
const reason = (e: unknown): string => (e as NodeJS.ErrnoException).code ?? (e as Error).message ?? String(e);

async function collectStats(m: InspectedMount, dir: string, secs: number, io: CliIo): Promise<void> {
  try {
    await writeFile(join(dir, 'stats.txt'), await readFile(m.stats));
    await new Promise((r) => setTimeout(r, secs * 1000));
    await writeFile(join(dir, `stats.${secs}s.txt`), await readFile(m.stats));
  } catch (e) {
    warn(io, `failed to sample ${m.stats}: ${reason(e)}`);
  }
}

async function collectAccessLog(m: InspectedMount, dir: string, secs: number, io: CliIo): Promise<void> {
  try {
    await writeFile(
      join(dir, `accesslog.${secs}s.txt`),
      await accessLogSample(m.mp, m.accessLog, secs, MAX_ACCESS_LOG),
    );
  } catch (e) {
    warn(io, `failed to sample ${m.accessLog}: ${reason(e)}`);
  }
}

async function collectLog(
  mount: Record<string, unknown>,
  uid: number | undefined,
  dir: string,
  limit: number,
  io: CliIo,
): Promise<void> {
  const path = logPathOf(mount, uid);
  if (path === undefined) {
    warn(io, 'the mount runs in the foreground without --log: its log is not collected');
    return;
  }
  try {
    await writeFile(join(dir, 'tjfs.log'), await tailLines(path, limit));
    out(io, `The last ${limit} lines of ${path} are collected`);
  } catch (e) {
    warn(io, `failed to read the log ${path}: ${reason(e)}`);
  }
}

/**
 * memstats.json, cpu.cpuprofile and heap.heapprofile from the mount's metrics listener; the
 * CPU and heap profiles run together for `secs` seconds. What could not be fetched is
 * warned about and noted in profile-missing.txt; nothing here fails the command.
 */
async function collectProfiles(
  mount: Record<string, unknown>,
  haveConfig: boolean,
  dir: string,
  secs: number,
  io: CliIo,
): Promise<void> {
  const notes: string[] = [];
  const addr = dialAddress(mount['MetricsAddress']);
  if (!haveConfig) notes.push('no profiles: the metrics address is unknown (.config could not be read)');
  else if (addr === undefined)
    notes.push(
      'no profiles: the mount serves no metrics (.config has no Mount.MetricsAddress: ' +
        'its --metrics address could not be listened on, see its log)',
    );
  else {
    const take = async (name: string, file: string, timeoutMs: number): Promise<void> => {
      await writeFile(join(dir, file), await fetchProfile(addr, name, timeoutMs));
    };
    try {
      // Instant, and it tells at once whether the listener answers at all.
      await take('memstats', 'memstats.json', 10_000);
    } catch (e) {
      notes.push(`no profiles: ${(e as Error).message}`);
    }
    if (notes.length === 0 && secs > 0) {
      const timeout = secs * 1000 + 30_000;
      await Promise.all(
        Object.values(PROFILE_KINDS).map(({ route, file, label }) =>
          take(`${route}?seconds=${secs}`, file, timeout).then(
            () => out(io, `The ${label} profile of ${secs} s is collected`),
            (e: unknown) => notes.push(`no ${label} profile: ${(e as Error).message}`),
          ),
        ),
      );
    } else if (notes.length === 0) out(io, '--profile-sec 0: no CPU or heap profile taken');
  }
  for (const n of notes) warn(io, n);
  if (notes.length > 0)
    await writeFile(join(dir, 'profile-missing.txt'), notes.join('\n') + '\n').catch(() => undefined);
}

async function daemonUid(pid: number | undefined): Promise<number | undefined> {
  if (pid === undefined) return undefined;
  const status = await readFile(`/proc/${pid}/status`, 'utf8').catch(() => '');
  const uid = /^Uid:\s+(\d+)/m.exec(status)?.[1];
  return uid === undefined ? undefined : Number(uid);
}

async function zipDir(dir: string, dest: string): Promise<void> {
  const files: Zippable = {};
  for (const name of (await readdir(dir)).sort()) files[name] = await readFile(join(dir, name));
  await writeFile(dest, zipSync(files, { level: 6 }));
}

export async function runDebug(
  mountpoint: string,
  flags: DebugFlags,
  io: CliIo,
  version = 'unknown',
): Promise<number> {
  const limit = parseIntArg(flags.limit, '--limit');
  const statsSec = parseIntArg(flags.statsSec, '--stats-sec');
  const traceSec = parseIntArg(flags.traceSec, '--trace-sec');
  const profileSec = parseIntArg(flags.profileSec, '--profile-sec');
  if (profileSec > MAX_PROFILE_SECONDS)
    throw new CliError(`invalid --profile-sec '${flags.profileSec}': at most ${MAX_PROFILE_SECONDS} seconds`);
  const m = await requireMountPoint(mountpoint, io);
  const at = stamp(new Date());
  const prefix = m.mp.split('/').filter(Boolean).join('-');
  const outDir = resolve(io.cwd ?? process.cwd(), flags.outDir);
  const dir = join(outDir, `${prefix}-${at}`);
  await mkdir(dir, { recursive: true }).catch((e: unknown) => {
    throw new CliError(`failed to create out dir ${dir}: ${reason(e)}`);
  });

  const sys = await systemInfo(m.mp, `${version} (JuiceFS client version ${CLIENT_VERSION})`);
  await writeFile(join(dir, 'system-info.log'), sys);
  out(io, `\n${sys}`);

  const procs = await mountProcesses(m.mp);
  const cmd = procs.map((p) => `${p.pid}: ${p.cmdline}`).join('\n');
  if (procs.length === 0) warn(io, `no process found that mounts ${m.mp}`);
  else await writeFile(join(dir, 'cmdline.txt'), cmd + '\n');
  out(io, `Mount Command:\n${cmd || '(unknown)'}\n`);

  let mount: Record<string, unknown> = {};
  let haveConfig = false;
  try {
    const cfg = await configText(m.config);
    await writeFile(join(dir, 'config.txt'), cfg);
    mount = ((JSON.parse(cfg) as { Mount?: Record<string, unknown> }).Mount ?? {}) as Record<string, unknown>;
    haveConfig = true;
  } catch (e) {
    warn(io, `failed to get the volume config ${m.config}: ${reason(e)}`);
  }
  const uid = await daemonUid(procs[0]?.pid);
  await Promise.all([
    collectStats(m, dir, statsSec, io),
    collectAccessLog(m, dir, traceSec, io),
    collectLog(mount, uid, dir, limit, io),
    collectProfiles(mount, haveConfig, dir, profileSec, io),
  ]);
  const status = await processStatus(procs);
  if (status !== undefined) await writeFile(join(dir, 'process-status.txt'), status);

  const zip = join(outDir, `${prefix}-${at}.zip`);
  await zipDir(dir, zip);
  out(io, `All files are collected to ${dir}\nArchive: ${zip}`);
  return 0;
}

export function registerDebug(
  program: Command,
  io: CliIo,
  setExit: (p: Promise<number>) => void,
  version: string,
): void {
  program
    .command('debug')
    .description(
      'collect system facts, config, stats, access and daemon logs and CPU/heap profiles of a mount into a zip',
    )
    .argument('<MOUNTPOINT>', 'root of a tjfs mount')
    .option('--out-dir <dir>', 'the output directory of the result file', 'debug')
    .option('--limit <n>', 'the number of last log lines to collect', '5000')
    .option('--stats-sec <n>', 'stats sampling duration in seconds', '5')
    .option('--trace-sec <n>', 'access log sampling duration in seconds', '5')
    .option(
      '--profile-sec <n>',
      "CPU and heap profiling duration in seconds, from the mount's metrics listener (0: none; at most 300)",
      '30',
    )
    .addHelpText(
      'after',
      helpExamples(
        'tjfs debug /mnt/jfs',
        'tjfs debug --out-dir=/var/log /mnt/jfs',
        'tjfs debug --out-dir=/var/log --limit=1000 /mnt/jfs',
      ),
    )
    .action((mp: string, flags: DebugFlags) => setExit(runDebug(mp, flags, io, version)));
}
