/**
 * mem:// engine: the whole volume in process memory, for tests. Instances opened with the
 * same URL share one store, so two clients (sessions) of one volume can be simulated.
 * Transactions hold a store-wide mutex: reads see committed state, writes are queued and
 * applied at commit, exactly the visibility rule of the contract. Attrs are stored
 * encoded, so every test also exercises the attr codec. Per-op counters for tests.
 */
import type {
  CounterName,
  DentryValue,
  DirEntryRecord,
  DirStat,
  EngineOptions,
  FlockOwner,
  FreedSlice,
  MetaEngine,
  MetaTx,
  PlockOwner,
  QuotaRecord,
  SessionRecord,
  TxOptions,
} from '../engine.js';
import { decodeAttr, encodeAttr, type AclRule } from '../encoding.js';
import type { Attr, Ino, Slice } from '../../base/types.js';
import { Mutex } from '../../util/mutex.js';
import { recordDirAttr } from '../own-dir-attrs.js';

const INITIAL: Partial<Record<CounterName, number>> = { nextInode: 2, nextChunk: 1 };

class MemStore {
  setting: string | undefined;
  counters = new Map<string, number>();
  attrs = new Map<Ino, Buffer>();
  dirs = new Map<Ino, Map<string, DirEntryRecord>>();
  parents = new Map<Ino, Map<Ino, number>>();
  symlinks = new Map<Ino, Buffer>();
  xattrs = new Map<Ino, Map<string, Buffer>>();
  chunks = new Map<string, Slice[]>();
  sliceRefs = new Map<number, { size: number; refs: number }>();
  dirStats = new Map<Ino, DirStat>();
  dirQuotas = new Map<Ino, QuotaRecord>();
  ugQuotas = { user: new Map<number, QuotaRecord>(), group: new Map<number, QuotaRecord>() };
  delfiles = new Map<string, { ino: Ino; length: number; expire: number }>();
  sessions = new Map<number, { expire: number; info?: string }>();
  sustained = new Map<number, Set<Ino>>();
  flocks = new Map<Ino, Map<string, FlockOwner>>();
  plocks = new Map<Ino, Map<string, PlockOwner>>();
  acls = new Map<number, AclRule>();
  readonly mutex = new Mutex();
  readonly ops = new Map<string, number>();
}

const stores = new Map<string, MemStore>();

const ownerKey = (sid: number, owner: bigint): string => `${sid}_${owner}`;
const chunkKey = (ino: Ino, indx: number): string => `${ino}_${indx}`;
const nameKey = (b: Buffer): string => b.toString('latin1');

function counter(s: MemStore, name: CounterName): number {
  return s.counters.get(name) ?? INITIAL[name] ?? 0;
}

function count(s: MemStore, op: string, by = 1): void {
  s.ops.set(op, (s.ops.get(op) ?? 0) + by);
}

/** Chunk indexes of `ino` with a list, in [first, last], ascending (a walk of what exists). */
function chunkIndexes(s: MemStore, ino: Ino, first: number, last: number): number[] {
  const prefix = `${ino}_`;
  const out: number[] = [];
  for (const k of s.chunks.keys()) {
    if (!k.startsWith(prefix)) continue;
    const i = Number(k.slice(prefix.length));
    if (i >= first && i <= last) out.push(i);
  }
  return out.sort((a, b) => a - b);
}

function getOrInit<K, V>(m: Map<K, V>, k: K, init: () => V): V {
  let v = m.get(k);
  if (v === undefined) m.set(k, (v = init()));
  return v;
}

class MemTx implements MetaTx {
  readonly writes: (() => void)[] = [];
  dirAttrWrites: Map<Ino, Attr | undefined> | undefined;
  constructor(private readonly s: MemStore) {}

