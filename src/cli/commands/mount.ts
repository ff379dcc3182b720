/**
 * `tjfs mount META MOUNTPOINT`: mounts a volume with FUSE. Foreground by default; `-d`
 * re-runs itself detached as a supervisor (src/supervisor) that owns the mount and runs the
 * daemon as a worker, replaced on the same FUSE connection if it dies; it returns once the
 * mount is ready. SIGTERM/SIGINT flush open files, unmount and close the session. A killed
 * supervisor leaves nothing mounted (the FUSE watchdog detaches it); `tjfs umount --force`
 * clears a mount in any state.
 */
import { spawn } from 'node:child_process';
import { openSync } from 'node:fs';
import { availableParallelism, homedir } from 'node:os';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import { mountFuse, type MountOptions } from '../../fuse/mount.js';
import { loadNative } from '../../native/addon.js';
import { VfsFuseOps } from '../../vfs/fuse-adapter.js';
import type { RuntimeOptions } from '../../vfs/runtime.js';
import { Vfs } from '../../vfs/vfs.js';
import { toFsError } from '../../base/errno.js';
import { addCacheFlags, cacheRuntimeOptions, type CacheFlags } from '../cache-flags.js';
import { CliError, err, out, parseIntArg, parseSecondsArg, helpExamples, type CliIo } from '../io.js';
import { createLogger, prepareLogFile } from '../logger.js';
import { daemonEnv } from '../../supervisor/daemon-env.js';
import { openCliRuntime } from '../meta-open.js';
import { checkMountPoint, checkVolume, makeMountPoint, removeMadeDirs } from '../mount-preflight.js';
import { resolveSubdir } from '../subdir.js';
import { SUPERVISOR_ENV } from '../../supervisor/protocol.js';
import { serveSupervised, WorkerLink } from '../../supervisor/worker.js';
import { movePasswordToEnv } from '../argv-secrets.js';
import { liveUpgradeSocket, runSupervisor, TAKEOVER_ENV } from './mount-supervisor.js';
import { redactSecrets } from '../../util/redact.js';
import { parseMetricsAddress, serveMetrics, type MetricsEndpoint } from '../metrics-server.js';
import { MIN_BACKUP_INTERVAL_MS, startMetaBackup } from '../../vfs/meta-backup.js';
import { parseDurationMs } from '../../meta/retry-policy.js';

export interface MountFlags extends CacheFlags {
  entryCache: string;
  dirEntryCache: string;
  negativeEntryCache: string;
  readOnly?: boolean;
  subdir?: string;
  o?: string[];
  log?: string;
  background?: boolean;
  bgjob?: boolean;
  hideInternal?: boolean;
  /** -d: journal acknowledged writes so a restarted worker replays them (default on). */
  writeJournal?: boolean;
  metrics?: string;
  busyPoll: string;
  backupMeta: string;
  backupSkipTrash?: boolean;
}

/**
 * `--backup-meta`: a Go-style duration (a bare number is seconds), 0 turns backups off; under
 * five minutes is refused as JuiceFS does, unless SKIP_BACKUP_META_CHECK=true (its escape hatch).
 */
export function parseBackupInterval(v: string, env: NodeJS.ProcessEnv): number {
  const ms = parseDurationMs(v);
  if (ms === undefined || !Number.isFinite(ms))
    throw new CliError(`--backup-meta: invalid duration ${JSON.stringify(v)} (e.g. 1h, 30m, 0 to disable)`);
  if (ms > 0 && ms < MIN_BACKUP_INTERVAL_MS && env['SKIP_BACKUP_META_CHECK'] !== 'true')
    throw new CliError(`--backup-meta should not be less than 5 minutes: ${v}`);
  return ms;
}

/**
 * Busy polling trades a little CPU for fewer wake-ups: it pays off when another core can run
 * the clients meanwhile, so it is off on single-core machines.
 */
function defaultBusyPollUs(): number {
  return availableParallelism() >= 2 ? 200 : 0;
}

function defaultLogFile(): string {
  return process.getuid?.() === 0 ? '/var/log/tjfs.log' : `${homedir()}/.tjfs/tjfs.log`;
}

