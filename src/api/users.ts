/**
 * User and group names <-> numeric ids, for HDFS owner/group strings and WebHDFS
 * `user.name` identities.
 *
 * Design: an optional mapping (lines `name:uid:gid[:gid,gid...]` for users and
 * `@group:gid` for groups, '#' comments) is consulted first, then /etc/passwd and
 * /etc/group (read once, lazily). Unknown ids print as decimal strings, and a decimal
 * string is accepted as an id. Invariants: lookups never throw for unknown names; they
 * return undefined and the caller decides (reject or `nobody`).
 */
import { readFileSync } from 'node:fs';

export interface UserEntry {
  name: string;
  uid: number;
  gid: number;
  /** Primary first, then supplementary groups. */
  gids: number[];
}

export interface UserDbSources {
  /** Text of a mapping file (see header). */
  mapping?: string;
  passwd?: string;
  group?: string;
}

function readOr(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}

export class UserDb {
  private readonly users = new Map<string, UserEntry>();
  private readonly byUid = new Map<number, string>();
  private readonly groups = new Map<string, number>();
  private readonly byGid = new Map<number, string>();

  constructor(src: UserDbSources = {}) {
    const members = new Map<string, number[]>();
    for (const line of (src.group ?? '').split('\n')) {
      const [name, , gidText, list] = line.split(':');
      const gid = Number(gidText);
      if (!name || !Number.isInteger(gid)) continue;
      this.addGroup(name, gid);
      for (const m of (list ?? '').split(',').filter(Boolean))
        members.set(m, [...(members.get(m) ?? []), gid]);
    }
    for (const line of (src.passwd ?? '').split('\n')) {
      const [name, , uidText, gidText] = line.split(':');
      const uid = Number(uidText);
      const gid = Number(gidText);
      if (!name || !Number.isInteger(uid) || !Number.isInteger(gid)) continue;
      this.addUser({ name, uid, gid, gids: [gid, ...(members.get(name) ?? []).filter((g) => g !== gid)] });
    }
    for (const raw of (src.mapping ?? '').split('\n')) {
      const line = raw.replace(/#.*/, '').trim();
      if (line === '') continue;
      if (line.startsWith('@')) {
        const [name, gidText] = line.slice(1).split(':');
        const gid = Number(gidText);
        if (!name || !Number.isInteger(gid)) throw new Error(`users map: bad group line '${raw}'`);
        this.addGroup(name, gid, true);
        continue;
      }
      const [name, uidText, gidText, extra] = line.split(':');
      const uid = Number(uidText);
      const gid = Number(gidText);
      if (!name || !Number.isInteger(uid) || !Number.isInteger(gid))
        throw new Error(`users map: bad user line '${raw}' (want name:uid:gid[:gid,...])`);
      const more = (extra ?? '').split(',').filter(Boolean).map(Number);
      if (more.some((g) => !Number.isInteger(g))) throw new Error(`users map: bad groups in '${raw}'`);
      this.addUser({ name, uid, gid, gids: [gid, ...more.filter((g) => g !== gid)] }, true);
    }
  }

  /** The local system's passwd/group plus an optional mapping text. */
  static system(mapping?: string): UserDb {
    return new UserDb({
      passwd: readOr('/etc/passwd'),
      group: readOr('/etc/group'),
      ...(mapping !== undefined ? { mapping } : {}),
    });
  }

  private addUser(u: UserEntry, override = false): void {
    if (override || !this.users.has(u.name)) this.users.set(u.name, u);
    if (override || !this.byUid.has(u.uid)) this.byUid.set(u.uid, u.name);
  }
  private addGroup(name: string, gid: number, override = false): void {
    if (override || !this.groups.has(name)) this.groups.set(name, gid);
    if (override || !this.byGid.has(gid)) this.byGid.set(gid, name);
  }

  user(name: string): UserEntry | undefined {
    return this.users.get(name);
  }
  userName(uid: number): string {
    return this.byUid.get(uid) ?? String(uid);
  }
  groupName(gid: number): string {
    return this.byGid.get(gid) ?? String(gid);
  }
  /** A user name or a decimal uid. */
  uidOf(name: string): number | undefined {
    const u = this.users.get(name);
    if (u) return u.uid;
    return /^\d+$/.test(name) ? Number(name) : undefined;
  }
  /** A group name or a decimal gid. */
  gidOf(name: string): number | undefined {
    const g = this.groups.get(name);
    if (g !== undefined) return g;
    return /^\d+$/.test(name) ? Number(name) : undefined;
  }
}
