/**
 * Hadoop's ACL model over tjfs's POSIX ACLs: `aclspec` parsing (AclEntry.parseAclSpec), the
 * entry strings of an AclStatus, and the transformations of HDFS's AclTransformation
 * (setAcl replaces per scope, modifyAclEntries merges, removeAclEntries filters, the mask
 * recalculated unless given, default base entries copied from the access ones) and of
 * removeAcl (the group class bits become the group entry's again).
 *
 * Design: an inode's ACL is read as Hadoop's full logical list (user::, named users,
 * group::, named groups, mask::, other::; then the default scope), transformed on names, and
 * written back as two POSIX rules through the `system.posix_acl_*` xattrs, so the metadata
 * layer's owner/root check, mode update and rule sharing apply unchanged.
 * Invariants: semantic errors are AclException (HTTP 403) with HDFS's messages; a malformed
 * spec is HadoopIllegalArgumentException (400); named entries must resolve to ids; on a volume
 * without ACLs every ACL op is UnsupportedOperationException (400). The access and default
 * rules are two writes, not one transaction.
 */
import {
  ACL_UNSET,
  decodeAclXattr,
  encodeAclXattr,
  XATTR_ACL_ACCESS,
  XATTR_ACL_DEFAULT,
} from '../meta/acl.js';
import type { AclRule } from '../meta/encoding.js';
import { FileType, type Attr } from '../base/types.js';
import { codeOf, HdfsError } from './hdfs-errors.js';
import type { UserDb } from './users.js';
import type { Volume } from './volume.js';

export type AclScope = 'ACCESS' | 'DEFAULT';
export type AclEntryType = 'USER' | 'GROUP' | 'MASK' | 'OTHER';

export interface AclEntry {
  scope: AclScope;
  type: AclEntryType;
  /** User or group name; absent for the unnamed (owner, owning group, mask, other) entries. */
  name?: string;
  /** rwx bits 0..7; absent in a removeAclEntries spec. */
  permission?: number;
}

export interface AclStatus {
  owner: string;
  group: string;
  /** Permission bits with the sticky bit (0..0o1777). */
  permission: number;
  stickyBit: boolean;
  /** Hadoop's feature entries: the access entries beyond the mode bits, then the default ACL. */
  entries: AclEntry[];
}

const MAX_ENTRIES = 32;
const TYPES: readonly AclEntryType[] = ['USER', 'GROUP', 'MASK', 'OTHER'];

function illegal(message: string): HdfsError {
  return new HdfsError('HadoopIllegalArgumentException', message);
}

function aclError(message: string): HdfsError {
  return new HdfsError('AclException', message);
}

/** FsAction.getFsAction: exactly 'rwx' with '-' for an absent bit. */
function parsePerm(s: string): number | undefined {
  if (!/^[r-][w-][x-]$/.test(s)) return undefined;
  return (s[0] === 'r' ? 4 : 0) | (s[1] === 'w' ? 2 : 0) | (s[2] === 'x' ? 1 : 0);
}

export function permString(p: number): string {
  return `${p & 4 ? 'r' : '-'}${p & 2 ? 'w' : '-'}${p & 1 ? 'x' : '-'}`;
}

/** One `[default:]type:[name][:perm]` entry, as Hadoop's AclEntry.parseAclEntry. */
export function parseAclEntry(text: string, includePermission: boolean): AclEntry {
  // Java's split(":") drops trailing empty strings.
  const split = text.split(':');
  while (split.length > 0 && split[split.length - 1] === '') split.pop();
  if (split.length === 0) throw illegal(`Invalid <aclSpec> : ${text}`);
  let i = 0;
  let scope: AclScope = 'ACCESS';
  if (split[0] === 'default') {
    scope = 'DEFAULT';
    i++;
  }
  if (split.length <= i) throw illegal(`Invalid <aclSpec> : ${text}`);
  const type = (split[i] ?? '').toUpperCase() as AclEntryType;
  if (!TYPES.includes(type)) throw illegal(`Invalid type of acl in <aclSpec> :${text}`);
  i++;
  const e: AclEntry = { scope, type };
  if (split.length > i) {
    const name = split[i] ?? '';
    if (name !== '') e.name = name;
    i++;
  }
  if (includePermission) {
    if (split.length <= i) throw illegal(`Invalid <aclSpec> : ${text}`);
    const p = parsePerm(split[i] ?? '');
    if (p === undefined) throw illegal(`Invalid permission in <aclSpec> : ${text}`);
    e.permission = p;
    i++;
  }
  if (split.length > i) throw illegal(`Invalid <aclSpec> : ${text}`);
  return e;
}

