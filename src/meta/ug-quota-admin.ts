/**
 * Administration of user and group quotas over an engine (`tjfs quota ... --uid/--gid`),
 * as Go's HandleQuota does it: the first `set` turns on the setting's UserGroupQuota (the
 * engine then drops outdated records) and counts every owner's usage by walking the tree;
 * `check` walks again and compares, `--repair` writes the counted usage.
 *
 * Counting follows Go's scanGlobalUserGroupUsage: below the root and the trash, a file
 * counts align4K(length) and one inode (a hard link once), a directory 4 KiB and one inode,
 * other types nothing; plus the files kept by sessions (sustained). The root itself is not
 * counted (Go's walk starts at its entries).
 * Concurrency: `set` writes limits with the usage it read; a client writing at the same
 * moment may lose that delta until the next `check --repair` (Go has the same window).
 */
import type { MetaEngine, QuotaRecord } from './engine.js';
import { formatToJson, parseFormat, type Format } from './format.js';
import { walkTree } from './scan.js';
import { dirAttr } from './volume.js';
import { align4K, FileType, ROOT_INODE, TRASH_INODE, type Attr, type Ino } from '../base/types.js';
import type { UgKind } from './ug-quota.js';

export interface OwnerUsage {
  space: number;
  inodes: number;
}

export type UsageByOwner = Record<UgKind, Map<number, OwnerUsage>>;

async function storedFormat(engine: MetaEngine): Promise<Format> {
  const text = await engine.getFormatText();
  if (text === undefined) throw new Error('volume is not formatted');
  return parseFormat(text);
}

/** Counts what each uid and gid owns (see header). */
export async function scanOwnerUsage(engine: MetaEngine): Promise<UsageByOwner> {
  const out: UsageByOwner = { user: new Map(), group: new Map() };
  const seen = new Set<Ino>();
  const add = (a: Attr, space: number, inodes: number): void => {
    for (const [kind, id] of [
      ['user', a.uid],
      ['group', a.gid],
    ] as const) {
      const u = out[kind].get(id) ?? { space: 0, inodes: 0 };
      u.space += space;
      u.inodes += inodes;
      out[kind].set(id, u);
    }
  };
  const roots: Ino[] = [ROOT_INODE];
  if ((await engine.getAttrs([TRASH_INODE]))[0]) roots.push(TRASH_INODE);
  await walkTree(engine, roots, (e, a) => {
    if (!a) return false;
    if (a.type === FileType.Directory) {
      add(a, 4096, 1);
      return true;
    }
    if (a.type === FileType.File && !(a.nlink > 1 && seen.has(e.ino))) {
      if (a.nlink > 1) seen.add(e.ino);
      add(a, align4K(a.length), 1);
    } else add(a, 0, 0); // Go lists the owner with nothing counted
    return false;
  });
  for (const s of await engine.listSessions()) {
    const inos = await engine.listSustained(s.sid);
    const attrs = await engine.getAttrs(inos);
    for (const a of attrs) if (a) add(a, align4K(a.length), 1);
  }
  return out;
}

/**
 * Turns on UserGroupQuota when off and seeds an unlimited record with the counted usage for
 * every owner (Go: handleQuotaSet + ScanUserGroupUsage). Returns true when it was turned on.
 */
export async function enableUserGroupQuota(engine: MetaEngine): Promise<boolean> {
  const f = await storedFormat(engine);
  if (f.UserGroupQuota) return false;
  f.UserGroupQuota = true;
  const now = Math.floor(Date.now() / 1000);
  await engine.initVolume(formatToJson(f), {
    isNew: false,
    rootAttr: dirAttr(0o777, now),
    ...(f.TrashDays > 0 ? { trashAttr: dirAttr(0o555, now) } : {}),
  });
  const usage = await scanOwnerUsage(engine);
  for (const kind of ['user', 'group'] as const)
    for (const [id, u] of usage[kind])
      await engine.setUserGroupQuota(kind, id, {
        maxSpace: -1,
        maxInodes: -1,
        usedSpace: u.space,
        usedInodes: u.inodes,
      });
  return true;
}

/** Sets the limits of a uid or gid (a limit not given keeps its value; -1 = unlimited). */
export async function setUserGroupQuota(
  engine: MetaEngine,
  kind: UgKind,
  id: number,
  limits: { maxSpace?: number; maxInodes?: number },
): Promise<QuotaRecord> {
  await enableUserGroupQuota(engine);
  const cur = (await engine.listUserGroupQuotas(kind)).get(id);
  const q: QuotaRecord = {
    maxSpace: limits.maxSpace ?? cur?.maxSpace ?? -1,
    maxInodes: limits.maxInodes ?? cur?.maxInodes ?? -1,
    usedSpace: cur?.usedSpace ?? 0,
    usedInodes: cur?.usedInodes ?? 0,
  };
  await engine.setUserGroupQuota(kind, id, q);
  return q;
}

export async function getUserGroupQuota(
  engine: MetaEngine,
  kind: UgKind,
  id: number,
): Promise<QuotaRecord | undefined> {
  return (await engine.listUserGroupQuotas(kind)).get(id);
}

/**
 * Removes a uid's or gid's limits, keeping its usage record (Go's doDelQuota: limits -1), so
 * the usage stays exact should a limit be set again. False when it had no limit.
 */
export async function deleteUserGroupQuota(engine: MetaEngine, kind: UgKind, id: number): Promise<boolean> {
  const cur = (await engine.listUserGroupQuotas(kind)).get(id);
  if (!cur || (cur.maxSpace <= 0 && cur.maxInodes <= 0)) return false;
  await engine.txn(async (tx) => tx.clearUserGroupQuotaLimits(kind, id), { op: 'quota delete' });
  return true;
}

export interface UgCheckRow {
  kind: UgKind;
  id: number;
  stored: OwnerUsage;
  counted: OwnerUsage;
}

/**
 * Compares the stored usage of every record (or one `id` of `kind`) with a fresh count;
 * returns the rows that differ, after writing the counted usage when `repair`.
 */
export async function checkUserGroupQuotas(
  engine: MetaEngine,
  opts: { kind?: UgKind; id?: number; repair?: boolean },
): Promise<UgCheckRow[]> {
  const counted = await scanOwnerUsage(engine);
  const bad: UgCheckRow[] = [];
  for (const kind of opts.kind ? [opts.kind] : (['user', 'group'] as const)) {
    const stored = await engine.listUserGroupQuotas(kind);
    const ids = new Set([...stored.keys(), ...counted[kind].keys()]);
    for (const id of ids) {
      if (opts.id !== undefined && id !== opts.id) continue;
      const s = stored.get(id);
      const c = counted[kind].get(id) ?? { space: 0, inodes: 0 };
      const st = { space: s?.usedSpace ?? 0, inodes: s?.usedInodes ?? 0 };
      if (st.space === c.space && st.inodes === c.inodes) continue;
      bad.push({ kind, id, stored: st, counted: c });
      if (opts.repair)
        await engine.setUserGroupQuota(kind, id, {
          maxSpace: s?.maxSpace ?? -1,
          maxInodes: s?.maxInodes ?? -1,
          usedSpace: c.space,
          usedInodes: c.inodes,
        });
    }
  }
  return bad;
}
