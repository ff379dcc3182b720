/**
 * `dump`: streams a volume's metadata as JuiceFS JSON ("v1", docs/FORMAT.md §12) in exactly Go's
 * layout: the header via MarshalIndent, then the tree written entry by entry (sorted by
 * name bytes, depth-first) with an explicit stack, so any depth works and memory stays
 * bounded by the entry lists of the directories on the current path.
 */
import type { Writable } from 'node:stream';
import type { DirEntryRecord, MetaEngine } from '../engine.js';
import type { AclRule } from '../encoding.js';
import { FsError, Errno } from '../../base/errno.js';
import { orderedFormat, parseFormat } from '../format.js';
import {
  CHUNK_SIZE,
  emptyAttr,
  FileType,
  ROOT_INODE,
  TRASH_INODE,
  type Attr,
  type Ino,
} from '../../base/types.js';
import { escapeBytes, goCompact, goIndent, type GoValue } from './escape.js';

export interface DumpOptions {
  /** Dump this inode as the tree root (--subdir); Trash and user/group quotas are skipped. */
  root?: Ino;
  keepSecretKey?: boolean;
  skipTrash?: boolean;
}

const TYPE_NAMES: Record<number, string> = {
  1: 'regular',
  2: 'directory',
  3: 'symlink',
  4: 'fifo',
  5: 'blockdev',
  6: 'chardev',
  7: 'socket',
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
  const list = (l: { id: number; perm: number }[]): GoValue =>
    l.length === 0 ? null : l.map((e) => ({ id: e.id, perm: e.perm }));
  return {
    owner: r.owner,
    group: r.group,
    other: r.other,
    mask: r.mask,
    users: list(r.users),
    groups: list(r.groups),
  };
}

/**
 * Buffers output up to 1 MiB and hands it to the stream one chunk at a time, waiting for
 * each chunk's write callback: a stream that fails (disk full, closed pipe) rejects the dump
 * at once instead of leaving it waiting for a 'drain' that never comes. Indentation (most
 * of a deep tree's bytes: Go indents 4 more spaces per level) is sliced from one buffer of
 * spaces instead of being built as strings.
 */
class Out {
  private parts: Buffer[] = [];
  private size = 0;
  /** '\n' and then spaces; never written to after creation, so slices of it stay valid. */
  private newline = Out.newlineBuffer(4096);
  constructor(private readonly w: Writable) {}
  write(s: string): void {
    this.push(Buffer.from(s));
  }
  /** A new line indented by `ind` spaces, then `s`. */
  line(ind: number, s: string): void {
    if (ind + 1 > this.newline.length) this.newline = Out.newlineBuffer(2 * (ind + 1));
    this.push(this.newline.subarray(0, ind + 1));
    this.write(s);
  }
  private static newlineBuffer(n: number): Buffer {
    const b = Buffer.alloc(n, 0x20);
    b[0] = 0x0a;
    return b;
  }
  private push(b: Buffer): void {
    this.parts.push(b);
    this.size += b.length;
  }
  async maybeFlush(): Promise<void> {
    if (this.size > 1 << 20) await this.flush();
  }
  async flush(): Promise<void> {
    const chunk = Buffer.concat(this.parts, this.size);
    this.parts = [];
    this.size = 0;
    if (this.w.destroyed || this.w.errored) throw this.w.errored ?? new Error('dump output closed');
    await new Promise<void>((ok, fail) => this.w.write(chunk, (e) => (e ? fail(e) : ok())));
  }
}

async function entryFields(engine: MetaEngine, out: Out, ino: Ino, a: Attr, ind: number): Promise<void> {
  out.line(ind, `"attr": ${goCompact(dumpedAttr(ino, a))}`);
  const extra = await engine.txn(
    async (tx) => ({
      symlink: a.type === FileType.Symlink ? await tx.getSymlink(ino) : undefined,
      xattrs: await tx.listXattrs(ino),
    }),
    { op: 'dump', readonly: true },
  );
  if (extra.symlink && extra.symlink.length > 0) {
    out.write(',');
    out.line(ind, `"symlink": "${escapeBytes(extra.symlink)}"`);
  }
  if (extra.xattrs.size > 0) {
    const names = [...extra.xattrs.keys()].sort((x, y) => Buffer.compare(Buffer.from(x), Buffer.from(y)));
    const list = names.map((n) => ({ name: n, value: escapeBytes(extra.xattrs.get(n)!) }));
    out.write(',');
    out.line(ind, `"xattrs": ${goCompact(list)}`);
  }
  for (const [key, id] of [
    ['posix_acl_access', a.accessAcl],
    ['posix_acl_default', a.defaultAcl],
  ] as const) {
    if (id === 0) continue;
    const rule = await engine.getAcl(id);
    if (!rule) continue;
    out.write(',');
    out.line(ind, `"${key}": ${goCompact(dumpedAcl(rule))}`);
  }
}