/** A comma-separated spec (empty items skipped, as Hadoop's StringTokenizer). */
export function parseAclSpec(spec: string, includePermission: boolean): AclEntry[] {
  return spec
    .split(',')
    .filter((s) => s !== '')
    .map((s) => parseAclEntry(s, includePermission));
}

/** AclEntry.toStringStable: `[default:]type:[name]:[perm]`. */
export function aclEntryString(e: AclEntry): string {
  const scope = e.scope === 'DEFAULT' ? 'default:' : '';
  const perm = e.permission === undefined ? '' : permString(e.permission);
  return `${scope}${e.type.toLowerCase()}:${e.name ?? ''}:${perm}`;
}

/** Hadoop's ACL_ENTRY_COMPARATOR: scope, type, then unnamed first and names in order. */
function compare(a: AclEntry, b: AclEntry): number {
  if (a.scope !== b.scope) return a.scope === 'ACCESS' ? -1 : 1;
  if (a.type !== b.type) return TYPES.indexOf(a.type) - TYPES.indexOf(b.type);
  if (a.name === b.name) return 0;
  if (a.name === undefined) return -1;
  if (b.name === undefined) return 1;
  return a.name < b.name ? -1 : 1;
}

const sameKey = (a: AclEntry, b: AclEntry): boolean => compare(a, b) === 0;

function sorted(list: AclEntry[]): AclEntry[] {
  return [...list].sort(compare);
}

function validatedSpec(spec: AclEntry[]): AclEntry[] {
  if (spec.length > MAX_ENTRIES)
    throw aclError(
      `Invalid ACL: ACL spec has ${spec.length} entries, which exceeds maximum of ${MAX_ENTRIES}.`,
    );
  return sorted(spec);
}

function copyDefaultsIfNeeded(b: AclEntry[]): void {
  const defaults = b.filter((e) => e.scope === 'DEFAULT');
  if (defaults.length === 0) return;
  const copies: AclEntry[] = [];
  for (const type of ['USER', 'GROUP', 'OTHER'] as const) {
    if (defaults.some((e) => e.type === type && e.name === undefined)) continue;
    const acc = b.find((e) => e.scope === 'ACCESS' && e.type === type && e.name === undefined);
    if (acc) copies.push({ scope: 'DEFAULT', type, permission: acc.permission ?? 0 });
  }
  b.push(...copies);
}

interface MaskState {
  provided: Map<AclScope, AclEntry>;
  maskDirty: Set<AclScope>;
  scopeDirty: Set<AclScope>;
}

function calculateMasks(b: AclEntry[], s: MaskState): void {
  const found = new Set<AclScope>();
  const union = new Map<AclScope, number>();
  const needed = new Set<AclScope>();
  for (const e of b) {
    found.add(e.scope);
    if (e.type === 'GROUP' || e.name !== undefined)
      union.set(e.scope, (union.get(e.scope) ?? 0) | (e.permission ?? 0));
    if (e.name !== undefined) needed.add(e.scope);
  }
  for (const scope of found) {
    const provided = s.provided.get(scope);
    if (!provided && needed.has(scope) && s.maskDirty.has(scope))
      throw aclError('Invalid ACL: mask is required and cannot be deleted.');
    else if (provided && (!s.scopeDirty.has(scope) || s.maskDirty.has(scope))) b.push(provided);
    else if (needed.has(scope) || provided)
      b.push({ scope, type: 'MASK', permission: union.get(scope) ?? 0 });
  }
}

function buildAndValidate(b: AclEntry[]): AclEntry[] {
  if (b.length > MAX_ENTRIES)
    throw aclError(`Invalid ACL: ACL has ${b.length} entries, which exceeds maximum of ${MAX_ENTRIES}.`);
  const out = sorted(b);
  for (let i = 0; i < out.length; i++) {
    const e = out[i]!;
    if (i > 0 && sameKey(out[i - 1]!, e))
      throw aclError('Invalid ACL: multiple entries with same scope, type and name.');
    if (e.name !== undefined && (e.type === 'MASK' || e.type === 'OTHER'))
      throw aclError(`Invalid ACL: this entry type must not have a name: ${aclEntryString(e)}.`);
  }
  const hasDefault = out.some((e) => e.scope === 'DEFAULT');
  for (const type of ['USER', 'GROUP', 'OTHER'] as const) {
    const base = (scope: AclScope): boolean =>
      out.some((e) => e.scope === scope && e.type === type && e.name === undefined);
    if (!base('ACCESS')) throw aclError('Invalid ACL: the user, group and other entries are required.');
    if (hasDefault && !base('DEFAULT'))
      throw aclError('Invalid default ACL: the user, group and other entries are required.');
  }
  return out;
}

