/**
 * `load`: reads a JuiceFS JSON dump (docs/FORMAT.md §12.3) from a stream into an EMPTY database with
 * the engine primitives, the way Go's loader does: counters, nlink, parents, dir stats,
 * slice refcounts and quota usage are recomputed from the tree; hard links are written at
 * their first occurrence and get their parents and nlink fixed at the end.
 *
 * Invariants: every record is validated (load-check.ts) before it is written, with a message
 * naming it; a directory's entries are written as they are read; when anything fails the
 * database is reset, so a load either completes or leaves an empty database (no setting, no
 * half-volume).
 * Memory: the path and the names of the open directories (for the duplicate check), half a
 * byte per inode and per slice id (DenseTable: the types seen, for hard links and quotas; the
 * slices seen, for refcounts), and entries only for what repeats (hard links' extra parents,
 * slices referenced more than once) and for directories with quotas. Go's loader keeps a map
 * of every inode's parents instead; this one loads a million files in a few MiB.
 */
import type { MetaEngine, MetaTx } from '../engine.js';
import type { AclRule } from '../encoding.js';
import { FsError, Errno } from '../../base/errno.js';
import { formatToJson, parseFormat } from '../format.js';
import {
  align4K,
  emptyAttr,
  FileType,
  ROOT_INODE,
  TRASH_INODE,
  type Attr,
  type Ino,
  type Slice,
} from '../../base/types.js';
import { dirAttr } from '../volume.js';
import { typeName } from './dump.js';
import { unescapeToBytes } from './escape.js';
import { DenseTable } from './dense-table.js';
import { JsonReader, type JsonValue } from './json-reader.js';
import {
  checkAttr,
  checkChunks,
  checkName,
  checkQuotas,
  checkXattrs,
  describePath,
  inodeOf,
  intOf,
  invalidDump,
  isObj,
  type CheckedAttr,
  type Obj,
} from './load-check.js';

/** What a directory accumulates from its children while they stream past. */
interface DirAcc {
  subdirs: number;
  names: Set<string>;
  stat: { dataLength: number; usedSpace: number; usedInodes: number };
}

type Role = 'root' | 'trash' | 'child' | 'trash-child';

interface Extra {
  symlink: Buffer | undefined;
  xattrs: { name: string; value: Buffer }[];
  chunks: { index: number; slices: Slice[] }[];
  acls: [JsonValue | undefined, JsonValue | undefined];
}

interface Decoded {
  ino: Ino;
  type: FileType;
  length: number;
}

class Loader {
  private queue: ((tx: MetaTx) => void)[] = [];
  /**
   * Hard links: the parents after the first of every inode seen more than once (the first
   * is the attr's parent, written at the first appearance). Inodes seen once cost nothing
   * here, so memory follows the hard links, not the volume.
   */
  readonly moreParents = new Map<Ino, Ino[]>();
  /**
   * Slice references: the ids seen (one nibble each; a slice's row is written at its first
   * reference) and, for the slices referenced more than once (clones, copied ranges), the
   * extra references, added at the end.
   */
  readonly slicesSeen = new DenseTable();
  readonly moreRefs = new Map<string, { id: number; size: number; n: number }>();
  readonly quotaUse = new Map<Ino, { space: number; inodes: number }>();
  counters = { usedSpace: 0, usedInodes: 0, nextInode: 2, nextChunk: 1, nextTrash: 0 };
  loaded = 0;

  constructor(
    private readonly engine: MetaEngine,
    readonly quotas: Set<Ino>,
  ) {}

  write(fn: (tx: MetaTx) => void): void {
    this.queue.push(fn);
  }
  async maybeFlush(): Promise<void> {
    if (this.queue.length >= 500) await this.flush();
  }
  async flush(): Promise<void> {
    const q = this.queue;
    this.queue = [];
    if (q.length > 0) await this.engine.txn(async (tx) => q.forEach((f) => f(tx)), { op: 'load' });
  }

  async acl(v: JsonValue | undefined): Promise<number> {
    if (v === undefined || v === null) return 0;
    const at = `${this.where()} ACL`;
    if (!isObj(v)) throw invalidDump(at, 'not an object');
    const perm = { min: 0, max: 7, dflt: 0 };
    const list = (x: JsonValue | undefined): { id: number; perm: number }[] =>
      Array.isArray(x)
        ? x.map((e) =>
            isObj(e)
              ? { id: intOf(e, 'id', at, { min: 0, max: 2 ** 32 - 1 }), perm: intOf(e, 'perm', at, perm) }
              : { id: -1, perm: -1 },
          )
        : [];
    const rule: AclRule = {
      owner: intOf(v, 'owner', at, perm),
      group: intOf(v, 'group', at, perm),
      mask: intOf(v, 'mask', at, { min: 0, max: 0xffff, dflt: 0 }),
      other: intOf(v, 'other', at, perm),
      users: list(v['users']),
      groups: list(v['groups']),
    };
    if ([...rule.users, ...rule.groups].some((e) => e.id < 0))
      throw invalidDump(at, 'bad user or group entry');
    return this.engine.putAcl(rule);
  }