/** Re-executes this command detached; resolves when the child reports the mount ready. */
async function daemonize(
  argv: readonly string[],
  flags: MountFlags,
  io: CliIo,
  upgradeFrom?: string,
): Promise<number> {
  const logFile = prepareLogFile(flags.log ?? defaultLogFile());
  const fd = openSync(logFile, 'a');
  const bin = resolve(dirname(fileURLToPath(import.meta.url)), '../bin.js');
  // The meta URL's password travels in the environment, never in the daemon's argv (ps).
  const hidden = movePasswordToEnv(
    argv.filter((a) => a !== '-d' && a !== '--background'),
    { ...process.env, ...io.env },
  );
  const child = spawn(process.execPath, [bin, ...hidden.args, '--log', logFile], {
    detached: true,
    stdio: ['ignore', fd, fd, 'ipc'],
    env: daemonEnv({
      ...hidden.env,
      TJFS_DAEMON: '1',
      [SUPERVISOR_ENV]: '1',
      ...(upgradeFrom !== undefined ? { [TAKEOVER_ENV]: upgradeFrom } : {}),
    }),
  });
  return new Promise<number>((resolveExit) => {
    const done = (code: number, msg: string): void => {
      child.removeAllListeners();
      if (child.connected) child.disconnect();
      child.unref();
      (code === 0 ? out : err)(io, msg);
      resolveExit(code);
    };
    child.on('message', (m: unknown) => {
      if (m === 'ready') done(0, `tjfs: mounted in the background (pid ${child.pid}, log ${logFile})`);
      else done(1, `tjfs: mount failed: ${String(m)} (see ${logFile})`);
    });
    child.on('exit', (code) =>
      done(code || 1, `tjfs: mount daemon exited with code ${code} (see ${logFile})`),
    );
  });
}

/** A mount needs the native addon: refused first, with the loader's reason (a failed or skipped build). */
function requireAddon(): void {
  try {
    loadNative();
  } catch (e) {
    const cause =
      e instanceof Error && e.cause instanceof Error ? ` (${e.cause.message.split('\n')[0]})` : '';
    const msg = (e instanceof Error ? e.message : String(e)).replace(/^tjfs: /, '');
    throw new CliError(`mount refused: ${msg}${cause}`);
  }
}