  private w(fn: () => void): void {
    this.writes.push(fn);
  }
  async getAttr(ino: Ino): Promise<Attr | undefined> {
    const b = this.s.attrs.get(ino);
    return b ? decodeAttr(b, ino) : undefined;
  }
  setAttr(ino: Ino, attr: Attr): void {
    const b = encodeAttr(attr);
    this.w(() => this.s.attrs.set(ino, b));
    this.dirAttrWrites = recordDirAttr(this.dirAttrWrites, ino, attr);
  }
  deleteAttr(ino: Ino): void {
    this.w(() => this.s.attrs.delete(ino));
    this.dirAttrWrites = recordDirAttr(this.dirAttrWrites, ino, undefined);
  }
  async getEntry(parent: Ino, name: Buffer): Promise<DentryValue | undefined> {
    const e = this.s.dirs.get(parent)?.get(nameKey(name));
    return e ? { ino: e.ino, type: e.type } : undefined;
  }
  setEntry(parent: Ino, name: Buffer, v: DentryValue): void {
    const rec = { name: Buffer.from(name), ino: v.ino, type: v.type };
    this.w(() => getOrInit(this.s.dirs, parent, () => new Map()).set(nameKey(name), rec));
  }
  deleteEntry(parent: Ino, name: Buffer): void {
    this.w(() => {
      const d = this.s.dirs.get(parent);
      d?.delete(nameKey(name));
      if (d && d.size === 0) this.s.dirs.delete(parent);
    });
  }
  async hasEntries(parent: Ino): Promise<boolean> {
    return (this.s.dirs.get(parent)?.size ?? 0) > 0;
  }
  async getParents(ino: Ino): Promise<Map<Ino, number>> {
    const out = new Map<Ino, number>();
    for (const [p, n] of this.s.parents.get(ino) ?? []) if (n > 0) out.set(p, n);
    return out;
  }
  incrParent(ino: Ino, parent: Ino, delta: number): void {
    this.w(() => {
      const m = getOrInit(this.s.parents, ino, () => new Map());
      m.set(parent, (m.get(parent) ?? 0) + delta);
    });
  }
  deleteParents(ino: Ino): void {
    this.w(() => this.s.parents.delete(ino));
  }
  async getSymlink(ino: Ino): Promise<Buffer | undefined> {
    return this.s.symlinks.get(ino);
  }
  setSymlink(ino: Ino, target: Buffer): void {
    const t = Buffer.from(target);
    this.w(() => this.s.symlinks.set(ino, t));
  }
  deleteSymlink(ino: Ino): void {
    this.w(() => this.s.symlinks.delete(ino));
  }
  async getXattr(ino: Ino, name: string): Promise<Buffer | undefined> {
    return this.s.xattrs.get(ino)?.get(name);
  }
  async listXattrs(ino: Ino): Promise<Map<string, Buffer>> {
    return new Map(this.s.xattrs.get(ino) ?? []);
  }
  setXattr(ino: Ino, name: string, value: Buffer): void {
    const v = Buffer.from(value);
    this.w(() => getOrInit(this.s.xattrs, ino, () => new Map()).set(name, v));
  }
  deleteXattr(ino: Ino, name: string): void {
    this.w(() => this.s.xattrs.get(ino)?.delete(name));
  }
  deleteAllXattrs(ino: Ino): void {
    this.w(() => this.s.xattrs.delete(ino));
  }
  async getChunk(ino: Ino, indx: number): Promise<Slice[]> {
    count(this.s, 'tx.getChunk');
    return (this.s.chunks.get(chunkKey(ino, indx)) ?? []).map((x) => ({ ...x }));
  }
  appendSlices(ino: Ino, indx: number, slices: readonly Slice[], opts: { ifExists?: boolean } = {}): void {
    const copy = slices.map((x) => ({ ...x }));
    count(this.s, 'tx.appendSlices');
    count(this.s, 'tx.records', copy.length);
    this.w(() => {
      const k = chunkKey(ino, indx);
      const cur = this.s.chunks.get(k);
      if (!cur && opts.ifExists) return;
      this.s.chunks.set(k, [...(cur ?? []), ...copy]);
    });
  }
  async listChunks(ino: Ino, first: number, last: number): Promise<number[]> {
    count(this.s, 'tx.listChunks');
    return chunkIndexes(this.s, ino, first, last);
  }
  newSliceRef(id: number, size: number): void {
    this.w(() => this.s.sliceRefs.set(id, { size, refs: (this.s.sliceRefs.get(id)?.refs ?? 0) + 1 }));
  }
  incrSliceRef(id: number, size: number, delta: number): void {
    this.w(() => this.s.sliceRefs.set(id, { size, refs: (this.s.sliceRefs.get(id)?.refs ?? 1) + delta }));
  }
  addCounter(name: CounterName, delta: number): void {
    this.w(() => this.s.counters.set(name, counter(this.s, name) + delta));
  }
  async incrCounter(name: CounterName, delta: number): Promise<number> {
    const v = counter(this.s, name) + delta;
    this.s.counters.set(name, v);
    return v;
  }
  initDirStat(ino: Ino): void {
    this.w(() => this.s.dirStats.set(ino, { dataLength: 0, usedSpace: 0, usedInodes: 0 }));
  }
  updateDirStat(ino: Ino, d: DirStat): void {
    this.w(() => {
      const st = getOrInit(this.s.dirStats, ino, () => ({ dataLength: 0, usedSpace: 0, usedInodes: 0 }));
      st.dataLength += d.dataLength;
      st.usedSpace += d.usedSpace;
      st.usedInodes += d.usedInodes;
    });
  }
  deleteDirStat(ino: Ino): void {
    this.w(() => this.s.dirStats.delete(ino));
  }
  updateDirQuotaUsage(ino: Ino, space: number, inodes: number): void {
    this.w(() => {
      const q = this.s.dirQuotas.get(ino);
      if (q) {
        q.usedSpace += space;
        q.usedInodes += inodes;
      }
    });
  }
  deleteDirQuota(ino: Ino): void {
    this.w(() => this.s.dirQuotas.delete(ino));
  }
  updateUserGroupQuotaUsage(kind: 'user' | 'group', id: number, space: number, inodes: number): void {
    if (space === 0 && inodes === 0) return;
    this.w(() => {
      const m = this.s.ugQuotas[kind];
      const q = m.get(id) ?? { maxSpace: -1, maxInodes: -1, usedSpace: 0, usedInodes: 0 };
      q.usedSpace += space;
      q.usedInodes += inodes;
      m.set(id, q);
    });
  }
  clearUserGroupQuotaLimits(kind: 'user' | 'group', id: number): void {
    this.w(() => {
      const q = this.s.ugQuotas[kind].get(id);
      if (q) {
        q.maxSpace = -1;
        q.maxInodes = -1;
      }
    });
  }
  addDelFile(ino: Ino, length: number, time: number): void {
    this.w(() => this.s.delfiles.set(`${ino}:${length}`, { ino, length, expire: time }));
  }
  addSustained(sid: number, ino: Ino): void {
    this.w(() => getOrInit(this.s.sustained, sid, () => new Set()).add(ino));
  }
  removeSustained(sid: number, ino: Ino): void {
    this.w(() => this.s.sustained.get(sid)?.delete(ino));
  }
  async getFlocks(ino: Ino): Promise<FlockOwner[]> {
    return [...(this.s.flocks.get(ino)?.values() ?? [])].map((o) => ({ ...o }));
  }
  setFlock(ino: Ino, sid: number, owner: bigint, type: 'R' | 'W' | null): void {
    this.w(() => {
      const m = getOrInit(this.s.flocks, ino, () => new Map());
      if (type === null) m.delete(ownerKey(sid, owner));
      else m.set(ownerKey(sid, owner), { sid, owner, type });
    });
  }
  async getPlocks(ino: Ino): Promise<PlockOwner[]> {
    return [...(this.s.plocks.get(ino)?.values() ?? [])].map((o) => ({
      ...o,
      records: Buffer.from(o.records),
    }));
  }
  setPlock(ino: Ino, sid: number, owner: bigint, records: Buffer): void {
    const r = Buffer.from(records);
    this.w(() => {
      const m = getOrInit(this.s.plocks, ino, () => new Map());
      if (r.length === 0) m.delete(ownerKey(sid, owner));
      else m.set(ownerKey(sid, owner), { sid, owner, records: r });
    });
  }
}

