/**
 * `load`: reads a JuiceFS JSON dump (spec §12.3) from a stream into an EMPTY database with
 * the engine primitives, the way Go's loader does: counters, nlink, parents, dir stats,
 * slice refcounts and quota usage are recomputed from the tree; hard links are written at
 * their first occurrence and get their parents and nlink fixed at the end.
 */
import type { MetaEngine, MetaTx } from '../engine.js';
import type { AclRule } from '../encoding.js';
import { FsError, Errno } from '../errno.js';
import { formatToJson, parseFormat } from '../format.js';
import { align4K, emptyAttr, FileType, TRASH_INODE, type Attr, type Ino, type Slice } from '../types.js';
import { dirAttr } from '../volume.js';
import { unescapeToBytes } from './escape.js';
import { JsonReader, type JsonValue } from './json-reader.js';

type Obj = { [k: string]: JsonValue };

const TYPES: Record<string, FileType> = {
  regular: FileType.File, directory: FileType.Directory, symlink: FileType.Symlink, fifo: FileType.FIFO,
  blockdev: FileType.BlockDev, chardev: FileType.CharDev, socket: FileType.Socket,
};

const num = (v: JsonValue | undefined): number => (typeof v === 'number' ? v : typeof v === 'bigint' ? Number(v) : 0);
const ino = (v: JsonValue | undefined): Ino => (typeof v === 'bigint' ? v : BigInt(num(v)));

interface ChildSummary {
  name: Buffer;
  ino: Ino;
  type: FileType;
  length: number;
}

interface Decoded {
  ino: Ino;
  type: FileType;
  length: number;
}

class Loader {
  private queue: ((tx: MetaTx) => void)[] = [];
  readonly parents = new Map<Ino, Ino[]>();
  readonly refs = new Map<string, { id: number; size: number; n: number }>();
  readonly quotaUse = new Map<Ino, { space: number; inodes: number }>();
  counters = { usedSpace: 0, usedInodes: 0, nextInode: 2, nextChunk: 1, nextTrash: 0 };
  loaded = 0;

