/**
 * A plain reference model of a POSIX directory tree for the metadata model test. It shares
 * no code with src/meta: nodes in maps, nlink derived by counting, errors as errno names.
 * Semantics follow POSIX as JuiceFS implements it at the metadata layer: no trash, root
 * caller, umask 0, setgid directories propagate setgid to new sub-directories; link of a
 * directory is EPERM before EEXIST (Go's order; the kernel answers EEXIST itself first);
 * rename of a directory into itself or its subtree is EINVAL.
 *
 * With `acl` (an --enable-acl volume), POSIX ACLs as JuiceFS keeps them: an access rule
 * whose group-class bits are the mode's (the mask when there is one), chmod rewriting
 * owner/mask/other, a minimal access rule folded into the mode, default rules on
 * directories only, and inheritance on create/mkdir (not symlink) with the umask ignored.
 */

export type Kind = 'dir' | 'file' | 'symlink';

/** An ACL: perms 0-7; `mask` undefined when unset; named users as [uid, perm]. */
export interface MRule {
  owner: number;
  group: number;
  mask: number | undefined;
  other: number;
  users: [number, number][];
}

export interface MNode {
  id: number;
  kind: Kind;
  mode: number;
  length: number;
  target?: string;
  children?: Map<string, number>;
  acl?: MRule;
  dacl?: MRule;
}

const minimal = (r: MRule): boolean => r.users.length === 0 && r.mask === undefined;
const groupClass = (r: MRule): number => (minimal(r) ? r.group : (r.mask ?? 7));
const permsOf = (r: MRule): number => (r.owner << 6) | (groupClass(r) << 3) | r.other;
const copyRule = (r: MRule): MRule => ({ ...r, users: r.users.map(([u, p]) => [u, p]) });

/** getfacl-like text of a rule, named users sorted: the listing's form on both sides. */
export function ruleText(r: MRule): string {
  const users = [...r.users].sort((x, y) => x[0] - y[0]).map(([u, p]) => `u:${u}:${p}`);
  return [`u::${r.owner}`, ...users, `g::${r.group}`, `m::${r.mask ?? '-'}`, `o::${r.other}`].join(',');
}

/** Thrown by model ops: the errno name the real client must also produce. */
export class ModelErr extends Error {
  constructor(readonly code: string) {
    super(code);
  }
}

const fail = (code: string): never => {
  throw new ModelErr(code);
};

/** One visible entry of a tree listing, identical in shape for model and implementation. */
export interface Listed {
  path: string;
  kind: Kind;
  mode: number;
  nlink: number;
  length: number;
  target?: string;
  /** The first path (in listing order) naming the same inode: hard-link identity. */
  same: string;
  /** ACL volumes: the access and default rules (ruleText), when present. */
  acl?: string;
  dacl?: string;
}

export const CHUNK = 64 * 1024 * 1024;

export class TreeModel {
  private readonly nodes = new Map<number, MNode>();
  private readonly dirParent = new Map<number, number>();
  private nextId = 2;

  constructor(private readonly aclOn = false) {
    this.nodes.set(1, { id: 1, kind: 'dir', mode: 0o777, length: 4096, children: new Map() });
    this.dirParent.set(1, 1);
  }

  private node(id: number): MNode {
    const n = this.nodes.get(id);
    if (!n) throw new Error(`model: no node ${id}`);
    return n;
  }

  private kids(n: MNode): Map<string, number> {
    if (!n.children) return fail('ENOTDIR');
    return n.children;
  }

  /** Walks `path` from the root; ENOTDIR through a non-directory, ENOENT when missing. */
  resolve(path: readonly string[]): MNode {
    let cur = this.node(1);
    for (const name of path) {
      const id = this.kids(cur).get(name);
      if (id === undefined) fail('ENOENT');
      cur = this.node(id as number);
    }
    return cur;
  }

  private add(parent: MNode, name: string, n: Omit<MNode, 'id'>): void {
    const kids = this.kids(parent);
    if (kids.has(name)) fail('EEXIST');
    const id = this.nextId++;
    this.nodes.set(id, { ...n, id });
    kids.set(name, id);
    if (n.kind === 'dir') this.dirParent.set(id, parent.id);
  }

