/**
 * `tjfs sync SRC DST` (JuiceFS cmd/sync.go): rsync-like copy between local directories,
 * object stores (s3://, minio://, file://) and volumes (jfs://META-NAME/path, the meta URL in
 * the environment variable META-NAME), with JuiceFS's flags and final summary line.
 *
 * Design: URLs parse in src/sync/url.ts; this file opens the two endpoints (a jfs:// volume
 * through src/api with the CLI's engine options), runs the Syncer and prints JuiceFS's
 * `Found: …` line on stderr (where JuiceFS logs it). Progress bars only on a terminal.
 * Rules (--include/--exclude) keep their command-line order, read from argv as JuiceFS reads
 * os.Args, and apply only when some --exclude is given (as JuiceFS).
 * Invariants: SRC and DST both end with '/' or neither does; a missing local or jfs source is
 * a one-line error before anything is written; any failed file makes the exit code 1.
 */
import type { Command } from 'commander';
import { openVolume } from '../../api/volume.js';
import { RetryingStore } from '../../object/retrying.js';
import type { SyncEndpoint } from '../../sync/endpoint.js';
import { ObjectEndpoint } from '../../sync/object-endpoint.js';
import { parseRules } from '../../sync/rules.js';
import { Syncer, summaryLine, type SyncOptions, type SyncStats } from '../../sync/sync.js';
import { TreeEndpoint } from '../../sync/tree-endpoint.js';
import { localTreeFs, volumeTreeFs } from '../../sync/tree-fs.js';
import { parseSyncUrl, SyncUrlError, type SyncLocation } from '../../sync/url.js';
import { parseDurationMs } from '../../meta/retry-policy.js';
import { CliError, err, helpExamples, parseIntArg, parseSize, type CliIo } from '../io.js';
import { openCliEngine } from '../meta-open.js';
import { createProgress, type ProgressCounter } from '../progress.js';

export interface SyncFlags {
  exclude?: string[];
  include?: string[];
  matchFullPath?: boolean;
  update?: boolean;
  forceUpdate?: boolean;
  existing?: boolean;
  ignoreExisting?: boolean;
  dirs?: boolean;
  perms?: boolean;
  links?: boolean;
  deleteSrc?: boolean;
  deleteSrcAfter?: boolean;
  deleteDst?: boolean;
  checkAll?: boolean;
  checkNew?: boolean;
  dry?: boolean;
  threads?: string;
  listThreads?: string;
  noHttps?: boolean;
  https?: boolean;
  start?: string;
  end?: string;
  minSize?: string;
  maxSize?: string;
  maxAge?: string;
  minAge?: string;
  startTime?: string;
  endTime?: string;
  limit?: string;
}

function durationArg(text: string | undefined, what: string): number | undefined {
  if (text === undefined) return undefined;
  const ms = parseDurationMs(text);
  if (ms === undefined)
    throw new CliError(`invalid ${what} '${text}': want a duration such as 30m, 12h or 7d`);
  return ms;
}

/** JuiceFS's time flags: '2006-01-02 15:04:05' in local time. */
function timeArg(text: string | undefined, what: string): number | undefined {
  if (text === undefined) return undefined;
  const m = /^(\d{4})-(\d{2})-(\d{2}) (\d{2}):(\d{2}):(\d{2})$/.exec(text.trim());
  const n = (i: number): number => Number(m?.[i]);
  const t = m === null ? NaN : new Date(n(1), n(2) - 1, n(3), n(4), n(5), n(6)).getTime();
  if (!Number.isFinite(t))
    throw new CliError(`invalid ${what} '${text}': want a time such as '2006-01-02 15:04:05'`);
  return t;
}

/** The filter and range options of the Syncer, validated. */
function filterOptions(f: SyncFlags): Partial<SyncOptions> {
  const o: Partial<SyncOptions> = {};
  if (f.start !== undefined) o.start = f.start;
  if (f.end !== undefined) o.end = f.end;
  if (f.minSize !== undefined) o.minSize = parseSize(f.minSize, 'B', '--min-size');
  if (f.maxSize !== undefined) o.maxSize = parseSize(f.maxSize, 'B', '--max-size');
  const maxAge = durationArg(f.maxAge, '--max-age');
  if (maxAge !== undefined) o.maxAgeMs = maxAge;
  const minAge = durationArg(f.minAge, '--min-age');
  if (minAge !== undefined) o.minAgeMs = minAge;
  const st = timeArg(f.startTime, '--start-time');
  if (st !== undefined) o.startTimeMs = st;
  const et = timeArg(f.endTime, '--end-time');
  if (et !== undefined) o.endTimeMs = et;
  if (f.limit !== undefined) {
    const n = /^-?\d+$/.test(f.limit.trim()) ? Number(f.limit) : NaN;
    if (!Number.isSafeInteger(n))
      throw new CliError(`invalid --limit '${f.limit}': want a whole number (-1 for no limit)`);
    o.limit = n;
  }
  return o;
}

