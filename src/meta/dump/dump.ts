/**
 * `dump`: streams a volume's metadata as JuiceFS JSON ("v1", spec §12) in exactly Go's
 * layout: the header via MarshalIndent, then the tree written entry by entry (sorted by
 * name bytes, depth-first), so memory stays bounded by one directory's entry list.
 */
import type { Writable } from 'node:stream';
import type { MetaEngine } from '../engine.js';
import type { AclRule } from '../encoding.js';
import { FsError, Errno } from '../errno.js';
import { orderedFormat, parseFormat } from '../format.js';
import { CHUNK_SIZE, FileType, ROOT_INODE, TRASH_INODE, type Attr, type Ino } from '../types.js';
import { escapeBytes, goCompact, goIndent, type GoValue } from './escape.js';

export interface DumpOptions {
  /** Dump this inode as the tree root (--subdir); Trash and user/group quotas are skipped. */
  root?: Ino;
  keepSecretKey?: boolean;
  skipTrash?: boolean;
}

const TYPE_NAMES: Record<number, string> = {
  1: 'regular', 2: 'directory', 3: 'symlink', 4: 'fifo', 5: 'blockdev', 6: 'chardev', 7: 'socket',
};

export function typeName(t: number): string {
  return TYPE_NAMES[t] ?? 'unknown';
}

function dumpedAttr(ino: Ino, a: Attr): GoValue {
  return {
    inode: ino,
    flags: a.flags || undefined,
    type: typeName(a.type),
    mode: a.mode,
    uid: a.uid,
    gid: a.gid,
    atime: a.atime,
    mtime: a.mtime,
    ctime: a.ctime,
    atimensec: a.atimensec || undefined,
    mtimensec: a.mtimensec || undefined,
    ctimensec: a.ctimensec || undefined,
    nlink: a.nlink,
    length: a.type === FileType.File ? a.length : 0,
    rdev: a.rdev || undefined,
    tier: a.tier || undefined,
  };
}

function dumpedAcl(r: AclRule): GoValue {
  const list = (l: { id: number; perm: number }[]): GoValue => (l.length === 0 ? null : l.map((e) => ({ id: e.id, perm: e.perm })));
  return { owner: r.owner, group: r.group, other: r.other, mask: r.mask, users: list(r.users), groups: list(r.groups) };
}

class Out {
  private buf: string[] = [];
  private size = 0;
  constructor(private readonly w: Writable) {}
  write(s: string): void {
    this.buf.push(s);
    this.size += s.length;
  }
  async maybeFlush(): Promise<void> {
    if (this.size > 1 << 20) await this.flush();
  }
  async flush(): Promise<void> {
    const chunk = this.buf.join('');
    this.buf = [];
    this.size = 0;
    if (!this.w.write(chunk)) await new Promise<void>((r) => this.w.once('drain', r));
  }
}

async function entryFields(engine: MetaEngine, ino: Ino, a: Attr, ind: string): Promise<string> {
  let s = `\n${ind}"attr": ${goCompact(dumpedAttr(ino, a))}`;
  const extra = await engine.txn(
    async (tx) => ({
      symlink: a.type === FileType.Symlink ? await tx.getSymlink(ino) : undefined,
      xattrs: await tx.listXattrs(ino),
    }),
    { op: 'dump', readonly: true },
  );
  if (extra.symlink && extra.symlink.length > 0) s += `,\n${ind}"symlink": "${escapeBytes(extra.symlink)}"`;
  if (extra.xattrs.size > 0) {
    const names = [...extra.xattrs.keys()].sort((x, y) => Buffer.compare(Buffer.from(x), Buffer.from(y)));
    const list = names.map((n) => ({ name: n, value: escapeBytes(extra.xattrs.get(n)!) }));
    s += `,\n${ind}"xattrs": ${goCompact(list)}`;
  }
  for (const [key, id] of [['posix_acl_access', a.accessAcl], ['posix_acl_default', a.defaultAcl]] as const) {
    if (id === 0) continue;
    const rule = await engine.getAcl(id);
    if (rule) s += `,\n${ind}"${key}": ${goCompact(dumpedAcl(rule))}`;
  }
  return s;
}

async function chunksJson(engine: MetaEngine, ino: Ino, a: Attr, ind: string): Promise<string> {
  if (a.length === 0) return '';
  const chunks: string[] = [];
  for (const indx of await engine.listChunkIndexes(ino, a.length)) {
    if (indx * CHUNK_SIZE >= a.length && indx > 0) continue;
    const list = await engine.txn((tx) => tx.getChunk(ino, indx), { op: 'dump', readonly: true });
    if (list.length === 0) continue;
    const slices = list.map((s) => ({ id: s.id, pos: s.pos || undefined, size: s.size, off: s.off || undefined, len: s.len }));
    chunks.push(goCompact({ index: indx, slices }));
  }
  if (chunks.length === 0) return '';
  if (chunks.length === 1) return `,\n${ind}"chunks": [${chunks[0]}]`;
  return `,\n${ind}"chunks": [${chunks.map((c) => `\n${ind}  ${c}`).join(',')}\n${ind}]`;
}

