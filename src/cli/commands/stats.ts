/**
 * `tjfs stats MOUNTPOINT [--schema ufmco] [--interval 1] [--verbosity 0] [--count N]`
 * (JuiceFS cmd/stats.go): a dstat-like live view of one client's counters, read from the
 * mount's `.stats` every second. A full line every `interval` seconds shows rates over that
 * interval; on a color terminal the seconds in between redraw a dark line in place (totals
 * so far), and the header repeats every 30 lines. Piped, only the full lines are printed,
 * without colors. `--count N` stops after N full lines (0 = until interrupted).
 */
import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { CliError, err, helpExamples, out, parseIntArg, type CliIo } from '../io.js';
import { colorful, requireMountPoint } from '../mount-point.js';
import { flattenStats, StatsView, type StatsSample } from '../stats-view.js';

export interface StatsFlags {
  schema: string;
  interval: string;
  verbosity: string;
  count: string;
  color?: boolean;
}

async function sample(path: string, io: CliIo): Promise<StatsSample> {
  try {
    return flattenStats(await readFile(path, 'utf8'));
  } catch (e) {
    err(io, `tjfs stats: read ${path}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`);
    return new Map();
  }
}

const sleepUntil = (t: number): Promise<void> =>
  new Promise((r) => setTimeout(r, Math.max(0, t - Date.now())));

export async function runStats(mountpoint: string, flags: StatsFlags, io: CliIo): Promise<number> {
  const interval = parseIntArg(flags.interval, '--interval');
  if (interval < 1) throw new CliError('--interval must be at least 1 second');
  const verbosity = parseIntArg(flags.verbosity, '--verbosity');
  const count = parseIntArg(flags.count, '--count');
  const m = await requireMountPoint(mountpoint, io);
  const color = colorful(io, flags.color === false);
  const view = new StatsView({ schema: flags.schema, verbosity, colorful: color });
  for (const ch of view.unknown) err(io, `Warning: no item defined for ${ch}`);
  if (view.sections.length === 0)
    throw new CliError(`no section to watch in schema '${flags.schema}': use letters of tufmcog`);
  const t0 = Date.now();
  let current = await sample(m.stats, io);
  let start = { s: current, at: Date.now() };
  let last = current;
  let lines = 0;
  for (let tick = 0; ; tick++) {
    if (tick % (interval * 30) === 0) out(io, view.header);
    if (tick % interval === 0) {
      const now = Date.now();
      out(io, view.line(start.s, current, (now - start.at) / 1000 || interval));
      start = { s: current, at: now };
      lines++;
    } else if (color) {
      io.stdout.write(`${view.line(start.s, current, 1, true)}\r`);
    }
    if (count > 0 && lines >= count) break;
    last = current;
    await sleepUntil(t0 + (tick + 1) * 1000);
    current = await sample(m.stats, io);
    if (current.size === 0) current = last; // a failed read shows no change, as JuiceFS
  }
  return 0;
}

export function registerStats(program: Command, io: CliIo, setExit: (p: Promise<number>) => void): void {
  program
    .command('stats')
    .description('show real time performance statistics of a mount (reads MOUNTPOINT/.stats)')
    .argument('<MOUNTPOINT>', 'root of a tjfs mount')
    .option(
      '--schema <letters>',
      'sections to show (t: time, u: usage, f: fuse, m: meta, c: blockcache, o: object, g: node runtime)',
      'ufmco',
    )
    .option('--interval <seconds>', 'seconds between full lines', '1')
    .option('-l, --verbosity <level>', 'verbosity level, 0 or 1 is enough for most cases', '0')
    .option('-c, --count <n>', 'number of lines to print before exiting (0: until interrupted)', '0')
    .option('--no-color', 'no colors even on a terminal')
    .addHelpText(
      'after',
      helpExamples(
        'tjfs stats /mnt/jfs',
        'tjfs stats /mnt/jfs -l 1',
        'tjfs stats /mnt/jfs --schema tufo --count 10',
      ),
    )
    .action((mp: string, flags: StatsFlags) => setExit(runStats(mp, flags, io)));
}