  constructor(private readonly engine: MetaEngine, readonly quotas: Set<Ino>) {}

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
    if (!v || typeof v !== 'object' || Array.isArray(v)) return 0;
    const o = v as Obj;
    const list = (x: JsonValue | undefined): { id: number; perm: number }[] =>
      Array.isArray(x) ? x.map((e) => ({ id: num((e as Obj)['id']), perm: num((e as Obj)['perm']) })) : [];
    const rule: AclRule = { owner: num(o['owner']), group: num(o['group']), mask: num(o['mask']), other: num(o['other']), users: list(o['users']), groups: list(o['groups']) };
    return this.engine.putAcl(rule);
  }

  /** Decodes one entry object; `parent` 0 marks the tree root (rewritten to inode 1). */
  async entry(r: JsonReader, parent: Ino): Promise<Decoded> {
    let dumped: Obj | undefined;
    let me: Ino = 0n;
    let first = false;
    let symlink: Buffer | undefined;
    let xattrs: { name: string; value: Buffer }[] = [];
    let chunks: { index: number; slices: Slice[] }[] = [];
    const children: ChildSummary[] = [];
    let acls: [JsonValue | undefined, JsonValue | undefined] = [undefined, undefined];
    for await (const key of r.members()) {
      if (key === 'attr') {
        dumped = (await r.value()) as Obj;
        if (parent === 0n) {
          parent = 1n;
          dumped['inode'] = 1;
        }
        me = ino(dumped['inode']);
        const ps = this.parents.get(me) ?? [];
        ps.push(parent);
        this.parents.set(me, ps);
        first = ps.length === 1;
        if (first) this.countInode(me, dumped);
      } else if (key === 'entries') {
        if (!dumped) throw new FsError(Errno.EINVAL, { message: 'invalid dump: entries before attr' });
        for await (const name of r.members()) {
          const c = await this.entry(r, me);
          children.push({ name: unescapeToBytes(name), ino: c.ino, type: c.type, length: c.length });
        }
      } else if (key === 'chunks') {
        const v = (await r.value()) as JsonValue[];
        chunks = v.map((c) => ({
          index: num((c as Obj)['index']),
          slices: ((c as Obj)['slices'] as JsonValue[]).map((s) => {
            const o = s as Obj;
            return { pos: num(o['pos']), id: num(o['id']) || num(o['chunkid']), size: num(o['size']), off: num(o['off']), len: num(o['len']) };
          }),
        }));
      } else if (key === 'symlink') {
        symlink = unescapeToBytes(String(await r.value()));
      } else if (key === 'xattrs') {
        xattrs = ((await r.value()) as Obj[]).map((x) => ({ name: String(x['name']), value: unescapeToBytes(String(x['value'])) }));
      } else if (key === 'posix_acl_access') acls = [await r.value(), acls[1]];
      else if (key === 'posix_acl_default') acls = [acls[0], await r.value()];
      else await r.skip();
    }
    if (!dumped) throw new FsError(Errno.EINVAL, { message: 'invalid dump: entry without attr' });
    const type = TYPES[String(dumped['type'])] ?? FileType.File;
    const length = type === FileType.File ? num(dumped['length']) : 0;
    if (first) await this.store(me, parent, dumped, type, { symlink, xattrs, chunks, children, acls });
    return { ino: me, type, length };
  }

  private countInode(me: Ino, d: Obj): void {
    if (me > 1n && me !== TRASH_INODE) {
      this.counters.usedSpace += align4K(num(d['length']));
      this.counters.usedInodes++;
    }
    if (me < TRASH_INODE) this.counters.nextInode = Math.max(this.counters.nextInode, Number(me) + 1);
    else this.counters.nextTrash = Math.max(this.counters.nextTrash, Number(me - TRASH_INODE));
  }

  private async store(
    me: Ino,
    parent: Ino,
    d: Obj,
    type: FileType,
    x: { symlink: Buffer | undefined; xattrs: { name: string; value: Buffer }[]; chunks: { index: number; slices: Slice[] }[]; children: ChildSummary[]; acls: [JsonValue | undefined, JsonValue | undefined] },
  ): Promise<void> {
    const a: Attr = emptyAttr();
    a.flags = num(d['flags']);
    a.type = type;
    a.mode = num(d['mode']) & 0o7777;
    a.uid = num(d['uid']);
    a.gid = num(d['gid']);
    a.atime = num(d['atime']);
    a.mtime = num(d['mtime']);
    a.ctime = num(d['ctime']);
    a.atimensec = num(d['atimensec']);
    a.mtimensec = num(d['mtimensec']);
    a.ctimensec = num(d['ctimensec']);
    a.rdev = num(d['rdev']);
    a.tier = num(d['tier']);
    a.parent = parent;
    a.nlink = type === FileType.Directory ? 2 : 1;
    a.accessAcl = await this.acl(x.acls[0]);
    a.defaultAcl = await this.acl(x.acls[1]);
    if (type === FileType.File) {
      a.length = num(d['length']);
      for (const c of x.chunks) {
        if (c.slices.length === 0) continue;
        for (const s of c.slices) {
          if (s.id > 0) {
            const k = `${s.id}_${s.size}`;
            const r = this.refs.get(k) ?? { id: s.id, size: s.size, n: 0 };
            r.n++;
            this.refs.set(k, r);
          }
          this.counters.nextChunk = Math.max(this.counters.nextChunk, s.id + 1);
        }
        this.write((tx) => tx.appendSlices(me, c.index, c.slices));
      }
    } else if (type === FileType.Directory) {
      a.length = 4096;
      const stat = { dataLength: 0, usedSpace: 0, usedInodes: 0 };
      for (const c of x.children) {
        if (me < TRASH_INODE && c.type === FileType.Directory) a.nlink++;
        const len = c.type === FileType.File ? c.length : 0;
        stat.dataLength += len;
        stat.usedSpace += align4K(len);
        stat.usedInodes++;
        this.write((tx) => tx.setEntry(me, c.name, { ino: c.ino, type: c.type }));
      }
      this.write((tx) => {
        tx.initDirStat(me);
        tx.updateDirStat(me, stat);
      });
      this.addQuotaUse(me, stat.usedSpace, stat.usedInodes);
    } else if (type === FileType.Symlink && x.symlink) {
      const t = x.symlink;
      a.length = t.length;
      this.write((tx) => tx.setSymlink(me, t));
    }
    for (const xa of x.xattrs) this.write((tx) => tx.setXattr(me, xa.name, xa.value));
    this.write((tx) => tx.setAttr(me, a));
    this.loaded++;
    await this.maybeFlush();
  }

  /** Adds a directory's direct usage to every quota on its ancestor chain (inclusive). */
  private addQuotaUse(dir: Ino, space: number, inodes: number): void {
    if (this.quotas.size === 0) return;
    let i = dir;
    for (let depth = 0; depth < 100_000; depth++) {
      if (this.quotas.has(i)) {
        const u = this.quotaUse.get(i) ?? { space: 0, inodes: 0 };
        u.space += space;
        u.inodes += inodes;
        this.quotaUse.set(i, u);
      }
      const ps = this.parents.get(i);
      if (i <= 1n || !ps || ps.length === 0) break;
      i = ps[0]!;
    }
  }
}

