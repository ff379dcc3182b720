/**
 * Redis key names of a JuiceFS volume (docs/FORMAT.md §5.2), built in one place.
 * Design: a small class holding the key prefix ('' standalone, `{DB}` in cluster mode);
 * every method returns a full key name. Hash fields and set members never get the prefix.
 * Invariants: integers are plain decimal; names match Go's spelling exactly
 * (lower-case nextinode/nextchunk/nextsession, camelCase for the other counters).
 */
import type { CounterName } from '../engine.js';
import type { Ino } from '../../base/types.js';

/** Redis key of each counter (without prefix). */
export const COUNTER_KEYS: Readonly<Record<CounterName, string>> = {
  nextInode: 'nextinode',
  nextChunk: 'nextchunk',
  nextSession: 'nextsession',
  nextTrash: 'nextTrash',
  usedSpace: 'usedSpace',
  totalInodes: 'totalInodes',
  lastCleanupSessions: 'lastCleanupSessions',
  lastCleanupFiles: 'lastCleanupFiles',
  lastCleanupTrash: 'lastCleanupTrash',
  nextCleanupSlices: 'nextCleanupSlices',
  lastCleanupChangelog: 'lastCleanupChangelog',
};

/**
 * Counters whose Redis value is the last issued id while the contract (dump) value is the
 * next unused id: contract = stored + 1.
 */
export function counterOffset(name: CounterName): number {
  return name === 'nextInode' || name === 'nextChunk' ? 1 : 0;
}

export type QuotaKind = 'dir' | 'user' | 'group';

export class RedisKeys {
  constructor(readonly prefix: string) {}

  inode(ino: Ino): string {
    return `${this.prefix}i${ino}`;
  }
  entries(ino: Ino): string {
    return `${this.prefix}d${ino}`;
  }
  parents(ino: Ino): string {
    return `${this.prefix}p${ino}`;
  }
  chunk(ino: Ino, indx: number): string {
    return `${this.prefix}c${ino}_${indx}`;
  }
  symlink(ino: Ino): string {
    return `${this.prefix}s${ino}`;
  }
  xattrs(ino: Ino): string {
    return `${this.prefix}x${ino}`;
  }
  flock(ino: Ino): string {
    return `${this.prefix}lockf${ino}`;
  }
  plock(ino: Ino): string {
    return `${this.prefix}lockp${ino}`;
  }
  /** Sustained inodes of a session (a SET). */
  sustained(sid: number): string {
    return `${this.prefix}session${sid}`;
  }
  /** Full lock key names where a session holds locks (a SET). */
  locked(sid: number): string {
    return `${this.prefix}locked${sid}`;
  }
  counter(name: CounterName): string {
    return this.prefix + COUNTER_KEYS[name];
  }
  /**
   * A transaction connection's commit marker (redis-tx.ts): tjfs's own key, with a TTL. Its
   * first letter after the prefix is none of the ones JuiceFS's scans sort keys by.
   */
  commitMarker(connId: string): string {
    return `${this.prefix}tjfs-commit-${connId}`;
  }
  /** Any volume-wide key by its bare name: setting, allSessions, sliceRef, dirQuota, ... */
  global(name: string): string {
    return this.prefix + name;
  }

  /** The three per-directory stat hashes, in the order dataLength, usedSpace, usedInodes. */
  dirStatKeys(): [string, string, string] {
    return [this.global('dirDataLength'), this.global('dirUsedSpace'), this.global('dirUsedInodes')];
  }
  /** Quota hashes: limits, used space, used inodes. */
  quotaKeys(kind: QuotaKind): [string, string, string] {
    const base = `${kind}Quota`;
    return [this.global(base), this.global(`${base}UsedSpace`), this.global(`${base}UsedInodes`)];
  }

  /** Parses a full `lockf{ino}` / `lockp{ino}` key name (as stored in locked{sid}). */
  parseLockKey(key: string): Ino | undefined {
    if (!key.startsWith(this.prefix)) return undefined;
    const m = /^lock[fp](\d+)$/.exec(key.slice(this.prefix.length));
    return m?.[1] === undefined ? undefined : BigInt(m[1]);
  }
}

/** sliceRef hash field of a slice. */
export function sliceRefField(id: number, size: number): string {
  return `k${id}_${size}`;
}

export function parseSliceRefField(field: string): { id: number; size: number } | undefined {
  const m = /^k(\d+)_(\d+)$/.exec(field);
  if (m?.[1] === undefined || m[2] === undefined) return undefined;
  return { id: Number(m[1]), size: Number(m[2]) };
}

/** delfiles member `{ino}:{length}`. */
export function delFileMember(ino: Ino, length: number): string {
  return `${ino}:${length}`;
}

export function parseDelFileMember(member: string): { ino: Ino; length: number } | undefined {
  const m = /^(\d+):(\d+)$/.exec(member);
  if (m?.[1] === undefined || m[2] === undefined) return undefined;
  return { ino: BigInt(m[1]), length: Number(m[2]) };
}