export async function runMount(
  metaUrl: string,
  mountpoint: string,
  flags: MountFlags,
  io: CliIo,
  argv: readonly string[],
): Promise<number> {
  const { attrCache: attrTimeout, ...cacheOpts } = cacheRuntimeOptions(flags);
  const entryTimeout = parseSecondsArg(flags.entryCache, '--entry-cache');
  const dirEntryTimeout = parseSecondsArg(flags.dirEntryCache, '--dir-entry-cache');
  const negativeEntryTimeout = parseSecondsArg(flags.negativeEntryCache, '--negative-entry-cache');
  if (flags.metrics !== undefined) parseMetricsAddress(flags.metrics);
  const backupMs = parseBackupInterval(flags.backupMeta, { ...process.env, ...io.env });
  requireAddon();
  // -d on a mount point a tjfs supervisor serves: a live upgrade (src/supervisor/upgrade.ts).
  const upgradeFrom =
    flags.background === true && io.env['TJFS_DAEMON'] !== '1'
      ? liveUpgradeSocket(resolve(io.cwd ?? process.cwd(), mountpoint))
      : undefined;
  if (io.env['TJFS_DAEMON'] !== '1') {
    // The real cause, before any daemon starts or anything is created (mount-preflight.ts).
    if (upgradeFrom === undefined) checkMountPoint(resolve(io.cwd ?? process.cwd(), mountpoint));
    await checkVolume(metaUrl, io);
  }
  if (flags.background && io.env['TJFS_DAEMON'] !== '1') return daemonize(argv, flags, io, upgradeFrom);
  if (io.env[SUPERVISOR_ENV] === '1') return runSupervisor(flags, io);
  const link = WorkerLink.fromEnv(io.env);
  const log = createLogger(flags.log);
  const mp = resolve(io.cwd ?? process.cwd(), mountpoint);
  // A supervised worker must not touch the mount point: after a restart it is the mount this
  // very process is about to serve (the supervisor checks and creates it before mounting).
  if (link === undefined) checkMountPoint(mp);
  const mib = 1024 * 1024;
  const opts: RuntimeOptions = {
    ...cacheOpts,
    readOnly: flags.readOnly === true,
    mountPoint: mp,
    logger: log,
    heartbeat: flags.bgjob !== false,
  };
  // The daemon allocates and frees block buffers (up to 4 MiB, 64 MiB for big blocks) all
  // the time: keep them on the heap for reuse instead of a fresh, page-faulting mmap each.
  try {
    loadNative().keepHeap(32 * mib);
  } catch {
    // no addon: mountFuse reports it below
  }
  const rt = await openCliRuntime(metaUrl, io, opts);
  let madeDirs: string[] = [];
  let session: Awaited<ReturnType<typeof mountFuse>> | undefined;
  let metricsServer: MetricsEndpoint | undefined;
  let backup: ReturnType<typeof startMetaBackup> | undefined;
  try {
    const rootIno = flags.subdir ? await resolveSubdir(rt.meta, flags.subdir) : undefined;
    // Listening before the Vfs exists, so `.config` can show where metrics went.
    let served: Vfs | undefined = undefined;
    metricsServer = await serveMetrics(
      flags.metrics,
      () => {
        const v = served;
        return v && { contentType: v.obs.registry.contentType, render: () => v.obs.metrics() };
      },
      (msg) => log.warn(msg),
    );
    const metricsAddress = metricsServer?.address ?? '';
    const vfs = new Vfs(rt, {
      attrTimeout,
      hideInternal: flags.hideInternal === true,
      ...(rootIno !== undefined ? { rootIno } : {}),
      config: {
        Meta: { MetaUrl: redactSecrets(metaUrl) },
        Mount: { Mountpoint: mp, ...flags, MetricsAddress: metricsAddress },
      },
    });
    const extra = (flags.o ?? []).flatMap((o) => o.split(',')).filter(Boolean);
    // -o writeback_cache (as JuiceFS passes it to libfuse): an INIT flag, not a kernel mount
    // option. The kernel's page cache then owns regular files' size and mtime on this mount
    // (docs/SEMANTICS.md, "-o writeback_cache").
    const writebackCache = extra.includes('writeback_cache');
    if (writebackCache)
      log.info?.(
        'writeback_cache: the kernel buffers writes and keeps its own size and mtime of files; changes other clients make to a file this mount has cached may stay unseen (docs/SEMANTICS.md)',
      );
    const ops = new VfsFuseOps(vfs, {
      attrTimeout,
      entryTimeout,
      dirEntryTimeout,
      negativeEntryTimeout,
      writebackCache,
    });
    const mountOpts: MountOptions = {
      mountpoint: mp,
      ops,
      fsname: `tjfs:${rt.format.Name}`,
      subtype: 'tjfs',
      allowOther: process.getuid?.() === 0 || extra.includes('allow_other'),
      readOnly: flags.readOnly === true || extra.includes('ro'),
      extraOptions: extra.filter((o) => o !== 'allow_other' && o !== 'ro' && o !== 'writeback_cache'),
      writebackCache,
      // Kernel readahead of the mount: 8 MiB measured best for sequential reads here (1 MiB
      // left the daemon idle between requests; 32 MiB was slower).
      readAheadKb: 8192,
      // Writes clear setuid/setgid here (VfsFuseOps passes the kernel's kill flags on), so
      // the kernel stops asking for security.capability before every write.
      handleKillpriv: true,
      busyPollUs: parseIntArg(flags.busyPoll, '--busy-poll'),
      logger: { warn: (msg, e) => log.warn(msg, { err: String(e) }) },
    };
    if (link === undefined) madeDirs = makeMountPoint(mp);
    session =
      link !== undefined
        ? await serveSupervised(link, vfs, mountOpts, (msg) => log.info?.(msg))
        : await mountFuse(mountOpts);
    ops.attachNotifier(session);
    served = vfs;
    // One client per volume backs the metadata up (src/vfs/meta-backup.ts); as in Go, not on a
    // read-only mount nor with --no-bgjob.
    if (backupMs > 0 && flags.readOnly !== true && flags.bgjob !== false) {
      backup = startMetaBackup({
        meta: rt.meta,
        store: rt.store,
        intervalMs: backupMs,
        skipTrash: flags.backupSkipTrash === true,
        logger: log,
      });
      vfs.obs.attachBackup(backup.status);
    } else log.warn('metadata backup is disabled');
    log.info?.(`mounted ${rt.format.Name} at ${mp}`, {
      meta: redactSecrets(metaUrl),
      metrics: metricsAddress,
    });
    if (link !== undefined) link.ready();
    else if (process.send) process.send('ready');
    else out(io, `tjfs: ${rt.format.Name} mounted at ${mp} (Ctrl-C or 'tjfs umount ${mp}' to stop)`);
    const s = session;
    // Data that could not be persisted is logged per inode by flushAll and makes the
    // daemon exit non-zero; the unmount goes ahead regardless.
    let lost: unknown;
    const stop = (): void => {
      link?.stopping();
      void vfs
        .flushAll()
        .catch((e: unknown) => (lost ??= e))
        .then(() => s.unmount({ lazy: true }))
        .catch((e: unknown) => log.error('unmount failed', { err: String(e) }));
    };
    process.once('SIGTERM', stop);
    process.once('SIGINT', stop);
    // A supervised worker whose supervisor died stops too (the watchdog detaches the mount).
    if (link !== undefined) process.once('disconnect', stop);
    await s.closed;
    link?.stopping();
    process.off('SIGTERM', stop);
    process.off('SIGINT', stop);
    process.off('disconnect', stop);
    await vfs.flushAll().catch((e: unknown) => (lost ??= e));
    if (lost !== undefined) throw lost;
    return 0;
  } catch (e) {
    await session?.unmount({ lazy: true }).catch(() => undefined);
    if (session === undefined) removeMadeDirs(madeDirs);
    const fe = toFsError(e);
    if (link !== undefined) link.failed(fe.message);
    else if (process.send) process.send(fe.message);
    throw new CliError(`mount ${mp}: ${fe.message}`);
  } finally {
    backup?.stop();
    await metricsServer?.close();
    if (process.connected) process.disconnect();
    await rt.close().catch((e: unknown) => log.error('closing session failed', { err: String(e) }));
    log.info?.('session closed');
  }
}