function newMaskState(): MaskState {
  return { provided: new Map(), maskDirty: new Set(), scopeDirty: new Set() };
}

/** setAcl: the spec replaces each scope it names; other scopes are kept. */
export function replaceAclEntries(existing: AclEntry[], spec: AclEntry[]): AclEntry[] {
  const s = newMaskState();
  const b: AclEntry[] = [];
  for (const e of validatedSpec(spec)) {
    s.scopeDirty.add(e.scope);
    if (e.type === 'MASK') {
      s.provided.set(e.scope, e);
      s.maskDirty.add(e.scope);
    } else b.push(e);
  }
  for (const e of existing) {
    if (s.scopeDirty.has(e.scope)) continue;
    if (e.type === 'MASK') s.provided.set(e.scope, e);
    else b.push(e);
  }
  copyDefaultsIfNeeded(b);
  calculateMasks(b, s);
  return buildAndValidate(b);
}

/** modifyAclEntries: spec entries replace entries of the same key or are added. */
export function mergeAclEntries(existing: AclEntry[], spec: AclEntry[]): AclEntry[] {
  const s = newMaskState();
  const b: AclEntry[] = [];
  const want = validatedSpec(spec);
  const used = new Set<AclEntry>();
  const take = (e: AclEntry): void => {
    s.scopeDirty.add(e.scope);
    if (e.type === 'MASK') {
      s.provided.set(e.scope, e);
      s.maskDirty.add(e.scope);
    } else b.push(e);
  };
  for (const e of existing) {
    const repl = want.find((w) => sameKey(w, e));
    if (repl) {
      used.add(repl);
      take(repl);
    } else if (e.type === 'MASK') s.provided.set(e.scope, e);
    else b.push(e);
  }
  for (const w of want) if (!used.has(w)) take(w);
  copyDefaultsIfNeeded(b);
  calculateMasks(b, s);
  return buildAndValidate(b);
}

/** removeAclEntries: entries matching a spec key (permissions ignored) are dropped. */
export function filterAclEntriesByAclSpec(existing: AclEntry[], spec: AclEntry[]): AclEntry[] {
  const s = newMaskState();
  const b: AclEntry[] = [];
  const keys = validatedSpec(spec);
  for (const e of existing) {
    if (keys.some((k) => sameKey(k, e))) {
      s.scopeDirty.add(e.scope);
      if (e.type === 'MASK') s.maskDirty.add(e.scope);
    } else if (e.type === 'MASK') s.provided.set(e.scope, e);
    else b.push(e);
  }
  copyDefaultsIfNeeded(b);
  calculateMasks(b, s);
  return buildAndValidate(b);
}

/** removeDefaultAcl: the access entries only. */
export function filterDefaultAclEntries(existing: AclEntry[]): AclEntry[] {
  return buildAndValidate(existing.filter((e) => e.scope === 'ACCESS'));
}

/** Hadoop's full logical ACL of an inode from its mode and POSIX rules. */
export function logicalAcl(
  users: UserDb,
  mode: number,
  access: AclRule | undefined,
  dflt: AclRule | undefined,
): AclEntry[] {
  const out: AclEntry[] = [];
  const scope = (
    sc: AclScope,
    r: AclRule,
    ownerBits?: number,
    groupBits?: number,
    otherBits?: number,
  ): void => {
    const perm = (v: number): number => (v === ACL_UNSET ? 0 : v & 7);
    out.push({ scope: sc, type: 'USER', permission: ownerBits ?? perm(r.owner) });
    for (const u of r.users)
      out.push({ scope: sc, type: 'USER', name: users.userName(u.id), permission: u.perm & 7 });
    const hasMask = r.mask !== ACL_UNSET;
    out.push({
      scope: sc,
      type: 'GROUP',
      permission: !hasMask && groupBits !== undefined ? groupBits : perm(r.group),
    });
    for (const g of r.groups)
      out.push({ scope: sc, type: 'GROUP', name: users.groupName(g.id), permission: g.perm & 7 });
    if (hasMask) out.push({ scope: sc, type: 'MASK', permission: groupBits ?? perm(r.mask) });
    out.push({ scope: sc, type: 'OTHER', permission: otherBits ?? perm(r.other) });
  };
  // The mode holds the owner, group class (mask when there is one) and other bits.
  const base: AclRule = access ?? {
    owner: (mode >> 6) & 7,
    group: (mode >> 3) & 7,
    mask: ACL_UNSET,
    other: mode & 7,
    users: [],
    groups: [],
  };
  scope('ACCESS', base, (mode >> 6) & 7, (mode >> 3) & 7, mode & 7);
  if (dflt) scope('DEFAULT', dflt);
  return sorted(out);
}

