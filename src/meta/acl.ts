/**
 * POSIX.1e ACLs on `--enable-acl` volumes, as JuiceFS stores them (pkg/acl): a rule is
 * owner/group/mask/other perms (0xFFFF = unset) plus named user and group entries, stored once
 * under a shared id (engines deduplicate identical rules) and referenced from the attr's
 * access/default ACL ids. This module holds the rule algebra (inherit, chmod, permission
 * check), the kernel's `system.posix_acl_*` xattr format and the meta ops setFacl/getFacl.
 *
 * Rules behind an id never change, so they are cached per engine. Rule rows are written before
 * the transaction that references them (as Go may waste an id when its transaction fails); the
 * transaction then checks that the attr it planned from is unchanged, else plans again.
 */
import { mustGetAttr, setCtime, type MetaCore } from './core.js';
import type { MetaEngine } from './engine.js';
import type { AclRule } from './encoding.js';
import { FsError, Errno } from '../base/errno.js';
import { inGroup } from '../base/permissions.js';
import { Flag, FileType, type Attr, type Context, type Ino } from '../base/types.js';
import { compareVersions, type Format } from './format.js';

export const ACL_UNSET = 0xffff;
export const ACL_ACCESS = 1;
export const ACL_DEFAULT = 2;
export type AclType = typeof ACL_ACCESS | typeof ACL_DEFAULT;
export const XATTR_ACL_ACCESS = 'system.posix_acl_access';
export const XATTR_ACL_DEFAULT = 'system.posix_acl_default';
const XATTR_VERSION = 2;

/** Go clients older than this ignore ACLs, so an ACL volume requires at least it (Go's format). */
export const ACL_MIN_CLIENT_VERSION = '1.2.0-A';

/**
 * `format --enable-acl` / `config --enable-acl`: the setting with ACLs on and MinClientVersion
 * raised to ACL_MIN_CLIENT_VERSION. There is no way back (Go refuses to disable ACLs).
 */
export function withAclEnabled(f: Format): Format {
  const min = f.MinClientVersion;
  const raise = min === undefined || min === '' || compareVersions(min, ACL_MIN_CLIENT_VERSION) < 0;
  return { ...f, EnableACL: true, ...(raise ? { MinClientVersion: ACL_MIN_CLIENT_VERSION } : {}) };
}

export function emptyRule(): AclRule {
  return { owner: ACL_UNSET, group: ACL_UNSET, mask: ACL_UNSET, other: ACL_UNSET, users: [], groups: [] };
}

export function copyRule(r: AclRule): AclRule {
  return { ...r, users: r.users.map((e) => ({ ...e })), groups: r.groups.map((e) => ({ ...e })) };
}

export function isEmptyRule(r: AclRule): boolean {
  return r.users.length + r.groups.length === 0 && (r.owner & r.group & r.other & r.mask) === ACL_UNSET;
}

/** Minimal: expressible by the mode bits alone. */
export function isMinimalRule(r: AclRule): boolean {
  return r.users.length + r.groups.length === 0 && r.mask === ACL_UNSET;
}

/** Fills unset owner/group/other from `mode`. */
export function inheritPerms(r: AclRule, mode: number): void {
  if (r.owner === ACL_UNSET) r.owner = (mode >> 6) & 7;
  if (r.group === ACL_UNSET) r.group = (mode >> 3) & 7;
  if (r.other === ACL_UNSET) r.other = mode & 7;
}

/** chmod on an ACL: the group class bits go to the mask when there is one. */
export function setRuleMode(r: AclRule, mode: number): void {
  r.owner = (r.owner & 0xfff8) | ((mode >> 6) & 7);
  if (isMinimalRule(r)) r.group = (r.group & 0xfff8) | ((mode >> 3) & 7);
  else r.mask = (r.mask & 0xfff8) | ((mode >> 3) & 7);
  r.other = (r.other & 0xfff8) | (mode & 7);
}

export function ruleMode(r: AclRule): number {
  const g = isMinimalRule(r) ? r.group : r.mask;
  return ((r.owner & 7) << 6) | ((g & 7) << 3) | (r.other & 7);
}

