/**
 * Automatic metadata backup (`mount --backup-meta INTERVAL`, JuiceFS's default 1h): a mount
 * writes a gzipped JSON dump of the whole volume to `meta/dump-YYYY-MM-DD-HHMMSS.json.gz` in
 * the volume's bucket (through the volume's store: sealed on an encrypted volume), then
 * deletes older backups by JuiceFS's rotation. `tjfs load` restores one.
 *
 * One client per volume at a time: every client wakes every interval/10 (with jitter) and
 * reads the `lastBackup` xattr of the root inode (an RFC 3339 time, as Go stores it); the
 * first that finds it older than the interval sets it to now and backs up, the others see
 * the new time. (As in Go, two clients that read the old time together may both back up.)
 * Volumes of more than a million inodes are skipped when the interval is an hour or less,
 * with a warning saying to raise it, as JuiceFS does.
 *
 * Invariants: the dump is written to a private temporary file and uploaded whole; a failed
 * backup deletes nothing; the loop never throws (failures are logged and retried next time).
 */
import { createWriteStream } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { constants, createGzip } from 'node:zlib';
import { ROOT_CONTEXT } from '../base/types.js';
import { isFsError } from '../base/errno.js';
import type { Meta } from '../meta/meta.js';
import { listAll, type ObjectStore } from '../object/object-store.js';
import type { Logger } from '../util/logger.js';

export const LAST_BACKUP_XATTR = 'lastBackup';
/** Below this an interval is refused (JuiceFS: "should not be less than 5 minutes"). */
export const MIN_BACKUP_INTERVAL_MS = 5 * 60_000;
const ROOT = 1n;
const NAME_LEN = 'dump-2006-01-02-150405.json.gz'.length;

export interface MetaBackupOptions {
  meta: Meta;
  /** The volume's object store (prefixed, and sealed on encrypted volumes). */
  store: ObjectStore;
  intervalMs: number;
  skipTrash?: boolean;
  logger?: Logger;
  /** Tests: the clock and the pause between checks. */
  now?: () => Date;
  sleep?: (ms: number) => Promise<void>;
}

export interface BackupStatus {
  lastSuccess?: Date;
  lastDurationMs?: number;
  lastKey?: string;
}

/** `dump-2026-12-05-031500.json.gz` for a time (UTC). */
export function backupName(t: Date): string {
  const p = (n: number): string => String(n).padStart(2, '0');
  return (
    `dump-${t.getUTCFullYear()}-${p(t.getUTCMonth() + 1)}-${p(t.getUTCDate())}-` +
    `${p(t.getUTCHours())}${p(t.getUTCMinutes())}${p(t.getUTCSeconds())}.json.gz`
  );
}

function parseBackupTime(name: string): Date | undefined {
  const m = /^dump-(\d{4})-(\d{2})-(\d{2})-(\d{2})(\d{2})(\d{2})\.json\.gz$/.exec(name);
  if (!m) return undefined;
  const [y, mo, d, h, mi, s] = m.slice(1).map(Number) as [number, number, number, number, number, number];
  const t = new Date(Date.UTC(y, mo - 1, d, h, mi, s));
  return t.getUTCMonth() === mo - 1 && t.getUTCDate() === d ? t : undefined;
}

const DAY = 86_400_000;

/**
 * The backups (names under meta/) to delete at `now`, by JuiceFS's policy: keep everything of
 * the last 2 days, one a day for 2 weeks, one a week for 2 months, one a month for 2 years,
 * nothing older. In each period the earliest backup is the one kept. Names that are not
 * backups are left alone.
 */
export function backupsToDelete(names: readonly string[], now: Date): string[] {
  const cutoff = new Date(now);
  cutoff.setUTCFullYear(cutoff.getUTCFullYear() - 2);
  let days = 2;
  let edge = now.getTime() - days * DAY;
  const next = (): void => {
    const step = days < 14 ? 1 : days < 60 ? 7 : 30;
    days += step;
    edge -= step * DAY;
  };
  const sorted = names.filter((n) => n.length === NAME_LEN && parseBackupTime(n) !== undefined).sort();
  const del: string[] = [];
  let within: string[] = [];
  for (let i = sorted.length - 1; i >= 0; i--) {
    const name = sorted[i] as string;
    const ts = (parseBackupTime(name) as Date).getTime();
    if (ts < cutoff.getTime()) {
      del.push(...sorted.slice(0, i + 1));
      break;
    }
    if (ts < edge) {
      if (within.length > 0) del.push(...within.slice(0, -1)); // keep the earliest of the period
      within = [];
      while (ts < edge) next();
      within.push(name);
    } else if (days > 2) {
      within.push(name);
    }
  }
  if (within.length > 0) del.push(...within.slice(0, -1));
  return del;
}