  /** The path of the entry being read, for messages. */
  readonly path: string[] = [];
  readonly types = new DenseTable<FileType>();

  private where(): string {
    return describePath(this.path);
  }

  /**
   * Reads one entry object and writes it (children first, as they stream past); `role`
   * says whether it is the FSTree root, the Trash root or a child of `parent`.
   */
  async entry(r: JsonReader, parent: Ino, role: Role): Promise<Decoded> {
    let a: CheckedAttr | undefined;
    let first = false;
    let acc: DirAcc | undefined;
    const x: Extra = { symlink: undefined, xattrs: [], chunks: [], acls: [undefined, undefined] };
    for await (const key of r.members()) {
      if (key === 'attr') {
        a = checkAttr(await r.value(), role, this.where());
        first = this.addParent(a, parent);
      } else if (key === 'entries') {
        if (!a) throw invalidDump(this.where(), "'entries' before 'attr'");
        if (a.type !== FileType.Directory)
          throw invalidDump(this.where(), `'entries' in a ${typeName(a.type)}`);
        if (!first) throw invalidDump(this.where(), `directory inode ${a.ino} appears twice`);
        acc = { subdirs: 0, names: new Set(), stat: { dataLength: 0, usedSpace: 0, usedInodes: 0 } };
        const childRole = role === 'trash' || role === 'trash-child' ? 'trash-child' : 'child';
        const quota = this.quotas.has(a.ino);
        if (quota) this.quotaPath.push(a.ino);
        for await (const name of r.members()) await this.child(r, a.ino, childRole, name, acc);
        if (quota) this.quotaPath.pop();
      } else if (key === 'chunks') x.chunks = checkChunks(await r.value(), this.where());
      else if (key === 'symlink') {
        const t = await r.value();
        if (typeof t !== 'string') throw invalidDump(this.where(), "'symlink' is not a string");
        x.symlink = unescapeToBytes(t);
      } else if (key === 'xattrs') x.xattrs = checkXattrs(await r.value(), this.where());
      else if (key === 'posix_acl_access') x.acls = [await r.value(), x.acls[1]];
      else if (key === 'posix_acl_default') x.acls = [x.acls[0], await r.value()];
      else await r.skip();
    }
    if (!a) throw invalidDump(this.where(), "entry without 'attr'");
    this.checkExtra(a, x);
    if (first) await this.store(a, parent, x, acc);
    return { ino: a.ino, type: a.type, length: a.length };
  }

  private async child(r: JsonReader, dir: Ino, role: Role, name: string, acc: DirAcc): Promise<void> {
    this.path.push(name);
    const raw = checkName(name, this.where());
    const key = raw.toString('latin1'); // the bytes: "%41" and "A" name the same entry
    if (acc.names.has(key)) throw invalidDump(this.where(), 'duplicate entry name');
    acc.names.add(key);
    const c = await this.entry(r, dir, role);
    this.path.pop();
    if (dir < TRASH_INODE && c.type === FileType.Directory) acc.subdirs++;
    const len = c.type === FileType.File ? c.length : 0;
    acc.stat.dataLength += len;
    acc.stat.usedSpace += align4K(len);
    acc.stat.usedInodes++;
    this.write((tx) => tx.setEntry(dir, raw, { ino: c.ino, type: c.type }));
    await this.maybeFlush();
  }

  /** Records `parent` as a parent of the entry; true at the inode's first appearance. */
  private addParent(a: CheckedAttr, parent: Ino): boolean {
    const known = this.types.get(a.ino);
    if (known !== undefined) {
      if (known === FileType.Directory || a.type === FileType.Directory)
        throw invalidDump(this.where(), `directory inode ${a.ino} appears twice`);
      if (known !== a.type)
        throw invalidDump(
          this.where(),
          `inode ${a.ino} appears as ${typeName(known)} and as ${typeName(a.type)}`,
        );
    }
    if (known === undefined) {
      this.types.set(a.ino, a.type);
      this.countInode(a);
      return true;
    }
    const more = this.moreParents.get(a.ino);
    if (more) more.push(parent);
    else this.moreParents.set(a.ino, [parent]);
    return false;
  }