/** Access ACL of a child created with `mode` under a directory whose default ACL is `r`. */
export function childAccessRule(r: AclRule, mode: number): AclRule {
  return {
    owner: (mode >> 6) & 7 & r.owner,
    group: r.group,
    mask: (mode >> 3) & 7 & r.mask,
    other: mode & 7 & r.other,
    users: r.users.map((e) => ({ ...e })),
    groups: r.groups.map((e) => ({ ...e })),
  };
}

/**
 * POSIX.1e check order: owner; named user (& mask); owning group and named groups (& mask),
 * any matching group granting; if some group matched and none granted, denied; else other.
 */
export function aclAllows(r: AclRule, ctx: Context, a: Attr, want: number): boolean {
  const ok = (perm: number): boolean => (perm & 7 & want) === want;
  if (ctx.uid === a.uid) return ok(r.owner);
  for (const u of r.users) if (u.id === ctx.uid) return ok(u.perm & r.mask);
  const gids = [ctx.gid, ...ctx.gids];
  let matched = false;
  if (gids.some((g) => g === a.gid)) {
    if (ok(r.group & r.mask)) return true;
    matched = true;
  }
  for (const g of r.groups) {
    if (gids.includes(g.id)) {
      if (ok(g.perm & r.mask)) return true;
      matched = true;
    }
  }
  if (matched) return false;
  return ok(r.other);
}

/** Kernel xattr form (little-endian: version u32, then tag u16, perm u16, id u32 entries). */
export function encodeAclXattr(r: AclRule): Buffer {
  const n = 3 + r.users.length + r.groups.length + (r.mask !== ACL_UNSET ? 1 : 0);
  const b = Buffer.alloc(4 + n * 8);
  b.writeUInt8(XATTR_VERSION, 0);
  let o = 4;
  const put = (tag: number, perm: number, id: number): void => {
    b.writeUInt16LE(tag, o);
    b.writeUInt16LE(perm & 0xffff, o + 2);
    b.writeUInt32LE(id >>> 0, o + 4);
    o += 8;
  };
  put(0x01, r.owner, 0xffffffff);
  for (const u of r.users) put(0x02, u.perm, u.id);
  put(0x04, r.group, 0xffffffff);
  for (const g of r.groups) put(0x08, g.perm, g.id);
  if (r.mask !== ACL_UNSET) put(0x10, r.mask, 0xffffffff);
  put(0x20, r.other, 0xffffffff);
  return b;
}

export function decodeAclXattr(b: Buffer, op = 'setxattr'): AclRule {
  const bad = (): FsError => new FsError(Errno.EINVAL, { op, message: `EINVAL: ${op}: malformed POSIX ACL` });
  if (b.length < 4 || b.length % 8 !== 4 || b[0] !== XATTR_VERSION) throw bad();
  const r = emptyRule();
  for (let o = 4; o < b.length; o += 8) {
    const tag = b.readUInt16LE(o);
    const perm = b.readUInt16LE(o + 2);
    const id = b.readUInt32LE(o + 4);
    const one = (k: 'owner' | 'group' | 'mask' | 'other'): void => {
      if (r[k] !== ACL_UNSET) throw bad();
      r[k] = perm;
    };
    if (tag === 0x01) one('owner');
    else if (tag === 0x02) r.users.push({ id, perm });
    else if (tag === 0x04) one('group');
    else if (tag === 0x08) r.groups.push({ id, perm });
    else if (tag === 0x10) one('mask');
    else if (tag === 0x20) one('other');
  }
  if (r.mask === ACL_UNSET && r.users.length + r.groups.length > 0) throw bad();
  return r;
}

const caches = new WeakMap<MetaEngine, Map<number, AclRule>>();

/** The rule stored under `id` (0 = none), cached: rules behind an id never change. */
export async function loadRule(engine: MetaEngine, id: number): Promise<AclRule | undefined> {
  if (id === 0) return undefined;
  let c = caches.get(engine);
  if (!c) caches.set(engine, (c = new Map()));
  const hit = c.get(id);
  if (hit) return hit;
  const r = await engine.getAcl(id);
  if (r) c.set(id, r);
  return r;
}

