/**
 * Sessions (docs/FORMAT.md §4.13): register, heartbeat (refresh expire, reload the setting, refresh
 * usage and quotas), stale-session cleanup of other clients (their locks and sustained
 * inodes) gated volume-wide by a counter, and the hourly delfiles sweep.
 */
import { hostname } from 'node:os';
import { inodeSpace, type MetaCore } from './core.js';
import { FsError, Errno } from '../base/errno.js';
import { checkFormatVersion, CLIENT_VERSION, parseFormat } from './format.js';
import type { SessionInfo } from './meta.js';
import { FileType, ROOT_CONTEXT, TRASH_INODE, type Context, type Ino } from '../base/types.js';

export function sessionInfoJson(info: Partial<SessionInfo>, nowIso: string): string {
  const full: SessionInfo = {
    Version: info.Version ?? `${CLIENT_VERSION}+tjfs`,
    HostName: info.HostName ?? hostname(),
    ...(info.IPAddrs && info.IPAddrs.length > 0 ? { IPAddrs: info.IPAddrs } : {}),
    MountPoint: info.MountPoint ?? '',
    MountTime: info.MountTime ?? nowIso,
    ProcessID: info.ProcessID ?? process.pid,
  };
  return JSON.stringify(full);
}

function isoWithNanos(sec: number, nsec: number): string {
  const base = new Date(sec * 1000).toISOString().slice(0, 19);
  return `${base}.${String(nsec).padStart(9, '0')}Z`;
}

export async function newSession(core: MetaCore, info: Partial<SessionInfo>): Promise<number> {
  const now = core.now();
  const sid = await core.engine.newSessionId();
  await core.engine.putSession(
    sid,
    now.sec + 5 * core.heartbeatSec,
    sessionInfoJson(info, isoWithNanos(now.sec, now.nsec)),
  );
  core.sid = sid;
  return sid;
}

/**
 * Continues session `sid` (of an earlier process of this client) instead of the one this
 * client registered, which is removed: the earlier one's locks and sustained inodes stay ours.
 */
export async function adoptSession(core: MetaCore, sid: number, info: Partial<SessionInfo>): Promise<void> {
  const fresh = core.sid;
  if (sid <= 0 || fresh <= 0 || fresh === sid) return;
  await core.engine.putSession(
    sid,
    core.now().sec + 5 * core.heartbeatSec,
    sessionInfoJson(info, new Date().toISOString()),
  );
  core.sid = sid;
  for (const ino of await core.engine.listSustained(sid)) core.sustained.add(ino);
  await core.engine.deleteSession(fresh);
}

/** Finalizes a sustained inode: delfiles + drop the attr, then delete its data. */
export async function deleteSustained(core: MetaCore, sid: number, ino: Ino): Promise<void> {
  const res = await core.txn(
    async (tx) => {
      const now = core.now();
      const a = await tx.getAttr(ino);
      tx.removeSustained(sid, ino);
      if (!a || a.nlink > 0) return undefined;
      if (a.type === FileType.File) tx.addDelFile(ino, a.length, now.sec);
      tx.deleteAttr(ino);
      const space = -inodeSpace(a);
      core.addUsage(tx, space, -1);
      core.ug.charge(tx, a, space, -1);
      return { length: a.type === FileType.File ? a.length : -1, space };
    },
    { op: 'delete sustained' },
  );
  if (res) {
    core.noteUsage(res.space, -1);
    if (res.length >= 0) await core.deleteFileData(ino, res.length);
  }
}

/** Releases every lock of `sid`, finalizes its sustained inodes and removes it. */
export async function cleanSession(core: MetaCore, sid: number): Promise<void> {
  for (const ino of await core.engine.listLockedInodes(sid)) {
    await core.txn(
      async (tx) => {
        for (const o of await tx.getFlocks(ino)) if (o.sid === sid) tx.setFlock(ino, sid, o.owner, null);
        for (const o of await tx.getPlocks(ino))
          if (o.sid === sid) tx.setPlock(ino, sid, o.owner, Buffer.alloc(0));
      },
      { op: 'clean session locks' },
    );
  }
  for (const ino of await core.engine.listSustained(sid)) await deleteSustained(core, sid, ino);
  await core.engine.deleteSession(sid);
}

