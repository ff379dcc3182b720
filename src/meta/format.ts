/**
 * The volume format record ("setting", docs/FORMAT.md §2) with JuiceFS's JSON field names and order,
 * version checks (§2.4) and Go-compatible JSON output.
 */
import { FsError, Errno } from '../base/errno.js';

export interface Tier {
  ID: number;
  StorageClass: string;
  Tag: string;
}

export interface Format {
  Name: string;
  UUID: string;
  Storage: string;
  StorageClass?: string;
  Tiers?: Record<string, Tier>;
  Bucket: string;
  AccessKey?: string;
  SecretKey?: string;
  SessionToken?: string;
  BlockSize: number;
  Compression?: string;
  Shards?: number;
  HashPrefix?: boolean;
  Capacity?: number;
  Inodes?: number;
  EncryptKey?: string;
  EncryptAlgo?: string;
  KeyEncrypted?: boolean;
  UploadLimit?: number;
  DownloadLimit?: number;
  TrashDays: number;
  MetaVersion?: number;
  MinClientVersion?: string;
  MaxClientVersion?: string;
  DirStats?: boolean;
  UserGroupQuota?: boolean;
  EnableACL?: boolean;
  RangerRestUrl?: string;
  RangerService?: string;
  ChangeLog?: boolean;
  ChangeLogMaxAge?: number;
  ChangeLogMaxLines?: number;
  KerbConf?: string;
}

/** Field order and omitempty as in Go's meta.Format. */
const FIELDS: [keyof Format, boolean][] = [
  ['Name', false],
  ['UUID', false],
  ['Storage', false],
  ['StorageClass', true],
  ['Tiers', false],
  ['Bucket', false],
  ['AccessKey', true],
  ['SecretKey', true],
  ['SessionToken', true],
  ['BlockSize', false],
  ['Compression', true],
  ['Shards', true],
  ['HashPrefix', true],
  ['Capacity', true],
  ['Inodes', true],
  ['EncryptKey', true],
  ['EncryptAlgo', true],
  ['KeyEncrypted', true],
  ['UploadLimit', true],
  ['DownloadLimit', true],
  ['TrashDays', false],
  ['MetaVersion', true],
  ['MinClientVersion', true],
  ['MaxClientVersion', true],
  ['DirStats', true],
  ['UserGroupQuota', true],
  ['EnableACL', false],
  ['RangerRestUrl', true],
  ['RangerService', true],
  ['ChangeLog', true],
  ['ChangeLogMaxAge', true],
  ['ChangeLogMaxLines', true],
  ['KerbConf', true],
];

/** The version tjfs claims for Min/MaxClientVersion checks. */
export const CLIENT_VERSION = '1.4.1';
export const MAX_META_VERSION = 1;

/** Returns the fields in Go's order, dropping omitempty zero values. */
export function orderedFormat(f: Format): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, omitEmpty] of FIELDS) {
    let v: unknown = f[k];
    if (k === 'Tiers' && v === undefined) v = null;
    if (k === 'EnableACL' && v === undefined) v = false;
    if (omitEmpty && (v === undefined || v === '' || v === 0 || v === false || v === null)) continue;
    if (v === undefined) continue;
    out[k] = v;
  }
  return out;
}

/** Go's json.MarshalIndent(f, "", "") form used for the stored setting. */
export function formatToJson(f: Format): string {
  return JSON.stringify(orderedFormat(f), null, '\u0000').replace(/\n\u0000+/g, '\n');
}

/** Parses a stored setting; Go matches field names case-insensitively. */
export function parseFormat(text: string): Format {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new FsError(Errno.EIO, { cause: e, message: `corrupt volume setting: ${(e as Error).message}` });
  }
  if (typeof raw !== 'object' || raw === null)
    throw new FsError(Errno.EIO, { message: 'corrupt volume setting' });
  const byLower = new Map(FIELDS.map(([k]) => [k.toLowerCase(), k]));
  const f: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(raw)) {
    const name = byLower.get(k.toLowerCase());
    if (name) f[name] = v;
  }
  if (typeof f['Name'] !== 'string' || typeof f['UUID'] !== 'string') {
    throw new FsError(Errno.EIO, { message: 'corrupt volume setting: Name/UUID missing' });
  }
  if (typeof f['BlockSize'] !== 'number') f['BlockSize'] = 4096;
  if (typeof f['TrashDays'] !== 'number') f['TrashDays'] = 0;
  if (f['Tiers'] === undefined || f['Tiers'] === null) {
    f['Tiers'] = { '0': { ID: 0, StorageClass: (f['StorageClass'] as string | undefined) ?? '', Tag: '' } };
  }
  return f as unknown as Format;
}

interface Version {
  major: number;
  minor: number;
  patch: number;
  pre: string;
}

export function parseVersion(v: string): Version {
  const noBuild = v.split('+')[0] ?? '';
  const dash = noBuild.indexOf('-');
  const main = dash >= 0 ? noBuild.slice(0, dash) : noBuild;
  const pre = dash >= 0 ? noBuild.slice(dash + 1) : '';
  const [a, b, c] = main.split('.').map((x) => Number.parseInt(x, 10) || 0);
  return { major: a ?? 0, minor: b ?? 0, patch: c ?? 0, pre };
}

export function compareVersions(x: string, y: string): number {
  const a = parseVersion(x);
  const b = parseVersion(y);
  for (const k of ['major', 'minor', 'patch'] as const) if (a[k] !== b[k]) return a[k] < b[k] ? -1 : 1;
  if (a.pre === b.pre) return 0;
  if (a.pre === '') return 1;
  if (b.pre === '') return -1;
  return a.pre < b.pre ? -1 : 1;
}

/** Refuses a volume this client cannot safely use (docs/FORMAT.md §2.4). */
export function checkFormatVersion(f: Format): void {
  if ((f.MetaVersion ?? 0) > MAX_META_VERSION) {
    throw new FsError(Errno.EINVAL, {
      message: `incompatible metadata version ${f.MetaVersion}: tjfs supports up to ${MAX_META_VERSION}; upgrade tjfs`,
    });
  }
  if (f.MinClientVersion && compareVersions(CLIENT_VERSION, f.MinClientVersion) < 0) {
    throw new FsError(Errno.EINVAL, {
      message: `volume requires client version >= ${f.MinClientVersion}, tjfs speaks ${CLIENT_VERSION}`,
    });
  }
  if (f.MaxClientVersion && compareVersions(CLIENT_VERSION, f.MaxClientVersion) > 0) {
    throw new FsError(Errno.EINVAL, {
      message: `volume allows client versions <= ${f.MaxClientVersion}, tjfs speaks ${CLIENT_VERSION}`,
    });
  }
}

/** Fields that `format` refuses to change on an existing volume (docs/FORMAT.md §2.2). */
export const IMMUTABLE_FIELDS = [
  'Name',
  'BlockSize',
  'Compression',
  'Shards',
  'HashPrefix',
  'MetaVersion',
] as const;

export function defaultFormat(name: string, uuid: string, bucket: string): Format {
  return {
    Name: name,
    UUID: uuid,
    Storage: 'file',
    Tiers: { '0': { ID: 0, StorageClass: '', Tag: '' } },
    Bucket: bucket,
    BlockSize: 4096,
    Compression: 'none',
    EncryptAlgo: 'aes256gcm-rsa',
    TrashDays: 1,
    MetaVersion: 1,
    MinClientVersion: '1.1.0-A',
    DirStats: true,
    EnableACL: false,
  };
}