export function registerMount(
  program: Command,
  io: CliIo,
  argv: readonly string[],
  setExit: (p: Promise<number>) => void,
): void {
  const cmd = program
    .command('mount')
    .description('mount a volume at MOUNTPOINT with FUSE')
    .argument('<META>', 'metadata URL')
    .argument('<MOUNTPOINT>', 'directory to mount on (created if missing)')
    .option('-d, --background', 'run in the background; return once mounted')
    .option('--log <file>', 'log file (background mode: default /var/log/tjfs.log or ~/.tjfs/tjfs.log)')
    .option('-o <options...>', 'extra FUSE mount options (comma separated), e.g. allow_other,ro')
    .option('--read-only', 'mount read-only (no session, no writes)')
    .option('--subdir <path>', 'mount a sub-directory of the volume as the root')
    .option('--entry-cache <seconds>', 'file entry cache timeout in seconds', '1')
    .option('--dir-entry-cache <seconds>', 'directory entry cache timeout in seconds', '1')
    .option(
      '--negative-entry-cache <seconds>',
      'how long the kernel remembers that a name does not exist (0: off; names other clients create stay invisible that long)',
      '0',
    );
  addCacheFlags(cmd)
    .option('--no-bgjob', 'do not run background jobs (heartbeat cleanups)')
    .option(
      '--metrics <addr>',
      'address of the Prometheus metrics (http://ADDR/metrics); default 127.0.0.1:9567, or a free port when that one is taken',
    )
    .option(
      '--busy-poll <us>',
      'keep polling /dev/fuse this many microseconds after each request before sleeping (0: off)',
      String(defaultBusyPollUs()),
    )
    .option('--hide-internal', 'hide .stats, .accesslog, .config and .trash')
    .option(
      '--backup-meta <interval>',
      'interval to back the metadata up to the object store as meta/dump-*.json.gz (0: off; at least 5m)',
      '1h',
    )
    .option('--backup-skip-trash', 'leave files in the trash out of metadata backups')
    .option(
      '--no-write-journal',
      '-d: do not journal acknowledged, unflushed writes (faster; a worker crash then loses them, reported as EIO)',
    )
    .addHelpText(
      'after',
      helpExamples(
        'tjfs mount sqlite3://myjfs.db /mnt/jfs -d',
        'tjfs mount redis://10.0.0.5:6379/1 /mnt/jfs -d --cache-dir /var/jfsCache --cache-size 100G --buffer-size 300M',
      ),
    )
    .action((meta: string, mp: string, flags: MountFlags) => {
      setExit(runMount(meta, mp, flags, io, argv));
    });
}