/** Cleans sessions whose expire passed, at most once per ~0.9 heartbeat volume-wide. */
export async function cleanStaleSessions(core: MetaCore, force = false): Promise<number[]> {
  const now = core.now().sec;
  if (
    !force &&
    !(await core.engine.setCounterIfSmall('lastCleanupSessions', now, Math.floor(core.heartbeatSec * 0.9)))
  ) {
    return [];
  }
  const cleaned: number[] = [];
  for (const s of await core.engine.listSessions()) {
    if (s.sid === core.sid || s.expire >= now) continue;
    await cleanSession(core, s.sid);
    cleaned.push(s.sid);
  }
  return cleaned;
}

/** Deletes the data of delfiles entries older than `ageSec` (crashed deleters), hourly. */
export async function cleanupDelFiles(core: MetaCore, ageSec = 3600, force = false): Promise<number> {
  const now = core.now().sec;
  if (!force && !(await core.engine.setCounterIfSmall('lastCleanupFiles', now, 3240))) return 0;
  let n = 0;
  for (const d of await core.engine.listDelFiles()) {
    if (d.expire > now - ageSec) continue;
    await core.deleteFileData(d.ino, d.length);
    n++;
  }
  return n;
}

/** One heartbeat: refresh expire, pick up setting changes, refresh caches, clean others. */
export async function heartbeat(core: MetaCore, trashOps?: TrashOps): Promise<void> {
  const text = await core.engine.getFormatText();
  if (text === undefined)
    throw new FsError(Errno.EIO, { message: 'volume setting disappeared: database is not formatted' });
  const f = parseFormat(text);
  checkFormatVersion(f);
  if (f.UUID !== core.format.UUID)
    throw new FsError(Errno.EIO, { message: `volume UUID changed from ${core.format.UUID} to ${f.UUID}` });
  core.format = f;
  if (core.sid > 0) await core.engine.putSession(core.sid, core.now().sec + 5 * core.heartbeatSec);
  await refreshCaches(core);
  if (core.sid > 0) {
    await cleanStaleSessions(core);
    await cleanupDelFiles(core);
    if (trashOps) await cleanupTrash(core, trashOps);
  }
}

export async function refreshCaches(core: MetaCore): Promise<void> {
  await core.stats.flush(); // the counters then include this client's batched changes
  core.usage = {
    usedSpace: await core.engine.getCounter('usedSpace'),
    totalInodes: await core.engine.getCounter('totalInodes'),
  };
  core.dirQuotas = core.format.DirStats ? await core.engine.listDirQuotas() : new Map();
  if (core.format.UserGroupQuota) {
    core.ug.replace('user', await core.engine.listUserGroupQuotas('user'));
    core.ug.replace('group', await core.engine.listUserGroupQuotas('group'));
  }
}

/** Parses a trash sub-directory name (UTC "YYYY-MM-DD-HH") to unix seconds. */
export function parseTrashHour(name: string): number | undefined {
  const m = /^(\d{4})-(\d{2})-(\d{2})-(\d{2})$/.exec(name);
  if (!m) return undefined;
  return Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]), Number(m[4])) / 1000;
}

/**
 * Empties and removes trash sub-directories older than TrashDays*24+2 hours (docs/FORMAT.md §10.1),
 * at most once per ~54 min volume-wide. Trashed files are then deleted for real.
 */
export async function cleanupTrash(core: MetaCore, ops: TrashOps, force = false): Promise<number> {
  const days = core.format.TrashDays;
  if (days <= 0) return 0;
  const now = core.now().sec;
  if (!force && !(await core.engine.setCounterIfSmall('lastCleanupTrash', now, 3240))) return 0;
  const edge = now - (days * 24 + 2) * 3600;
  let removed = 0;
  for (const sub of await core.engine.listEntries(TRASH_INODE)) {
    const t = parseTrashHour(sub.name.toString());
    if (t === undefined || t >= edge) continue;
    for (const e of await core.engine.listEntries(sub.ino)) {
      await (
        e.type === FileType.Directory
          ? ops.rmdir(ROOT_CONTEXT, sub.ino, e.name)
          : ops.unlink(ROOT_CONTEXT, sub.ino, e.name)
      ).catch((err: unknown) =>
        core.log.warn('trash cleanup: remove failed', { name: e.name.toString(), err: String(err) }),
      );
      removed++;
    }
    await ops
      .rmdir(ROOT_CONTEXT, TRASH_INODE, sub.name)
      .catch((err: unknown) =>
        core.log.warn('trash cleanup: rmdir failed', { name: sub.name.toString(), err: String(err) }),
      );
  }
  return removed;
}

export interface TrashOps {
  unlink(ctx: Context, parent: Ino, name: Buffer): Promise<void>;
  rmdir(ctx: Context, parent: Ino, name: Buffer): Promise<void>;
}