/** AclStatus entries: the access entries not held by the mode bits, then the default ones. */
export function featureEntries(acl: AclEntry[]): AclEntry[] {
  const access = acl.filter((e) => e.scope === 'ACCESS');
  const dflt = acl.filter((e) => e.scope === 'DEFAULT');
  const extended = access.length > 3;
  const kept = extended
    ? access.filter(
        (e) => !(e.name === undefined && (e.type === 'USER' || e.type === 'MASK' || e.type === 'OTHER')),
      )
    : [];
  return [...kept, ...dflt];
}

/** The POSIX rule of one scope of a validated Hadoop ACL; undefined when the scope is empty. */
function toRule(users: UserDb, acl: AclEntry[], scope: AclScope): AclRule | undefined {
  const list = acl.filter((e) => e.scope === scope);
  if (list.length === 0) return undefined;
  const r: AclRule = { owner: 0, group: 0, mask: ACL_UNSET, other: 0, users: [], groups: [] };
  for (const e of list) {
    const p = e.permission ?? 0;
    if (e.type === 'USER' && e.name === undefined) r.owner = p;
    else if (e.type === 'USER') {
      const id = users.uidOf(e.name!);
      if (id === undefined) throw illegal(`Invalid <aclSpec> : unknown user ${e.name}`);
      r.users.push({ id, perm: p });
    } else if (e.type === 'GROUP' && e.name === undefined) r.group = p;
    else if (e.type === 'GROUP') {
      const id = users.gidOf(e.name!);
      if (id === undefined) throw illegal(`Invalid <aclSpec> : unknown group ${e.name}`);
      r.groups.push({ id, perm: p });
    } else if (e.type === 'MASK') r.mask = p;
    else r.other = p;
  }
  return r;
}

/** Reads and writes the ACL of one path of a Volume (as its identity). */
export class PathAcl {
  constructor(
    private readonly vol: Volume,
    private readonly users: UserDb,
    private readonly path: string,
  ) {}

  private async rule(name: string): Promise<AclRule | undefined> {
    try {
      return decodeAclXattr(await this.vol.getxattr(this.path, name), 'getxattr');
    } catch (e) {
      if (codeOf(e) === 'ENODATA') return undefined;
      throw notEnabled(e);
    }
  }

  async read(): Promise<{ attr: Attr; acl: AclEntry[] }> {
    const f = await this.vol.lookup(this.path, true);
    const [access, dflt] = [await this.rule(XATTR_ACL_ACCESS), await this.rule(XATTR_ACL_DEFAULT)];
    return { attr: f.attr, acl: logicalAcl(this.users, f.attr.mode, access, dflt) };
  }

  /** Stores a validated ACL: the access rule (a minimal one only sets the mode), then the default. */
  async write(attr: Attr, acl: AclEntry[]): Promise<void> {
    const access = toRule(this.users, acl, 'ACCESS');
    const dflt = toRule(this.users, acl, 'DEFAULT');
    if (dflt && attr.type !== FileType.Directory)
      throw aclError(`Invalid ACL: only directories may have a default ACL. Path: ${this.path}`);
    try {
      if (access) await this.vol.setxattr(this.path, XATTR_ACL_ACCESS, encodeAclXattr(access));
      if (dflt) await this.vol.setxattr(this.path, XATTR_ACL_DEFAULT, encodeAclXattr(dflt));
      else if (attr.defaultAcl !== 0) await this.vol.removexattr(this.path, XATTR_ACL_DEFAULT);
    } catch (e) {
      throw notEnabled(e);
    }
  }

  /** removeAcl: group bits from the group entry, no extended or default entries left. */
  async remove(): Promise<void> {
    const { attr, acl } = await this.read();
    const base = acl.filter((e) => e.scope === 'ACCESS' && e.name === undefined && e.type !== 'MASK');
    await this.write(attr, base);
  }
}

/**
 * ENOTSUP from the metadata layer: ACLs are off on this volume. HDFS's NameNode would say
 * AclException; WEBHDFS.md allows UnsupportedOperationException (400) for an op a server does
 * not offer, which is what a volume without `--enable-acl` is.
 */
function notEnabled(e: unknown): unknown {
  if (codeOf(e) !== 'ENOTSUP') return e;
  return new HdfsError(
    'UnsupportedOperationException',
    'ACLs are not enabled on this volume (tjfs format/config --enable-acl)',
    { cause: e },
  );
}