  /** Mode and ACLs of a new file or directory under `p` (its default ACL, if any, applies). */
  private inherit(p: MNode, mode: number, dir: boolean): Pick<MNode, 'mode' | 'acl' | 'dacl'> {
    mode &= 0o7777;
    const d = p.dacl;
    if (d === undefined) return { mode };
    const dacl = dir ? { dacl: copyRule(d) } : {};
    if (minimal(d)) return { mode: mode & (0o7000 | permsOf(d)), ...dacl };
    const acl: MRule = {
      owner: (mode >> 6) & 7 & d.owner,
      group: d.group,
      mask: (mode >> 3) & 7 & (d.mask ?? 7),
      other: mode & 7 & d.other,
      users: d.users.map(([u, q]) => [u, q]),
    };
    return { mode: (mode & 0o7000) | permsOf(acl), acl, ...dacl };
  }

  mkdir(parentPath: readonly string[], name: string, mode: number): void {
    const p = this.resolve(parentPath);
    this.kids(p);
    const h = this.inherit(p, mode, true);
    this.add(p, name, {
      kind: 'dir',
      length: 4096,
      children: new Map(),
      ...h,
      mode: h.mode | (p.mode & 0o2000),
    });
  }

  create(parentPath: readonly string[], name: string, mode: number): void {
    const p = this.resolve(parentPath);
    this.add(p, name, { kind: 'file', length: 0, ...this.inherit(p, mode, false) });
  }

  /** Sets (undefined: removes) the access or default ACL of `path`, as root. */
  setfacl(path: readonly string[], type: 'access' | 'default', rule: MRule | undefined): void {
    const n = this.resolve(path);
    if (type === 'default') {
      if (rule !== undefined && n.kind !== 'dir') fail('EACCES');
      if (rule === undefined) delete n.dacl;
      else n.dacl = copyRule(rule);
      return;
    }
    if (rule === undefined) {
      delete n.acl;
      return;
    }
    n.mode = (n.mode & 0o7000) | permsOf(rule);
    if (minimal(rule)) delete n.acl;
    else n.acl = copyRule(rule);
  }

  symlink(parentPath: readonly string[], name: string, target: string): void {
    this.add(this.resolve(parentPath), name, {
      kind: 'symlink',
      mode: 0o777,
      length: Buffer.byteLength(target),
      target,
    });
  }

  link(src: readonly string[], dstParent: readonly string[], name: string): void {
    const s = this.resolve(src);
    const p = this.resolve(dstParent);
    const kids = this.kids(p);
    if (s.kind === 'dir') fail('EPERM');
    if (kids.has(name)) fail('EEXIST');
    kids.set(name, s.id);
  }

  private entry(
    parentPath: readonly string[],
    name: string,
  ): { kids: Map<string, number>; n: MNode; parent: MNode } {
    const parent = this.resolve(parentPath);
    const kids = this.kids(parent);
    const id = kids.get(name);
    if (id === undefined) return fail('ENOENT');
    return { kids, n: this.node(id), parent };
  }

  private forget(n: MNode): void {
    if (n.kind === 'dir') {
      this.nodes.delete(n.id);
      this.dirParent.delete(n.id);
    } else if (this.linkCount(n.id) === 0) this.nodes.delete(n.id);
  }

  unlink(parentPath: readonly string[], name: string): void {
    const { kids, n } = this.entry(parentPath, name);
    if (n.kind === 'dir') fail('EISDIR');
    kids.delete(name);
    this.forget(n);
  }

  rmdir(parentPath: readonly string[], name: string): void {
    const { kids, n } = this.entry(parentPath, name);
    if (n.kind !== 'dir') fail('ENOTDIR');
    if ((n.children?.size ?? 0) > 0) fail('ENOTEMPTY');
    kids.delete(name);
    this.forget(n);
  }