/** The access rule the permission check must use for `a`, if any (Go skips it when the mask is 0). */
export async function accessRuleFor(core: MetaCore, a: Attr): Promise<AclRule | undefined> {
  if (a.accessAcl === 0 || (a.mode & 0o070) === 0) return undefined;
  return loadRule(core.engine, a.accessAcl);
}

/** Stores `rule` (deduplicated by the engine) and returns its id; 0 for an empty or absent rule. */
export async function saveRule(engine: MetaEngine, rule: AclRule | undefined): Promise<number> {
  if (!rule || isEmptyRule(rule)) return 0;
  const id = await engine.putAcl(rule);
  let c = caches.get(engine);
  if (!c) caches.set(engine, (c = new Map()));
  c.set(id, copyRule(rule));
  return id;
}

/** Thrown inside a transaction when the attr differs from the one a rule was planned from. */
class AclReplan extends FsError {
  constructor(op: string) {
    super(Errno.EAGAIN, { op, message: `EAGAIN: ${op}: ACL changed concurrently` });
  }
}

/** Runs `plan` (outside any transaction) then `apply`, again while `apply` reports a stale plan. */
export async function withAclPlan<P, T>(
  op: string,
  plan: () => Promise<P>,
  apply: (p: P) => Promise<T>,
): Promise<T> {
  for (let i = 0; ; i++) {
    const p = await plan();
    try {
      return await apply(p);
    } catch (e) {
      if (!(e instanceof AclReplan) || i >= 20) throw e;
    }
  }
}

export function replan(op: string): FsError {
  return new AclReplan(op);
}

function checkEnabled(core: MetaCore, op: string): void {
  if (!core.format.EnableACL)
    throw new FsError(Errno.ENOTSUP, {
      op,
      message: `ENOTSUP: ${op}: POSIX ACLs are not enabled on this volume`,
    });
}

/** The access or default ACL of `ino`; ENODATA when it has none. */
export async function getFacl(core: MetaCore, _ctx: Context, ino: Ino, type: AclType): Promise<AclRule> {
  const op = 'getfacl';
  checkEnabled(core, op);
  const a = await core.txn((tx) => mustGetAttr(tx, ino, op), { op, readonly: true });
  const id = type === ACL_ACCESS ? a.accessAcl : a.defaultAcl;
  const r = await loadRule(core.engine, id);
  if (!r) throw new FsError(Errno.ENODATA, { op, ino, message: `ENODATA: ${op}: no ACL` });
  return copyRule(r);
}

/**
 * Sets (or, with an empty rule, removes) the access or default ACL of `ino`, as Go's doSetFacl:
 * owner or root only; a minimal access rule just sets the mode; otherwise unset perms are
 * filled from the mode and the access rule's owner/mask/other become the mode's bits.
 */