  private checkExtra(a: CheckedAttr, x: Extra): void {
    if (x.chunks.length > 0 && a.type !== FileType.File)
      throw invalidDump(this.where(), `'chunks' in a ${typeName(a.type)}`);
    if (x.symlink !== undefined && a.type !== FileType.Symlink)
      throw invalidDump(this.where(), `'symlink' in a ${typeName(a.type)}`);
    if (a.type === FileType.Symlink && (x.symlink === undefined || x.symlink.length === 0))
      throw invalidDump(this.where(), 'symlink without a target');
    if (x.symlink && x.symlink.length > 4096)
      throw invalidDump(this.where(), `symlink target of ${x.symlink.length} bytes (limit 4096)`);
  }

  private countInode(a: CheckedAttr): void {
    if (a.ino > 1n && a.ino !== TRASH_INODE) {
      this.counters.usedSpace += align4K(a.length);
      this.counters.usedInodes++;
    }
    if (a.ino < TRASH_INODE) this.counters.nextInode = Math.max(this.counters.nextInode, Number(a.ino) + 1);
    else this.counters.nextTrash = Math.max(this.counters.nextTrash, Number(a.ino - TRASH_INODE));
  }

  private async store(c: CheckedAttr, parent: Ino, x: Extra, acc: DirAcc | undefined): Promise<void> {
    const me = c.ino;
    const a: Attr = { ...emptyAttr(), ...c, parent, nlink: c.type === FileType.Directory ? 2 : 1 };
    delete (a as Partial<CheckedAttr>).ino;
    a.accessAcl = await this.acl(x.acls[0]);
    a.defaultAcl = await this.acl(x.acls[1]);
    if (c.type === FileType.File) {
      for (const ch of x.chunks) {
        if (ch.slices.length === 0) continue;
        for (const s of ch.slices) {
          if (s.id > 0 && this.slicesSeen.get(s.id) === undefined) {
            this.slicesSeen.set(s.id, 1);
            const { id, size } = s;
            this.write((tx) => tx.newSliceRef(id, size));
          } else if (s.id > 0) {
            const k = `${s.id}_${s.size}`;
            const r = this.moreRefs.get(k) ?? { id: s.id, size: s.size, n: 0 };
            r.n++;
            this.moreRefs.set(k, r);
          }
          this.counters.nextChunk = Math.max(this.counters.nextChunk, s.id + 1);
        }
        this.write((tx) => tx.appendSlices(me, ch.index, ch.slices));
      }
    } else if (c.type === FileType.Directory) {
      a.length = 4096;
      const stat = acc?.stat ?? { dataLength: 0, usedSpace: 0, usedInodes: 0 };
      a.nlink += acc?.subdirs ?? 0;
      this.write((tx) => {
        tx.initDirStat(me);
        tx.updateDirStat(me, stat);
      });
      this.addQuotaUse(me, stat.usedSpace, stat.usedInodes);
    } else if (c.type === FileType.Symlink && x.symlink) {
      const t = x.symlink;
      a.length = t.length;
      this.write((tx) => tx.setSymlink(me, t));
    }
    for (const xa of x.xattrs) this.write((tx) => tx.setXattr(me, xa.name, xa.value));
    this.write((tx) => tx.setAttr(me, a));
    this.loaded++;
    await this.maybeFlush();
  }

  /**
   * Directories with a quota on the path being read (the walk's ancestors; the trash counts
   * under the root, as its first parent), so a directory's usage reaches its quotas in
   * O(quotas on the path) instead of a walk up a deep tree per directory.
   */
  readonly quotaPath: Ino[] = [];

  /** Adds a directory's direct usage to every quota on its ancestor chain (inclusive). */
  private addQuotaUse(dir: Ino, space: number, inodes: number): void {
    if (this.quotas.size === 0) return;
    const add = (i: Ino): void => {
      const u = this.quotaUse.get(i) ?? { space: 0, inodes: 0 };
      u.space += space;
      u.inodes += inodes;
      this.quotaUse.set(i, u);
    };
    for (const i of this.quotaPath) add(i);
    if (this.quotas.has(dir) && !this.quotaPath.includes(dir)) add(dir);
  }
}

export interface LoadResult {
  inodes: number;
  counters: Loader['counters'];
}

/**
 * Loads a dump into an empty database. Any failure (invalid record, truncated input, engine
 * error) resets the database before the error is thrown, so nothing of the load remains.
 */
export async function loadMeta(
  engine: MetaEngine,
  source: AsyncIterable<Buffer | string>,
): Promise<LoadResult> {
  if (!(await engine.isEmpty())) {
    throw new FsError(Errno.EEXIST, {
      message: `database ${engine.displayUrl} is not empty: load needs an empty database`,
    });
  }
  try {
    return await loadInto(engine, source);
  } catch (e) {
    try {
      await engine.reset();
    } catch (re) {
      throw new FsError(Errno.EIO, {
        cause: e,
        message: `${(e as Error).message}; and clearing the partly loaded database failed: ${String(re)}`,
      });
    }
    throw e;
  }
}