async function openEndpoint(loc: SyncLocation, io: CliIo, isSrc: boolean): Promise<SyncEndpoint> {
  const role = isSrc ? 'source' : 'destination';
  if (loc.kind === 'local') {
    const ep = new TreeEndpoint(localTreeFs(), loc.path, `file://${loc.path}`);
    if (isSrc && !(await ep.exists())) throw new CliError(`${role} ${loc.path} does not exist`);
    return ep;
  }
  if (loc.kind === 'jfs') {
    const engine = await openCliEngine(loc.metaUrl, io, { mustExist: true });
    let v;
    try {
      v = await openVolume(loc.metaUrl, { engine, env: io.env });
    } catch (e) {
      throw new CliError(`open volume jfs://${loc.name}/: ${e instanceof Error ? e.message : String(e)}`);
    }
    const ep = new TreeEndpoint(volumeTreeFs(v), loc.path, `jfs://${loc.name}${loc.path}`);
    if (isSrc && !(await ep.exists())) {
      await ep.close();
      throw new CliError(`${role} jfs://${loc.name}${loc.path} does not exist`);
    }
    return ep;
  }
  const { S3ObjectStore } = await import('../../object/s3/s3-store.js');
  const raw = new S3ObjectStore({
    bucket: loc.bucketUrl,
    ...(loc.accessKey !== undefined ? { accessKey: loc.accessKey } : {}),
    ...(loc.secretKey !== undefined ? { secretKey: loc.secretKey } : {}),
    ...(loc.sessionToken !== undefined ? { sessionToken: loc.sessionToken } : {}),
    ...(io.env.AWS_REGION !== undefined ? { region: io.env.AWS_REGION } : {}),
  });
  // JuiceFS sync tries each request 3 times.
  const store = new RetryingStore(raw, { retries: 2, baseDelayMs: 100 });
  return new ObjectEndpoint(store, loc.prefix, loc.label, () => raw.destroy());
}

function threadsOf(text: string | undefined): number {
  const n = text === undefined ? 10 : parseIntArg(text, '--threads');
  return Math.max(1, n);
}

/** The arguments after `sync` in argv (rules are read in order from them). */
function syncArgs(argv: readonly string[]): readonly string[] {
  const i = argv.indexOf('sync');
  return i < 0 ? argv : argv.slice(i + 1);
}

function progressHooks(io: CliIo, dry: boolean): { onCount: SyncOptions['onCount']; done: () => void } {
  const tty = (io.stderr as NodeJS.WriteStream).isTTY === true;
  if (!tty) return { onCount: undefined, done: () => undefined };
  const p = createProgress(io, 'sync');
  const bars: Partial<Record<keyof SyncStats, ProgressCounter>> = {
    found: p.counter('Scanned objects'),
    copied: p.counter(dry ? 'Would copy' : 'Copied objects'),
    skipped: p.counter('Skipped objects'),
    deleted: p.counter('Deleted objects'),
    failed: p.counter('Failed objects'),
  };
  return { onCount: (what, n, bytes) => bars[what]?.increment(n, bytes), done: () => p.done() };
}