async function chunksJson(engine: MetaEngine, out: Out, ino: Ino, a: Attr, ind: number): Promise<void> {
  if (a.length === 0) return;
  const chunks: string[] = [];
  for (const indx of await engine.listChunkIndexes(ino, a.length)) {
    if (indx * CHUNK_SIZE >= a.length && indx > 0) continue;
    const list = await engine.txn((tx) => tx.getChunk(ino, indx), { op: 'dump', readonly: true });
    if (list.length === 0) continue;
    const slices = list.map((s) => ({
      id: s.id,
      pos: s.pos || undefined,
      size: s.size,
      off: s.off || undefined,
      len: s.len,
    }));
    chunks.push(goCompact({ index: indx, slices }));
  }
  if (chunks.length === 0) return;
  out.write(',');
  if (chunks.length === 1) {
    out.line(ind, `"chunks": [${chunks[0]}]`);
    return;
  }
  out.line(ind, '"chunks": [');
  chunks.forEach((c, i) => out.line(ind + 2, i < chunks.length - 1 ? c + ',' : c));
  out.line(ind, ']');
}

/** One open directory of the walk: its sorted entries and the next one to write. */
interface Frame {
  depth: number;
  entries: DirEntryRecord[];
  next: number;
  /** Attributes of entries[batchStart .. batchStart + attrs.length). */
  batchStart: number;
  attrs: (Attr | undefined)[];
}

const ATTR_BATCH = 100;

/**
 * Writes one entry; a directory gets its opening text written and is returned as a new frame
 * (its children and closing braces come from the walk), anything else is written whole.
 */
async function openNode(
  engine: MetaEngine,
  out: Out,
  name: string,
  ino: Ino,
  a: Attr,
  depth: number,
): Promise<Frame | undefined> {
  const ind = 2 * depth;
  out.line(ind, `"${name}": {`);
  await entryFields(engine, out, ino, a, ind + 2);
  if (a.type !== FileType.Directory) {
    await chunksJson(engine, out, ino, a, ind + 2);
    out.line(ind, '}');
    return undefined;
  }
  out.write(',');
  out.line(ind + 2, '"entries": {');
  const entries = (await engine.listEntries(ino)).sort((x, y) => Buffer.compare(x.name, y.name));
  return { depth, entries, next: 0, batchStart: 0, attrs: [] };
}

/**
 * Depth-first walk with an explicit stack (no recursion, so any depth works); memory holds
 * the entry lists of the directories on the current path and at most 1 MiB of output.
 */
async function dumpTree(
  engine: MetaEngine,
  out: Out,
  name: string,
  ino: Ino,
  a: Attr,
  depth: number,
): Promise<void> {
  const stack: Frame[] = [];
  const first = await openNode(engine, out, name, ino, a, depth);
  if (first) stack.push(first);
  while (stack.length > 0) {
    const f = stack[stack.length - 1]!;
    if (f.next === f.entries.length) {
      out.line(2 * f.depth + 2, '}');
      out.line(2 * f.depth, '}');
      stack.pop();
    } else {
      if (f.next - f.batchStart >= f.attrs.length) {
        f.batchStart = f.next;
        f.attrs = await engine.getAttrs(f.entries.slice(f.next, f.next + ATTR_BATCH).map((e) => e.ino));
      }
      const e = f.entries[f.next]!;
      const ca = f.attrs[f.next - f.batchStart] ?? missingAttr(e.type);
      if (f.next > 0) out.write(',');
      f.next++;
      const child = await openNode(engine, out, escapeBytes(e.name), e.ino, ca, f.depth + 2);
      if (child) stack.push(child);
    }
    await out.maybeFlush();
  }
}

function missingAttr(type: number): Attr {
  return { ...emptyAttr(), type: type as Attr['type'], nlink: type === FileType.Directory ? 2 : 1 };
}

function quotaMap(m: Map<number | bigint, { maxSpace: number; maxInodes: number }>): GoValue | undefined {
  // Go's encoding/json sorts integer map keys by their decimal text.
  const rows = [...m]
    .filter(([, q]) => !(q.maxSpace === -1 && q.maxInodes === -1))
    .map(([k, q]) => [String(k), q] as const);
  if (rows.length === 0) return undefined;
  rows.sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0));
  return new Map(rows.map(([k, q]) => [k, { maxSpace: q.maxSpace, maxInodes: q.maxInodes }]));
}

/** Writes the dump to `w` (not ended). */
export async function dumpMeta(engine: MetaEngine, w: Writable, opts: DumpOptions = {}): Promise<void> {
  const text = await engine.getFormatText();
  if (text === undefined)
    throw new FsError(Errno.ENOENT, { message: `database ${engine.displayUrl} is not formatted` });
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
  if (!rootAttr)
    throw new FsError(Errno.ENOENT, { ino: root, message: `root inode ${root} of the dump not found` });
  if (rootAttr.type !== FileType.Directory)
    throw new FsError(Errno.ENOTDIR, { ino: root, message: `dump root ${root} is not a directory` });
  await dumpTree(engine, out, 'FSTree', root, rootAttr, 1);
  if (root === ROOT_INODE && !opts.skipTrash) {
    const [trashAttr] = await engine.getAttrs([TRASH_INODE]);
    out.write(',');
    await dumpTree(engine, out, 'Trash', TRASH_INODE, trashAttr ?? missingAttr(FileType.Directory), 1);
  }
  out.write('\n}\n');
  await out.flush();
}