export class MemEngine implements MetaEngine {
  readonly kind = 'mem';
  readonly displayUrl: string;
  constructor(
    private readonly s: MemStore,
    url: string,
  ) {
    this.displayUrl = url;
  }

  /**
   * Number of times each primitive ran (tests assert cache effects with it); `tx.*` entries
   * count transaction calls, `tx.records` the slice records queued.
   */
  get ops(): ReadonlyMap<string, number> {
    return this.s.ops;
  }
  private count(op: string): void {
    count(this.s, op);
  }

  txn<T>(fn: (tx: MetaTx) => Promise<T>, opts: TxOptions): Promise<T> {
    this.count(`txn:${opts.op}`);
    return this.s.mutex.run(async () => {
      const tx = new MemTx(this.s);
      const r = await fn(tx);
      if (!opts.readonly) for (const w of tx.writes) w();
      return r;
    });
  }
  private locked<T>(fn: () => T): Promise<T> {
    return this.s.mutex.run(async () => fn());
  }

  async getFormatText(): Promise<string | undefined> {
    return this.s.setting;
  }
  initVolume(formatJson: string, opts: { isNew: boolean; rootAttr: Attr; trashAttr?: Attr }): Promise<void> {
    return this.locked(() => {
      if (opts.trashAttr && !this.s.attrs.has(0x7fffffff10000000n))
        this.s.attrs.set(0x7fffffff10000000n, encodeAttr(opts.trashAttr));
      this.s.setting = formatJson;
      if (opts.isNew) this.s.attrs.set(1n, encodeAttr(opts.rootAttr));
    });
  }
  allocate(name: 'nextInode' | 'nextChunk', n: number): Promise<number> {
    return this.locked(() => {
      const v = counter(this.s, name);
      this.s.counters.set(name, v + n);
      return v;
    });
  }
  async getCounter(name: CounterName): Promise<number> {
    return counter(this.s, name);
  }
  async setCounter(name: CounterName, value: number): Promise<void> {
    this.s.counters.set(name, value);
  }
  setCounterIfSmall(name: CounterName, value: number, diff: number): Promise<boolean> {
    return this.locked(() => {
      if (counter(this.s, name) > value - diff) return false;
      this.s.counters.set(name, value);
      return true;
    });
  }
  async newSessionId(): Promise<number> {
    const v = counter(this.s, 'nextSession') + 1;
    this.s.counters.set('nextSession', v);
    return v;
  }
  async putSession(sid: number, expire: number, info?: string): Promise<void> {
    const cur = this.s.sessions.get(sid);
    this.s.sessions.set(sid, {
      expire,
      ...(info !== undefined ? { info } : cur?.info !== undefined ? { info: cur.info } : {}),
    });
  }
  async listSessions(): Promise<SessionRecord[]> {
    return [...this.s.sessions].map(([sid, v]) => ({ sid, ...v }));
  }
  deleteSession(sid: number): Promise<void> {
    return this.locked(() => {
      this.s.sessions.delete(sid);
      this.s.sustained.delete(sid);
    });
  }
  async listSustained(sid: number): Promise<Ino[]> {
    return [...(this.s.sustained.get(sid) ?? [])];
  }
  async listLockedInodes(sid: number): Promise<Ino[]> {
    const out = new Set<Ino>();
    for (const m of [this.s.flocks, this.s.plocks]) {
      for (const [ino, owners] of m) for (const o of owners.values()) if (o.sid === sid) out.add(ino);
    }
    return [...out];
  }
  async listDelFiles(): Promise<{ ino: Ino; length: number; expire: number }[]> {
    return [...this.s.delfiles.values()];
  }
  async removeDelFile(ino: Ino, length: number): Promise<void> {
    this.s.delfiles.delete(`${ino}:${length}`);
  }
  deleteChunk(ino: Ino, indx: number): Promise<FreedSlice[]> {
    return this.locked(() => {
      const k = chunkKey(ino, indx);
      const list = this.s.chunks.get(k) ?? [];
      this.s.chunks.delete(k);
      return this.deref(list.filter((x) => x.id > 0));
    });
  }
  private deref(list: readonly FreedSlice[]): FreedSlice[] {
    const freed: FreedSlice[] = [];
    for (const x of list) {
      const r = this.s.sliceRefs.get(x.id) ?? { size: x.size, refs: 1 };
      r.refs--;
      if (r.refs <= 0) {
        this.s.sliceRefs.delete(x.id);
        freed.push({ id: x.id, size: x.size });
      } else this.s.sliceRefs.set(x.id, r);
    }
    return freed;
  }
  async listChunkIndexes(ino: Ino): Promise<number[]> {
    return chunkIndexes(this.s, ino, 0, Infinity);
  }
  replaceSlices(
    ino: Ino,
    indx: number,
    old: readonly Slice[],
    replacement: readonly Slice[],
    newSlice: FreedSlice,
    dropped: readonly FreedSlice[],
  ): Promise<{ ok: boolean; freed: FreedSlice[] }> {
    return this.locked(() => {
      const k = chunkKey(ino, indx);
      const cur = this.s.chunks.get(k) ?? [];
      const same =
        cur.length >= old.length && old.every((o, i) => JSON.stringify(o) === JSON.stringify(cur[i]));
      if (!same) return { ok: false, freed: [] };
      this.s.chunks.set(k, [...replacement.map((x) => ({ ...x })), ...cur.slice(old.length)]);
      this.s.sliceRefs.set(newSlice.id, { size: newSlice.size, refs: 1 });
      return { ok: true, freed: this.deref(dropped) };
    });
  }
  async listOrphanSlices(): Promise<FreedSlice[]> {
    return [...this.s.sliceRefs].filter(([, r]) => r.refs <= 0).map(([id, r]) => ({ id, size: r.size }));
  }
  async getSliceRefs(): Promise<Map<number, number>> {
    return new Map([...this.s.sliceRefs].map(([id, r]) => [id, r.refs]));
  }
  async listEntries(parent: Ino, limit?: number): Promise<DirEntryRecord[]> {
    const out: DirEntryRecord[] = [];
    for (const e of this.s.dirs.get(parent)?.values() ?? []) {
      if (limit !== undefined && out.length >= limit) break;
      out.push({ ...e });
    }
    return out;
  }
  async getAttrs(inos: readonly Ino[]): Promise<(Attr | undefined)[]> {
    return inos.map((i) => {
      const b = this.s.attrs.get(i);
      return b ? decodeAttr(b, i) : undefined;
    });
  }
  async getDirStat(ino: Ino): Promise<DirStat | undefined> {
    const s = this.s.dirStats.get(ino);
    return s ? { ...s } : undefined;
  }
  async setDirStat(ino: Ino, stat: DirStat): Promise<void> {
    this.s.dirStats.set(ino, { ...stat });
  }
  async listDirQuotas(): Promise<Map<Ino, QuotaRecord>> {
    return new Map([...this.s.dirQuotas].map(([k, v]) => [k, { ...v }]));
  }
  async setDirQuota(ino: Ino, q: QuotaRecord): Promise<void> {
    this.s.dirQuotas.set(ino, { ...q });
  }
  async listUserGroupQuotas(kind: 'user' | 'group'): Promise<Map<number, QuotaRecord>> {
    return new Map([...this.s.ugQuotas[kind]].map(([k, v]) => [k, { ...v }]));
  }
  async setUserGroupQuota(kind: 'user' | 'group', id: number, q: QuotaRecord): Promise<void> {
    this.s.ugQuotas[kind].set(id, { ...q });
  }
  async getAcl(id: number): Promise<AclRule | undefined> {
    return this.s.acls.get(id);
  }
  async putAcl(rule: AclRule): Promise<number> {
    const text = JSON.stringify(rule);
    for (const [id, r] of this.s.acls) if (JSON.stringify(r) === text) return id;
    const id = this.s.acls.size + 1;
    this.s.acls.set(id, rule);
    return id;
  }
  async setAcl(id: number, rule: AclRule): Promise<void> {
    this.s.acls.set(id, rule);
  }
  async isEmpty(): Promise<boolean> {
    return this.s.setting === undefined && this.s.attrs.size === 0;
  }
  async reset(): Promise<void> {
    const fresh = new MemStore();
    Object.assign(this.s, { ...fresh, mutex: this.s.mutex, ops: this.s.ops });
  }
  async close(): Promise<void> {}
}

/** mem://NAME — instances with the same NAME share a store for the life of the process. */
export async function openMemEngine(url: string, _options: EngineOptions): Promise<MetaEngine> {
  const name = url.replace(/^mem:\/\//i, '');
  return new MemEngine(
    getOrInit(stores, name, () => new MemStore()),
    url,
  );
}