export async function runSync(
  src: string,
  dst: string,
  f: SyncFlags,
  argv: readonly string[],
  io: CliIo,
): Promise<number> {
  if (src.endsWith('/') !== dst.endsWith('/'))
    throw new CliError('SRC and DST should both end with path separator or not!');
  const parseOpts = {
    cwd: io.cwd ?? process.cwd(),
    env: io.env,
    noHttps: f.noHttps === true || f.https === false,
  };
  let srcLoc: SyncLocation;
  let dstLoc: SyncLocation;
  try {
    srcLoc = parseSyncUrl(src, parseOpts);
    dstLoc = parseSyncUrl(dst, parseOpts);
  } catch (e) {
    if (e instanceof SyncUrlError) throw new CliError(e.message);
    throw e;
  }
  const threads = threadsOf(f.threads);
  const filters = filterOptions(f);
  if (f.listThreads !== undefined) parseIntArg(f.listThreads, '--list-threads');
  const args = syncArgs(argv);
  if ((f.include?.length ?? 0) > 0 && (f.exclude?.length ?? 0) === 0)
    err(
      io,
      'tjfs: warning: The include option needs to be used with the exclude option, otherwise the result of the current sync may not match your expectations',
    );
  const rules = (f.exclude?.length ?? 0) > 0 ? parseRules(args, (m) => err(io, `tjfs: warning: ${m}`)) : [];
  const srcEp = await openEndpoint(srcLoc, io, true);
  let dstEp: SyncEndpoint | undefined;
  const hooks = progressHooks(io, f.dry === true);
  try {
    dstEp = await openEndpoint(dstLoc, io, false);
    const opts: SyncOptions = {
      update: f.update === true,
      forceUpdate: f.forceUpdate === true,
      existing: f.existing === true,
      ignoreExisting: f.ignoreExisting === true,
      deleteSrc: f.deleteSrc === true,
      deleteSrcAfter: f.deleteSrcAfter === true,
      deleteDst: f.deleteDst === true,
      dirs: f.dirs === true,
      perms: f.perms === true,
      links: f.links === true,
      checkAll: f.checkAll === true,
      checkNew: f.checkNew === true,
      dry: f.dry === true,
      threads,
      rules,
      matchFullPath: f.matchFullPath === true,
      ...filters,
      log: (level, msg) => err(io, `tjfs: ${level === 'warn' ? 'warning: ' : ''}${msg}`),
      ...(hooks.onCount !== undefined ? { onCount: hooks.onCount } : {}),
    };
    let stats: SyncStats;
    try {
      stats = await new Syncer(srcEp, dstEp, opts).run();
    } catch (e) {
      throw new CliError(
        `sync ${srcEp.describe()} -> ${dstEp.describe()}: ${e instanceof Error ? e.message : String(e)}`,
      );
    } finally {
      hooks.done();
    }
    err(io, summaryLine(stats, opts));
    if (stats.failed > 0) throw new CliError(`failed to handle ${stats.failed} objects`);
    return 0;
  } finally {
    await srcEp.close();
    await dstEp?.close();
  }
}

function collect(v: string, prev: string[] = []): string[] {
  return [...prev, v];
}

export function registerSync(
  program: Command,
  io: CliIo,
  argv: readonly string[],
  setExit: (p: Promise<number>) => void,
): void {
  program
    .command('sync')
    .description('Sync between two storages')
    .argument('<SRC>', 'source: a path, file:///dir/, s3://…, minio://… or jfs://META-NAME/path')
    .argument('<DST>', 'destination, the same forms')
    .option('-s, --start <KEY>', 'the first KEY to sync')
    .option('-e, --end <KEY>', 'the last KEY to sync')
    .option('--exclude <PATTERN>', 'exclude Key matching PATTERN', collect)
    .option(
      '--include <PATTERN>',
      'don\'t exclude Key matching PATTERN, need to be used with "--exclude" option',
      collect,
    )
    .option('--match-full-path', 'match filters again the full path')
    .option('--max-size <SIZE>', 'skip files larger than SIZE')
    .option('--min-size <SIZE>', 'skip files smaller than SIZE')
    .option('--max-age <DURATION>', 'skip files older than DURATION')
    .option('--min-age <DURATION>', 'skip files newer than DURATION')
    .option('--start-time <TIME>', 'skip files modified before start-time. example: 2006-01-02 15:04:05')
    .option('--end-time <TIME>', 'skip files modified after end-time. example: 2006-01-02 15:04:05')
    .option(
      '--limit <N>',
      'limit the number of objects that will be processed (-1 is unlimited, 0 is to process nothing)',
    )
    .option(
      '-u, --update',
      'update existing files only when the source mtime is newer; ignore size differences',
    )
    .option('-f, --force-update', 'always update existing files')
    .option('--existing', 'skip creating new files on destination')
    .option('--ignore-existing', 'skip updating files that already exist on destination')
    .option('--dirs', 'sync directories or holders')
    .option('--perms', 'preserve permissions')
    .option('-l, --links', 'copy symlinks as symlinks')
    .option('--delete-src', 'delete objects from source those already exist in destination')
    .option('--delete-src-after', 'delete the source object after successful processing')
    .option('--delete-dst', 'delete extraneous objects from destination')
    .option('--check-all', 'verify integrity of all files in source and destination')
    .option('--check-new', 'verify integrity of newly copied files')
    .option('--dry', "don't copy file")
    .option('-p, --threads <N>', 'number of concurrent threads', '10')
    .option('--list-threads <N>', 'number of threads to list objects (listing is one stream here)', '1')
    .option('--no-https', 'donot use HTTPS')
    .addHelpText(
      'after',
      helpExamples(
        'tjfs sync /data/ s3://AK:SK@mybucket.s3.us-east-1.amazonaws.com/data/',
        'META=redis://localhost/1 tjfs sync --exclude "*.tmp" jfs://META/logs/ /backup/logs/',
        'tjfs sync --delete-src jfs://META/2023/ s3://AK:SK@127.0.0.1:9000/archive/2023/ --no-https',
      ),
    )
    .action((src: string, dst: string, f: SyncFlags) => setExit(runSync(src, dst, f, argv, io)));
}
