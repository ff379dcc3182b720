/**
 * A plain reference model of a POSIX directory tree for the metadata model test. It shares
 * no code with src/meta: nodes in maps, nlink derived by counting, errors as errno names.
 * Semantics follow POSIX as JuiceFS implements it at the metadata layer: no trash, root
 * caller, umask 0, setgid directories propagate setgid to new sub-directories; link of a
 * directory is EPERM before EEXIST (Go's order; the kernel answers EEXIST itself first);
 * rename of a directory into itself or its subtree is EINVAL.
 */

export type Kind = 'dir' | 'file' | 'symlink';

export interface MNode {
  id: number;
  kind: Kind;
  mode: number;
  length: number;
  target?: string;
  children?: Map<string, number>;
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
}

export const CHUNK = 64 * 1024 * 1024;

export class TreeModel {
  private readonly nodes = new Map<number, MNode>();
  private readonly dirParent = new Map<number, number>();
  private nextId = 2;

  constructor() {
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

  mkdir(parentPath: readonly string[], name: string, mode: number): void {
    const p = this.resolve(parentPath);
    this.kids(p);
    const m = (mode & 0o7777) | (p.mode & 0o2000);
    this.add(p, name, { kind: 'dir', mode: m, length: 4096, children: new Map() });
  }

  create(parentPath: readonly string[], name: string, mode: number): void {
    this.add(this.resolve(parentPath), name, { kind: 'file', mode: mode & 0o7777, length: 0 });
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
    this.resolve(path).mode = mode & 0o7777;
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
      });
      for (const name of [...(n.children?.keys() ?? [])].sort())
        walk(this.node(n.children?.get(name) ?? 0), `${path === '/' ? '' : path}/${name}`);
    };
    walk(this.node(1), '/');
    return out;
  }
}