export async function setFacl(
  core: MetaCore,
  ctx: Context,
  ino: Ino,
  type: AclType,
  input: AclRule,
): Promise<Attr> {
  const op = 'setfacl';
  core.checkWritable(op);
  checkEnabled(core, op);
  if (type === ACL_DEFAULT && !isEmptyRule(input)) {
    const cur = await readAttr(core, ino);
    if (cur && cur.type !== FileType.Directory) throw new FsError(Errno.EACCES, { op, ino });
  }
  return withAclPlan(
    op,
    async () => {
      const cur = await readAttr(core, ino);
      if (!cur) throw new FsError(Errno.ENOENT, { op, ino });
      const rule = copyRule(input);
      let id = 0;
      if (!isEmptyRule(rule) && !(isMinimalRule(rule) && type === ACL_ACCESS)) {
        inheritPerms(rule, cur.mode);
        id = await saveRule(core.engine, rule);
      }
      return { mode: cur.mode, rule, id };
    },
    (p) =>
      core.txn(
        async (tx) => {
          const a = await mustGetAttr(tx, ino, op);
          if (a.mode !== p.mode) throw replan(op);
          if (ctx.uid !== 0 && ctx.uid !== a.uid) throw new FsError(Errno.EPERM, { op, ino });
          if (a.flags & Flag.Immutable) throw new FsError(Errno.EPERM, { op, ino });
          const oriId = type === ACL_ACCESS ? a.accessAcl : a.defaultAcl;
          const oriMode = a.mode;
          if (ctx.uid !== 0 && !inGroup(ctx, a.gid)) a.mode &= 0o5777;
          const r = p.rule;
          let newId = 0;
          if (isEmptyRule(r)) newId = 0;
          else if (isMinimalRule(r) && type === ACL_ACCESS) {
            a.mode = (a.mode & 0o7000) | ((r.owner & 7) << 6) | ((r.group & 7) << 3) | (r.other & 7);
          } else {
            newId = p.id;
            if (type === ACL_ACCESS)
              a.mode = (a.mode & 0o7000) | ((r.owner & 7) << 6) | ((r.mask & 7) << 3) | (r.other & 7);
          }
          if (type === ACL_ACCESS) a.accessAcl = newId;
          else a.defaultAcl = newId;
          if (oriId !== newId || oriMode !== a.mode) {
            setCtime(a, core.now());
            tx.setAttr(ino, a);
          }
          return a;
        },
        { op },
      ),
  );
}

/** Plan of an inode's ACLs and mode when created under `pattr` (Go's doMknod). */
export interface InheritPlan {
  parentDefault: number;
  accessAcl: number;
  defaultAcl: number;
  /** Mode (permission bits and suid/sgid/sticky) before the sgid-directory rule. */
  mode: number;
}

/**
 * With a default ACL on the parent the umask is ignored: a minimal default masks the mode, a
 * full one yields an access ACL (mode & default perms) and directories inherit the default.
 * Without one the umask applies. Symlinks never inherit.
 */
export async function planInherit(
  core: MetaCore,
  pattr: Attr | undefined,
  type: FileType,
  mode: number,
  umask: number,
): Promise<InheritPlan> {
  mode &= 0o7777;
  const pd = pattr?.defaultAcl ?? 0;
  const plain = { parentDefault: pd, accessAcl: 0, defaultAcl: 0, mode: mode & ~umask };
  if (pd === 0 || type === FileType.Symlink || !core.format.EnableACL) return plain;
  const rule = await loadRule(core.engine, pd);
  if (!rule) return plain;
  const defaultAcl = type === FileType.Directory ? pd : 0;
  if (isMinimalRule(rule))
    return { parentDefault: pd, accessAcl: 0, defaultAcl, mode: mode & (0xfe00 | ruleMode(rule)) };
  const child = childAccessRule(rule, mode);
  const accessAcl = await saveRule(core.engine, child);
  return { parentDefault: pd, accessAcl, defaultAcl, mode: (mode & 0xfe00) | ruleMode(child) };
}

/** chmod of an inode with an access ACL: the new rule id and mode (Go's mergeAttr + SetMode). */
export async function planChmod(
  core: MetaCore,
  a: Attr,
  mode: number,
): Promise<{ accessAcl: number; mode: number } | undefined> {
  if (a.accessAcl === 0) return undefined;
  const r = await loadRule(core.engine, a.accessAcl);
  if (!r) return undefined;
  const rule = copyRule(r);
  setRuleMode(rule, mode);
  return { accessAcl: await saveRule(core.engine, rule), mode: (mode & 0o7000) | ruleMode(rule) };
}

/** The ACL check for `checkAccess` (base/permissions.ts) when `a` has an effective access ACL. */
export async function aclCheck(
  core: MetaCore,
  ctx: Context,
  a: Attr,
): Promise<((want: number) => boolean) | undefined> {
  if (ctx.uid === 0) return undefined;
  const r = await accessRuleFor(core, a);
  return r ? (want) => aclAllows(r, ctx, a, want) : undefined;
}

/** The attr of `ino` read outside a transaction (for planning). */
export async function readAttr(core: MetaCore, ino: Ino): Promise<Attr | undefined> {
  return (await core.engine.getAttrs([ino]))[0];
}