  /** True when `id` is `dir` or lies below it. */
  private within(id: number, dir: number): boolean {
    for (let cur = id; ;) {
      if (cur === dir) return true;
      const up = this.dirParent.get(cur);
      if (up === undefined || up === cur) return false;
      cur = up;
    }
  }

  rename(sp: readonly string[], sn: string, dp: readonly string[], dn: string, flags: number): void {
    const sParent = this.resolve(sp);
    const dParent = this.resolve(dp);
    const sk = this.kids(sParent);
    const dk = this.kids(dParent);
    const sid = sk.get(sn);
    if (sid === undefined) return fail('ENOENT');
    const s = this.node(sid);
    if (s.kind === 'dir' && sParent !== dParent && this.within(dParent.id, s.id)) fail('EINVAL');
    const did = dk.get(dn);
    if (did === sid) {
      if (flags === 1) fail('EEXIST');
      return;
    }
    if (flags === 2) {
      if (did === undefined) return fail('ENOENT');
      const d = this.node(did);
      if (d.kind === 'dir' && sParent !== dParent && this.within(sParent.id, d.id)) fail('EINVAL');
      sk.set(sn, did);
      dk.set(dn, sid);
      if (s.kind === 'dir') this.dirParent.set(s.id, dParent.id);
      if (d.kind === 'dir') this.dirParent.set(d.id, sParent.id);
      return;
    }
    if (did !== undefined) {
      if (flags === 1) fail('EEXIST');
      const d = this.node(did);
      if (s.kind === 'dir' && d.kind !== 'dir') fail('ENOTDIR');
      if (s.kind !== 'dir' && d.kind === 'dir') fail('EISDIR');
      if (d.kind === 'dir' && (d.children?.size ?? 0) > 0) fail('ENOTEMPTY');
      dk.delete(dn);
      this.forget(d);
    }
    sk.delete(sn);
    dk.set(dn, sid);
    if (s.kind === 'dir') this.dirParent.set(s.id, dParent.id);
  }

  chmod(path: readonly string[], mode: number): void {
    const n = this.resolve(path);
    n.mode = mode & 0o7777;
    if (n.acl) n.acl = { ...copyRule(n.acl), owner: (mode >> 6) & 7, mask: (mode >> 3) & 7, other: mode & 7 };
  }

  write(path: readonly string[], indx: number, pos: number, len: number): void {
    const n = this.resolve(path);
    if (n.kind !== 'file') fail('EPERM');
    n.length = Math.max(n.length, indx * CHUNK + pos + len);
  }

  truncate(path: readonly string[], length: number): void {
    const n = this.resolve(path);
    if (n.kind === 'dir') fail('EISDIR');
    if (n.kind !== 'file') fail('EINVAL');
    n.length = length;
  }

  private linkCount(id: number): number {
    let c = 0;
    for (const n of this.nodes.values()) for (const k of n.children?.values() ?? []) if (k === id) c++;
    return c;
  }

  private nlink(n: MNode): number {
    if (n.kind !== 'dir') return this.linkCount(n.id);
    let subdirs = 0;
    for (const k of n.children?.values() ?? []) if (this.node(k).kind === 'dir') subdirs++;
    return 2 + subdirs;
  }

  /** The whole visible tree, sorted by path. */
  list(): Listed[] {
    const out: Listed[] = [];
    const first = new Map<number, string>();
    const walk = (n: MNode, path: string): void => {
      const same = first.get(n.id) ?? path;
      first.set(n.id, same);
      out.push({
        path,
        kind: n.kind,
        mode: n.mode,
        nlink: this.nlink(n),
        length: n.length,
        ...(n.target === undefined ? {} : { target: n.target }),
        same,
        ...(this.aclOn && n.acl ? { acl: ruleText(n.acl) } : {}),
        ...(this.aclOn && n.dacl ? { dacl: ruleText(n.dacl) } : {}),
      });
      for (const name of [...(n.children?.keys() ?? [])].sort())
        walk(this.node(n.children?.get(name) ?? 0), `${path === '/' ? '' : path}/${name}`);
    };
    walk(this.node(1), '/');
    return out;
  }
}