function quotaEntries(v: JsonValue | undefined): [string, { maxSpace: number; maxInodes: number }][] {
  if (!v || typeof v !== 'object' || Array.isArray(v)) return [];
  return Object.entries(v).map(([k, q]) => [k, { maxSpace: num((q as Obj)['maxSpace']), maxInodes: num((q as Obj)['maxInodes']) }]);
}

export interface LoadResult {
  inodes: number;
  counters: Loader['counters'];
}

/** Loads a dump into an empty database. */
export async function loadMeta(engine: MetaEngine, source: AsyncIterable<Buffer | string>): Promise<LoadResult> {
  if (!(await engine.isEmpty())) {
    throw new FsError(Errno.EEXIST, { message: `database ${engine.displayUrl} is not empty: load needs an empty database` });
  }
  const r = new JsonReader(source);
  const header: Obj = {};
  let loader: Loader | undefined;
  let settingWritten = false;
  const startTree = async (): Promise<Loader> => {
    if (!settingWritten) {
      if (!header['Setting']) throw new FsError(Errno.EINVAL, { message: 'invalid dump: Setting must precede FSTree' });
      const f = parseFormat(JSON.stringify(header['Setting'], (_k, v: unknown) => (typeof v === 'bigint' ? Number(v) : v)));
      await engine.initVolume(formatToJson(f), { isNew: true, rootAttr: dirAttr(0o777, 0) });
      settingWritten = true;
    }
    loader ??= new Loader(engine, new Set(quotaEntries(header['Quotas']).map(([k]) => BigInt(k))));
    return loader;
  };
  for await (const key of r.members()) {
    if (key === 'FSTree') await (await startTree()).entry(r, 0n);
    else if (key === 'Trash') await (await startTree()).entry(r, 1n);
    else header[key] = await r.value();
  }
  if (!header['Counters']) throw new FsError(Errno.EINVAL, { message: "invalid dump: missing 'Counters'" });
  const l = await startTree();
  await l.flush();
  await finish(engine, l, header);
  return { inodes: l.loaded, counters: l.counters };
}

async function finish(engine: MetaEngine, l: Loader, header: Obj): Promise<void> {
  for (const [k, v] of Object.entries(l.counters)) {
    const name = k === 'usedInodes' ? 'totalInodes' : (k as 'usedSpace' | 'nextInode' | 'nextChunk' | 'nextTrash');
    await engine.setCounter(name, v);
  }
  await engine.setCounter('nextSession', 0);
  for (const r of l.refs.values()) {
    l.write((tx) => {
      tx.newSliceRef(r.id, r.size);
      if (r.n > 1) tx.incrSliceRef(r.id, r.size, r.n - 1);
    });
    await l.maybeFlush();
  }
  for (const d of (header['DelFiles'] as Obj[] | undefined) ?? []) {
    l.write((tx) => tx.addDelFile(ino(d['inode']), num(d['length']), num(d['expire'])));
  }
  await l.flush();
  for (const [i, ps] of l.parents) {
    if (ps.length < 2) continue;
    await engine.txn(
      async (tx) => {
        const a = await tx.getAttr(i);
        if (!a) return;
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
  for (const [k, q] of quotaEntries(header['Quotas'])) {
    const use = l.quotaUse.get(BigInt(k)) ?? { space: 0, inodes: 0 };
    await engine.setDirQuota(BigInt(k), { ...q, usedSpace: use.space, usedInodes: use.inodes });
  }
  for (const [kind, key] of [['user', 'UserQuotas'], ['group', 'GroupQuotas']] as const) {
    for (const [k, q] of quotaEntries(header[key])) await engine.setUserGroupQuota(kind, Number(k), { ...q, usedSpace: 0, usedInodes: 0 });
  }
}