/** Dumps the volume to `meta/<name>` in the store; returns the key. */
export async function backupOnce(
  meta: Meta,
  store: ObjectStore,
  at: Date,
  skipTrash = false,
): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'tjfs-backup-'));
  try {
    const file = join(dir, 'dump.json.gz');
    const gz = createGzip({ level: constants.Z_BEST_SPEED });
    const done = pipeline(gz, createWriteStream(file, { mode: 0o600 }));
    done.catch(() => undefined); // awaited below
    try {
      await meta.dump(gz, { skipTrash });
    } finally {
      gz.end();
    }
    await done;
    const key = `meta/${backupName(at)}`;
    await store.put(key, await readFile(file));
    return key;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Deletes the backups the rotation no longer keeps; returns how many. */
export async function rotateBackups(store: ObjectStore, now: Date, log?: Logger): Promise<number> {
  const names: string[] = [];
  for await (const o of listAll(store, { prefix: 'meta/' })) names.push(o.key.slice('meta/'.length));
  const del = backupsToDelete(names, now);
  for (const n of del) {
    await store.delete(`meta/${n}`).catch((e: unknown) => log?.warn(`delete backup meta/${n}: ${String(e)}`));
  }
  return del.length;
}

/** Runs the backup loop until `stop()`; `status` reports the last backup. */
export function startMetaBackup(o: MetaBackupOptions): { stop(): void; status: BackupStatus } {
  const now = o.now ?? ((): Date => new Date());
  let stopped = false;
  let wake: (() => void) | undefined;
  const sleep =
    o.sleep ??
    ((ms: number): Promise<void> =>
      new Promise((r) => {
        const t = setTimeout(r, ms);
        t.unref();
        wake = (): void => {
          clearTimeout(t);
          r();
        };
      }));
  const status: BackupStatus = {};
  const loop = async (): Promise<void> => {
    while (!stopped) {
      await sleep((o.intervalMs / 10) * (0.8 + 0.4 * Math.random()));
      if (stopped) return;
      try {
        await tick();
      } catch (e) {
        o.logger?.warn(`backup metadata failed: ${e instanceof Error ? e.message : String(e)}`);
      }
    }
  };
  const tick = async (): Promise<void> => {
    let last = 0;
    try {
      const v = (await o.meta.getxattr(ROOT_CONTEXT, ROOT, LAST_BACKUP_XATTR)).toString();
      last = Date.parse(v);
      if (Number.isNaN(last)) {
        o.logger?.warn(`backup metadata: cannot parse ${LAST_BACKUP_XATTR} value ${JSON.stringify(v)}`);
        return;
      }
    } catch (e) {
      if (!isFsError(e, 'ENODATA')) throw e;
    }
    const t = now();
    if (t.getTime() - last < o.intervalMs) return;
    const fs = await o.meta.statfs(ROOT_CONTEXT, ROOT);
    if (o.intervalMs <= 3_600_000 && fs.usedInodes > 1e6) {
      o.logger?.warn(
        `backup metadata skipped because of too many inodes: ${fs.usedInodes}; you may increase --backup-meta to enable it again`,
      );
      return;
    }
    await o.meta.setxattr(ROOT_CONTEXT, ROOT, LAST_BACKUP_XATTR, Buffer.from(rfc3339(t)));
    const key = await backupOnce(o.meta, o.store, t, o.skipTrash === true);
    status.lastSuccess = t;
    status.lastKey = key;
    status.lastDurationMs = now().getTime() - t.getTime();
    o.logger?.info?.(`backup metadata succeeded: ${key} in ${status.lastDurationMs} ms`);
    await rotateBackups(o.store, t, o.logger);
  };
  void loop();
  return {
    stop() {
      stopped = true;
      wake?.();
    },
    status,
  };
}

/** RFC 3339 with the local offset and whole seconds, as Go's time.RFC3339 prints. */
function rfc3339(t: Date): string {
  const off = -t.getTimezoneOffset();
  const p = (n: number): string => String(Math.floor(Math.abs(n))).padStart(2, '0');
  const local = new Date(t.getTime() + off * 60_000);
  const zone = off === 0 ? 'Z' : `${off > 0 ? '+' : '-'}${p(off / 60)}:${p(off % 60)}`;
  return local.toISOString().slice(0, 19) + zone;
}