async function dumpNode(engine: MetaEngine, out: Out, name: string, ino: Ino, a: Attr, depth: number): Promise<void> {
  const prefix = '  '.repeat(depth);
  const field = prefix + '  ';
  out.write(`\n${prefix}"${name}": {`);
  out.write(await entryFields(engine, ino, a, field));
  if (a.type !== FileType.Directory) {
    out.write(await chunksJson(engine, ino, a, field));
    out.write(`\n${prefix}}`);
    return;
  }
  out.write(`,\n${field}"entries": {`);
  const entries = (await engine.listEntries(ino)).sort((x, y) => Buffer.compare(x.name, y.name));
  for (let i = 0; i < entries.length; i += 100) {
    const batch = entries.slice(i, i + 100);
    const attrs = await engine.getAttrs(batch.map((e) => e.ino));
    for (let j = 0; j < batch.length; j++) {
      const e = batch[j]!;
      const ca = attrs[j] ?? missingAttr(e.type);
      await dumpNode(engine, out, escapeBytes(e.name), e.ino, ca, depth + 2);
      if (i + j !== entries.length - 1) out.write(',');
      await out.maybeFlush();
    }
  }
  out.write(`\n${field}}\n${prefix}}`);
}

function missingAttr(type: number): Attr {
  const a = { flags: 0, type, mode: 0, uid: 0, gid: 0, atime: 0, atimensec: 0, mtime: 0, mtimensec: 0, ctime: 0, ctimensec: 0,
    nlink: type === FileType.Directory ? 2 : 1, length: 0, rdev: 0, parent: 0n, accessAcl: 0, defaultAcl: 0, tier: 0 };
  return a as Attr;
}

function quotaMap(m: Map<number | bigint, { maxSpace: number; maxInodes: number }>): GoValue | undefined {
  // Go's encoding/json sorts integer map keys by their decimal text.
  const rows = [...m].filter(([, q]) => !(q.maxSpace === -1 && q.maxInodes === -1)).map(([k, q]) => [String(k), q] as const);
  if (rows.length === 0) return undefined;
  rows.sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0));
  return new Map(rows.map(([k, q]) => [k, { maxSpace: q.maxSpace, maxInodes: q.maxInodes }]));
}

/** Writes the dump to `w` (not ended). */
export async function dumpMeta(engine: MetaEngine, w: Writable, opts: DumpOptions = {}): Promise<void> {
  const text = await engine.getFormatText();
  if (text === undefined) throw new FsError(Errno.ENOENT, { message: `database ${engine.displayUrl} is not formatted` });
  const format = parseFormat(text);
  if (!opts.keepSecretKey) {
    if (format.SecretKey) format.SecretKey = 'removed';
    if (format.SessionToken) format.SessionToken = 'removed';
  }
  const root = opts.root ?? ROOT_INODE;
  const sustained: GoValue[] = [];
  for (const s of (await engine.listSessions()).sort((x, y) => x.sid - y.sid)) {
    const inodes = await engine.listSustained(s.sid);
    if (inodes.length > 0) sustained.push({ sid: s.sid, inodes: inodes.sort((x, y) => (x < y ? -1 : 1)) });
  }
  const dels = (await engine.listDelFiles()).sort((x, y) => x.expire - y.expire || (x.ino < y.ino ? -1 : 1));
  const header: Record<string, GoValue | undefined> = {
    Setting: orderedFormat(format) as GoValue,
    Counters: {
      usedSpace: await engine.getCounter('usedSpace'),
      usedInodes: await engine.getCounter('totalInodes'),
      nextInodes: await engine.getCounter('nextInode'),
      nextChunk: await engine.getCounter('nextChunk'),
      nextSession: await engine.getCounter('nextSession'),
      nextTrash: await engine.getCounter('nextTrash'),
    },
    Sustained: sustained,
    DelFiles: dels.map((d) => ({ inode: d.ino, length: d.length, expire: d.expire })),
    Quotas: quotaMap(await engine.listDirQuotas()),
  };
  if (root === ROOT_INODE) {
    header['UserQuotas'] = quotaMap(await engine.listUserGroupQuotas('user'));
    header['GroupQuotas'] = quotaMap(await engine.listUserGroupQuotas('group'));
  }
  const out = new Out(w);
  const head = goIndent(header as GoValue, '  ');
  out.write(head.slice(0, head.length - 2) + ',');
  const [rootAttr] = await engine.getAttrs([root]);
  if (!rootAttr) throw new FsError(Errno.ENOENT, { ino: root, message: `root inode ${root} of the dump not found` });
  if (rootAttr.type !== FileType.Directory) throw new FsError(Errno.ENOTDIR, { ino: root, message: `dump root ${root} is not a directory` });
  await dumpNode(engine, out, 'FSTree', root, rootAttr, 1);
  if (root === ROOT_INODE && !opts.skipTrash) {
    const [trashAttr] = await engine.getAttrs([TRASH_INODE]);
    out.write(',');
    await dumpNode(engine, out, 'Trash', TRASH_INODE, trashAttr ?? missingAttr(FileType.Directory), 1);
  }
  out.write('\n}\n');
  await out.flush();
}

