/**
 * `tjfs profile MOUNTPOINT|LOGFILE [-u UIDS] [-g GIDS] [-p PIDS] [--interval 2] [--count N]`
 * (JuiceFS cmd/profile.go): per-operation counts and latencies from the access log.
 * On a mount point it reads `.accesslog` live and prints a table every `interval` seconds
 * (one at start, empty, as JuiceFS). On a saved log file it replays: `--interval 0` sums
 * the whole file into one table; a positive interval cuts the log into windows of its own
 * time and prints one table each (paced in real time on a terminal only). `--count N`
 * stops after N tables (tjfs's addition, for scripts; 0 = until interrupted or replayed).
 * Live reading and its stop are in src/cli/live-log.ts.
 */
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { createInterface } from 'node:readline';
import type { Command } from 'commander';
import {
  matches,
  OpStats,
  parseIdList,
  parseLogLine,
  profileLines,
  renderProfile,
  type ProfileFilter,
} from '../access-profile.js';
import { CliError, helpExamples, parseIntArg, type CliIo } from '../io.js';
import { followAccessLog } from '../live-log.js';
import { colorful, requireMountPoint } from '../mount-point.js';

export interface ProfileFlags {
  uid?: string;
  gid?: string;
  pid?: string;
  interval: string;
  count: string;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, Math.max(0, ms)));

function filterOf(flags: ProfileFlags): ProfileFilter {
  try {
    const f: ProfileFilter = {};
    const uids = parseIdList(flags.uid, '--uid');
    const gids = parseIdList(flags.gid, '--gid');
    const pids = parseIdList(flags.pid, '--pid');
    if (uids) f.uids = uids;
    if (gids) f.gids = gids;
    if (pids) f.pids = pids;
    return f;
  } catch (e) {
    throw new CliError((e as Error).message);
  }
}

/** Replays a saved access log (see the module header). */
async function replay(
  path: string,
  intervalSec: number,
  count: number,
  f: ProfileFilter,
  io: CliIo,
): Promise<number> {
  const color = colorful(io);
  const lines = createInterface({ input: createReadStream(path), crlfDelay: Infinity });
  let stats = new OpStats();
  let first: number | undefined;
  let last = 0;
  let edge = 0;
  let printed = 0;
  const show = async (head: string, at: number, seconds: number): Promise<boolean> => {
    io.stdout.write(renderProfile(profileLines({ head, seconds, at, stats }), color));
    stats = new OpStats();
    printed++;
    if (color && head === '(replaying)') await sleep(intervalSec * 1000);
    return count > 0 && printed >= count;
  };
  try {
    for await (const line of lines) {
      const e = parseLogLine(line);
      if (e === undefined || !matches(e, f)) continue;
      first ??= e.ts;
      last = e.ts;
      if (intervalSec > 0) {
        if (edge === 0) edge = e.ts + intervalSec * 1000;
        for (; e.ts > edge; edge += intervalSec * 1000)
          if (await show('(replaying)', edge, intervalSec)) return 0;
      }
      stats.add(e);
    }
  } catch (e) {
    throw new CliError(`read log file ${path}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`);
  }
  if (intervalSec > 0) await show('(replay done)', edge || Date.now(), intervalSec);
  else await show('', last || Date.now(), ((last - (first ?? last)) / 1000) | 0 || 0);
  return 0;
}

/** Reads `.accesslog` live, printing a table every interval (see the module header). */
async function live(
  mp: string,
  logPath: string,
  intervalSec: number,
  count: number,
  f: ProfileFilter,
  io: CliIo,
): Promise<number> {
  const color = colorful(io);
  let stats = new OpStats();
  let rest = '';
  const log = await followAccessLog(mp, logPath, (chunk) => {
    const parts = (rest + chunk.toString('utf8')).split('\n');
    rest = parts.pop() ?? '';
    for (const l of parts) {
      const e = parseLogLine(l);
      if (e !== undefined && matches(e, f)) stats.add(e);
    }
  }).catch((e: NodeJS.ErrnoException) => {
    throw new CliError(`open ${logPath}: ${e.code ?? e.message}`);
  });
  const t0 = Date.now();
  const show = (at: number): void => {
    io.stdout.write(renderProfile(profileLines({ head: '', seconds: intervalSec, at, stats }), color));
    stats = new OpStats();
  };
  try {
    show(t0);
    for (let n = 1; count === 0 || n <= count; n++) {
      await sleep(t0 + n * intervalSec * 1000 - Date.now());
      const failure = log.failure as NodeJS.ErrnoException | undefined;
      if (failure !== undefined) throw new CliError(`read ${logPath}: ${failure.code ?? String(failure)}`);
      show(Date.now());
    }
  } finally {
    await log.stop();
  }
  return 0;
}

export async function runProfile(path: string, flags: ProfileFlags, io: CliIo): Promise<number> {
  const intervalSec = parseIntArg(flags.interval, '--interval');
  const count = parseIntArg(flags.count, '--count');
  const f = filterOf(flags);
  if (path === '') throw new CliError('missing MOUNTPOINT or LOGFILE');
  const full = resolve(io.cwd ?? process.cwd(), path);
  const st = await stat(full).catch((e: NodeJS.ErrnoException) => {
    throw new CliError(`failed to stat path ${path}: ${e.code ?? e.message}`);
  });
  if (!st.isDirectory()) return replay(full, intervalSec, count, f, io);
  if (intervalSec === 0) throw new CliError('--interval must be > 0 for real time mode');
  const m = await requireMountPoint(full, io);
  return live(m.mp, m.accessLog, intervalSec, count, f, io);
}

export function registerProfile(program: Command, io: CliIo, setExit: (p: Promise<number>) => void): void {
  program
    .command('profile')
    .description('show per-operation statistics from the access log of a mount, live or replayed from a file')
    .argument('<MOUNTPOINT|LOGFILE>', 'root of a tjfs mount, or a saved access log')
    .option('-u, --uid <uids>', 'track only these UIDs (separated by comma)')
    .option('-g, --gid <gids>', 'track only these GIDs (separated by comma)')
    .option('-p, --pid <pids>', 'track only these PIDs (separated by comma)')
    .option('--interval <seconds>', 'refresh interval; 0 replays a log file at once', '2')
    .option('--count <n>', 'number of tables to print before exiting (0: until interrupted or replayed)', '0')
    .addHelpText(
      'after',
      helpExamples(
        'tjfs profile /mnt/jfs',
        'cat /mnt/jfs/.accesslog > /tmp/tjfs.accesslog   # Ctrl-C after a while',
        'tjfs profile /tmp/tjfs.accesslog --interval 0',
      ),
    )
    .action((p: string, flags: ProfileFlags) => setExit(runProfile(p, flags, io)));
}