function checkSetting(v: JsonValue | undefined): string {
  if (!isObj(v)) throw invalidDump('Setting', "missing, or not an object (it must precede 'FSTree')");
  try {
    return formatToJson(
      parseFormat(JSON.stringify(v, (_k, x: unknown) => (typeof x === 'bigint' ? Number(x) : x))),
    );
  } catch (e) {
    throw invalidDump('Setting', (e as Error).message);
  }
}

async function loadInto(engine: MetaEngine, source: AsyncIterable<Buffer | string>): Promise<LoadResult> {
  const r = new JsonReader(source);
  const header: Obj = {};
  let loader: Loader | undefined;
  const seen = new Set<string>();
  const startTree = async (): Promise<Loader> => {
    if (!loader) {
      await engine.initVolume(checkSetting(header['Setting']), { isNew: true, rootAttr: dirAttr(0o777, 0) });
      loader = new Loader(engine, new Set(checkQuotas(header['Quotas'], 'Quotas').map(([k]) => BigInt(k))));
    }
    return loader;
  };
  for await (const key of r.members()) {
    if (seen.has(key)) throw invalidDump(key, 'appears twice');
    seen.add(key);
    if (key === 'FSTree' || key === 'Trash') {
      const l = await startTree();
      l.path.push(key);
      const rootQuota = key === 'Trash' && l.quotas.has(ROOT_INODE);
      if (rootQuota) l.quotaPath.push(ROOT_INODE);
      await l.entry(r, 1n, key === 'FSTree' ? 'root' : 'trash');
      if (rootQuota) l.quotaPath.pop();
      l.path.pop();
    } else header[key] = await r.value();
  }
  if ((await r.peek()) !== -1) throw invalidDump('end', 'data after the top-level object');
  if (!seen.has('FSTree')) throw invalidDump('FSTree', 'missing');
  if (!isObj(header['Counters'])) throw invalidDump('Counters', 'missing, or not an object');
  const l = await startTree();
  await l.flush();
  await finish(engine, l, header);
  return { inodes: l.loaded, counters: l.counters };
}

function checkDelFiles(v: JsonValue | undefined): { ino: Ino; length: number; expire: number }[] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) throw invalidDump('DelFiles', 'not an array');
  return v.map((d, i) => {
    const at = `DelFiles #${i}`;
    if (!isObj(d)) throw invalidDump(at, 'not an object');
    const ino = inodeOf(d['inode'], at);
    const length = intOf(d, 'length', at, { min: 0, max: Number.MAX_SAFE_INTEGER });
    return { ino, length, expire: intOf(d, 'expire', at, { min: 0, max: Number.MAX_SAFE_INTEGER }) };
  });
}

async function finish(engine: MetaEngine, l: Loader, header: Obj): Promise<void> {
  for (const [k, v] of Object.entries(l.counters)) {
    const name =
      k === 'usedInodes' ? 'totalInodes' : (k as 'usedSpace' | 'nextInode' | 'nextChunk' | 'nextTrash');
    await engine.setCounter(name, v);
  }
  await engine.setCounter('nextSession', 0);
  await l.flush(); // every slice's row exists before the extra references are added
  for (const r of l.moreRefs.values()) {
    l.write((tx) => tx.incrSliceRef(r.id, r.size, r.n));
    await l.maybeFlush();
  }
  for (const d of checkDelFiles(header['DelFiles']))
    l.write((tx) => tx.addDelFile(d.ino, d.length, d.expire));
  await l.flush();
  for (const [i, more] of l.moreParents) {
    await engine.txn(
      async (tx) => {
        const a = await tx.getAttr(i);
        if (!a) return;
        const ps = [a.parent, ...more];
        a.nlink = ps.length;
        a.parent = 0n;
        tx.setAttr(i, a);
        const counts = new Map<Ino, number>();
        for (const p of ps) counts.set(p, (counts.get(p) ?? 0) + 1);
        for (const [p, c] of counts) tx.incrParent(i, p, c);
      },
      { op: 'load links' },
    );
  }
  for (const [k, q] of checkQuotas(header['Quotas'], 'Quotas')) {
    if (l.types.get(BigInt(k)) !== FileType.Directory)
      throw invalidDump(`Quotas[${k}]`, 'no directory with this inode');
    const use = l.quotaUse.get(BigInt(k)) ?? { space: 0, inodes: 0 };
    await engine.setDirQuota(BigInt(k), { ...q, usedSpace: use.space, usedInodes: use.inodes });
  }
  for (const [kind, key] of [
    ['user', 'UserQuotas'],
    ['group', 'GroupQuotas'],
  ] as const) {
    for (const [k, q] of checkQuotas(header[key], key))
      await engine.setUserGroupQuota(kind, Number(k), { ...q, usedSpace: 0, usedInodes: 0 });
  }
}
